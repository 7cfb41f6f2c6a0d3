//! Secrets Manager: the passwords of `y`'s master user and application roles.
//!
//! A secret's value is only ever held as a [`SecretString`] (redacted when formatted) and
//! never returned from a task: the tasks pass each other ARNs and version ids, and every task
//! that needs a password reads it here.
use aws_config::SdkConfig;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::http::HttpResponse;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use rds_refresh_database::SecretString;

use crate::TaskError;
use crate::regional::Regional;

/// Secrets Manager clients for any region (see [`Regional`]).
#[derive(Clone, Debug)]
pub struct Secrets {
    clients: Regional<Client>,
}

/// One version of a secret, as read.
pub struct SecretRead {
    pub arn: String,
    pub version_id: String,
    /// `SecretString`; `None` for a binary secret.
    pub text: Option<SecretString>,
}

impl Secrets {
    pub fn new(config: SdkConfig) -> Self {
        let make = |config: &SdkConfig, region| {
            Client::from_conf(aws_sdk_secretsmanager::config::Builder::from(config).region(region).build())
        };
        Self { clients: Regional::new(config, make) }
    }

    /// For tests: clients made in advance (see [`Regional::prepared`]).
    #[doc(hidden)]
    pub fn from_regional(clients: Regional<Client>) -> Self {
        Self { clients }
    }

    /// Reads the secret `arn` (its region is the ARN's), at `version_id` or the current version.
    pub async fn read(&self, arn: &str, version_id: Option<&str>) -> Result<SecretRead, TaskError> {
        let region = arn.split(':').nth(3).unwrap_or_default();
        let answer = self
            .clients
            .client(region)
            .get_secret_value()
            .secret_id(arn)
            .set_version_id(version_id.map(str::to_owned))
            .send()
            .await
            .map_err(|error| from_sdk(arn, error))?;
        Ok(SecretRead {
            arn: answer.arn().unwrap_or(arn).to_owned(),
            version_id: answer.version_id().unwrap_or_default().to_owned(),
            text: answer.secret_string().map(|text| SecretString::from(text.to_owned())),
        })
    }
}

/// A failed GetSecretValue as a named task error: the SDK mapping every task uses
/// ([`crate::error::from_sdk`]: throttling and 5xx pass by themselves); any other answer means
/// the secret cannot be had, whatever the reason, which the message gives: missing
/// (ResourceNotFoundException), not readable by this function (AccessDeniedException), its KMS
/// key refused (DecryptionFailure), scheduled for deletion (InvalidRequestException) [Secrets
/// Manager API Reference, GetSecretValue, Errors]. The SDK's messages never carry the value.
fn from_sdk<E>(arn: &str, error: SdkError<E, HttpResponse>) -> TaskError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match crate::error::from_sdk(&format!("GetSecretValue of {arn}"), error) {
        TaskError::RdsRequestFailed(text) => TaskError::SecretNotFound(text),
        other => other,
    }
}
