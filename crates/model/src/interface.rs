//! What readers of an execution (the CLI, the tests) take from the state machine's data: the
//! fields the definition's ResultPaths write. Declared once here; crates/definition writes
//! the definition with these paths and its tests check them against the committed file.

/// Where the swap's first rename (the target's name stops serving) records its start:
/// `{"startedAt": ...}`.
pub const RETIREMENT: &str = "retirement";
/// Where replace mode's delete of the target records its start.
pub const DELETION: &str = "deletion";
/// Where the wait for the promoted (or restored) target records what it saw, including
/// the measured `downtime` on the way to the output.
pub const AVAILABLE: &str = "available";
/// The measured downtime in the execution's output and in [`AVAILABLE`]: `{startedAt,
/// endedAt, seconds}`.
pub const DOWNTIME: &str = "downtime";

/// The ResultPath (JSONPath) that writes `field` at the top of the state data.
pub fn result_path(field: &str) -> String {
    format!("$.{field}")
}

/// The JSON pointer of `field` inside `parent` in the state data (`/available/downtime`).
pub fn pointer(path: &[&str]) -> String {
    path.iter().map(|field| format!("/{field}")).collect()
}
