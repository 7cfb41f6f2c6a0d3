//! `list`: recent executions with their status, target and snapshot.
use aws_sdk_sfn::Client;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::error::CliError;
use crate::render::time;
use crate::sfn::api_error;

// An interface for scripts: its schema is schemas/cli/list.schema.json (see schemas.rs).
/// One execution, as `rds-refresh list --format json` shows it (an array of these).
#[derive(Debug, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(title = "rds-refresh list --format json (one item)")]
pub struct Execution {
    pub name: String,
    pub execution_arn: String,
    /// RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED (or any status Step Functions adds).
    pub status: String,
    /// RFC 3339.
    pub started_at: String,
    /// RFC 3339; `null` while it runs.
    pub stopped_at: Option<String>,
    /// `region/id` from the input, when it is a refresh input.
    pub target: Option<String>,
    /// The source snapshot used, from the output (only a succeeded refresh has one).
    pub snapshot: Option<String>,
}

/// The newest `max` executions of the state machine, newest first.
pub async fn list(client: &Client, state_machine: &str, max: i32) -> Result<Vec<Execution>, CliError> {
    let listed = client
        .list_executions()
        .state_machine_arn(state_machine)
        .max_results(max)
        .send()
        .await
        .map_err(|error| api_error("ListExecutions", error))?;
    let mut executions = Vec::new();
    for item in listed.executions() {
        // Input and output are only in the description.
        let described = client
            .describe_execution()
            .execution_arn(item.execution_arn())
            .send()
            .await
            .map_err(|error| api_error("DescribeExecution", error))?;
        let json =
            |text: Option<&str>| text.and_then(|text| serde_json::from_str::<Value>(text).ok()).unwrap_or_default();
        let (input, output) = (json(described.input()), json(described.output()));
        let target = match (input.pointer("/target/region"), input.pointer("/target/dbInstanceIdentifier")) {
            (Some(Value::String(region)), Some(Value::String(id))) => Some(format!("{region}/{id}")),
            _ => None,
        };
        executions.push(Execution {
            name: item.name().to_owned(),
            execution_arn: item.execution_arn().to_owned(),
            status: item.status().as_str().to_owned(),
            started_at: time(item.start_date().as_secs_f64()),
            stopped_at: item.stop_date().map(|date| time(date.as_secs_f64())),
            target,
            snapshot: output.pointer("/snapshot/identifier").and_then(Value::as_str).map(str::to_owned),
        });
    }
    Ok(executions)
}

pub fn text(executions: &[Execution]) -> String {
    let mut text = format!("{:<24}  {:<9}  {:<28}  {:<32}  name\n", "started", "status", "target", "snapshot");
    for e in executions {
        text += &format!(
            "{:<24}  {:<9}  {:<28}  {:<32}  {}\n",
            e.started_at,
            e.status,
            e.target.as_deref().unwrap_or("-"),
            e.snapshot.as_deref().unwrap_or("-"),
            e.name
        );
    }
    text
}
