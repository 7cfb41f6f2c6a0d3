//! SQL on the new instance before it serves (`sql`): the scripts that scrub it (mask personal
//! data, rewrite e-mail addresses, delete tokens, disable jobs) and the queries that must all
//! return true before the target's name serves it; what check-scripts found of them, and what
//! ran.
//!
//! Scripts run in order as the target's master user, each in one task invocation (and one
//! transaction unless it says `transaction: false`). They are not assumed idempotent: no
//! script ever runs twice on one instance, so a re-run after a failure restores again.
use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::TaskError;

/// How long one statement may run unless `sql.statementTimeoutSeconds` says otherwise.
pub const DEFAULT_STATEMENT_TIMEOUT_SECONDS: u32 = 600;

/// The longest a script (every statement of it) may run in one Lambda invocation: Lambda's 15
/// minutes less one for connecting, reading the script and reporting. A longer masking job is
/// split into several scripts (see the README, "Scrub the copy before it serves").
pub const SCRIPT_TIME_LIMIT_SECONDS: u32 = 840;

/// At most this many scripts, and as many verification queries: the execution's time budget
/// allows each script its whole invocation (crates/core/tests/suite/definition.rs adds it up).
pub const MAX_SCRIPTS: usize = 10;

/// The input's `sql` block. Empty (the default): nothing runs inside the database.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SqlSpec {
    /// Scripts run in this order on the new instance, after its credentials are set and
    /// before the target's name serves it (swap mode). At most 10.
    #[serde(default)]
    #[schemars(length(max = 10))]
    pub scripts: Vec<SqlScript>,
    /// Queries that must each return a single `true` after the scripts, or the refresh fails
    /// with `VerificationFailed` before the switch. At most 10, all within one invocation.
    #[serde(default)]
    #[schemars(length(max = 10))]
    pub verify: Vec<VerifyQuery>,
    /// PostgreSQL's `statement_timeout` for every statement of the scripts and every query,
    /// in seconds (1 to 840; default 600). A script as a whole has 840 seconds.
    #[serde(default = "default_statement_timeout")]
    #[schemars(range(min = 1, max = 840))]
    pub statement_timeout_seconds: u32,
}

impl Default for SqlSpec {
    fn default() -> Self {
        SqlSpec {
            scripts: Vec::new(),
            verify: Vec::new(),
            statement_timeout_seconds: DEFAULT_STATEMENT_TIMEOUT_SECONDS,
        }
    }
}

fn default_statement_timeout() -> u32 {
    DEFAULT_STATEMENT_TIMEOUT_SECONDS
}

fn yes() -> bool {
    true
}

/// One script: its text in S3 (`s3Uri`) or in the input (`inline`), exactly one of them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SqlScript {
    /// Names the script in errors and in the output; unique among scripts and queries.
    #[schemars(length(min = 1, max = 64), pattern(r"^[A-Za-z0-9][A-Za-z0-9._-]*$"))]
    pub name: String,
    /// The database (on the new instance) it runs in, e.g. `app`.
    #[schemars(length(min = 1, max = 63))]
    pub database: String,
    /// `s3://bucket/key` of the script, in the target's region.
    #[schemars(example = &"s3://my-bucket/refresh/mask.sql")]
    #[serde(default)]
    pub s3_uri: Option<String>,
    /// The script's text.
    #[serde(default)]
    pub inline: Option<String>,
    /// Run the whole script in one transaction (default): it commits entirely or not at all.
    /// `false` for statements that cannot run in a transaction (`VACUUM`, `CREATE INDEX
    /// CONCURRENTLY`); each statement then commits on its own.
    #[serde(default = "yes")]
    pub transaction: bool,
}

