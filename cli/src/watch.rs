//! `watch`: follow an execution to its end, showing each change as it happens.
use std::io::IsTerminal;
use std::time::Duration;

use aws_sdk_sfn::Client;
use indicatif::{ProgressBar, ProgressStyle};

use crate::args::PollArgs;
use crate::error::CliError;
use crate::render::change_line;
use crate::sfn::{api_error, history_after, status_of};
use crate::timeline::{Change, Outcome, Status, Timeline};

/// Follows `execution` until it is no longer running; returns how it ended.
pub async fn watch(client: &Client, execution: &str, poll: PollArgs) -> Result<Outcome, CliError> {
    let display = Display::new();
    let mut timeline = Timeline::default();
    loop {
        // Status first: when it says the execution ended, the history read next has the end.
        let described = client
            .describe_execution()
            .execution_arn(execution)
            .send()
            .await
            .map_err(|error| api_error("DescribeExecution", error))?;
        for event in history_after(client, execution, timeline.last_event_id).await? {
            for change in timeline.apply(event) {
                display.show(&change);
            }
        }
        let status = status_of(described.status());
        if status != Status::Running {
            display.finish();
            // The end event is always in the history; the description is a fallback for an
            // API that keeps no history of it.
            return Ok(timeline.outcome.unwrap_or_else(|| Outcome {
                status,
                at: described.stop_date().map(|date| date.as_secs_f64()).unwrap_or_default(),
                output: described.output().and_then(|text| serde_json::from_str(text).ok()),
                error: described.error().map(str::to_owned),
                cause: described.cause().map(str::to_owned),
            }));
        }
        display.running(timeline.steps.last().filter(|step| step.exited_at.is_none()).map(|step| step.state.as_str()));
        tokio::time::sleep(Duration::from_secs_f64(poll.poll_interval)).await;
    }
}

/// A spinner naming the running state on a terminal; plain lines otherwise (logs, CI).
enum Display {
    Terminal(ProgressBar),
    Plain,
}

impl Display {
    fn new() -> Display {
        if !std::io::stderr().is_terminal() {
            return Display::Plain;
        }
        let spinner = ProgressBar::new_spinner();
        spinner.set_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        spinner.enable_steady_tick(Duration::from_millis(120));
        Display::Terminal(spinner)
    }

    fn show(&self, change: &Change) {
        let line = change_line(change);
        match self {
            Display::Terminal(spinner) => spinner.println(line),
            Display::Plain => eprintln!("{line}"),
        }
    }

    fn running(&self, state: Option<&str>) {
        if let Display::Terminal(spinner) = self {
            spinner.set_message(state.map(|state| format!("running {state}")).unwrap_or_else(|| "running".into()));
        }
    }

    fn finish(&self) {
        if let Display::Terminal(spinner) = self {
            spinner.finish_and_clear();
        }
    }
}
