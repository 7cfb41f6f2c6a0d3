//! The tags rds-refresh reads and writes, all under one prefix so they are never mistaken
//! for the user's own.
use std::collections::BTreeMap;

use aws_sdk_rds::types::Tag;

/// Prefix of every tag rds-refresh sets.
pub const PREFIX: &str = "rds-refresh:";

// On a refreshed target.
/// `<source region>/<source identifier>`, on the target and on each copy.
pub const SOURCE: &str = "rds-refresh:source";
pub const SNAPSHOT: &str = "rds-refresh:snapshot";
pub const SNAPSHOT_CREATED_AT: &str = "rds-refresh:snapshot-created-at";
pub const REFRESHED_AT: &str = "rds-refresh:refreshed-at";
pub const EXECUTION: &str = "rds-refresh:execution";
/// Set by the restore and removed by the last step: a target carrying it has not finished
/// its refresh, so its live settings are not trusted as its configuration. Value: the copy.
pub const RESTORING: &str = "rds-refresh:restoring";

// On the snapshots rds-refresh makes.
/// What the snapshot is: [`KIND_COPY`] or [`KIND_FINAL_SNAPSHOT`].
pub const KIND: &str = "rds-refresh:kind";
/// A copy of a source snapshot, made for a target (and pruned under `copy.retain`).
pub const KIND_COPY: &str = "copy";
/// The final snapshot of a target taken when deleting it (never pruned).
pub const KIND_FINAL_SNAPSHOT: &str = "final-snapshot";
/// `rds-refresh` on every snapshot rds-refresh makes.
pub const MANAGED_BY: &str = "rds-refresh:managed-by";
/// The ARN of the snapshot a copy was made from.
pub const SOURCE_SNAPSHOT: &str = "rds-refresh:source-snapshot";
/// `<target region>/<target identifier>` the copy was made for.
pub const TARGET: &str = "rds-refresh:target";

/// An RDS tag.
pub fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

/// RDS tags as a map.
pub fn to_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter().filter_map(|t| Some((t.key()?.to_owned(), t.value().unwrap_or_default().to_owned()))).collect()
}

/// A text made into a valid RDS tag value: at most 256 characters from a limited set.
pub fn value(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c) { c } else { '_' })
        .take(256)
        .collect()
}
