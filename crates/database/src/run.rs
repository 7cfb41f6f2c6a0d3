//! Running SQL that a refresh is given: the scripts that scrub the copy before it serves
//! (masking personal data, say), statement by statement, and the verify queries that must each
//! answer `true` afterwards.
//!
//! Nothing here formats a statement's text into a message or a log line: a script may carry
//! data. Failures name a statement by its number and line in the script.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio::time::Instant;
use tokio_postgres::SimpleQueryMessage;
use tokio_postgres::error::{DbError, Severity, SqlState};
use tokio_postgres::types::Type;

use crate::script::{Statement, statements};
use crate::session::statement;
use crate::{DatabaseError, Session};

/// How long, at most, [`Session::run_script`] takes to return once its deadline has passed
/// (or a statement has failed): to send the cancel request, for the server to end the
/// statement, and to roll back. A caller's margin before the end of its invocation should be
/// larger than this.
pub const CANCEL_GRACE: Duration = Duration::from_secs(5);

/// How [`Session::run_script`] runs a script.
#[derive(Clone, Debug)]
pub struct ScriptOptions {
    /// All statements in one transaction (`BEGIN` ... `COMMIT`): all or nothing. Without it
    /// each statement commits on its own (autocommit), so that statements that refuse to run
    /// in a transaction block work (`VACUUM`, `CREATE INDEX CONCURRENTLY`, `CREATE DATABASE`).
    pub in_transaction: bool,
    /// The server's `statement_timeout` for each statement (and `COMMIT`); zero for none.
    pub statement_timeout: Duration,
    /// When the whole script must be over: the time left in the invocation, less a margin
    /// (see [`CANCEL_GRACE`]); `None` where there is no such limit.
    pub deadline: Option<Instant>,
}

/// What a script did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScriptRun {
    /// The statements run (all of the script's, empty ones left out).
    pub statements: usize,
    /// The sum of the counts the server reported for the statements (the row counts of their
    /// command tags, which psql shows: `UPDATE 3`, `INSERT 0 2`, `DELETE 1`, `COPY 5`; and
    /// for a statement that returns rows, such as a `SELECT`, the rows it returned).
    pub rows_affected: u64,
}

/// Which limit a statement ran into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeLimit {
    /// [`ScriptOptions::statement_timeout`]: the server cancelled the statement.
    StatementTimeout,
    /// [`ScriptOptions::deadline`]: the script's time ran out; the statement running then was
    /// cancelled (or the next one was not started).
    Deadline,
}

/// Why a script did not run to its end. With [`ScriptOptions::in_transaction`] nothing of it
/// was kept (the transaction is rolled back); without it, every statement before the one named
/// was committed (but those in a transaction the script opened itself and had not committed).
#[derive(Debug, thiserror::Error)]
pub enum ScriptFailure {
    /// The server refused a statement (or the client could not read its answer, then without
    /// a SQLSTATE). `message` is the server's, with its HINT (never its DETAIL, which quotes row values).
    #[error("statement {number} (line {line}) failed: {}", with_sqlstate(sqlstate.as_deref(), message))]
    Statement { number: usize, line: usize, sqlstate: Option<String>, message: String },

    /// A statement ran into a time limit: `limit` is the statement timeout, or for the deadline
    /// the time the script had (from its start to the deadline).
    #[error("statement {number} (line {line}) timed out: {}", timed_out(*by, *limit))]
    TimedOut { number: usize, line: usize, by: TimeLimit, limit: Duration },

    /// With [`ScriptOptions::in_transaction`], every statement succeeded but `COMMIT` failed
    /// (a deferred constraint or trigger, a serialization failure, the statement timeout):
    /// the transaction is rolled back.
    #[error("COMMIT failed, so none of the script was kept: {}", with_sqlstate(sqlstate.as_deref(), message))]
    Commit { sqlstate: Option<String>, message: String },

    /// The session failed outside the script's statements: its connection broke (a FATAL
    /// error, the server or the network gone), or the session's own `SET statement_timeout` or
    /// `BEGIN` failed. If it broke during `COMMIT`, whether the script was kept is unknown.
    #[error(transparent)]
    Connection(DatabaseError),
}

