//! prune-copies: after a successful refresh, deletes the copies rds-refresh made for this
//! source and target beyond the newest `copy.retain`, and the temporary instances earlier
//! swaps left (see [`crate::leftovers`]). Nothing else is ever deleted: a snapshot is a
//! candidate only if its identifier has rds-refresh's prefix and its tags say rds-refresh made
//! it as a copy (not a final snapshot), from this source, for this target; an instance only if
//! it has a swap temporary's name for this target, names this source in its opt-in tag and
//! carries the mark of an unfinished restore. Retired targets left by earlier swaps are
//! reported, never deleted.
use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use aws_sdk_rds::Client;
use aws_sdk_rds::primitives::DateTime;
use aws_sdk_rds::types::DbSnapshot;

use crate::TaskError;
use crate::error::{error_code, from_sdk};
use crate::identifiers::COPY_PREFIX;
use crate::leftovers::{self, Leftovers};
use crate::model::{CopyRef, InstanceRef};
use crate::rds::{Rds, delete_temporary};
use crate::tags;
use crate::tasks::describe_target::SwapNames;

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub source: InstanceRef,
    pub target: InstanceRef,
    /// The snapshot the target was just restored from: always kept.
    pub copy: CopyRef,
    /// How many copies to keep, the one in use included.
    #[schemars(range(min = 1))]
    pub retain: u32,
    /// The names this run's swap used (describe-target's `swap`): never leftovers.
    #[serde(default)]
    pub swap: Option<SwapNames>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    /// Copies kept, newest first.
    pub kept: Vec<String>,
    /// Copies deleted.
    pub deleted: Vec<String>,
    /// Temporary instances of earlier swaps whose deletion this call started.
    pub deleted_instances: Vec<String>,
    /// What earlier swaps left that is still there: retired targets (never deleted here), and
    /// temporaries that could not be deleted now (an instance busy backing up, say; the next
    /// refresh tries again).
    pub leftovers: Leftovers,
}

/// A copy rds-refresh made for this source and target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnCopy {
    pub identifier: String,
    /// When its source snapshot was taken: copies are as new as their sources.
    pub taken_at: DateTime,
    pub status: String,
}

pub async fn handle(rds: Rds, input: Input) -> Result<Output, TaskError> {
    let client = rds.client(&input.target.region);
    let copies = own_copies(&client, &input.source, &input.target).await?;
    let (kept, to_delete) = choose(copies, &input.copy.identifier, input.retain);
    let mut deleted = Vec::new();
    for copy in to_delete {
        match client.delete_db_snapshot().db_snapshot_identifier(&copy).send().await {
            Ok(_) => deleted.push(copy),
            Err(error) if error_code(&error) == Some("DBSnapshotNotFound") => {}
            Err(error) => return Err(from_sdk(&format!("DeleteDBSnapshot {copy}"), error)),
        }
    }
    let current: Vec<&str> =
        input.swap.iter().flat_map(|names| [names.temporary.as_str(), names.retired.as_str()]).collect();
    let mut leftovers = leftovers::find(&client, &input.target, &input.source, &current).await?;
    let mut deleted_instances = Vec::new();
    for temporary in std::mem::take(&mut leftovers.temporaries) {
        match delete_temporary(&client, &temporary).await {
            Ok(true) => deleted_instances.push(temporary),
            Ok(false) => {}
            // Busy (backing up, say): the refresh itself is done; the next one tries again.
            Err(TaskError::NotReady(_)) => leftovers.temporaries.push(temporary),
            Err(error) => return Err(error),
        }
    }
    if !leftovers.retired.is_empty() {
        tracing::warn!(retired = ?leftovers.retired, "earlier swaps left retired targets: delete them once they are not needed");
    }
    tracing::info!(?kept, ?deleted, ?deleted_instances, "pruned");
    Ok(Output { kept, deleted, deleted_instances, leftovers })
}

