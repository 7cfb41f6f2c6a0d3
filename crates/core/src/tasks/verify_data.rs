//! verify-data: after the scripts, runs each query of `sql.verify` on the new instance as its
//! master user, in a read-only transaction; every one must return a single `true`, or the
//! refresh fails `VerificationFailed` before the target's name serves the instance. Reports
//! what the SQL steps did (the execution output's `sql`).
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rds_refresh_database::{DatabaseError, Session, Verified};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::TaskError;
use crate::lambda::Database;
use crate::logins::{DatabaseRef, connect_as_master, connection_failed, master_login};
use crate::model::CredentialsPlan;
use crate::model::sql::{SCRIPT_TIME_LIMIT_SECONDS, ScriptRan, SqlApplied, VerifyQuery, VerifyResult};

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    pub database: DatabaseRef,
    pub credentials: CredentialsPlan,
    pub verify: Vec<VerifyQuery>,
    pub statement_timeout_seconds: u32,
    /// What the scripts did (run-script's outputs, in order), passed on into the report.
    pub scripts: Vec<ScriptRan>,
}

pub type Output = SqlApplied;

pub async fn handle(clients: Database, input: Input) -> Result<Output, TaskError> {
    let Input { database, credentials, verify, statement_timeout_seconds, scripts } = input;
    let timeout = Duration::from_secs(statement_timeout_seconds.into());
    // The queries together have one invocation's time, as a script has.
    let limit = Duration::from_secs(SCRIPT_TIME_LIMIT_SECONDS.into());
    let started = Instant::now();
    // One session per database the queries name, all with the master's login, read once
    // (and not at all when there is no query).
    let mut sessions: BTreeMap<String, Session> = BTreeMap::new();
    let mut master = None;
    let mut results = Vec::new();
    for query in &verify {
        if !sessions.contains_key(&query.database) {
            if master.is_none() {
                master = Some(master_login(&clients.secrets, &credentials, &database).await?);
            }
            let mut login = master.clone().expect("read just above");
            login.database = query.database.clone();
            sessions.insert(query.database.clone(), connect_as_master(&clients.tls, &login).await?);
        }
        let session = &sessions[&query.database];
        let left = limit.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Err(TaskError::SqlTimedOut(format!(
                "verify {}: the verification queries together ran past {} s (one invocation's time)",
                query.name,
                limit.as_secs()
            )));
        }
        let timeout = timeout.min(left);
        let answer = session.verify(&query.query, timeout).await.map_err(|error| failed(query, timeout, error))?;
        match answer {
            Verified::True => results.push(VerifyResult { name: query.name.clone(), result: true }),
            Verified::Not(what) => {
                return Err(TaskError::VerificationFailed(format!(
                    "verify {} in database {} returned {what}, not a single true: the target's name does not serve this instance",
                    query.name, query.database
                )));
            }
        }
    }
    tracing::info!(verified = results.len(), "the SQL steps' checks hold");
    Ok(SqlApplied { scripts, verify: results })
}

fn failed(query: &VerifyQuery, timeout: Duration, error: DatabaseError) -> TaskError {
    match error {
        DatabaseError::TimedOut { .. } => TaskError::SqlTimedOut(format!(
            "verify {} in database {} ran past statementTimeoutSeconds ({} s)",
            query.name,
            query.database,
            timeout.as_secs()
        )),
        DatabaseError::Statement { .. } => TaskError::VerificationFailed(format!(
            "verify {} in database {} failed: {error}",
            query.name, query.database
        )),
        other => connection_failed(other),
    }
}