/// The answer of a verify query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verified {
    /// One row of one boolean column, `true`.
    True,
    /// Anything else, by its shape only (never the data it returned): `false`, `NULL`,
    /// `0 rows`, `2 rows`, `3 columns`, `a value of type text, not boolean`.
    Not(String),
}

impl Session {
    /// Runs `script` ([`statements`] splits it as psql would) as this session's user, one
    /// statement at a time through the simple query protocol, so that any statement works,
    /// those that return rows included. Sets the session's `statement_timeout` first (it
    /// stays set for the session).
    ///
    /// The first statement that fails ends the script (as `psql -v ON_ERROR_STOP=1` would),
    /// and the session is rolled back to no transaction. A transaction the script itself opens
    /// (its own `BEGIN`) and does not end stays open in the session when the script succeeds,
    /// as in psql until it exits; with `in_transaction`, a script's own `COMMIT` or `ROLLBACK`
    /// ends this function's transaction early (as with `psql --single-transaction`). psql's
    /// meta-commands (`\set`, `\copy`, `COPY ... FROM STDIN` with its data inline) are not the
    /// server's: they fail.
    ///
    /// Once [`ScriptOptions::deadline`] has passed, it returns within [`CANCEL_GRACE`].
    pub async fn run_script(&self, script: &str, options: &ScriptOptions) -> Result<ScriptRun, ScriptFailure> {
        let started = Instant::now();
        let statements = statements(script);
        let set = format!("SET statement_timeout = {}", milliseconds(options.statement_timeout));
        self.client.batch_execute(&set).await.map_err(|error| self.outside("SET statement_timeout", &error))?;
        if options.in_transaction {
            self.client.batch_execute("BEGIN").await.map_err(|error| self.outside("BEGIN", &error))?;
        }
        let mut rows_affected = 0;
        for statement in &statements {
            match self.run_statement(statement, options, started).await {
                Ok(rows) => rows_affected += rows,
                Err(failure) => {
                    // An explicit ROLLBACK rather than leaving it to the end of the session:
                    // the caller may go on with this session (the verify queries, another
                    // script), which in a failed transaction would refuse every statement
                    // (25P02), and the script's locks are released now rather than when the
                    // session is dropped. Without in_transaction too: a transaction the
                    // script opened itself is rolled back the same way (outside a transaction
                    // ROLLBACK only warns). Bounded: the failure is what matters; if the
                    // ROLLBACK does not answer, the server rolls back when the connection
                    // closes.
                    let now = Instant::now();
                    let by = options.deadline.map_or(now, |deadline| now.min(deadline)) + CANCEL_GRACE;
                    self.roll_back(by).await;
                    return Err(failure);
                }
            }
        }
        if options.in_transaction {
            // Not bounded by the deadline: once COMMIT is sent, cancelling it would leave the
            // caller not knowing whether the script was kept (only the statement timeout, for
            // deferred triggers, applies). A failed COMMIT has rolled the transaction back.
            if let Err(error) = self.client.batch_execute("COMMIT").await {
                return Err(match error.as_db_error() {
                    Some(db) if !is_fatal(db) => ScriptFailure::Commit {
                        sqlstate: Some(db.code().code().to_owned()),
                        message: server_message(db),
                    },
                    _ => self.outside("COMMIT", &error),
                });
            }
        }
        Ok(ScriptRun { statements: statements.len(), rows_affected })
    }

