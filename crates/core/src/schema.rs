//! The JSON Schemas of the execution input and output, of every task's input and output, and
//! of the error names a task fails with.
//!
//! `schemas/` holds them as generated here; a test fails when the two differ
//! (regenerate with `UPDATE_SCHEMAS=1 cargo test -p rds-refresh-core --test schemas`).
use schemars::{Schema, json_schema, schema_for};

use crate::model::{RefreshOutput, RefreshRequest};
use crate::tasks::*;

/// `(file name, schema)` for every schema in `schemas/`.
pub fn all() -> Vec<(&'static str, Schema)> {
    vec![
        ("refresh-input.schema.json", schema_for!(RefreshRequest)),
        ("refresh-output.schema.json", schema_for!(RefreshOutput)),
        ("dry-run-output.schema.json", schema_for!(plan_refresh::Output)),
        ("task-error.schema.json", task_error_names()),
        ("check-input.input.schema.json", schema_for!(check_input::Input)),
        ("check-input.output.schema.json", schema_for!(check_input::Output)),
        ("plan-refresh.input.schema.json", schema_for!(plan_refresh::Input)),
        ("plan-refresh.output.schema.json", schema_for!(plan_refresh::Output)),
        ("lock-target.input.schema.json", schema_for!(lock_target::Input)),
        ("lock-target.output.schema.json", schema_for!(lock_target::Output)),
        ("find-snapshot.input.schema.json", schema_for!(find_snapshot::Input)),
        ("find-snapshot.output.schema.json", schema_for!(find_snapshot::Output)),
        ("describe-target.input.schema.json", schema_for!(describe_target::Input)),
        ("describe-target.output.schema.json", schema_for!(describe_target::Output)),
        ("check-secrets.input.schema.json", schema_for!(check_secrets::Input)),
        ("check-secrets.output.schema.json", schema_for!(check_secrets::Output)),
        ("copy-snapshot.input.schema.json", schema_for!(copy_snapshot::Input)),
        ("copy-snapshot.output.schema.json", schema_for!(copy_snapshot::Output)),
        ("wait-copied.input.schema.json", schema_for!(wait_copied::Input)),
        ("wait-copied.output.schema.json", schema_for!(wait_copied::Output)),
        ("delete-target.input.schema.json", schema_for!(delete_target::Input)),
        ("delete-target.output.schema.json", schema_for!(delete_target::Output)),
        ("wait-deleted.input.schema.json", schema_for!(wait_deleted::Input)),
        ("wait-deleted.output.schema.json", schema_for!(wait_deleted::Output)),
        ("restore-target.input.schema.json", schema_for!(restore_target::Input)),
        ("restore-target.output.schema.json", schema_for!(restore_target::Output)),
        ("wait-available.input.schema.json", schema_for!(wait_available::Input)),
        ("wait-available.output.schema.json", schema_for!(wait_available::Output)),
        ("rename-target.input.schema.json", schema_for!(rename_target::Input)),
        ("rename-target.output.schema.json", schema_for!(rename_target::Output)),
        ("recover-swap.input.schema.json", schema_for!(recover_swap::Input)),
        ("recover-swap.output.schema.json", schema_for!(recover_swap::Output)),
        ("configure-target.input.schema.json", schema_for!(configure_target::Input)),
        ("configure-target.output.schema.json", schema_for!(configure_target::Output)),
        ("set-credentials.input.schema.json", schema_for!(set_credentials::Input)),
        ("set-credentials.output.schema.json", schema_for!(set_credentials::Output)),
        ("wait-credentials.input.schema.json", schema_for!(wait_credentials::Input)),
        ("wait-credentials.output.schema.json", schema_for!(wait_credentials::Output)),
        ("apply-roles.input.schema.json", schema_for!(apply_roles::Input)),
        ("apply-roles.output.schema.json", schema_for!(apply_roles::Output)),
        ("check-connections.input.schema.json", schema_for!(check_connections::Input)),
        ("check-connections.output.schema.json", schema_for!(check_connections::Output)),
        ("check-scripts.input.schema.json", schema_for!(check_scripts::Input)),
        ("check-scripts.output.schema.json", schema_for!(check_scripts::Output)),
        ("run-script.input.schema.json", schema_for!(run_script::Input)),
        ("run-script.output.schema.json", schema_for!(run_script::Output)),
        ("verify-data.input.schema.json", schema_for!(verify_data::Input)),
        ("verify-data.output.schema.json", schema_for!(verify_data::Output)),
        ("tag-target.input.schema.json", schema_for!(tag_target::Input)),
        ("tag-target.output.schema.json", schema_for!(tag_target::Output)),
        ("prune-copies.input.schema.json", schema_for!(prune_copies::Input)),
        ("prune-copies.output.schema.json", schema_for!(prune_copies::Output)),
        ("repair-execution.input.schema.json", schema_for!(repair_execution::Input)),
        ("repair-execution.output.schema.json", schema_for!(repair_execution::Output)),
    ]
}

/// The Lambda `errorType` of a failed task: one of the [`ErrorName`](rds_refresh_model::ErrorName)s, the names the state
/// machine's Retry and Catch match (mocked answers are checked against it, too).
fn task_error_names() -> Schema {
    json_schema!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "rds-refresh task error name",
        "description": "The errorType of a failed rds-refresh task: the name Step Functions' Retry and Catch match.",
        "type": "string",
        "enum": rds_refresh_model::ErrorName::all().map(|name| name.as_str()).collect::<Vec<_>>(),
    })
}