/// A check that the scrubbing worked: `query` must return one row with one `true` column.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerifyQuery {
    #[schemars(length(min = 1, max = 64), pattern(r"^[A-Za-z0-9][A-Za-z0-9._-]*$"))]
    pub name: String,
    #[schemars(length(min = 1, max = 63))]
    pub database: String,
    /// Runs in a read-only transaction.
    #[schemars(example = &"SELECT count(*) = 0 FROM customers WHERE email NOT LIKE '%@example.invalid'")]
    pub query: String,
}

/// Where a script's text is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub enum ScriptSource {
    /// `s3://bucket/key`.
    S3Uri(String),
    /// The text itself.
    Inline(String),
}

impl SqlScript {
    /// The source, once [`SqlSpec::validate`] has checked there is exactly one.
    pub fn source(&self) -> ScriptSource {
        match (&self.s3_uri, &self.inline) {
            (Some(uri), _) => ScriptSource::S3Uri(uri.clone()),
            (None, Some(text)) => ScriptSource::Inline(text.clone()),
            (None, None) => ScriptSource::Inline(String::new()),
        }
    }
}

/// check-scripts' plan: every script found, with what will run (its SHA-256 and size);
/// `run: false` when there is nothing to run or verify, and the SQL steps are skipped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SqlPlan {
    pub run: bool,
    pub scripts: Vec<PlannedScript>,
    pub verify: Vec<VerifyQuery>,
    pub statement_timeout_seconds: u32,
}

/// One script as check-scripts found it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlannedScript {
    pub name: String,
    pub database: String,
    pub source: ScriptSource,
    pub transaction: bool,
    /// SHA-256 of the text (hex): run-script runs only this text (`ScriptChanged` otherwise).
    pub sha256: String,
    pub bytes: u64,
    /// How many statements it has.
    pub statements: u32,
}

/// What one script did (run-script's output).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScriptRan {
    pub name: String,
    pub database: String,
    /// SHA-256 of the text that ran (hex).
    pub sha256: String,
    pub statements: u32,
    /// The rows the statements inserted, updated, deleted or returned, summed.
    pub rows_affected: u64,
    pub duration_seconds: f64,
}

/// One verification query's result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerifyResult {
    pub name: String,
    /// Always `true` in a refresh that succeeded (anything else is `VerificationFailed`).
    pub result: bool,
}

/// What the SQL steps did, in the execution output (`sql`) and the notification; `null` when
/// none ran. No script text and no data, only names, hashes and counts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SqlApplied {
    pub scripts: Vec<ScriptRan>,
    pub verify: Vec<VerifyResult>,
}

impl SqlSpec {
    /// Whether anything runs inside the database.
    pub fn given(&self) -> bool {
        !self.scripts.is_empty() || !self.verify.is_empty()
    }

    /// The rules typing alone does not check, each naming its field (`sql.scripts[1].s3Uri`).
    pub fn validate(&self) -> Result<(), TaskError> {
        if !(1..=SCRIPT_TIME_LIMIT_SECONDS).contains(&self.statement_timeout_seconds) {
            return Err(TaskError::invalid_input(
                "sql.statementTimeoutSeconds",
                format!(
                    "must be from 1 to {SCRIPT_TIME_LIMIT_SECONDS} (a script runs in one Lambda invocation of at most 15 minutes)"
                ),
            ));
        }
        for (field, count) in [("sql.scripts", self.scripts.len()), ("sql.verify", self.verify.len())] {
            if count > MAX_SCRIPTS {
                return Err(TaskError::invalid_input(
                    field,
                    format!("at most {MAX_SCRIPTS} (each has up to one Lambda invocation's time); merge some"),
                ));
            }
        }
        let mut names = BTreeSet::new();
        for (index, script) in self.scripts.iter().enumerate() {
            let field = |name: &str| format!("sql.scripts[{index}].{name}");
            check_step(&mut names, &field, &script.name, &script.database)?;
            match (&script.s3_uri, &script.inline) {
                (Some(uri), None) => {
                    parse_s3_uri(uri).map_err(|rule| TaskError::invalid_input(field("s3Uri"), rule))?;
                }
                (None, Some(text)) if text.trim().is_empty() => {
                    return Err(TaskError::invalid_input(field("inline"), "must not be empty"));
                }
                (None, Some(_)) => {}
                _ => {
                    return Err(TaskError::invalid_input(
                        format!("sql.scripts[{index}]"),
                        "needs exactly one of s3Uri and inline",
                    ));
                }
            }
        }
        for (index, query) in self.verify.iter().enumerate() {
            let field = |name: &str| format!("sql.verify[{index}].{name}");
            check_step(&mut names, &field, &query.name, &query.database)?;
            if query.query.trim().is_empty() {
                return Err(TaskError::invalid_input(field("query"), "must not be empty"));
            }
        }
        Ok(())
    }
}