    async fn run_statement(
        &self,
        statement: &Statement<'_>,
        options: &ScriptOptions,
        started: Instant,
    ) -> Result<u64, ScriptFailure> {
        let deadline_passed = |deadline: Instant| ScriptFailure::TimedOut {
            number: statement.number,
            line: statement.line,
            by: TimeLimit::Deadline,
            limit: deadline.saturating_duration_since(started),
        };
        if let Some(deadline) = options.deadline
            && Instant::now() >= deadline
        {
            return Err(deadline_passed(deadline));
        }
        let sent = Instant::now();
        let query = self.client.simple_query(statement.text);
        tokio::pin!(query);
        let answer = match options.deadline {
            None => query.await,
            Some(deadline) => tokio::select! {
                // The statement's answer first: one that came in time is not cancelled.
                biased;
                answer = &mut query => answer,
                () = tokio::time::sleep_until(deadline) => match self.cancel(query, deadline + CANCEL_GRACE).await {
                    // It finished before the cancel reached it: it counts (in autocommit it is
                    // committed), and the next statement is not started.
                    Some(Ok(messages)) => Ok(messages),
                    Some(Err(error)) if !is_query_canceled(&error) => Err(error),
                    _ => return Err(deadline_passed(deadline)),
                },
            },
        };
        match answer {
            Ok(messages) => Ok(messages
                .iter()
                .map(|message| match message {
                    SimpleQueryMessage::CommandComplete(rows) => *rows,
                    _ => 0,
                })
                .sum()),
            Err(error) => Err(self.statement_failed(statement, &error, sent.elapsed(), options.statement_timeout)),
        }
    }

    /// Asks the server to cancel the running statement (a connection of its own, made as this
    /// session's was: TLS verified), then waits for the statement's answer until `by`: `None`
    /// if none came.
    async fn cancel<F, T>(&self, statement: Pin<&mut F>, by: Instant) -> Option<T>
    where
        F: Future<Output = T>,
    {
        let cancelled = async {
            if let Err(error) = self.client.cancel_token().cancel_query(self.tls.connector()).await {
                // The statement may still end by itself, or by the statement timeout.
                tracing::warn!(error = %error, "the cancel request for the running statement failed");
            }
            statement.await
        };
        let answer = tokio::time::timeout_at(by, cancelled).await.ok();
        if answer.is_none() {
            tracing::warn!("the cancelled statement had not ended {CANCEL_GRACE:?} after the deadline");
        }
        answer
    }

    async fn roll_back(&self, by: Instant) {
        match tokio::time::timeout_at(by, self.client.batch_execute("ROLLBACK")).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::warn!(error = %error, "ROLLBACK after the failed statement failed"),
            Err(_) => tracing::warn!("ROLLBACK after the failed statement did not answer in time"),
        }
    }

    fn statement_failed(
        &self,
        statement: &Statement<'_>,
        error: &tokio_postgres::Error,
        elapsed: Duration,
        statement_timeout: Duration,
    ) -> ScriptFailure {
        let (number, line) = (statement.number, statement.line);
        match error.as_db_error() {
            _ if by_statement_timeout(error, elapsed, statement_timeout) => {
                ScriptFailure::TimedOut { number, line, by: TimeLimit::StatementTimeout, limit: statement_timeout }
            }
            Some(db) if !is_fatal(db) => ScriptFailure::Statement {
                number,
                line,
                sqlstate: Some(db.code().code().to_owned()),
                message: server_message(db),
            },
            None if !error.is_closed() => {
                ScriptFailure::Statement { number, line, sqlstate: None, message: DatabaseError::parts(error).1 }
            }
            _ => ScriptFailure::Connection(self.lost(error)),
        }
    }

    /// A failure of the session's own statements around the script.
    fn outside(&self, what: &str, error: &tokio_postgres::Error) -> ScriptFailure {
        ScriptFailure::Connection(self.failure(what, error))
    }

    /// `what` failed: the connection broke, or the server refused it.
    fn failure(&self, what: &str, error: &tokio_postgres::Error) -> DatabaseError {
        match error.as_db_error() {
            Some(db) if !is_fatal(db) => statement(what, error),
            None if !error.is_closed() => statement(what, error),
            _ => self.lost(error),
        }
    }

    fn lost(&self, error: &tokio_postgres::Error) -> DatabaseError {
        let (sqlstate, message) = DatabaseError::parts(error);
        DatabaseError::ConnectionLost {
            host: self.host.clone(),
            port: self.port,
            user: self.user.clone(),
            database: self.database.clone(),
            message: with_sqlstate(sqlstate.as_deref(), &message),
        }
    }

    /// Runs a verify query in a read-only transaction (rolled back after it) with
    /// `statement_timeout` (zero for none): [`Verified::True`] only for exactly one row of one
    /// column holding boolean `true`. The query is one statement (the extended protocol: a
    /// second one is refused), without parameters. A query that tries to write fails
    /// (SQLSTATE 25006); one cancelled by the statement timeout is [`DatabaseError::TimedOut`].
    pub async fn verify(&self, query: &str, statement_timeout: Duration) -> Result<Verified, DatabaseError> {
        const WHAT: &str = "the verify query";
        // SET TRANSACTION READ ONLY as well as BEGIN READ ONLY: if a script left a transaction
        // open in this session, BEGIN only warns and would not make it read-only; SET
        // TRANSACTION READ ONLY does, whenever it comes (going read-write is what is refused).
        let begin = format!(
            "BEGIN READ ONLY; SET TRANSACTION READ ONLY; SET LOCAL statement_timeout = {}",
            milliseconds(statement_timeout)
        );
        self.client.batch_execute(&begin).await.map_err(|error| self.failure("BEGIN READ ONLY", &error))?;
        let sent = Instant::now();
        let answer = self.verify_query(query).await;
        let rolled_back = self.client.batch_execute("ROLLBACK").await;
        let verified = answer.map_err(|error| {
            if by_statement_timeout(&error, sent.elapsed(), statement_timeout) {
                DatabaseError::TimedOut { statement: WHAT.into(), limit: statement_timeout }
            } else {
                self.failure(WHAT, &error)
            }
        })?;
        rolled_back.map_err(|error| self.failure("ROLLBACK", &error))?;
        Ok(verified)
    }

    async fn verify_query(&self, query: &str) -> Result<Verified, tokio_postgres::Error> {
        let prepared = self.client.prepare(query).await?;
        let columns = prepared.columns();
        if columns.len() != 1 {
            // Known before it runs (a statement without a result, such as an UPDATE, has none).
            return Ok(Verified::Not(counted(columns.len(), "column")));
        }
        let rows = self.client.query(&prepared, &[]).await?;
        if rows.len() != 1 {
            return Ok(Verified::Not(counted(rows.len(), "row")));
        }
        let type_ = columns[0].type_();
        if *type_ != Type::BOOL {
            return Ok(Verified::Not(format!("a value of type {}, not boolean", type_.name())));
        }
        Ok(match rows[0].try_get::<_, Option<bool>>(0)? {
            Some(true) => Verified::True,
            Some(false) => Verified::Not("false".into()),
            None => Verified::Not("NULL".into()),
        })
    }
}

