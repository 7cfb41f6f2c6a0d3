//! describe-target: reads the target's configuration before anything is changed, keeps it in
//! the state table, and says what the new target will be given.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::TaskError;
use crate::decisions::configuration::{self, Origin};
use crate::decisions::guards::{check_deletion_protection, check_opted_in};
use crate::identifiers::swap_identifiers;
use crate::model::{InstanceRef, SnapshotRef, TargetConfiguration, TargetSpec};
use crate::rds::{check_fits_snapshot, configuration_of, find_instance, now};
use crate::state::{RdsAndState, StoredConfiguration};
use crate::tags;

pub use crate::decisions::configuration::ConfigurationSource;

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub source: InstanceRef,
    pub target: TargetSpec,
    /// The snapshot to apply: the names swap mode uses are derived from it.
    #[serde(default)]
    pub snapshot: Option<SnapshotRef>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Output {
    /// Whether the target instance exists now.
    pub exists: bool,
    /// Its status, when it exists.
    pub status: Option<String>,
    /// Where the configuration comes from.
    pub configuration_source: ConfigurationSource,
    /// When the configuration was read from the live target.
    pub captured_at: Option<String>,
    /// What the new target is given: the old target's settings with the input's overrides
    /// applied. `null` on a first run without overrides: RDS's defaults apply.
    pub configuration: Option<TargetConfiguration>,
    /// The copy the target was restored from by a refresh that has not finished, if so.
    pub restoring_from: Option<String>,
    /// The names swap mode uses beside the target, when the snapshot was given.
    pub swap: Option<SwapNames>,
    /// An earlier attempt of this swap (same snapshot) stopped between its renames: the target's
    /// name is free, the old target has its retired name and the new instance its temporary
    /// one. The refresh goes on from there: it gives the new instance the target's name.
    #[serde(default)]
    pub swap_interrupted: bool,
}

/// The names swap mode uses beside the target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SwapNames {
    /// The new instance, until it takes the target's name.
    pub temporary: String,
    /// The old target, from the switch until it is deleted.
    pub retired: String,
}

pub async fn handle(clients: RdsAndState, input: Input) -> Result<Output, TaskError> {
    let (mut output, live) = inspect(&clients, &input.source, &input.target).await?;
    if let (Some(snapshot), Some(configuration)) = (&input.snapshot, &output.configuration) {
        check_fits_snapshot(&clients.rds, &input.target.region, configuration, snapshot).await?;
    }
    if let (Some(configuration), Some(captured_at)) = (live, &output.captured_at) {
        let target = input.target.instance();
        clients.state.put_configuration(&target, &input.source, &configuration, captured_at).await?;
    }
    output.swap = input.snapshot.map(|snapshot| {
        let (temporary, retired) = swap_identifiers(&input.target.db_instance_identifier, &snapshot.arn);
        SwapNames { temporary, retired }
    });
    if let (false, Some(names)) = (output.exists, &output.swap) {
        let client = clients.rds.client(&input.target.region);
        output.swap_interrupted = find_instance(&client, &names.retired).await?.is_some()
            && find_instance(&client, &names.temporary).await?.is_some();
    }
    Ok(output)
}

/// Reads the target and checks the guards that concern it ([`crate::decisions::guards`]: it
/// must have opted in to `source`, its deletion protection may only be turned off if allowed),
/// and decides where its configuration comes from ([`configuration::decide`]: a target that
/// does not exist and was never seen needs `createIfMissing`). Writes nothing: the live
/// configuration (before overrides), when there is one to keep, is returned beside the output.
/// The dry run calls it too.
pub async fn inspect(
    clients: &RdsAndState,
    source: &InstanceRef,
    spec: &TargetSpec,
) -> Result<(Output, Option<TargetConfiguration>), TaskError> {
    let target = spec.instance();
    target.validate("target")?;
    spec.overrides.validate()?;
    let instance = find_instance(&clients.rds.client(&target.region), &target.db_instance_identifier).await?;
    if let Some(instance) = &instance {
        check_opted_in(&target, source, instance)?;
        check_deletion_protection(&target, instance, spec.allow_disable_deletion_protection)?;
    }
    // The state table is read only when the live settings are not to be trusted.
    let stored = if configuration::wants_stored(instance.as_ref()) {
        clients.state.stored_configuration(&target).await?
    } else {
        None
    };
    let origin = configuration::decide(&target, source, instance.as_ref(), stored, spec.create_if_missing)?;
    let configuration_source = origin.source();
    let keep = origin.keeps_live();
    let (captured_at, captured) = match origin {
        Origin::Live => (Some(now()), instance.as_ref().map(configuration_of)),
        Origin::UnfinishedRestore => (None, instance.as_ref().map(configuration_of)),
        Origin::Stored(stored) => {
            let StoredConfiguration { captured_at, configuration, .. } = *stored;
            (Some(captured_at), Some(configuration))
        }
        Origin::Nothing => (None, None),
    };
    let live = captured.clone().filter(|_| keep);
    let configuration = match captured {
        Some(configuration) => Some(configuration.with_overrides(&spec.overrides)?),
        None if !spec.overrides.is_empty() => Some(TargetConfiguration::default().with_overrides(&spec.overrides)?),
        None => None,
    };
    tracing::info!(target = %target.display_name(), source = ?configuration_source, exists = instance.is_some(), "target configuration");
    let output = Output {
        exists: instance.is_some(),
        status: instance.as_ref().and_then(|i| i.db_instance_status()).map(str::to_owned),
        configuration_source,
        captured_at,
        configuration,
        restoring_from: instance.as_ref().and_then(|i| tags::restoring_from(i.tag_list())),
        swap: None,
        swap_interrupted: false,
    };
    Ok((output, live))
}
