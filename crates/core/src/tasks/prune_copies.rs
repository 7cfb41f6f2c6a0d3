//! prune-copies: after a successful refresh, deletes the copies rds-refresh made for this
//! source and target beyond the newest `copy.retain`, and the temporary instances earlier
//! swaps left (see [`crate::decisions::leftovers`]). Nothing else is ever deleted: a snapshot is a
//! candidate only if its identifier has rds-refresh's prefix and its tags say rds-refresh made
//! it as a copy (not a final snapshot), from this source, for this target; an instance only if
//! it has a swap temporary's name for this target, names this source in its opt-in tag and
//! carries the mark of an unfinished restore. Retired targets left by earlier swaps are
//! reported, never deleted. Which copies: [`crate::decisions::pruning`].
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::TaskError;
use crate::decisions::leftovers::{self, Leftovers};
use crate::decisions::pruning;
use crate::error::{error_code, from_sdk};
use crate::model::{CopyRef, InstanceRef};
use crate::rds::{Rds, delete_temporary, own_copies, region_instances};
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

pub async fn handle(rds: Rds, input: Input) -> Result<Output, TaskError> {
    let client = rds.client(&input.target.region);
    let copies = own_copies(&client, &input.source, &input.target).await?;
    let (kept, to_delete) = pruning::choose(copies, &input.copy.identifier, input.retain);
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
    let instances = region_instances(&client, &input.target).await?;
    let mut leftovers = leftovers::among(&instances, &input.target, &input.source, &current);
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