/// The copies to keep (the one in use, then the newest, up to `retain`) and to delete
/// (the older ones that are `available`; one still being made is never deleted).
pub fn choose(mut copies: Vec<OwnCopy>, in_use: &str, retain: u32) -> (Vec<String>, Vec<String>) {
    copies.sort_by(|a, b| b.taken_at.cmp(&a.taken_at).then_with(|| a.identifier.cmp(&b.identifier)));
    let mut kept = vec![in_use.to_owned()];
    let mut deleted = Vec::new();
    for copy in copies.into_iter().filter(|c| c.identifier != in_use) {
        if kept.len() < retain as usize {
            kept.push(copy.identifier);
        } else if copy.status == "available" {
            deleted.push(copy.identifier);
        }
    }
    (kept, deleted)
}

/// The copies rds-refresh made for `source` and `target`, in the client's region.
pub async fn own_copies(
    client: &Client,
    source: &InstanceRef,
    target: &InstanceRef,
) -> Result<Vec<OwnCopy>, TaskError> {
    let mut pages = client.describe_db_snapshots().snapshot_type("manual").into_paginator().send();
    let mut candidates = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| from_sdk(&format!("DescribeDBSnapshots in {}", target.region), e))?;
        candidates.extend(
            page.db_snapshots
                .unwrap_or_default()
                .into_iter()
                .filter(|s| s.db_snapshot_identifier().is_some_and(|id| id.starts_with(COPY_PREFIX))),
        );
    }
    let mut copies = Vec::new();
    for snapshot in candidates {
        let tags = snapshot_tags(client, &snapshot).await?;
        let ours = tags.get(tags::MANAGED_BY).map(String::as_str) == Some("rds-refresh")
            && tags.get(tags::KIND).map(String::as_str) == Some(tags::KIND_COPY)
            && tags.get(tags::SOURCE) == Some(&source.display_name())
            && tags.get(tags::TARGET) == Some(&target.display_name());
        let taken_at = snapshot.original_snapshot_create_time().or(snapshot.snapshot_create_time()).copied();
        if let (true, Some(id), Some(taken_at)) = (ours, snapshot.db_snapshot_identifier(), taken_at) {
            copies.push(OwnCopy {
                identifier: id.to_owned(),
                taken_at,
                status: snapshot.status().unwrap_or("unknown").to_owned(),
            });
        }
    }
    Ok(copies)
}

async fn snapshot_tags(client: &Client, snapshot: &DbSnapshot) -> Result<BTreeMap<String, String>, TaskError> {
    if !snapshot.tag_list().is_empty() {
        return Ok(tags::to_map(snapshot.tag_list()));
    }
    let arn = snapshot.db_snapshot_arn().unwrap_or_default();
    let listed = client
        .list_tags_for_resource()
        .resource_name(arn)
        .send()
        .await
        .map_err(|e| from_sdk(&format!("ListTagsForResource {arn}"), e))?;
    Ok(tags::to_map(listed.tag_list()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy(id: &str, hour: i64, status: &str) -> OwnCopy {
        OwnCopy { identifier: id.into(), taken_at: DateTime::from_secs(hour * 3600), status: status.into() }
    }

    #[test]
    fn keeps_the_copy_in_use_and_the_newest_up_to_retain() {
        let copies = vec![
            copy("c1", 1, "available"),
            copy("c3", 3, "available"),
            copy("c2", 2, "available"),
            copy("c4", 4, "available"),
        ];
        assert_eq!(choose(copies.clone(), "c4", 2), (vec!["c4".into(), "c3".into()], vec!["c2".into(), "c1".into()]));
        // The copy in use is kept even when newer ones exist (an explicit older snapshot).
        assert_eq!(choose(copies, "c1", 2), (vec!["c1".into(), "c4".into()], vec!["c3".into(), "c2".into()]));
    }

    #[test]
    fn a_copy_being_made_is_never_deleted() {
        let copies = vec![copy("c1", 1, "creating"), copy("c2", 2, "available")];
        assert_eq!(choose(copies, "c2", 1), (vec!["c2".into()], vec![]));
    }
}
