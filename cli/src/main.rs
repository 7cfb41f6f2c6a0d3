//! `rds-refresh`: start, watch, list and read executions of the rds-refresh state machine.
mod args;
mod error;
mod list;
mod render;
#[cfg(test)]
mod schemas;
mod sfn;
mod start;
mod timeline;
mod watch;

use std::process::ExitCode;

use aws_sdk_sfn::primitives::DateTime;
use clap::Parser;

use args::{Cli, Command, Format};
use error::CliError;
use timeline::{Outcome, Status, Timeline};

#[tokio::main]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("rds-refresh: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::Start(args) => {
            // Every check before the first call: a refused input starts nothing.
            let input = start::input_of(&args.input)?;
            let request = start::check(&input)?;
            let name = args
                .name
                .unwrap_or_else(|| start::default_name(&request, &input, DateTime::from(std::time::SystemTime::now())));
            let client = sfn::client_for(&args.state_machine).await;
            let execution = start::start(&client, &args.state_machine, &name, &input).await?;
            println!("{execution}");
            if !args.watch {
                return Ok(ExitCode::SUCCESS);
            }
            Ok(ended(watch::watch(&client, &execution, args.poll).await?))
        }
        Command::Watch(args) => {
            let client = sfn::client_for(&args.execution).await;
            Ok(ended(watch::watch(&client, &args.execution, args.poll).await?))
        }
        Command::History(args) => {
            let client = sfn::client_for(&args.execution).await;
            let timeline = Timeline::from_events(sfn::history_after(&client, &args.execution, 0).await?);
            match args.format {
                Format::Text => print!("{}", render::timeline_text(&args.execution, &timeline)),
                Format::Json => print_json(&render::history_report(&args.execution, &timeline)),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::List(args) => {
            let client = sfn::client_for(&args.state_machine).await;
            let executions = list::list(&client, &args.state_machine, args.max).await?;
            match args.format {
                Format::Text => print!("{}", list::text(&executions)),
                Format::Json => print_json(&executions),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn print_json(value: &impl serde::Serialize) {
    println!("{}", serde_json::to_string_pretty(value).expect("plain data serializes"));
}

/// The end of a followed execution: its output on stdout (for scripts), the error and cause
/// on stderr; 0 only when it succeeded.
fn ended(outcome: Outcome) -> ExitCode {
    if outcome.status == Status::Succeeded {
        if let Some(output) = &outcome.output {
            println!("{output:#}");
        }
        return ExitCode::SUCCESS;
    }
    eprintln!("{}", render::outcome_line(&outcome));
    ExitCode::FAILURE
}
