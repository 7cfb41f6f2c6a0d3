//! One session with a database server, as one role.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tokio_postgres::config::SslMode;

use crate::roles::{Role, quote_identifier, quote_literal};
use crate::{DatabaseError, Tls};

/// Who logs in where. The password is never formatted (see [`SecretString`]).
#[derive(Clone)]
pub struct Login {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    pub password: SecretString,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}:{}/{}", self.user, self.host, self.port, self.database)
    }
}

/// Server answers that mean "this login is refused": invalid_password, and
/// invalid_authorization_specification (e.g. a role without LOGIN).
const LOGIN_REFUSED: [&str; 2] = ["28P01", "28000"];

/// How long a connection attempt may take: a Lambda that cannot reach the database (no route,
/// a security group that drops the packets) fails with a named error instead of hanging.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// A logged-in session; the connection is driven by a task of its own and closed when the
/// session is dropped.
pub struct Session {
    pub(crate) client: tokio_postgres::Client,
    connection: tokio::task::JoinHandle<()>,
    /// For a cancel request, which is a connection of its own (made as this one was).
    pub(crate) tls: Tls,
    /// Where the session is, to name it when it breaks (never the password).
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) user: String,
    pub(crate) database: String,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.connection.abort();
    }
}

impl Session {
    /// Logs in over TLS (required, and verified: chain and host name).
    pub async fn connect(tls: &Tls, login: &Login) -> Result<Session, DatabaseError> {
        let mut config = tokio_postgres::Config::new();
        config
            .host(&login.host)
            .port(login.port)
            .dbname(&login.database)
            .user(&login.user)
            .password(login.password.expose_secret())
            .ssl_mode(SslMode::Require)
            .connect_timeout(CONNECT_TIMEOUT)
            .application_name("rds-refresh");
        let (client, connection) = config.connect(tls.connector()).await.map_err(|error| {
            let (sqlstate, message) = DatabaseError::parts(&error);
            match sqlstate {
                Some(code) if LOGIN_REFUSED.contains(&code.as_str()) => DatabaseError::LoginRefused {
                    host: login.host.clone(),
                    port: login.port,
                    user: login.user.clone(),
                    database: login.database.clone(),
                    sqlstate: code,
                    message,
                },
                _ => DatabaseError::Connect {
                    host: login.host.clone(),
                    port: login.port,
                    user: login.user.clone(),
                    database: login.database.clone(),
                    message,
                },
            }
        })?;
        let connection = tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::warn!(error = %error, "database connection ended with an error");
            }
        });
        Ok(Session {
            client,
            connection,
            tls: tls.clone(),
            host: login.host.clone(),
            port: login.port,
            user: login.user.clone(),
            database: login.database.clone(),
        })
    }

    /// `SELECT 1`: the session works.
    pub async fn check(&self) -> Result<(), DatabaseError> {
        let row = self.client.query_one("SELECT 1", &[]).await.map_err(|error| statement("SELECT 1", &error))?;
        let one: i32 = row.get(0);
        debug_assert_eq!(one, 1);
        Ok(())
    }

    /// Every role of the server, with whether it may log in.
    pub async fn roles(&self) -> Result<Vec<Role>, DatabaseError> {
        const LIST: &str = "SELECT rolname, rolcanlogin FROM pg_catalog.pg_roles ORDER BY rolname";
        let rows = self.client.query(LIST, &[]).await.map_err(|error| statement("listing the roles", &error))?;
        Ok(rows.iter().map(|row| Role { name: row.get(0), can_login: row.get(1) }).collect())
    }

    /// Sets `role`'s password. What the server receives is a SCRAM-SHA-256 verifier, computed
    /// here (as psql's `\password` does), never the password itself.
    pub async fn set_password(&self, role: &str, password: &SecretString) -> Result<(), DatabaseError> {
        let verifier = postgres_protocol::password::scram_sha_256(password.expose_secret().as_bytes());
        let sql = format!("ALTER ROLE {} PASSWORD {}", quote_identifier(role), quote_literal(&verifier));
        self.client
            .batch_execute(&sql)
            .await
            .map_err(|error| statement(&format!("setting the password of {role}"), &error))
    }

    /// The first column of every row `sql` returns, as text (the simple query protocol: any
    /// column type, no parameters). For checks of what a database holds, such as the tests'.
    pub async fn first_column(&self, sql: &str) -> Result<Vec<Option<String>>, DatabaseError> {
        let messages = self.client.simple_query(sql).await.map_err(|error| statement(sql, &error))?;
        Ok(messages
            .iter()
            .filter_map(|message| match message {
                tokio_postgres::SimpleQueryMessage::Row(row) => Some(row.get(0).map(str::to_owned)),
                _ => None,
            })
            .collect())
    }

    /// Takes LOGIN away from `role`.
    pub async fn disable_login(&self, role: &str) -> Result<(), DatabaseError> {
        let sql = format!("ALTER ROLE {} NOLOGIN", quote_identifier(role));
        self.client.batch_execute(&sql).await.map_err(|error| statement(&format!("ALTER ROLE {role} NOLOGIN"), &error))
    }
}

pub(crate) fn statement(what: &str, error: &tokio_postgres::Error) -> DatabaseError {
    let (sqlstate, message) = DatabaseError::parts(error);
    DatabaseError::Statement { statement: what.to_owned(), sqlstate: sqlstate.unwrap_or_default(), message }
}
