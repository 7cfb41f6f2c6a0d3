//! What can go wrong inside the database, with what the caller needs to name it: never a
//! password (the login's host, port, user and database, and the server's own message).

/// A failure to reach, log in to or act on a PostgreSQL server.
#[derive(Debug, thiserror::Error)]
pub enum DatabaseError {
    /// The CA bundle could not be read or holds no certificate.
    #[error("CA bundle {path}: {message}")]
    CaBundle { path: String, message: String },

    /// The server refused the password (SQLSTATE 28P01) or the role may not log in (28000).
    #[error("{user} could not log in to {host}:{port}/{database}: {message} (SQLSTATE {sqlstate})")]
    LoginRefused { host: String, port: u16, user: String, database: String, sqlstate: String, message: String },

    /// The server could not be reached, TLS failed, or the connection broke.
    #[error("could not connect to {host}:{port}/{database} as {user}: {message}")]
    Connect { host: String, port: u16, user: String, database: String, message: String },

    /// A statement failed.
    #[error("{statement} failed: {message} (SQLSTATE {sqlstate})")]
    Statement { statement: String, sqlstate: String, message: String },

    /// The server cancelled a statement that ran longer than the session's statement timeout
    /// (SQLSTATE 57014, query_canceled).
    #[error("{statement} was cancelled: it ran longer than its statement timeout of {}", crate::run::shown(*limit))]
    TimedOut { statement: String, limit: std::time::Duration },

    /// A session that was logged in lost its connection (the server closed it, or the network
    /// broke).
    #[error("the connection to {host}:{port}/{database} as {user} broke: {message}")]
    ConnectionLost { host: String, port: u16, user: String, database: String, message: String },
}

impl DatabaseError {
    /// The error's message from the server (or the client), with its SQLSTATE when it has one.
    pub(crate) fn parts(error: &tokio_postgres::Error) -> (Option<String>, String) {
        match error.as_db_error() {
            Some(db) => (Some(db.code().code().to_owned()), db.message().to_owned()),
            None => {
                // The client's own errors chain their cause (TLS, I/O) below a generic message.
                let mut message = error.to_string();
                let mut source = std::error::Error::source(error);
                while let Some(cause) = source {
                    message.push_str(": ");
                    message.push_str(&cause.to_string());
                    source = cause.source();
                }
                (None, message)
            }
        }
    }
}
