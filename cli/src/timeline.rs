//! What happened in an execution, state by state, built from its history events.
//!
//! Pure: the Step Functions history is turned into [`Event`]s by `history.rs`, so this can
//! be tested with events written by hand. [`Timeline::apply`] takes events one at a time
//! and says what changed, which is what `watch` shows as it goes.
use rds_refresh_model::interface::fields::{DOWNTIME, STARTED_AT};
use rds_refresh_model::interface::pointer;
use rds_refresh_model::interface::result_paths::{AVAILABLE, DELETION, RETIREMENT};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

/// One history event, reduced to what the timeline needs.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub id: i64,
    /// Seconds since the Unix epoch.
    pub at: f64,
    pub kind: EventKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum EventKind {
    StateEntered {
        name: String,
    },
    StateExited {
        name: String,
        output: Option<String>,
    },
    /// A task attempt began (TaskScheduled or LambdaFunctionScheduled).
    AttemptScheduled,
    /// A task attempt failed or timed out.
    AttemptFailed {
        error: String,
        cause: String,
    },
    Succeeded {
        output: Option<String>,
    },
    /// Failed, timed out or aborted; `status` is the execution's status word.
    Ended {
        status: Status,
        error: String,
        cause: String,
    },
    Other,
}

/// The execution's status, in Step Functions' words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

/// One visit of a state.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub state: String,
    pub entered_at: f64,
    pub exited_at: Option<f64>,
    /// Task attempts (1 + retries); 0 for states that run no task.
    pub attempts: u32,
    /// Every failed attempt's error name, in order.
    pub errors: Vec<String>,
    /// The error a Catch took, when the state was left after a failure.
    pub caught: Option<String>,
}

impl Step {
    pub fn seconds(&self) -> Option<f64> {
        self.exited_at.map(|exited| exited - self.entered_at)
    }

    pub fn retries(&self) -> u32 {
        self.attempts.saturating_sub(1)
    }
}

/// How the execution ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub status: Status,
    pub at: f64,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

/// The stretch of time the target's name did not serve, as far as the execution saw it.
#[derive(Clone, Debug, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Unavailable {
    /// RFC 3339: when the target was renamed away (swap) or deleted (replace).
    pub started_at: String,
    /// RFC 3339; `null`: the execution ended before the target was back.
    pub ended_at: Option<String>,
    /// `null` with `endedAt`.
    pub seconds: Option<f64>,
}

/// A change worth showing while following an execution.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    Entered {
        state: String,
    },
    /// `caught`: the state was left by a Catch, after this error.
    Exited {
        state: String,
        seconds: f64,
        caught: Option<String>,
    },
    Retrying {
        state: String,
        attempt: u32,
        after: String,
    },
    Ended(Outcome),
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Timeline {
    pub steps: Vec<Step>,
    pub outcome: Option<Outcome>,
    /// Seen so far; the next `apply` skips events up to this one.
    pub last_event_id: i64,
    unavailable: UnavailableSeen,
}

/// What the state data has said about the target's downtime (see [`Timeline::unavailable`]).
#[derive(Clone, Debug, Default, PartialEq)]
struct UnavailableSeen {
    started_at: Option<String>,
    measured: Option<Unavailable>,
}

impl Timeline {
    pub fn from_events(events: impl IntoIterator<Item = Event>) -> Timeline {
        let mut timeline = Timeline::default();
        for event in events {
            timeline.apply(event);
        }
        timeline
    }

