//! The tags rds-refresh reads and writes, all under one prefix so they are never mistaken
//! for the user's own.
use std::collections::BTreeMap;

use aws_sdk_rds::types::Tag;

/// Prefix of every tag rds-refresh sets.
pub const PREFIX: &str = rds_refresh_model::TAG_PREFIX;

// On a refreshed target.
/// `<source region>/<source identifier>`, on the target and on each copy.
pub const SOURCE: &str = "rds-refresh:source";
pub const SNAPSHOT: &str = "rds-refresh:snapshot";
pub const SNAPSHOT_CREATED_AT: &str = "rds-refresh:snapshot-created-at";
pub const REFRESHED_AT: &str = "rds-refresh:refreshed-at";
pub const EXECUTION: &str = "rds-refresh:execution";
/// Set by the restore and removed by the last step: a target carrying it has not finished
/// its refresh, so its live settings are not trusted as its configuration. Value: the copy
/// (as [`snapshot_id_value`]); read it with [`restoring_from`].
pub const RESTORING: &str = "rds-refresh:restoring";
/// Set by the restore and removed with [`RESTORING`]: the execution that made the restore
/// (its ARN, as [`value`]). With SQL scripts only that execution goes on with it: another's may
/// have half run its scripts there.
pub const RESTORED_BY: &str = "rds-refresh:restored-by";

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

/// Prefixes RDS refuses at the start of a tag key or value (API_Tag:
/// <https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_Tag.html>).
const RESERVED_PREFIXES: &[&str] = &["aws:", "rds:"];

/// What an automated snapshot's `rds:` prefix becomes in a tag value.
const AUTOMATED_PREFIX: &str = "automated:";

fn has_reserved_prefix(text: &str) -> bool {
    RESERVED_PREFIXES
        .iter()
        .any(|prefix| text.get(..prefix.len()).is_some_and(|head| head.eq_ignore_ascii_case(prefix)))
}

/// A text made into a valid RDS tag value: at most 256 characters from a limited set, and
/// never beginning with a reserved prefix.
pub fn value(text: &str) -> String {
    let text = if has_reserved_prefix(text) { format!("_{text}") } else { text.to_owned() };
    text.chars()
        .map(|c| if c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c) { c } else { '_' })
        .take(256)
        .collect()
}

/// A snapshot identifier as a tag value. An automated snapshot's identifier begins with
/// `rds:` (`rds:x-2026-11-23-05-10`), which RDS refuses at the start of a tag value: it
/// becomes `automated:x-2026-11-23-05-10`. Other identifiers (letters, digits, hyphens; or
/// a shared snapshot's ARN) are kept. [`snapshot_id_from_value`] reverses it: a manual
/// snapshot's identifier cannot contain `:`, so the two never meet.
pub fn snapshot_id_value(identifier: &str) -> String {
    match identifier.strip_prefix("rds:") {
        Some(rest) => format!("{AUTOMATED_PREFIX}{rest}"),
        None => identifier.to_owned(),
    }
}

/// The snapshot identifier a tag value written by [`snapshot_id_value`] stands for.
pub fn snapshot_id_from_value(value: &str) -> String {
    match value.strip_prefix(AUTOMATED_PREFIX) {
        Some(rest) => format!("rds:{rest}"),
        None => value.to_owned(),
    }
}

/// The mark that a target is being restored from `copy` (see [`RESTORING`]).
pub fn restoring(copy: &str) -> Tag {
    tag(RESTORING, &snapshot_id_value(copy))
}

/// The copy a target was restored from by a refresh that has not finished, if it carries
/// the mark (see [`RESTORING`]).
pub fn restoring_from(tags: &[Tag]) -> Option<String> {
    tags.iter().find(|t| t.key() == Some(RESTORING)).and_then(|t| t.value()).map(snapshot_id_from_value)
}

/// The execution that restored an unfinished target (see [`RESTORED_BY`]).
pub fn restored_by(tags: &[Tag]) -> Option<&str> {
    tags.iter().find(|t| t.key() == Some(RESTORED_BY)).and_then(|t| t.value())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_ids_become_tag_values_rds_accepts_and_come_back() {
        for id in ["rds:x-2026-11-23-05-10", "x-before-upgrade", "rds-refresh-x-2026-11-23-05-10-1a2b3c4d"] {
            let value = snapshot_id_value(id);
            assert!(!has_reserved_prefix(&value), "{value}");
            assert_eq!(snapshot_id_from_value(&value), id);
        }
        assert_eq!(snapshot_id_value("rds:x-1"), "automated:x-1");
    }

    #[test]
    fn the_restoring_mark_reads_back_the_copy() {
        let mark = restoring("rds:x-2026-11-23-05-10");
        assert_eq!(mark.value(), Some("automated:x-2026-11-23-05-10"));
        assert_eq!(restoring_from(&[tag("team", "data"), mark]), Some("rds:x-2026-11-23-05-10".to_owned()));
        assert_eq!(restoring_from(&[tag("team", "data")]), None);
    }

    #[test]
    fn values_never_begin_with_a_reserved_prefix() {
        assert_eq!(value("rds:x"), "_rds:x");
        assert_eq!(value("AWS:x"), "_AWS:x");
        assert_eq!(value("arn:aws:states:us-east-1:1:execution:m:e"), "arn:aws:states:us-east-1:1:execution:m:e");
        assert_eq!(value("a#b"), "a_b");
    }
}
