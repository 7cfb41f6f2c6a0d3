//! Why a command could not do its job, and the exit status that says so.
use thiserror::Error;

#[derive(Debug, Error)]
pub enum CliError {
    /// The input breaks a rule of the execution input; nothing was started.
    #[error("{0}")]
    Input(String),
    /// A Step Functions call failed.
    #[error("Step Functions {operation} failed{}: {message}", code.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())]
    Api { operation: &'static str, code: Option<String>, message: String },
}

impl CliError {
    /// 2: usage or input (as clap uses for usage errors); 3: the API. 1 is kept for an
    /// execution that did not succeed, which is not an error of the command.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Input(_) => 2,
            CliError::Api { .. } => 3,
        }
    }
}
