//! The Lambda functions the one binary serves, told apart by their handler name.
//!
//! Every function of the stack deploys the same artifact (crates/lambda); each keeps its own
//! role and least-privilege policy in deploy/template.yaml, and its `Handler` setting, which
//! Lambda passes to the process as `_HANDLER`, names the task it runs. The names are an
//! interface: the template's `Handler`s, statemachine/functions.json and the local runner use
//! them; tests/permissions.rs maps each to its code.
use std::future::Future;
use std::pin::Pin;

use strum::{EnumIter, EnumString, IntoStaticStr};

use crate::lambda;
use crate::tasks::*;

/// One task, by its handler name (`check-input`, `lock-target`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, EnumString, IntoStaticStr, EnumIter)]
#[strum(serialize_all = "kebab-case")]
pub enum Handler {
    CheckInput,
    PlanRefresh,
    LockTarget,
    FindSnapshot,
    DescribeTarget,
    CheckSecrets,
    CheckScripts,
    CopySnapshot,
    WaitCopied,
    DeleteTarget,
    WaitDeleted,
    RestoreTarget,
    WaitAvailable,
    ConfigureTarget,
    SetCredentials,
    WaitCredentials,
    ApplyRoles,
    CheckConnections,
    RunScript,
    VerifyData,
    TagTarget,
    PruneCopies,
    RenameTarget,
    RecoverSwap,
    RepairExecution,
}

impl Handler {
    /// The handler `name` names; the error lists the names this binary serves.
    pub fn named(name: &str) -> Result<Handler, String> {
        name.parse().map_err(|_| {
            let known: Vec<&str> = <Handler as strum::IntoEnumIterator>::iter().map(Handler::name).collect();
            format!(
                "unknown handler {name:?} (the function's Handler, _HANDLER): this binary serves {}",
                known.join(", ")
            )
        })
    }

    pub fn name(self) -> &'static str {
        self.into()
    }

    /// The module under `crates/core/src/tasks/` that holds this task's handler.
    pub fn module(self) -> String {
        self.name().replace('-', "_")
    }

    /// Serves this task's invocations until the runtime stops. Each task's runtime loop is
    /// its own future type; boxed, the one binary's `main` holds one of them.
    pub fn run(self) -> Pin<Box<dyn Future<Output = Result<(), lambda_runtime::Error>>>> {
        match self {
            Handler::CheckInput => Box::pin(lambda::run(check_input::handle)),
            Handler::PlanRefresh => Box::pin(lambda::run(plan_refresh::handle)),
            Handler::LockTarget => Box::pin(lambda::run(lock_target::handle)),
            Handler::FindSnapshot => Box::pin(lambda::run(find_snapshot::handle)),
            Handler::DescribeTarget => Box::pin(lambda::run(describe_target::handle)),
            Handler::CheckSecrets => Box::pin(lambda::run(check_secrets::handle)),
            Handler::CheckScripts => Box::pin(lambda::run(check_scripts::handle)),
            Handler::CopySnapshot => Box::pin(lambda::run(copy_snapshot::handle)),
            Handler::WaitCopied => Box::pin(lambda::run(wait_copied::handle)),
            Handler::DeleteTarget => Box::pin(lambda::run(delete_target::handle)),
            Handler::WaitDeleted => Box::pin(lambda::run(wait_deleted::handle)),
            Handler::RestoreTarget => Box::pin(lambda::run(restore_target::handle)),
            Handler::WaitAvailable => Box::pin(lambda::run(wait_available::handle)),
            Handler::ConfigureTarget => Box::pin(lambda::run(configure_target::handle)),
            Handler::SetCredentials => Box::pin(lambda::run(set_credentials::handle)),
            Handler::WaitCredentials => Box::pin(lambda::run(wait_credentials::handle)),
            Handler::ApplyRoles => Box::pin(lambda::run(apply_roles::handle)),
            Handler::CheckConnections => Box::pin(lambda::run(check_connections::handle)),
            Handler::RunScript => Box::pin(lambda::run(run_script::handle)),
            Handler::VerifyData => Box::pin(lambda::run(verify_data::handle)),
            Handler::TagTarget => Box::pin(lambda::run(tag_target::handle)),
            Handler::PruneCopies => Box::pin(lambda::run(prune_copies::handle)),
            Handler::RenameTarget => Box::pin(lambda::run(rename_target::handle)),
            Handler::RecoverSwap => Box::pin(lambda::run(recover_swap::handle)),
            Handler::RepairExecution => Box::pin(lambda::run(repair_execution::handle)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::IntoEnumIterator;

    #[test]
    fn handler_names_are_the_task_names() {
        assert_eq!(Handler::named("check-input"), Ok(Handler::CheckInput));
        assert_eq!(Handler::RepairExecution.name(), "repair-execution");
        assert_eq!(Handler::RepairExecution.module(), "repair_execution");
        assert_eq!(Handler::iter().count(), 25);
    }

    #[test]
    fn an_unknown_handler_is_refused_with_the_known_ones() {
        let error = Handler::named("bootstrap").unwrap_err();
        assert!(error.starts_with("unknown handler \"bootstrap\" (the function's Handler, _HANDLER): this binary serves check-input, plan-refresh,"), "{error}");
    }
}