    /// Takes the next event; events already seen (by id) are ignored, so the whole history
    /// can be fed again on every poll.
    pub fn apply(&mut self, event: Event) -> Vec<Change> {
        if event.id <= self.last_event_id {
            return Vec::new();
        }
        self.last_event_id = event.id;
        match event.kind {
            EventKind::StateEntered { name } => {
                self.steps.push(Step {
                    state: name.clone(),
                    entered_at: event.at,
                    exited_at: None,
                    attempts: 0,
                    errors: Vec::new(),
                    caught: None,
                });
                vec![Change::Entered { state: name }]
            }
            EventKind::AttemptScheduled => {
                let Some(step) = self.open_step() else { return Vec::new() };
                step.attempts += 1;
                match (step.attempts, step.errors.last()) {
                    (attempt, Some(after)) if attempt > 1 => {
                        vec![Change::Retrying { state: step.state.clone(), attempt, after: after.clone() }]
                    }
                    _ => Vec::new(),
                }
            }
            EventKind::AttemptFailed { error, .. } => {
                if let Some(step) = self.open_step() {
                    step.errors.push(error);
                }
                Vec::new()
            }
            EventKind::StateExited { name, output } => {
                if let Some(output) = output.as_deref().and_then(|text| serde_json::from_str(text).ok()) {
                    self.unavailable.observe(&output);
                }
                let Some(step) = self.open_step().filter(|step| step.state == name) else { return Vec::new() };
                step.exited_at = Some(event.at);
                // A task state left after its last attempt failed was left by a Catch.
                if step.attempts > 0 && step.errors.len() as u32 == step.attempts {
                    step.caught = step.errors.last().cloned();
                }
                vec![Change::Exited { state: name, seconds: event.at - step.entered_at, caught: step.caught.clone() }]
            }
            EventKind::Succeeded { output } => {
                let output = output.as_deref().and_then(|text| serde_json::from_str::<Value>(text).ok());
                if let Some(output) = &output {
                    self.unavailable.observe(output);
                }
                self.end(Outcome { status: Status::Succeeded, at: event.at, output, error: None, cause: None })
            }
            EventKind::Ended { status, error, cause } => {
                self.end(Outcome { status, at: event.at, output: None, error: Some(error), cause: Some(cause) })
            }
            EventKind::Other => Vec::new(),
        }
    }

    /// The state being run: the last one entered, if it has not been left.
    fn open_step(&mut self) -> Option<&mut Step> {
        self.steps.last_mut().filter(|step| step.exited_at.is_none())
    }

    fn end(&mut self, outcome: Outcome) -> Vec<Change> {
        // A Fail or Succeed state is never "exited": the execution's end closes it.
        if let Some(step) = self.open_step() {
            step.exited_at = Some(outcome.at);
        }
        self.outcome = Some(outcome.clone());
        vec![Change::Ended(outcome)]
    }

    /// The time the target was unavailable, from the execution's state data: the
    /// `downtime` the waits report (the output's `downtime`, or `available.downtime` on the
    /// way), else the start recorded by the step that took the target down (`retirement`
    /// in swap mode, `deletion` in replace mode) with no end. `None`: this execution did
    /// not take the target down.
    pub fn unavailable(&self) -> Option<Unavailable> {
        let seen = &self.unavailable;
        seen.measured.clone().or_else(|| {
            seen.started_at.clone().map(|started_at| Unavailable { started_at, ended_at: None, seconds: None })
        })
    }
}

