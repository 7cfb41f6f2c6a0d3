//! Which snapshot copies prune-copies deletes (and the dry run reports): only copies
//! rds-refresh made for this source and this target, and of those only the older ones beyond
//! `copy.retain`, never the one in use and never one still being made. A snapshot anyone else
//! made, a final snapshot, or another target's copy is never a candidate.
use std::collections::BTreeMap;

use aws_sdk_rds::primitives::DateTime;

use crate::identifiers::COPY_PREFIX;
use crate::model::InstanceRef;
use crate::tags;

/// A copy rds-refresh made for this source and target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnCopy {
    pub identifier: String,
    /// When its source snapshot was taken: copies are as new as their sources.
    pub taken_at: DateTime,
    pub status: String,
}

/// Whether a snapshot named `identifier` may be one of rds-refresh's copies (its name has
/// rds-refresh's prefix): only those have their tags read.
pub fn may_be_own_copy(identifier: &str) -> bool {
    identifier.starts_with(COPY_PREFIX)
}

/// Whether the snapshot `identifier`, tagged `tags`, is a copy rds-refresh made from `source`
/// for `target`: its name has the prefix, and its tags say rds-refresh made it, as a copy (not
/// a final snapshot), of that source, for that target. A name alone could be anyone's.
pub fn is_own_copy(
    identifier: &str,
    tags: &BTreeMap<String, String>,
    source: &InstanceRef,
    target: &InstanceRef,
) -> bool {
    may_be_own_copy(identifier)
        && tags.get(tags::MANAGED_BY).map(String::as_str) == Some("rds-refresh")
        && tags.get(tags::KIND).map(String::as_str) == Some(tags::KIND_COPY)
        && tags.get(tags::SOURCE) == Some(&source.display_name())
        && tags.get(tags::TARGET) == Some(&target.display_name())
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

    #[test]
    fn only_copies_made_by_rds_refresh_for_this_source_and_target_are_its_own() {
        let source = InstanceRef { region: "us-east-1".into(), db_instance_identifier: "x".into() };
        let target = InstanceRef { region: "us-west-2".into(), db_instance_identifier: "y".into() };
        let own: BTreeMap<String, String> = [
            (tags::MANAGED_BY, "rds-refresh"),
            (tags::KIND, tags::KIND_COPY),
            (tags::SOURCE, "us-east-1/x"),
            (tags::TARGET, "us-west-2/y"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        assert!(is_own_copy("rds-refresh-x-1-0a1b2c3d", &own, &source, &target));
        // A look-alike name without the tags, or the tags on another name, is someone else's.
        assert!(!is_own_copy("rds-refresh-lookalike", &BTreeMap::new(), &source, &target));
        assert!(!is_own_copy("x-before-upgrade", &own, &source, &target));
        assert!(!may_be_own_copy("x-before-upgrade"));
        for (key, other) in [
            (tags::MANAGED_BY, "someone"),
            (tags::KIND, tags::KIND_FINAL_SNAPSHOT),
            (tags::SOURCE, "us-east-1/z"),
            (tags::TARGET, "us-west-2/z"),
        ] {
            let mut tags = own.clone();
            tags.insert(key.to_owned(), other.to_owned());
            assert!(!is_own_copy("rds-refresh-x-1-0a1b2c3d", &tags, &source, &target), "{key} = {other}");
        }
    }
}
