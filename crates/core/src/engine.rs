//! Engine versions and the groups that belong to them.
//!
//! A custom parameter group belongs to a family (`postgres16`) and an option group to a major
//! engine version (`16`): after `x`'s major upgrade, `y`'s groups no longer fit a restore of
//! `x`'s snapshot, and RDS refuses the restore, in replace mode after `y` was deleted. The
//! refresh finds this before anything is changed (see [`check_groups`]).
use crate::TaskError;

/// The major version of a PostgreSQL engine version: `16` of `16.3`, `9.6` of `9.6.22`
/// (before 10, the major version had two parts).
pub fn major_version(engine_version: &str) -> String {
    let mut parts = engine_version.split('.');
    let first = parts.next().unwrap_or_default();
    match first.parse::<u32>() {
        Ok(major) if major < 10 => match parts.next() {
            Some(minor) => format!("{first}.{minor}"),
            None => first.to_owned(),
        },
        _ => first.to_owned(),
    }
}

/// The parameter group family of `engine` at `engine_version`: `postgres16`.
pub fn parameter_group_family(engine: &str, engine_version: &str) -> String {
    format!("{engine}{}", major_version(engine_version))
}

/// What is known of the groups a configuration names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Groups {
    /// The parameter group and its family (`None`: the group does not exist).
    pub parameter_group: Option<(String, Option<String>)>,
    /// The option group and its major engine version (`None`: the group does not exist).
    pub option_group: Option<(String, Option<String>)>,
}

/// Whether `groups` fit an instance restored from a snapshot of `engine` at `engine_version`;
/// if not, `ConfigurationIncompatible` saying what to pass in `target.overrides`.
pub fn check_groups(groups: &Groups, engine: &str, engine_version: &str, snapshot: &str) -> Result<(), TaskError> {
    let family = parameter_group_family(engine, engine_version);
    let major = major_version(engine_version);
    let mut problems = Vec::new();
    if let Some((name, found)) = &groups.parameter_group {
        match found {
            None => problems.push(format!("its parameter group {name} does not exist")),
            Some(found) if *found != family => {
                problems.push(format!("its parameter group {name} is of family {found}, not {family}"));
            }
            Some(_) => {}
        }
    }
    if let Some((name, found)) = &groups.option_group {
        match found {
            None => problems.push(format!("its option group {name} does not exist")),
            Some(found) if *found != major => {
                problems.push(format!("its option group {name} is for {engine} {found}, not {major}"));
            }
            Some(_) => {}
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    let mut fix = Vec::new();
    if groups.parameter_group.is_some() {
        fix.push(format!("\"dbParameterGroupName\": \"<a {family} parameter group>\""));
    }
    if groups.option_group.is_some() {
        fix.push(format!("\"optionGroupName\": \"<an option group for {engine} {major}>\""));
    }
    Err(TaskError::ConfigurationIncompatible(format!(
        "snapshot {snapshot} is of {engine} {engine_version}, and the target's configuration does not fit it: {}. \
         Pass target.overrides {{{}}} (null for RDS's default group)",
        problems.join("; "),
        fix.join(", ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn major_versions_and_families() {
        assert_eq!(major_version("16.3"), "16");
        assert_eq!(major_version("10.21"), "10");
        assert_eq!(major_version("9.6.22"), "9.6");
        assert_eq!(parameter_group_family("postgres", "16.3"), "postgres16");
        assert_eq!(parameter_group_family("postgres", "9.6.22"), "postgres9.6");
    }

    fn groups(parameter: Option<&str>, option: Option<&str>) -> Groups {
        Groups {
            parameter_group: Some(("staging-pg".into(), parameter.map(str::to_owned))),
            option_group: Some(("staging-og".into(), option.map(str::to_owned))),
        }
    }

    #[test]
    fn groups_of_the_snapshot_major_version_fit() {
        assert_eq!(check_groups(&groups(Some("postgres16"), Some("16")), "postgres", "16.3", "s"), Ok(()));
        assert_eq!(check_groups(&Groups::default(), "postgres", "16.3", "s"), Ok(()));
    }

    #[test]
    fn groups_of_the_old_major_version_are_refused_with_what_to_pass() {
        let error = check_groups(&groups(Some("postgres15"), Some("15")), "postgres", "16.3", "s1").unwrap_err();
        assert_eq!(error.name(), "ConfigurationIncompatible");
        let message = error.to_string();
        assert!(message.contains("parameter group staging-pg is of family postgres15, not postgres16"), "{message}");
        assert!(message.contains("option group staging-og is for postgres 15, not 16"), "{message}");
        assert!(message.contains("\"dbParameterGroupName\": \"<a postgres16 parameter group>\""), "{message}");
        let missing = check_groups(&groups(None, Some("16")), "postgres", "16.3", "s1").unwrap_err();
        assert!(missing.to_string().contains("parameter group staging-pg does not exist"), "{missing}");
    }
}
