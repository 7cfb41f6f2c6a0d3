//! The shared domain of the rds-refresh Lambda tasks.
//!
//! The one Lambda binary (crates/lambda) runs the task its function's handler name picks
//! ([`handlers::Handler`]), through [`lambda::run`]. Everything a task reads or returns is a typed, schema-documented
//! struct (see `schemas/`), and every failure the state machine must tell apart has a
//! stable name ([`TaskError::name`]), which becomes the Lambda `errorType`.
//!
//! Three layers: the AWS calls ([`rds`] for RDS, [`state`] for the state table, [`executions`]
//! for Step Functions), the safety decisions as pure functions over what those calls found
//! ([`decisions`]), and the tasks ([`tasks`]), each only its input, its output and a `handle`
//! that makes the calls and follows the decisions.
pub mod decisions;
pub mod engine;
pub mod error;
pub mod executions;
pub mod handlers;
pub mod instance_status;
pub mod lambda;
pub mod logins;
pub mod rds;
pub mod regional;
pub mod schema;
pub mod scripts;
pub mod secrets;
pub mod state;
pub mod tags;
pub mod tasks;

pub use error::TaskError;
/// The shared vocabulary, under the names the tasks have always used.
pub use rds_refresh_model::{self as model, identifiers};
