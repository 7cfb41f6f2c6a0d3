//! How timelines, changes and executions are written for people (text) and programs (JSON).
use aws_sdk_sfn::primitives::{DateTime, DateTimeFormat};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::timeline::{Change, Outcome, Status, Timeline, Unavailable};

pub fn time(at: f64) -> String {
    DateTime::from_secs_f64(at).fmt(DateTimeFormat::DateTime).unwrap_or_else(|_| at.to_string())
}

/// One line per change, in the local runner's words (`scripts/refresh-local`).
pub fn change_line(change: &Change) -> String {
    match change {
        Change::Entered { state } => format!("▶ {state}"),
        Change::Exited { state, seconds, caught: None } => format!("✓ {state} ({seconds:.1} s)"),
        Change::Exited { state, seconds, caught: Some(error) } => {
            format!("⤷ {state} failed with {error} after {seconds:.1} s; caught")
        }
        Change::Retrying { state, attempt, after } => format!("↻ {state} retry {} after {after}", attempt - 1),
        Change::Ended(outcome) => outcome_line(outcome),
    }
}

pub fn outcome_line(outcome: &Outcome) -> String {
    match outcome.status {
        Status::Succeeded => "✔ the execution succeeded".to_owned(),
        status => format!(
            "✗ the execution {}: {}: {}",
            status_word(status),
            outcome.error.as_deref().unwrap_or("(no error name)"),
            outcome.cause.as_deref().unwrap_or("(no cause)")
        ),
    }
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Running => "is running",
        Status::Succeeded => "succeeded",
        Status::Failed => "failed",
        Status::TimedOut => "timed out",
        Status::Aborted => "was aborted",
    }
}

/// The whole timeline as a table, for `history`.
pub fn timeline_text(execution: &str, timeline: &Timeline) -> String {
    let mut text = format!("execution   {execution}\n");
    match &timeline.outcome {
        Some(outcome) => text += &format!("outcome     {}\n", outcome_line(outcome)),
        None => text += "outcome     still running\n",
    }
    if let (Some(first), Some(end)) = (
        timeline.steps.first(),
        timeline.outcome.as_ref().map(|o| o.at).or(timeline.steps.last().and_then(|s| s.exited_at)),
    ) {
        text += &format!("ran         {} to {} ({:.1} s)\n", time(first.entered_at), time(end), end - first.entered_at);
    }
    text += &format!("unavailable {}\n\n", unavailable_text(timeline));
    let width = timeline.steps.iter().map(|step| step.state.chars().count()).max().unwrap_or(5).max(5);
    text += &format!("{:<width$}  {:<24}  {:>9}  {:>7}  errors\n", "state", "entered", "seconds", "retries");
    for step in &timeline.steps {
        let seconds = step.seconds().map(|s| format!("{s:.1}")).unwrap_or_else(|| "-".into());
        let mut errors = step.errors.join(", ");
        if let Some(caught) = &step.caught {
            errors += &format!(" (caught {caught})");
        }
        text += &format!(
            "{:<width$}  {:<24}  {:>9}  {:>7}  {}\n",
            step.state,
            time(step.entered_at),
            seconds,
            step.retries(),
            errors.trim()
        );
    }
    text
}

fn unavailable_text(timeline: &Timeline) -> String {
    match timeline.unavailable() {
        None => "the target was not taken down by this execution".to_owned(),
        Some(u) => match (u.ended_at, u.seconds) {
            (Some(ended_at), Some(seconds)) => format!("{seconds:.1} s, from {} to {ended_at}", u.started_at),
            _ => format!("since {}; not back when the execution ended", u.started_at),
        },
    }
}

// An interface for scripts: its schema is schemas/cli/history.schema.json (see schemas.rs).
/// What `rds-refresh history --format json` prints: an execution's timeline.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(title = "rds-refresh history --format json")]
pub struct HistoryReport {
    pub execution_arn: String,
    pub status: Status,
    /// Each visit of a state, in order.
    pub steps: Vec<StepReport>,
    /// The execution's output, when it succeeded.
    pub output: Option<Value>,
    /// The error name, when it failed, timed out or was aborted.
    pub error: Option<String>,
    pub cause: Option<String>,
    /// `null`: this execution did not take the target down.
    pub unavailable: Option<Unavailable>,
}

/// One visit of a state.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepReport {
    pub state: String,
    /// RFC 3339.
    pub entered_at: String,
    /// RFC 3339; `null` while the state runs.
    pub exited_at: Option<String>,
    pub seconds: Option<f64>,
    /// Task attempts (1 + retries); 0 for states that run no task.
    pub attempts: u32,
    /// Every failed attempt's error name, in order.
    pub errors: Vec<String>,
    /// The error a Catch took, when the state was left after a failure.
    pub caught: Option<String>,
}

pub fn history_report(execution: &str, timeline: &Timeline) -> HistoryReport {
    let outcome = timeline.outcome.as_ref();
    HistoryReport {
        execution_arn: execution.to_owned(),
        status: outcome.map_or(Status::Running, |outcome| outcome.status),
        steps: timeline
            .steps
            .iter()
            .map(|step| StepReport {
                state: step.state.clone(),
                entered_at: time(step.entered_at),
                exited_at: step.exited_at.map(time),
                seconds: step.seconds(),
                attempts: step.attempts,
                errors: step.errors.clone(),
                caught: step.caught.clone(),
            })
            .collect(),
        output: outcome.and_then(|outcome| outcome.output.clone()),
        error: outcome.and_then(|outcome| outcome.error.clone()),
        cause: outcome.and_then(|outcome| outcome.cause.clone()),
        unavailable: timeline.unavailable(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timeline::{Event, EventKind};

    #[test]
    fn lines_name_the_state_the_error_and_the_retry() {
        let retry = Change::Retrying { state: "WaitDeleted".into(), attempt: 3, after: "NotReady".into() };
        assert_eq!(change_line(&retry), "↻ WaitDeleted retry 2 after NotReady");
        let caught =
            Change::Exited { state: "RestoreTarget".into(), seconds: 2.0, caught: Some("RestoreFailed".into()) };
        assert_eq!(change_line(&caught), "⤷ RestoreTarget failed with RestoreFailed after 2.0 s; caught");
    }

    #[test]
    fn the_table_has_a_row_per_visit_with_its_retries() {
        let events = [
            EventKind::StateEntered { name: "WaitDeleted".into() },
            EventKind::AttemptScheduled,
            EventKind::AttemptFailed { error: "NotReady".into(), cause: String::new() },
            EventKind::AttemptScheduled,
            EventKind::StateExited { name: "WaitDeleted".into(), output: None },
            EventKind::Succeeded { output: Some(r#"{"downtime":{"startedAt":"A","endedAt":"B","seconds":3}}"#.into()) },
        ];
        let timeline = Timeline::from_events(events.into_iter().enumerate().map(|(i, kind)| Event {
            id: i as i64 + 1,
            at: i as f64,
            kind,
        }));
        let text = timeline_text("arn:x", &timeline);
        assert!(text.contains("unavailable 3.0 s, from A to B"), "{text}");
        let row = text.lines().find(|line| line.starts_with("WaitDeleted")).unwrap();
        assert!(row.ends_with("4.0        1  NotReady"), "{row:?}");
    }
}
