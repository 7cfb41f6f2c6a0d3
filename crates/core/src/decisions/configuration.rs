//! Where the configuration the new target gets comes from: the target's live settings, the
//! configuration the state table kept, or an unfinished restore's own settings (describe-target,
//! and the dry run through it).
//!
//! The live settings are the truth while the target is the one its owner configured. A target
//! that carries the not-finished mark ([`tags::restoring_from`]) is a restore of an earlier run
//! that failed before it was configured: its settings are RDS's and the restore's, not the
//! owner's, so what was kept before the old target was deleted wins. A target that is gone
//! (replace mode deleted it) has only what was kept.
use aws_sdk_rds::types::DbInstance;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::TaskError;
use crate::model::InstanceRef;
use crate::state::StoredConfiguration;
use crate::tags;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ConfigurationSource {
    /// Read from the target now (and kept in the state table).
    Live,
    /// Kept in the state table by an earlier run: the target is gone, or is a restore that
    /// has not finished its refresh.
    Stored,
    /// Nothing known: a first run.
    None,
}

/// Where the configuration comes from, as [`decide`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The target's live settings: read now, and kept in the state table for a re-run.
    Live,
    /// What the state table kept from an earlier run.
    Stored(Box<StoredConfiguration>),
    /// The settings of an unfinished restore, for want of anything kept: used, never kept
    /// (they are not the owner's).
    UnfinishedRestore,
    /// Nothing is known of the target: a first run, which `createIfMissing` allows.
    Nothing,
}

impl Origin {
    /// The source as describe-target reports it (an unfinished restore's settings are read
    /// live).
    pub fn source(&self) -> ConfigurationSource {
        match self {
            Origin::Live | Origin::UnfinishedRestore => ConfigurationSource::Live,
            Origin::Stored(_) => ConfigurationSource::Stored,
            Origin::Nothing => ConfigurationSource::None,
        }
    }

    /// Whether what is read now is kept in the state table: only a finished target's settings.
    pub fn keeps_live(&self) -> bool {
        *self == Origin::Live
    }
}

/// Whether the state table must be read before [`decide`]: whenever the target's live
/// settings are not to be trusted (it is gone, or an unfinished restore).
pub fn wants_stored(instance: Option<&DbInstance>) -> bool {
    !instance.is_some_and(is_finished)
}

/// Where `target`'s configuration comes from, given the instance of its name (`None`: there is
/// none) and what the state table kept (read when [`wants_stored`] says so; `None` otherwise).
///
/// Refuses a kept configuration read when the target named another source (the opt-in of a
/// target that is gone is that configuration's), and a target nothing is known of unless
/// `create_if_missing`: a typo in the target's name must not create an instance.
pub fn decide(
    target: &InstanceRef,
    source: &InstanceRef,
    instance: Option<&DbInstance>,
    stored: Option<StoredConfiguration>,
    create_if_missing: bool,
) -> Result<Origin, TaskError> {
    if instance.is_some_and(is_finished) {
        return Ok(Origin::Live);
    }
    match stored {
        Some(stored) if stored.source != source.display_name() => Err(TaskError::TargetNotOptedIn(format!(
            "{} is gone, and the configuration kept for it was read when it named {} as its source, not {}",
            target.display_name(),
            stored.source,
            source.display_name()
        ))),
        Some(stored) => Ok(Origin::Stored(Box::new(stored))),
        None if instance.is_some() => Ok(Origin::UnfinishedRestore),
        None if !create_if_missing => Err(TaskError::TargetNotFound(format!(
            "{} does not exist and nothing is known of it: set target.createIfMissing to create it \
             (with RDS's defaults and the overrides)",
            target.display_name()
        ))),
        None => Ok(Origin::Nothing),
    }
}

/// Whether `instance` has finished its refresh (or was never restored by one).
fn is_finished(instance: &DbInstance) -> bool {
    tags::restoring_from(instance.tag_list()).is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TargetConfiguration;

    fn target() -> InstanceRef {
        InstanceRef { region: "us-west-2".into(), db_instance_identifier: "y".into() }
    }

    fn source() -> InstanceRef {
        InstanceRef { region: "us-east-1".into(), db_instance_identifier: "x".into() }
    }

    fn finished() -> DbInstance {
        DbInstance::builder().db_instance_identifier("y").build()
    }

    fn unfinished() -> DbInstance {
        DbInstance::builder().db_instance_identifier("y").tag_list(tags::restoring("rds-refresh-copy")).build()
    }

    fn kept(source: &str) -> StoredConfiguration {
        StoredConfiguration {
            configuration: TargetConfiguration { multi_az: Some(true), ..Default::default() },
            captured_at: "2026-11-23T05:10:00Z".into(),
            source: source.into(),
        }
    }

    #[test]
    fn a_finished_target_is_read_live_and_its_settings_kept() {
        assert!(!wants_stored(Some(&finished())));
        let origin = decide(&target(), &source(), Some(&finished()), None, false).unwrap();
        assert_eq!(origin, Origin::Live);
        assert_eq!(origin.source(), ConfigurationSource::Live);
        assert!(origin.keeps_live());
    }

    #[test]
    fn an_unfinished_restore_or_a_missing_target_prefers_what_was_kept() {
        for instance in [Some(unfinished()), None] {
            assert!(wants_stored(instance.as_ref()));
            let origin = decide(&target(), &source(), instance.as_ref(), Some(kept("us-east-1/x")), false).unwrap();
            assert_eq!(origin, Origin::Stored(Box::new(kept("us-east-1/x"))));
            assert_eq!(origin.source(), ConfigurationSource::Stored);
            assert!(!origin.keeps_live());
        }
    }

    #[test]
    fn an_unfinished_restore_with_nothing_kept_is_read_but_not_kept() {
        let origin = decide(&target(), &source(), Some(&unfinished()), None, false).unwrap();
        assert_eq!(origin, Origin::UnfinishedRestore);
        assert_eq!(origin.source(), ConfigurationSource::Live);
        assert!(!origin.keeps_live());
    }

    #[test]
    fn what_was_kept_for_another_source_is_refused() {
        let refused = decide(&target(), &source(), None, Some(kept("us-east-1/z")), true).unwrap_err();
        assert_eq!(
            refused,
            TaskError::TargetNotOptedIn(
                "us-west-2/y is gone, and the configuration kept for it was read when it named us-east-1/z as its \
                 source, not us-east-1/x"
                    .into()
            )
        );
    }

    #[test]
    fn a_target_nothing_is_known_of_needs_create_if_missing() {
        let refused = decide(&target(), &source(), None, None, false).unwrap_err();
        assert_eq!(refused.name(), "TargetNotFound");
        assert!(refused.to_string().contains("set target.createIfMissing"), "{refused}");
        let origin = decide(&target(), &source(), None, None, true).unwrap();
        assert_eq!(origin, Origin::Nothing);
        assert_eq!(origin.source(), ConfigurationSource::None);
    }
}
