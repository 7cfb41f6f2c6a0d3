//! The vocabulary of rds-refresh, shared by the Lambda tasks and the CLI: the execution's
//! input (validated) and output, the types several tasks pass each other, identifier rules,
//! and the error names. No AWS SDK and no Lambda runtime in here: the CLI checks an input
//! with exactly the rules the state machine's CheckInput applies, without compiling them.
//!
//! These are interfaces: the state machine passes them between tasks and `schemas/`
//! documents them. Field names are camelCase in JSON, like the rest of Step Functions.
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::identifiers::{check_instance_identifier, check_region};

pub mod configuration;
pub mod credentials;
pub mod error;
pub mod identifiers;
pub mod input;
pub mod interface;
pub mod json;
pub mod request;
pub mod sql;

pub use error::{ErrorName, TaskError};
pub use input::parse_input;

/// The prefix of every tag rds-refresh reads or writes (`rds-refresh:source`, ...).
pub const TAG_PREFIX: &str = "rds-refresh:";

/// What earlier swaps left beside the target.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Leftovers {
    /// Temporary instances of earlier swaps (restores that never took the target's name).
    pub temporaries: Vec<String>,
    /// Retired targets of earlier swaps: reported, never deleted (each may be the only copy
    /// of the target's old data); delete them by hand once they are not needed.
    pub retired: Vec<String>,
}

/// The execution whose lock was taken over, and how it had ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TakenOver {
    /// Its ARN.
    pub execution: String,
    /// Its status then (`ABORTED`, `TIMED_OUT`, `FAILED` or `SUCCEEDED`).
    pub status: String,
}

pub use configuration::{Difference, Overrides, TargetConfiguration};
pub use credentials::{CredentialsApplied, CredentialsPlan, MasterCredentials, OtherLogins, RoleSecret};
pub use request::{CopyOptions, Mode, NotifyOptions, RefreshRequest, SnapshotSelection, SnapshotType, TargetSpec};
pub use sql::{SqlApplied, SqlPlan, SqlSpec};

/// An RDS DB instance, named by region and identifier.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InstanceRef {
    /// AWS region of the instance, e.g. `us-east-1`.
    #[schemars(example = &"us-east-1", extend("enum" = crate::identifiers::KNOWN_REGIONS))]
    pub region: String,
    /// The DB instance identifier: 1-63 letters, digits and hyphens, starting with a letter.
    #[schemars(example = &"x", length(min = 1, max = 63), pattern(r"^[A-Za-z][A-Za-z0-9]*(-[A-Za-z0-9]+)*$"))]
    pub db_instance_identifier: String,
}

impl InstanceRef {
    /// Checks the naming rules; `path` is where this reference sits in the input.
    pub fn validate(&self, path: &str) -> Result<(), TaskError> {
        check_region(&self.region).map_err(|rule| TaskError::invalid_input(format!("{path}.region"), rule))?;
        check_instance_identifier(&self.db_instance_identifier)
            .map_err(|rule| TaskError::invalid_input(format!("{path}.dbInstanceIdentifier"), rule))
    }

    /// The instance called `id` in the same region (another name of the same place: swap
    /// mode's temporary and retired names).
    pub fn named(&self, id: &str) -> InstanceRef {
        InstanceRef { region: self.region.clone(), db_instance_identifier: id.to_owned() }
    }

    /// `region/identifier`, the form used in messages and in the `rds-refresh:source` tag.
    pub fn display_name(&self) -> String {
        format!("{}/{}", self.region, self.db_instance_identifier)
    }
}

