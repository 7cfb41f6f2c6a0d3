//! The command line, as clap reads it.
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Start, follow and read executions of the rds-refresh state machine.
///
/// Talks to AWS Step Functions with the usual AWS settings (profile, credentials). The region
/// is the one in the ARN given. `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_SFN`) points it at
/// another Step Functions API, such as AWS Step Functions Local on http://localhost:8083.
///
/// Exit status: 0 done (for `start --watch` and `watch`: the execution succeeded); 1 the
/// execution failed, timed out or was aborted; 2 bad usage or an input that breaks a rule;
/// 3 a Step Functions call failed.
#[derive(Debug, Parser)]
#[command(name = "rds-refresh", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a refresh input and start an execution with it; prints the execution ARN.
    Start(StartArgs),
    /// Follow an execution until it ends: each state, its duration, retries and the errors
    /// caught; then the output (on stdout) or the error and cause.
    Watch(WatchArgs),
    /// The timeline of an execution (usually a finished one), with the time the target was
    /// unavailable.
    History(HistoryArgs),
    /// Recent executions of a state machine with their status, target and snapshot.
    List(ListArgs),
}

#[derive(Debug, Args)]
pub struct StartArgs {
    /// The state machine's ARN (the `StateMachineArn` output of the deployed stack).
    #[arg(long, env = "RDS_REFRESH_STATE_MACHINE", value_name = "ARN")]
    pub state_machine: String,
    #[command(flatten)]
    pub input: InputArgs,
    /// Execution name. Default: `cli-<target>-<UTC minute>-<hash of the input>`, so a start
    /// repeated by accident within the same minute finds the first one instead of refreshing
    /// twice.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Follow the execution after starting it, as `watch` does.
    #[arg(long)]
    pub watch: bool,
    #[command(flatten)]
    pub poll: PollArgs,
}

/// The execution input: a file, or the fields given one by one.
#[derive(Debug, Args)]
#[group(required = true, multiple = true)]
pub struct InputArgs {
    /// The execution input as JSON (`-` for stdin), as documented in schemas/refresh-input.schema.json.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["source", "target", "mode", "dry_run"])]
    pub input: Option<PathBuf>,
    /// The source instance, `REGION/ID` (only its snapshots are read).
    #[arg(long, value_name = "REGION/ID", requires = "target")]
    pub source: Option<String>,
    /// The target instance, `REGION/ID` (the one that is re-created).
    #[arg(long, value_name = "REGION/ID", requires = "source")]
    pub target: Option<String>,
    /// How the target is replaced (default: swap).
    #[arg(long, value_enum, requires = "source")]
    pub mode: Option<ModeArg>,
    /// Plan only: check every guard and report what would be done, changing nothing.
    #[arg(long, requires = "source")]
    pub dry_run: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ModeArg {
    Swap,
    Replace,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The execution's ARN, as `start` prints it.
    #[arg(value_name = "EXECUTION_ARN")]
    pub execution: String,
    #[command(flatten)]
    pub poll: PollArgs,
}

#[derive(Clone, Copy, Debug, Args)]
pub struct PollArgs {
    /// Seconds between two looks at a running execution.
    #[arg(long, value_name = "SECONDS", default_value_t = 2.0, value_parser = parse_interval)]
    pub poll_interval: f64,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The execution's ARN.
    #[arg(value_name = "EXECUTION_ARN")]
    pub execution: String,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// The state machine's ARN.
    #[arg(long, env = "RDS_REFRESH_STATE_MACHINE", value_name = "ARN")]
    pub state_machine: String,
    /// How many executions, newest first.
    #[arg(long, value_name = "N", default_value_t = 20, value_parser = clap::value_parser!(i32).range(1..=1000))]
    pub max: i32,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

fn parse_interval(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(seconds) if (0.05..=300.0).contains(&seconds) => Ok(seconds),
        _ => Err("must be a number of seconds from 0.05 to 300".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn an_input_file_excludes_the_fields() {
        let parsed = Cli::try_parse_from([
            "rds-refresh",
            "start",
            "--state-machine",
            "arn",
            "--input",
            "in.json",
            "--source",
            "us-east-1/x",
            "--target",
            "us-west-2/y",
        ]);
        assert!(parsed.is_err());
    }

    #[test]
    fn start_needs_an_input() {
        let error = Cli::try_parse_from(["rds-refresh", "start", "--state-machine", "arn"]).unwrap_err();
        assert_eq!(error.kind(), clap::error::ErrorKind::MissingRequiredArgument);
    }
}
