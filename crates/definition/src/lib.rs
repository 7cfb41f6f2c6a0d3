//! The rds-refresh state machines declared in Rust, written to `statemachine/*.asl.json` (the
//! files SAM deploys, the local runner runs and the core's tests read). Each retry policy, the
//! failure path, the Lambda task conventions and the repeated Parameters blocks are declared
//! once; `tests/committed.rs` keeps the committed files equal to what is generated here
//! (`UPDATE_DEFINITIONS=1 cargo test -p rds-refresh-definition` rewrites them).
//!
//! - [`names`]: error names and result paths, shared with the tasks and the CLI.
//! - `asl`: typed states of the Amazon States Language; `json`: ordered free-form JSON.
//! - `conventions`: how the project's states are built (Lambda tasks, retries, waits, SNS).
//! - `refresh`, `repair`, `start_on_snapshot`: the three state machines, top to bottom.

mod asl;
mod conventions;
mod json;
/// The names shared with the tasks and the CLI live in the vocabulary crate.
pub use rds_refresh_model::interface as names;
mod refresh;
mod repair;
mod start_on_snapshot;

pub use asl::StateMachine;

/// Each state machine, with its file's name under `statemachine/`.
pub fn definitions() -> [(&'static str, StateMachine); 3] {
    [
        ("refresh.asl.json", refresh::refresh()),
        ("repair.asl.json", repair::repair()),
        ("start-on-snapshot.asl.json", start_on_snapshot::start_on_snapshot()),
    ]
}

/// A definition as its file holds it: pretty-printed (two-space indent), with a trailing newline.
pub fn render(machine: &StateMachine) -> String {
    let mut text = serde_json::to_string_pretty(machine).expect("a definition serializes");
    text.push('\n');
    text
}
