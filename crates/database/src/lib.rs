//! rds-refresh inside the database: a PostgreSQL session over TLS verified against a CA
//! bundle (on AWS, RDS's), and what a refresh does with it: log in to check a password, set
//! the application roles' passwords, and take logins away from roles that should not keep them;
//! and run the SQL scripts that scrub the copy before it serves, then the queries that verify
//! it ([`Session::run_script`], [`Session::verify`]).
//!
//! Passwords are [`SecretString`]s: never formatted, never logged, and sent to the server only
//! as part of the login handshake (SCRAM, inside TLS) or as a SCRAM verifier computed here
//! (`ALTER ROLE ... PASSWORD 'SCRAM-SHA-256$...'`), so that not even the server's statement log
//! can show one.

mod error;
mod roles;
mod run;
mod script;
mod session;
mod tls;

pub use error::DatabaseError;
pub use roles::{Role, logins_to_disable, quote_identifier, quote_literal};
pub use run::{CANCEL_GRACE, ScriptFailure, ScriptOptions, ScriptRun, TimeLimit, Verified};
pub use script::{Statement, statements};
pub use secrecy::{ExposeSecret, SecretString};
pub use session::{Login, Session};
pub use tls::{CA_BUNDLE_ENV, Tls};
