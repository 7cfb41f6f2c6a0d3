//! run-script: runs one script of the SQL plan on the new instance, as its master user, in
//! the script's database: in one transaction unless it says otherwise, every statement under
//! `statementTimeoutSeconds`, the whole script within the invocation's time. Before the
//! target's name serves the instance.
//!
//! The script's text is read again (S3 or inline) and must be the one check-scripts hashed
//! (`ScriptChanged` otherwise). The work is [`run`], which takes its time limit as an argument:
//! the Lambda handler gives it what one invocation allows, a runner without Lambda's 15 minutes
//! (a container task running the same binary) could give it none.
use std::time::{Duration, Instant};

use rds_refresh_database::{ScriptFailure, ScriptOptions};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::TaskError;
use crate::lambda::Scrub;
use crate::logins::{DatabaseRef, connect_as_master, connection_failed, master_login};
use crate::model::CredentialsPlan;
use crate::model::sql::{PlannedScript, SCRIPT_TIME_LIMIT_SECONDS, ScriptRan};

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    /// The target's region: S3 scripts are read there.
    pub region: String,
    pub database: DatabaseRef,
    pub credentials: CredentialsPlan,
    /// The script, as check-scripts planned it.
    pub script: PlannedScript,
    pub statement_timeout_seconds: u32,
}

pub type Output = ScriptRan;

pub async fn handle(clients: Scrub, input: Input) -> Result<Output, TaskError> {
    run(&clients, input, Some(Duration::from_secs(SCRIPT_TIME_LIMIT_SECONDS.into()))).await
}

/// Runs the script; `time_limit` bounds the whole of it (None: no bound but the statements').
pub async fn run(clients: &Scrub, input: Input, time_limit: Option<Duration>) -> Result<Output, TaskError> {
    let started = Instant::now();
    let deadline = time_limit.map(|limit| tokio::time::Instant::now() + limit);
    let Input { region, database, credentials, script, statement_timeout_seconds } = input;
    let text = clients.scripts.text(&region, &script.name, &script.source).await?;
    if text.sha256 != script.sha256 {
        return Err(TaskError::ScriptChanged(format!(
            "script {}: its text has SHA-256 {}, not {} as when the refresh checked it: it was changed during the refresh; nothing of it ran",
            script.name, text.sha256, script.sha256
        )));
    }
    let mut login = master_login(&clients.database.secrets, &credentials, &database).await?;
    login.database = script.database.clone();
    let session = connect_as_master(&clients.database.tls, &login).await?;
    let options = ScriptOptions {
        in_transaction: script.transaction,
        statement_timeout: Duration::from_secs(statement_timeout_seconds.into()),
        deadline,
    };
    let ran = session.run_script(&text.text, &options).await.map_err(|failure| match failure {
        ScriptFailure::TimedOut { .. } => {
            TaskError::SqlTimedOut(format!("script {} in database {}: {failure}", script.name, script.database))
        }
        ScriptFailure::Connection(error) => connection_failed(error),
        ScriptFailure::Commit { .. } => {
            TaskError::SqlScriptFailed(format!("script {} in database {}: {failure}", script.name, script.database))
        }
        ScriptFailure::Statement { .. } => TaskError::SqlScriptFailed(format!(
            "script {} in database {}: {failure}{}",
            script.name,
            script.database,
            if script.transaction {
                " (rolled back: nothing of the script was kept)"
            } else {
                " (the statements before it were committed)"
            }
        )),
    })?;
    let duration_seconds = (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
    tracing::info!(script = %script.name, statements = ran.statements, rows = ran.rows_affected, duration_seconds, "ran the script");
    Ok(ScriptRan {
        name: script.name,
        database: script.database,
        sha256: text.sha256,
        statements: u32::try_from(ran.statements).unwrap_or(u32::MAX),
        rows_affected: ran.rows_affected,
        duration_seconds,
    })
}
