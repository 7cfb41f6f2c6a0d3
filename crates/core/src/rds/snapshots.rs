//! DB snapshots: describing one, the copies rds-refresh made for a target, and marking a final
//! snapshot as rds-refresh's.
use std::collections::BTreeMap;

use aws_sdk_rds::Client;
use aws_sdk_rds::types::DbSnapshot;

use crate::TaskError;
use crate::decisions::pruning::{self, OwnCopy};
use crate::error::{error_code, from_sdk};
use crate::model::InstanceRef;
use crate::tags::{self, tag};

/// The snapshot `id` in the client's region, or `None` when there is none.
pub async fn describe_snapshot(client: &Client, id: &str) -> Result<Option<DbSnapshot>, TaskError> {
    match client.describe_db_snapshots().db_snapshot_identifier(id).send().await {
        Ok(output) => Ok(output.db_snapshots.unwrap_or_default().into_iter().next()),
        Err(error) if error_code(&error) == Some("DBSnapshotNotFound") => Ok(None),
        Err(error) => Err(from_sdk(&format!("DescribeDBSnapshots {id}"), error)),
    }
}

/// Marks the final snapshot as rds-refresh's (and never a copy to prune). RDS creates it as
/// the deletion starts; until it is there, there is nothing to tag, and wait-deleted tags it.
pub async fn tag_final_snapshot(client: &Client, id: &str, target: &InstanceRef) -> Result<(), TaskError> {
    let Some(snapshot) = describe_snapshot(client, id).await? else { return Ok(()) };
    let arn = snapshot.db_snapshot_arn().unwrap_or_default();
    client
        .add_tags_to_resource()
        .resource_name(arn)
        .tags(tag(tags::MANAGED_BY, "rds-refresh"))
        .tags(tag(tags::KIND, tags::KIND_FINAL_SNAPSHOT))
        .tags(tag(tags::TARGET, &target.display_name()))
        .send()
        .await
        .map_err(|e| from_sdk(&format!("AddTagsToResource {arn}"), e))?;
    Ok(())
}

/// The copies rds-refresh made for `source` and `target`, in the client's region (which ones
/// are: [`pruning::is_own_copy`]).
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
                .filter(|s| s.db_snapshot_identifier().is_some_and(pruning::may_be_own_copy)),
        );
    }
    let mut copies = Vec::new();
    for snapshot in candidates {
        let tags = snapshot_tags(client, &snapshot).await?;
        let taken_at = snapshot.original_snapshot_create_time().or(snapshot.snapshot_create_time()).copied();
        if let (Some(id), Some(taken_at)) = (snapshot.db_snapshot_identifier(), taken_at)
            && pruning::is_own_copy(id, &tags, source, target)
        {
            copies.push(OwnCopy {
                identifier: id.to_owned(),
                taken_at,
                status: snapshot.status().unwrap_or("unknown").to_owned(),
            });
        }
    }
    Ok(copies)
}

/// A snapshot's tags: those DescribeDBSnapshots gave, or else ListTagsForResource's.
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