/// A snapshot of the source instance, as chosen by find-snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotRef {
    /// Snapshot identifier, e.g. `rds:x-2026-11-23-05-10` (automated) or `x-before-upgrade`.
    pub identifier: String,
    /// Snapshot ARN; cross-region copies name their source by it.
    pub arn: String,
    /// Region the snapshot is in.
    pub region: String,
    /// When the snapshot was taken (RFC 3339, UTC).
    pub created_at: String,
    /// `automated` or `manual`.
    pub snapshot_type: String,
    /// Whether the snapshot is encrypted.
    pub encrypted: bool,
    /// The engine of the snapshot's instance, e.g. `postgres`.
    #[serde(default)]
    pub engine: Option<String>,
    /// The engine version of the snapshot, e.g. `16.3`: the target's parameter and option
    /// groups must be of its major version.
    #[serde(default)]
    pub engine_version: Option<String>,
    /// The master user of the snapshot's instance: a restore keeps it, and the target's
    /// master secret must name it.
    #[serde(default)]
    pub master_username: Option<String>,
}

/// The snapshot the target is restored from, in the target region.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CopyRef {
    /// Snapshot identifier in the target region.
    pub identifier: String,
    /// Snapshot ARN in the target region.
    pub arn: String,
    /// The target region.
    pub region: String,
    /// `copied` when this run started the copy, `reused` when an earlier run's copy was
    /// found, `same-region` when source and target share a region and no copy is needed.
    pub origin: CopyOrigin,
}

/// Where the snapshot to restore from came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum CopyOrigin {
    Copied,
    Reused,
    SameRegion,
}

/// Where clients connect to an instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    pub address: String,
    pub port: i32,
}

/// The execution output of a successful refresh.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "rds-refresh execution output")]
pub struct RefreshOutput {
    pub source: InstanceRef,
    pub target: InstanceRef,
    /// The source snapshot the target now comes from.
    pub snapshot: SnapshotRef,
    /// The snapshot the target was restored from, in the target region.
    pub copy: CopyRef,
    /// The target's endpoint after the refresh.
    pub endpoint: Endpoint,
    /// Whether a target existed (and was replaced) when the run started.
    pub replaced_existing_target: bool,
    /// The configuration the target was given (`null`: RDS's defaults, on a first run).
    pub configuration: Option<TargetConfiguration>,
    /// Older copies deleted under `copy.retain`.
    pub deleted_copies: Vec<String>,
    /// Temporary instances earlier swaps left, deleted after this refresh (see
    /// `leftoverRetired` for what is only reported).
    pub deleted_instances: Vec<String>,
    /// Retired targets earlier swaps left beside the target, and temporaries that could not
    /// be deleted now: never deleted by rds-refresh (a retired target may be the only copy of
    /// the target's old data).
    pub leftovers: crate::Leftovers,
    /// How the target was replaced.
    pub mode: Mode,
    /// How long the target's name did not serve, as the execution measured it: in swap mode
    /// from the rename of the old target to the new one available under the name, in
    /// replace mode from the delete to the restored target available. `null` when this
    /// execution did not see both ends (a re-run that found the work done).
    pub downtime: Option<Downtime>,
    /// The execution whose lock this one took over because it had ended without releasing
    /// it (stopped, timed out), and how it ended: this run finished or undid what it left.
    #[serde(default)]
    pub lock_taken_over_from: Option<crate::TakenOver>,
    /// What the credential steps did before the target's name served the new instance: the
    /// master user and the secret its password is in now, the roles given their secrets'
    /// passwords, the logins disabled, the logins checked. `null` when none ran (the target
    /// keeps the snapshot's credentials). Names and ARNs only, never a password.
    #[serde(default)]
    pub credentials: Option<crate::CredentialsApplied>,
    /// What the SQL steps did before the target's name served the new instance: each
    /// script's name, the SHA-256 of the text that ran, its duration and the rows it
    /// affected; each verification query's result. `null` when none ran.
    #[serde(default)]
    pub sql: Option<crate::SqlApplied>,
}

/// A stretch of time in which the target's name did not serve.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Downtime {
    /// RFC 3339.
    pub started_at: String,
    /// RFC 3339.
    pub ended_at: String,
    pub seconds: f64,
}
