//! The shared domain of the rds-refresh Lambda tasks.
//!
//! Each task binary is a thin `main` that hands one of the handlers in [`tasks`] to
//! [`lambda::run`]. Everything a task reads or returns is a typed, schema-documented
//! struct (see `schemas/`), and every failure the state machine must tell apart has a
//! stable name ([`TaskError::name`]), which becomes the Lambda `errorType`.
pub mod engine;
pub mod error;
pub mod executions;
pub mod identifiers;
pub mod instance_status;
pub mod lambda;
pub mod leftovers;
pub mod lock;
pub mod model;
pub mod rds;
pub mod regional;
pub mod repair;
pub mod schema;
pub mod state;
pub mod tags;
pub mod tasks;

pub use error::TaskError;
