//! One module per Lambda task: its input and output types and its handler.
//!
//! A handler takes the shared [`Rds`](crate::rds::Rds) clients and its typed input, does
//! one RDS step, and returns a typed output or a named [`TaskError`](crate::TaskError).
//! Handlers never sleep: a task that waits for something reports `NotReady` and the
//! state machine calls it again later.
pub mod copy_snapshot;
pub mod delete_target;
pub mod describe_target;
pub mod find_snapshot;
pub mod restore_target;
pub mod tag_target;
pub mod wait_available;
pub mod wait_copied;
pub mod wait_deleted;
