//! Scripts and verify queries against a real PostgreSQL server (one per test, see fixture/):
//! what `Session::run_script` and `Session::verify` promise the refresh.

mod fixture;

use std::time::Duration;

use fixture::Server;
use rds_refresh_database::{DatabaseError, ScriptFailure, ScriptOptions, ScriptRun, Session, TimeLimit, Verified};
use tokio::time::Instant;

fn in_transaction() -> ScriptOptions {
    ScriptOptions { in_transaction: true, statement_timeout: Duration::from_secs(30), deadline: None }
}

fn autocommit() -> ScriptOptions {
    ScriptOptions { in_transaction: false, ..in_transaction() }
}

/// A table of three people, as a copy of production would hold them.
async fn people(session: &Session) {
    let setup = "CREATE TABLE people (id int PRIMARY KEY, email text NOT NULL, phone text);\n\
                 INSERT INTO people VALUES (1, 'ada@example.com', '555-0101'), (2, 'bob@example.com', '555-0102'),\n\
                 (3, 'cy@example.com', NULL);";
    let run = session.run_script(setup, &in_transaction()).await.unwrap();
    assert_eq!(run, ScriptRun { statements: 2, rows_affected: 3 });
}

async fn column(session: &Session, sql: &str) -> Vec<String> {
    session.first_column(sql).await.unwrap().into_iter().map(|value| value.unwrap_or_else(|| "NULL".into())).collect()
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it (or cargo test -- --ignored)"]
async fn a_masking_script_runs_statement_by_statement_and_counts_the_rows() {
    let server = Server::start();
    let session = server.connect().await;
    people(&session).await;
    let script = "-- Scrub the copy before it serves; every row.\r\n\
                  UPDATE people SET email = 'person' || id || '@example.invalid';\r\n\
                  /* A function with a body of its own: its ';' are not the script's. */\r\n\
                  CREATE FUNCTION masked(phone text) RETURNS text LANGUAGE plpgsql AS $body$\r\n\
                  BEGIN\r\n  RETURN CASE WHEN phone IS NULL THEN NULL ELSE '555-0000' END;\r\nEND;\r\n$body$;\r\n\
                  UPDATE people SET phone = masked(phone) WHERE phone IS NOT NULL;\r\n\
                  DO $$ BEGIN PERFORM 1; RAISE NOTICE 'masked; all of them'; END $$;\r\n\
                  SELECT id FROM people";
    let run = session.run_script(script, &in_transaction()).await.unwrap();
    // 3 e-mails, 2 phones, and the 3 rows the SELECT returned (its command tag, SELECT 3).
    assert_eq!(run, ScriptRun { statements: 5, rows_affected: 8 });
    assert_eq!(
        column(&session, "SELECT email || ' ' || coalesce(phone, '-') FROM people ORDER BY id").await,
        ["person1@example.invalid 555-0000", "person2@example.invalid 555-0000", "person3@example.invalid -"]
    );
    // Statements that return rows (SHOW's command tag has no count), and an empty script.
    let run = session.run_script("SELECT * FROM people; SHOW statement_timeout;", &autocommit()).await.unwrap();
    assert_eq!(run, ScriptRun { statements: 2, rows_affected: 3 });
    assert_eq!(
        session.run_script("-- nothing\n;", &in_transaction()).await.unwrap(),
        ScriptRun { statements: 0, rows_affected: 0 }
    );
    // The session's statement_timeout is the script's.
    assert_eq!(column(&session, "SHOW statement_timeout").await, ["30s"]);
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it (or cargo test -- --ignored)"]
async fn a_failing_statement_is_named_and_a_transaction_script_leaves_nothing_behind() {
    let server = Server::start();
    let session = server.connect().await;
    people(&session).await;
    let script = "UPDATE people SET email = 'x' || id;\n\n\
                  -- a duplicate:\n\
                  INSERT INTO people (id, email)\n  VALUES (1, 'secret@example.com');\n\
                  UPDATE people SET phone = NULL;\n";
    let failure = session.run_script(script, &in_transaction()).await.unwrap_err();
    let ScriptFailure::Statement { number, line, sqlstate, message } = &failure else {
        panic!("not a statement failure: {failure:?}")
    };
    assert_eq!((*number, *line, sqlstate.as_deref()), (2, 4, Some("23505")));
    // Not the DETAIL, which quotes the row's values (Key (id)=(1) already exists).
    assert_eq!(message, "duplicate key value violates unique constraint \"people_pkey\"");
    let shown = failure.to_string();
    assert!(shown.starts_with("statement 2 (line 4) failed: 23505 duplicate key value"), "{shown}");
    assert!(!shown.contains("INSERT") && !shown.contains("secret@"), "the statement's text is not shown: {shown}");
    // Rolled back: the first UPDATE is gone, and the session is out of the failed transaction.
    assert_eq!(column(&session, "SELECT email FROM people ORDER BY id").await[0], "ada@example.com");
    session.check().await.unwrap();

    // A syntax error: the server's SQLSTATE; the statements before it were not kept either.
    let failure = session.run_script("DELETE FROM people;\nUPDTE people SET email = 'x'", &in_transaction()).await;
    assert!(
        matches!(&failure, Err(ScriptFailure::Statement { number: 2, line: 2, sqlstate: Some(code), .. }) if code == "42601"),
        "{failure:?}"
    );
    assert_eq!(column(&session, "SELECT count(*) FROM people").await, ["3"]);
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it (or cargo test -- --ignored)"]
async fn autocommit_runs_what_a_transaction_refuses_and_keeps_what_ran_before_a_failure() {
    let server = Server::start();
    let session = server.connect().await;
    people(&session).await;
    let script = "UPDATE people SET phone = NULL;\n\
                  VACUUM (ANALYZE) people;\n\
                  CREATE INDEX CONCURRENTLY people_email ON people (email);\n\
                  INSERT INTO people VALUES (1, 'dup');\n\
                  UPDATE people SET email = 'never';";
    let failure = session.run_script(script, &autocommit()).await.unwrap_err();
    assert!(
        matches!(&failure, ScriptFailure::Statement { number: 4, line: 4, sqlstate: Some(code), .. } if code == "23505"),
        "{failure:?}"
    );
    // The first three were committed each on its own; the fifth never ran.
    assert_eq!(column(&session, "SELECT count(*) FROM people WHERE phone IS NULL").await, ["3"]);
    assert_eq!(column(&session, "SELECT indexname FROM pg_indexes WHERE indexname = 'people_email'").await.len(), 1);
    assert_eq!(column(&session, "SELECT count(*) FROM people WHERE email = 'never'").await, ["0"]);

    // In one transaction VACUUM is refused: active_sql_transaction.
    let failure = session.run_script("UPDATE people SET phone = 'x';\nVACUUM people;", &in_transaction()).await;
    assert!(
        matches!(&failure, Err(ScriptFailure::Statement { number: 2, line: 2, sqlstate: Some(code), .. }) if code == "25001"),
        "{failure:?}"
    );
    assert_eq!(column(&session, "SELECT count(*) FROM people WHERE phone IS NULL").await, ["3"]);
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it (or cargo test -- --ignored)"]
async fn a_deferred_constraint_fails_the_commit() {
    let server = Server::start();
    let session = server.connect().await;
    let setup = "CREATE TABLE parent (id int PRIMARY KEY);\n\
                 CREATE TABLE child (parent int REFERENCES parent DEFERRABLE INITIALLY DEFERRED);";
    session.run_script(setup, &autocommit()).await.unwrap();
    let failure = session.run_script("INSERT INTO child VALUES (1);", &in_transaction()).await.unwrap_err();
    assert!(matches!(&failure, ScriptFailure::Commit { sqlstate: Some(code), .. } if code == "23503"), "{failure:?}");
    assert!(failure.to_string().starts_with("COMMIT failed, so none of the script was kept: 23503 "), "{failure}");
    assert_eq!(column(&session, "SELECT count(*) FROM child").await, ["0"]);
    session.check().await.unwrap();
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it (or cargo test -- --ignored)"]
async fn the_statement_timeout_cancels_a_statement() {
    let server = Server::start();
    let session = server.connect().await;
    let options = ScriptOptions { statement_timeout: Duration::from_secs(1), ..autocommit() };
    let started = Instant::now();
    let failure = session.run_script("SELECT 1;\n\nSELECT pg_sleep(5);\nSELECT 3", &options).await.unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(
            failure,
            ScriptFailure::TimedOut { number: 2, line: 3, by: TimeLimit::StatementTimeout, limit }
                if limit == Duration::from_secs(1)
        ),
        "{failure:?}"
    );
    assert!(took >= Duration::from_secs(1) && took < Duration::from_secs(4), "{took:?}");
    assert_eq!(
        failure.to_string(),
        "statement 2 (line 3) timed out: it ran longer than the statement timeout of 1 s and the server cancelled it"
    );
    session.check().await.unwrap();
}

/// The statements of `pg_sleep` running on the server, other than the asking session's.
async fn sleeping(observer: &Session) -> Vec<String> {
    column(
        observer,
        "SELECT state FROM pg_stat_activity WHERE query LIKE '%pg_sleep%' AND pid <> pg_backend_pid() \
         AND state <> 'idle'",
    )
    .await
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it (or cargo test -- --ignored)"]
async fn the_deadline_cancels_the_running_statement_on_the_server() {
    let server = Server::start();
    let session = server.connect().await;
    let observer = server.connect().await;
    people(&session).await;
    let script = "UPDATE people SET email = 'masked';\nSELECT pg_sleep(30);\nUPDATE people SET phone = NULL;";
    let started = Instant::now();
    let options = ScriptOptions { deadline: Some(started + Duration::from_secs(1)), ..in_transaction() };
    let (answer, seen) = tokio::join!(session.run_script(script, &options), async {
        // Until the pg_sleep runs (or the deadline is near).
        let mut seen = sleeping(&observer).await;
        while seen.is_empty() && started.elapsed() < Duration::from_millis(900) {
            tokio::time::sleep(Duration::from_millis(20)).await;
            seen = sleeping(&observer).await;
        }
        seen
    });
    let took = started.elapsed();
    // It was running when the deadline came (not merely the next statement left unstarted).
    assert_eq!(seen, ["active"]);
    let failure = answer.unwrap_err();
    // The time the script had: from its start (a moment after `started`) to the deadline.
    assert!(
        matches!(failure, ScriptFailure::TimedOut { number: 2, line: 2, by: TimeLimit::Deadline, limit }
            if limit <= Duration::from_secs(1) && limit > Duration::from_millis(900)),
        "{failure:?}"
    );
    assert!(failure.to_string().contains("timed out: the script reached its deadline ("), "{failure}");
    // Cancelled on the server, not left sleeping there: the answer came long before 30 s, and
    // no pg_sleep runs any more.
    assert!(took >= Duration::from_secs(1) && took < Duration::from_secs(4), "{took:?}");
    assert_eq!(sleeping(&observer).await, Vec::<String>::new());
    // The transaction was rolled back, and the session is ready for more.
    assert_eq!(column(&observer, "SELECT count(*) FROM people WHERE email = 'masked'").await, ["0"]);
    session.check().await.unwrap();

    // A deadline already past: not even the first statement runs.
    let options = ScriptOptions { deadline: Some(Instant::now()), ..autocommit() };
    let failure = session.run_script("\n\nDELETE FROM people", &options).await.unwrap_err();
    assert!(
        matches!(failure, ScriptFailure::TimedOut { number: 1, line: 3, by: TimeLimit::Deadline, .. }),
        "{failure:?}"
    );
    assert_eq!(column(&session, "SELECT count(*) FROM people").await, ["3"]);

    // Without a transaction too; and a deadline that does not come changes nothing.
    let options = ScriptOptions { deadline: Some(Instant::now() + Duration::from_millis(700)), ..autocommit() };
    let failure = session.run_script("SELECT pg_sleep(30)", &options).await.unwrap_err();
    assert!(matches!(failure, ScriptFailure::TimedOut { number: 1, by: TimeLimit::Deadline, .. }), "{failure:?}");
    assert_eq!(sleeping(&observer).await, Vec::<String>::new());
    let options = ScriptOptions { deadline: Some(Instant::now() + Duration::from_secs(60)), ..autocommit() };
    assert_eq!(session.run_script("DELETE FROM people WHERE id = 3", &options).await.unwrap().rows_affected, 1);
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it (or cargo test -- --ignored)"]
async fn a_lost_connection_is_a_connection_failure() {
    let server = Server::start();
    let session = server.connect().await;
    let observer = server.connect().await;
    let terminate = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE query LIKE '%pg_sleep%' AND state = 'active' AND pid <> pg_backend_pid()";
    let options = autocommit();
    let (answer, terminated) = tokio::join!(session.run_script("SELECT pg_sleep(30)", &options), async {
        // Until the pg_sleep runs, and is terminated.
        let started = Instant::now();
        loop {
            let terminated = column(&observer, terminate).await;
            if !terminated.is_empty() || started.elapsed() > Duration::from_secs(10) {
                break terminated;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    assert_eq!(terminated, ["t"]);
    let failure = answer.unwrap_err();
    assert!(matches!(&failure, ScriptFailure::Connection(DatabaseError::ConnectionLost { .. })), "{failure:?}");
    assert!(
        failure
            .to_string()
            .starts_with(&format!("the connection to 127.0.0.1:{}/postgres as postgres broke: ", server.port)),
        "{failure}"
    );
    // The session is gone for good: the next script says so too.
    let failure = session.run_script("SELECT 1", &autocommit()).await.unwrap_err();
    assert!(matches!(&failure, ScriptFailure::Connection(DatabaseError::ConnectionLost { .. })), "{failure:?}");
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it (or cargo test -- --ignored)"]
async fn verify_is_true_only_for_one_boolean_true() {
    let server = Server::start();
    let session = server.connect().await;
    people(&session).await;
    let timeout = Duration::from_secs(10);
    let verified = |query: &'static str| {
        let session = &session;
        async move { session.verify(query, timeout).await.unwrap_or_else(|error| panic!("{query}: {error}")) }
    };
    assert_eq!(verified("SELECT true").await, Verified::True);
    assert_eq!(verified("SELECT count(*) = 3 FROM people;").await, Verified::True);
    assert_eq!(
        verified("SELECT bool_and(email LIKE '%@example.invalid') FROM people").await,
        Verified::Not("false".into())
    );
    assert_eq!(verified("SELECT NULL::boolean").await, Verified::Not("NULL".into()));
    assert_eq!(verified("SELECT true FROM people WHERE id = 42").await, Verified::Not("0 rows".into()));
    assert_eq!(verified("SELECT true FROM people WHERE id < 3").await, Verified::Not("2 rows".into()));
    assert_eq!(verified("SELECT true, true, true").await, Verified::Not("3 columns".into()));
    assert_eq!(
        verified("SELECT email FROM people WHERE id = 1").await,
        Verified::Not("a value of type text, not boolean".into())
    );
    assert_eq!(verified("SELECT 1").await, Verified::Not("a value of type int4, not boolean".into()));
    // A statement without a result is not run at all.
    assert_eq!(verified("DELETE FROM people").await, Verified::Not("0 columns".into()));
    assert_eq!(column(&session, "SELECT count(*) FROM people").await, ["3"]);

    // The server's refusals are errors, and the session is fine after them.
    let failure = session.verify("SELEC true", timeout).await.unwrap_err();
    assert!(matches!(&failure, DatabaseError::Statement { sqlstate, .. } if sqlstate == "42601"), "{failure:?}");
    let failure = session.verify("SELECT true; SELECT true", timeout).await.unwrap_err();
    assert!(matches!(&failure, DatabaseError::Statement { sqlstate, .. } if sqlstate == "42601"), "{failure:?}");
    assert_eq!(verified("SELECT true").await, Verified::True);
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it (or cargo test -- --ignored)"]
async fn verify_cannot_write() {
    let server = Server::start();
    let session = server.connect().await;
    people(&session).await;
    let function = "CREATE FUNCTION scrub() RETURNS boolean LANGUAGE plpgsql AS $$\n\
                    BEGIN DELETE FROM people; RETURN true; END $$";
    session.run_script(function, &autocommit()).await.unwrap();
    let timeout = Duration::from_secs(10);
    for query in [
        "UPDATE people SET email = 'x' RETURNING true",
        "WITH gone AS (DELETE FROM people RETURNING id) SELECT count(*) > 0 FROM gone",
        "SELECT scrub()",
    ] {
        let failure = session.verify(query, timeout).await.unwrap_err();
        assert!(
            matches!(&failure, DatabaseError::Statement { sqlstate, .. } if sqlstate == "25006"),
            "{query}: {failure:?}"
        );
    }
    assert_eq!(column(&session, "SELECT count(*) FROM people WHERE email <> 'x'").await, ["3"]);

    // Not even inside a transaction that a script left open (BEGIN without COMMIT).
    session.run_script("BEGIN; UPDATE people SET phone = 'open';", &autocommit()).await.unwrap();
    let failure = session.verify("SELECT scrub()", timeout).await.unwrap_err();
    assert!(matches!(&failure, DatabaseError::Statement { sqlstate, .. } if sqlstate == "25006"), "{failure:?}");
    assert_eq!(column(&session, "SELECT count(*) FROM people").await, ["3"]);
}

#[tokio::test]
#[ignore = "needs PostgreSQL: scripts/test runs it (or cargo test -- --ignored)"]
async fn verify_times_out_with_its_statement_timeout() {
    let server = Server::start();
    let session = server.connect().await;
    let started = Instant::now();
    let failure = session.verify("SELECT true FROM pg_sleep(5)", Duration::from_millis(500)).await.unwrap_err();
    assert!(
        matches!(&failure, DatabaseError::TimedOut { limit, .. } if *limit == Duration::from_millis(500)),
        "{failure:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(
        failure.to_string(),
        "the verify query was cancelled: it ran longer than its statement timeout of 500 ms"
    );
    // The timeout was the transaction's own (SET LOCAL): the session's is untouched.
    assert_eq!(column(&session, "SHOW statement_timeout").await, ["0"]);
    assert_eq!(session.verify("SELECT true", Duration::ZERO).await.unwrap(), Verified::True);
}