/// What scripts and queries share: a good name, not taken yet (`names`), and a database name;
/// `field` makes the path of a field of this one.
fn check_step<'a>(
    names: &mut BTreeSet<&'a str>,
    field: &dyn Fn(&str) -> String,
    name: &'a str,
    database: &str,
) -> Result<(), TaskError> {
    check_name(name).map_err(|rule| TaskError::invalid_input(field("name"), rule))?;
    if !names.insert(name) {
        return Err(TaskError::invalid_input(field("name"), format!("{name} is used twice: names must be unique")));
    }
    check_database(database).map_err(|rule| TaskError::invalid_input(field("database"), rule))
}

/// 1-64 letters, digits, `.`, `_` and `-`, starting with a letter or digit: a name that reads
/// well in an error, a log line and a state's output.
fn check_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    if !first_ok || name.len() > 64 || !chars.all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
        return Err("must be 1 to 64 letters, digits, '.', '_' and '-', starting with a letter or digit".into());
    }
    Ok(())
}

/// A PostgreSQL database name: 1-63 bytes (NAMEDATALEN), no control characters.
fn check_database(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 63 || name.chars().any(char::is_control) {
        return Err("must be a database name of 1 to 63 bytes without control characters".into());
    }
    Ok(())
}

/// `s3://bucket/key` split into the bucket and the key. The bucket follows S3's naming rules
/// for general purpose buckets (3-63 characters: lower-case letters, digits, `.` and `-`,
/// starting and ending with a letter or digit; Amazon S3 User Guide, "Bucket naming rules");
/// the key is 1-1024 bytes ("Naming Amazon S3 objects").
pub fn parse_s3_uri(uri: &str) -> Result<(&str, &str), String> {
    let shape = "must be s3://bucket/key";
    let rest = uri.strip_prefix("s3://").ok_or_else(|| shape.to_owned())?;
    let (bucket, key) = rest.split_once('/').ok_or_else(|| shape.to_owned())?;
    let bucket_ok = (3..=63).contains(&bucket.len())
        && bucket.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
        && bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !bucket_ok {
        return Err(format!(
            "{shape}, with a bucket name of 3 to 63 lower-case letters, digits, '.' and '-', starting and ending with a letter or digit"
        ));
    }
    if key.is_empty() || key.len() > 1024 {
        return Err(format!("{shape}, with a key of 1 to 1024 bytes"));
    }
    Ok((bucket, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(name: &str, s3_uri: Option<&str>, inline: Option<&str>) -> SqlScript {
        SqlScript {
            name: name.into(),
            database: "app".into(),
            s3_uri: s3_uri.map(Into::into),
            inline: inline.map(Into::into),
            transaction: true,
        }
    }

    fn spec(scripts: Vec<SqlScript>) -> SqlSpec {
        SqlSpec { scripts, ..SqlSpec::default() }
    }

    fn field_of(result: Result<(), TaskError>) -> String {
        match result {
            Err(TaskError::InvalidInput { field, .. }) => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_issue_example_is_valid_and_defaults_are_written_out() {
        let sql: SqlSpec = serde_json::from_value(serde_json::json!({
            "scripts": [
                {"name": "mask-customers", "database": "app", "s3Uri": "s3://bucket/refresh/mask.sql"},
                {"name": "disable-jobs", "database": "app", "inline": "UPDATE jobs SET enabled = false;"}
            ],
            "verify": [{"name": "no-real-emails", "database": "app",
                        "query": "SELECT count(*) = 0 FROM customers WHERE email NOT LIKE '%@example.invalid'"}]
        }))
        .unwrap();
        assert_eq!(sql.validate(), Ok(()));
        assert!(sql.given());
        assert_eq!(sql.statement_timeout_seconds, 600);
        assert!(sql.scripts[0].transaction);
        assert_eq!(sql.scripts[0].source(), ScriptSource::S3Uri("s3://bucket/refresh/mask.sql".into()));
        assert!(!SqlSpec::default().given());
    }

    #[test]
    fn exactly_one_source_per_script() {
        let both = spec(vec![script("a", Some("s3://bucket/a.sql"), Some("SELECT 1"))]);
        assert_eq!(field_of(both.validate()), "sql.scripts[0]");
        let neither = spec(vec![script("a", None, None)]);
        assert_eq!(field_of(neither.validate()), "sql.scripts[0]");
        let empty = spec(vec![script("a", None, Some("  \n"))]);
        assert_eq!(field_of(empty.validate()), "sql.scripts[0].inline");
    }

    #[test]
    fn names_are_unique_across_scripts_and_queries() {
        let mut twice = spec(vec![script("mask", None, Some("SELECT 1")), script("mask", None, Some("SELECT 2"))]);
        assert_eq!(field_of(twice.validate()), "sql.scripts[1].name");
        twice.scripts.pop();
        twice.verify.push(VerifyQuery { name: "mask".into(), database: "app".into(), query: "SELECT true".into() });
        assert_eq!(field_of(twice.validate()), "sql.verify[0].name");
        let bad = spec(vec![script("-mask", None, Some("SELECT 1"))]);
        assert_eq!(field_of(bad.validate()), "sql.scripts[0].name");
    }

    #[test]
    fn s3_uris_follow_s3s_naming_rules() {
        assert_eq!(parse_s3_uri("s3://my-bucket/refresh/mask.sql"), Ok(("my-bucket", "refresh/mask.sql")));
        for bad in
            ["https://my-bucket/a.sql", "s3://my-bucket", "s3://my-bucket/", "s3://My_Bucket/a.sql", "s3://ab/a.sql"]
        {
            assert!(parse_s3_uri(bad).is_err(), "{bad}");
            let sql = spec(vec![script("a", Some(bad), None)]);
            assert_eq!(field_of(sql.validate()), "sql.scripts[0].s3Uri", "{bad}");
        }
    }

    #[test]
    fn at_most_ten_scripts_and_ten_queries() {
        let scripts = (0..=MAX_SCRIPTS).map(|i| script(&format!("s{i}"), None, Some("SELECT 1"))).collect();
        assert_eq!(field_of(spec(scripts).validate()), "sql.scripts");
        let verify = (0..=MAX_SCRIPTS)
            .map(|i| VerifyQuery { name: format!("q{i}"), database: "app".into(), query: "SELECT true".into() })
            .collect();
        assert_eq!(field_of(SqlSpec { verify, ..SqlSpec::default() }.validate()), "sql.verify");
    }

    #[test]
    fn the_statement_timeout_fits_in_one_invocation() {
        let mut sql = SqlSpec { statement_timeout_seconds: 0, ..SqlSpec::default() };
        assert_eq!(field_of(sql.validate()), "sql.statementTimeoutSeconds");
        sql.statement_timeout_seconds = 841;
        assert_eq!(field_of(sql.validate()), "sql.statementTimeoutSeconds");
        sql.statement_timeout_seconds = 840;
        assert_eq!(sql.validate(), Ok(()));
    }
}
