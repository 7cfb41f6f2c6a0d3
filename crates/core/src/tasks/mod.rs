//! One module per Lambda task: its input and output types and its handler.
//!
//! A handler takes the clients it needs (built once per process) and its typed input, does
//! one step, and returns a typed output or a named [`TaskError`](crate::TaskError).
//! Handlers never sleep: a task that waits for something reports `NotReady` and the
//! state machine calls it again later.
pub mod apply_roles;
pub mod check_connections;
pub mod check_input;
pub mod check_scripts;
pub mod check_secrets;
pub mod configure_target;
pub mod copy_snapshot;
pub mod delete_target;
pub mod describe_target;
pub mod find_snapshot;
pub mod lock_target;
pub mod plan_refresh;
pub mod prune_copies;
pub mod recover_swap;
pub mod rename_target;
pub mod repair_execution;
pub mod restore_target;
pub mod run_script;
pub mod set_credentials;
pub mod tag_target;
pub mod verify_data;
pub mod wait_available;
pub mod wait_copied;
pub mod wait_credentials;
pub mod wait_deleted;
