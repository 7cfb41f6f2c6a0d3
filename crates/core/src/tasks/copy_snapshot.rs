//! copy-snapshot: copies the chosen snapshot into the target region, or reuses the copy
//! an earlier run made of it (which: [`crate::decisions::copy`]).
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use aws_sdk_rds::types::{DbSnapshot, Tag};

use crate::TaskError;
use crate::decisions::copy::{self, CopyPlan};
use crate::error::{error_code, from_sdk};
use crate::model::configuration::is_user_tag;
use crate::model::{CopyOptions, CopyOrigin, CopyRef, InstanceRef, SnapshotRef, TargetConfiguration};
use crate::rds::{Rds, describe_snapshot};
use crate::tags::{self, tag};

/// RDS allows 50 tags on a resource; rds-refresh's own take five of them.
const MAX_USER_TAGS: usize = 45;

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub snapshot: SnapshotRef,
    pub source: InstanceRef,
    pub target: InstanceRef,
    pub copy: CopyOptions,
    /// The configuration the new target gets: its option group goes on the copy.
    pub configuration: Option<TargetConfiguration>,
}

pub type Output = CopyRef;

pub async fn handle(rds: Rds, input: Input) -> Result<Output, TaskError> {
    let Input { snapshot, source, target, copy, configuration } = input;
    let plan = copy::plan(&snapshot, &target);
    let CopyPlan::CrossRegion { identifier: id } = &plan else {
        return Ok(CopyRef {
            identifier: snapshot.identifier,
            arn: snapshot.arn,
            region: target.region,
            origin: plan.origin(false),
        });
    };
    let client = rds.client(&target.region);
    if let Some(existing) = describe_snapshot(&client, id).await? {
        tracing::info!(copy = %id, status = existing.status().unwrap_or("?"), "reusing the copy of an earlier run");
        return Ok(copy_ref(&existing, id, &target.region, plan.origin(true)));
    }
    let tags = copy_tags(&rds, &snapshot, &source, &target).await?;
    let request = client
        .copy_db_snapshot()
        // CopyDBSnapshot runs in the destination region and names a source in another
        // region by its ARN.
        .source_db_snapshot_identifier(&snapshot.arn)
        .target_db_snapshot_identifier(id)
        .set_kms_key_id(copy.kms_key_id.clone())
        // A non-default option group does not cross regions: the copy takes the target's.
        .set_option_group_name(configuration.and_then(|c| c.option_group_name))
        // User tags explicitly: CopyTags also copies `aws:` tags, which RDS then refuses.
        .set_tags(Some(tags));
    match request.send().await {
        Ok(output) => {
            let copied = output.db_snapshot.ok_or_else(|| {
                TaskError::RdsRequestFailed(format!("CopyDBSnapshot {id}: the answer named no snapshot"))
            })?;
            tracing::info!(copy = %id, source = %snapshot.arn, "started the copy");
            Ok(copy_ref(&copied, id, &target.region, plan.origin(false)))
        }
        // A concurrent or lost earlier call made it first: the copy is the same either way.
        Err(error) if error_code(&error) == Some("DBSnapshotAlreadyExists") => {
            let existing = describe_snapshot(&client, id).await?.ok_or_else(|| {
                TaskError::RdsRequestFailed(format!("CopyDBSnapshot {id}: exists, but cannot be described"))
            })?;
            Ok(copy_ref(&existing, id, &target.region, plan.origin(true)))
        }
        Err(error) if error_code(&error) == Some("KMSKeyNotAccessibleFault") => {
            Err(TaskError::KmsKeyRequired(format!(
                "CopyDBSnapshot {} to {id}: the KMS key {} cannot be used in {}: pass copy.kmsKeyId, a key of {} that \
             RDS may use",
                snapshot.arn,
                copy.kms_key_id.as_deref().unwrap_or("(none given)"),
                target.region,
                target.region
            )))
        }
        Err(error) => Err(from_sdk(&format!("CopyDBSnapshot {} to {id}", snapshot.arn), error)),
    }
}

/// The source snapshot's user tags, and rds-refresh's own, which mark the copy as one it
/// made, for which source and target, from which snapshot.
async fn copy_tags(
    rds: &Rds,
    snapshot: &SnapshotRef,
    source: &InstanceRef,
    target: &InstanceRef,
) -> Result<Vec<Tag>, TaskError> {
    let listed = rds
        .client(&snapshot.region)
        .list_tags_for_resource()
        .resource_name(&snapshot.arn)
        .send()
        .await
        .map_err(|e| from_sdk(&format!("ListTagsForResource {}", snapshot.arn), e))?;
    let mut tags: Vec<Tag> = tags::to_map(listed.tag_list())
        .iter()
        .filter(|(key, _)| is_user_tag(key))
        .take(MAX_USER_TAGS)
        .map(|(key, value)| tag(key, value))
        .collect();
    tags.push(tag(tags::MANAGED_BY, "rds-refresh"));
    tags.push(tag(tags::KIND, tags::KIND_COPY));
    tags.push(tag(tags::SOURCE_SNAPSHOT, &snapshot.arn));
    tags.push(tag(tags::SOURCE, &source.display_name()));
    tags.push(tag(tags::TARGET, &target.display_name()));
    Ok(tags)
}

fn copy_ref(snapshot: &DbSnapshot, id: &str, region: &str, origin: CopyOrigin) -> CopyRef {
    CopyRef {
        identifier: id.to_owned(),
        arn: snapshot.db_snapshot_arn().unwrap_or_default().to_owned(),
        region: region.to_owned(),
        origin,
    }
}