/// A `statement_timeout` value: milliseconds, at least 1 for a limit under a millisecond
/// (0 is none), at most the largest the server takes (about 24.8 days).
fn milliseconds(limit: Duration) -> u128 {
    match limit.as_millis() {
        0 if !limit.is_zero() => 1,
        milliseconds => milliseconds.min(i32::MAX as u128),
    }
}

fn is_query_canceled(error: &tokio_postgres::Error) -> bool {
    error.code() == Some(&SqlState::QUERY_CANCELED)
}

/// A cancel (57014) that came once the statement had run as long as the statement timeout: the
/// server's answer does not say which cancel it was other than in its (translatable) message,
/// and a cancel from elsewhere (pg_cancel_backend) comes sooner.
fn by_statement_timeout(error: &tokio_postgres::Error, elapsed: Duration, statement_timeout: Duration) -> bool {
    is_query_canceled(error) && !statement_timeout.is_zero() && elapsed >= statement_timeout
}

/// A FATAL (or PANIC) error ends the session: the server closes the connection after it.
fn is_fatal(db: &DbError) -> bool {
    matches!(db.parsed_severity(), Some(Severity::Fatal | Severity::Panic))
}

/// The server's message with its HINT; not its DETAIL, which quotes row values (`Key
/// (email)=(ada@...) already exists`, `Failing row contains (...)`): the message goes into the
/// execution's history and notification, and the data a scrubbing script works on is the data
/// that must not travel. Nor its CONTEXT or the statement's position, which quote the statement.
fn server_message(db: &DbError) -> String {
    let mut message = db.message().to_owned();
    if let Some(hint) = db.hint() {
        message.push_str(&format!("; HINT: {hint}"));
    }
    message
}

fn with_sqlstate(sqlstate: Option<&str>, message: &str) -> String {
    match sqlstate {
        Some(code) if !code.is_empty() => format!("{code} {message}"),
        _ => message.to_owned(),
    }
}