impl UnavailableSeen {
    fn observe(&mut self, data: &Value) {
        let downtime = data.get(DOWNTIME).or_else(|| data.pointer(&pointer(AVAILABLE, DOWNTIME)));
        if let Some(downtime) = downtime.filter(|value| value.is_object())
            && let Some(started_at) = downtime["startedAt"].as_str()
        {
            self.measured = Some(Unavailable {
                started_at: started_at.to_owned(),
                ended_at: downtime["endedAt"].as_str().map(str::to_owned),
                seconds: downtime["seconds"].as_f64(),
            });
        }
        for taken_down_by in [RETIREMENT, DELETION] {
            if let Some(started_at) = data.pointer(&pointer(taken_down_by, STARTED_AT)).and_then(Value::as_str) {
                self.started_at = Some(started_at.to_owned());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct History(Vec<Event>);

    impl History {
        fn new() -> History {
            History(Vec::new())
        }

        fn at(mut self, at: f64, kind: EventKind) -> History {
            let id = self.0.len() as i64 + 1;
            self.0.push(Event { id, at, kind });
            self
        }

        fn entered(self, at: f64, name: &str) -> History {
            self.at(at, EventKind::StateEntered { name: name.into() })
        }

        fn exited(self, at: f64, name: &str, output: Option<Value>) -> History {
            self.at(at, EventKind::StateExited { name: name.into(), output: output.map(|value| value.to_string()) })
        }

        fn failed(self, at: f64, error: &str) -> History {
            self.at(at, EventKind::AttemptFailed { error: error.into(), cause: "why".into() })
        }
    }

    fn retried_then_caught() -> History {
        History::new()
            .entered(0.0, "DeleteTarget")
            .at(0.1, EventKind::AttemptScheduled)
            .exited(1.0, "DeleteTarget", Some(json!({"deletion": {"startedAt": "2026-11-25T10:00:01Z"}})))
            .entered(1.0, "WaitDeleted")
            .at(1.1, EventKind::AttemptScheduled)
            .failed(1.2, "NotReady")
            .at(3.0, EventKind::AttemptScheduled)
            .failed(3.1, "Throttled")
            .at(5.0, EventKind::AttemptScheduled)
            .failed(5.1, "RestoreFailed")
            .exited(5.2, "WaitDeleted", None)
            .entered(5.2, "RefreshFailed")
            .at(5.3, EventKind::Ended { status: Status::Failed, error: "RestoreFailed".into(), cause: "boom".into() })
    }

    #[test]
    fn retries_and_the_caught_error_are_counted_per_visit() {
        let timeline = Timeline::from_events(retried_then_caught().0);
        let wait = &timeline.steps[1];
        assert_eq!((wait.state.as_str(), wait.attempts, wait.retries()), ("WaitDeleted", 3, 2));
        assert_eq!(wait.errors, ["NotReady", "Throttled", "RestoreFailed"]);
        assert_eq!(wait.caught.as_deref(), Some("RestoreFailed"));
        assert!((wait.seconds().unwrap() - 4.2).abs() < 1e-9);
        assert_eq!(timeline.steps[0].caught, None);
        // The Fail state is closed by the execution's end.
        assert_eq!(timeline.steps[2].exited_at, Some(5.3));
        let outcome = timeline.outcome.unwrap();
        assert_eq!((outcome.status, outcome.error.as_deref()), (Status::Failed, Some("RestoreFailed")));
    }

    #[test]
    fn changes_come_out_as_the_events_arrive_and_repeats_are_ignored() {
        let events = retried_then_caught().0;
        let mut timeline = Timeline::default();
        let changes: Vec<Change> = events.iter().cloned().flat_map(|event| timeline.apply(event)).collect();
        assert!(changes.contains(&Change::Retrying {
            state: "WaitDeleted".into(),
            attempt: 2,
            after: "NotReady".into()
        }));
        assert!(changes.iter().any(|change| matches!(change,
            Change::Exited { state, caught: Some(error), .. } if state == "WaitDeleted" && error == "RestoreFailed")));
        assert!(changes.contains(&Change::Exited { state: "DeleteTarget".into(), seconds: 1.0, caught: None }));
        assert!(matches!(changes.last(), Some(Change::Ended(outcome)) if outcome.status == Status::Failed));
        // Feeding the whole history again (the next poll) changes nothing.
        assert!(events.into_iter().flat_map(|event| timeline.apply(event)).next().is_none());
    }

    #[test]
    fn unavailable_comes_from_the_reported_downtime() {
        let output = json!({"downtime": {"startedAt": "A", "endedAt": "B", "seconds": 42.5}});
        let history = History::new()
            .entered(0.0, "RetireTarget")
            .exited(1.0, "RetireTarget", Some(json!({"retirement": {"startedAt": "A"}})))
            .at(9.0, EventKind::Succeeded { output: Some(output.to_string()) });
        let unavailable = Timeline::from_events(history.0).unavailable().unwrap();
        assert_eq!(
            unavailable,
            Unavailable { started_at: "A".into(), ended_at: Some("B".into()), seconds: Some(42.5) }
        );
    }

    #[test]
    fn a_target_taken_down_and_not_back_is_unavailable_with_no_end() {
        let unavailable = Timeline::from_events(retried_then_caught().0).unavailable().unwrap();
        assert_eq!(
            unavailable,
            Unavailable { started_at: "2026-11-25T10:00:01Z".into(), ended_at: None, seconds: None }
        );
    }

    #[test]
    fn a_run_that_never_took_the_target_down_reports_no_unavailability() {
        let history = History::new()
            .entered(0.0, "FindSnapshot")
            .at(0.1, EventKind::AttemptScheduled)
            .failed(0.2, "SnapshotNotFound")
            .exited(0.3, "FindSnapshot", None);
        let timeline = Timeline::from_events(history.0);
        assert_eq!(timeline.unavailable(), None);
        assert_eq!(timeline.steps[0].caught.as_deref(), Some("SnapshotNotFound"));
    }
}
