//! check-scripts: before anything is changed, reads every script of `sql.scripts` (from S3,
//! or inline) to check that it exists, is readable and has statements, and plans the SQL
//! steps: each script with the SHA-256 and size of its text, which is the text run-script
//! will run. Shared with the dry run, which lists the plan.
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::TaskError;
use crate::model::InstanceRef;
use crate::model::sql::{PlannedScript, SqlPlan, SqlSpec};
use crate::scripts::Scripts;

#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Input {
    /// The input's `sql` (checked by check-input).
    pub sql: SqlSpec,
    /// The target: scripts are read in its region.
    pub target: InstanceRef,
}

pub type Output = SqlPlan;

pub async fn handle(scripts: Scripts, input: Input) -> Result<Output, TaskError> {
    plan(&scripts, &input.sql, &input.target.region).await
}

/// Reads and checks every script; `run: false` (and no S3 call) when `sql` is empty.
pub async fn plan(scripts: &Scripts, sql: &SqlSpec, region: &str) -> Result<SqlPlan, TaskError> {
    sql.validate()?;
    let mut planned = Vec::new();
    for (index, script) in sql.scripts.iter().enumerate() {
        let source = script.source();
        let text = scripts.text(region, &script.name, &source).await?;
        let statements = rds_refresh_database::statements(&text.text).len();
        if statements == 0 {
            return Err(TaskError::invalid_input(
                format!("sql.scripts[{index}]"),
                format!("script {} has no statement (only white space and comments)", script.name),
            ));
        }
        planned.push(PlannedScript {
            name: script.name.clone(),
            database: script.database.clone(),
            source,
            transaction: script.transaction,
            sha256: text.sha256,
            bytes: text.text.len() as u64,
            statements: u32::try_from(statements).unwrap_or(u32::MAX),
        });
    }
    tracing::info!(scripts = planned.len(), queries = sql.verify.len(), "checked the SQL scripts");
    Ok(SqlPlan {
        run: sql.given(),
        scripts: planned,
        verify: sql.verify.clone(),
        statement_timeout_seconds: sql.statement_timeout_seconds,
    })
}