fn timed_out(by: TimeLimit, limit: Duration) -> String {
    match by {
        TimeLimit::StatementTimeout => {
            format!("it ran longer than the statement timeout of {} and the server cancelled it", shown(limit))
        }
        TimeLimit::Deadline => format!(
            "the script reached its deadline ({} after it started: the time left in this invocation, less a margin) \
             and the statement was cancelled or not started",
            shown(limit)
        ),
    }
}

fn counted(count: usize, what: &str) -> String {
    if count == 1 { format!("1 {what}") } else { format!("{count} {what}s") }
}

/// A limit for an operator, to the nearest millisecond: `1 s`, `1.5 s`, `250 ms`.
pub(crate) fn shown(limit: Duration) -> String {
    let milliseconds = limit.as_micros().saturating_add(500) / 1000;
    if milliseconds < 1000 {
        format!("{milliseconds} ms")
    } else if milliseconds.is_multiple_of(1000) {
        format!("{} s", milliseconds / 1000)
    } else {
        format!("{:.1} s", milliseconds as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statement_timeouts_in_milliseconds() {
        assert_eq!(milliseconds(Duration::ZERO), 0);
        assert_eq!(milliseconds(Duration::from_micros(10)), 1);
        assert_eq!(milliseconds(Duration::from_secs(90)), 90_000);
        assert_eq!(milliseconds(Duration::from_secs(100 * 86_400)), i32::MAX as u128);
    }

    #[test]
    fn failures_read_well_for_an_operator() {
        let failure = ScriptFailure::Statement {
            number: 3,
            line: 12,
            sqlstate: Some("23505".into()),
            message: "duplicate key value violates unique constraint \"users_pkey\"".into(),
        };
        assert_eq!(
            failure.to_string(),
            "statement 3 (line 12) failed: 23505 duplicate key value violates unique constraint \"users_pkey\""
        );
        let failure = ScriptFailure::TimedOut {
            number: 2,
            line: 5,
            by: TimeLimit::StatementTimeout,
            limit: Duration::from_millis(1500),
        };
        assert_eq!(
            failure.to_string(),
            "statement 2 (line 5) timed out: it ran longer than the statement timeout of 1.5 s and the server cancelled it"
        );
        let failure =
            ScriptFailure::TimedOut { number: 1, line: 1, by: TimeLimit::Deadline, limit: Duration::from_secs(840) };
        assert!(
            failure
                .to_string()
                .starts_with("statement 1 (line 1) timed out: the script reached its deadline (840 s after it started")
        );
        let failure = ScriptFailure::Commit { sqlstate: Some("23503".into()), message: "insert or update ...".into() };
        assert_eq!(failure.to_string(), "COMMIT failed, so none of the script was kept: 23503 insert or update ...");
        let lost = DatabaseError::ConnectionLost {
            host: "db.example".into(),
            port: 5432,
            user: "master".into(),
            database: "postgres".into(),
            message: "connection closed".into(),
        };
        assert_eq!(
            ScriptFailure::Connection(lost).to_string(),
            "the connection to db.example:5432/postgres as master broke: connection closed"
        );
        let timed_out =
            DatabaseError::TimedOut { statement: "the verify query".into(), limit: Duration::from_millis(250) };
        assert_eq!(
            timed_out.to_string(),
            "the verify query was cancelled: it ran longer than its statement timeout of 250 ms"
        );
    }

    #[test]
    fn limits_to_the_nearest_millisecond() {
        assert_eq!(shown(Duration::from_micros(999_999)), "1 s");
        assert_eq!(shown(Duration::from_millis(1500)), "1.5 s");
        assert_eq!(shown(Duration::from_millis(250)), "250 ms");
        assert_eq!(shown(Duration::from_secs(840)), "840 s");
        assert_eq!(shown(Duration::ZERO), "0 ms");
    }

    #[test]
    fn counts_are_plural_but_one() {
        assert_eq!(counted(0, "row"), "0 rows");
        assert_eq!(counted(1, "row"), "1 row");
        assert_eq!(counted(3, "column"), "3 columns");
    }
}
