//! S3: the text of the `sql.scripts` given by `s3Uri`, read by check-scripts (to check it
//! exists and hash it) and by run-script (to run exactly what was checked).
use aws_config::SdkConfig;
use aws_sdk_s3::Client;
use sha2::{Digest, Sha256};

use crate::TaskError;
use crate::model::sql::{ScriptSource, parse_s3_uri};
use crate::regional::Regional;

/// S3 clients for any region (see [`Regional`]): scripts are read in the target's region.
#[derive(Clone, Debug)]
pub struct Scripts {
    clients: Regional<Client>,
}

/// A script's text, with what identifies it.
pub struct ScriptText {
    pub text: String,
    /// SHA-256 of the text (hex).
    pub sha256: String,
}

impl Scripts {
    pub fn new(config: SdkConfig) -> Self {
        let make = |config: &SdkConfig, region| {
            let mut s3 = aws_sdk_s3::config::Builder::from(config).region(region);
            // An endpoint of its own (AWS_ENDPOINT_URL: the local emulator, an S3-compatible
            // store) is addressed path-style: `bucket.<host>` names would need DNS there.
            if config.endpoint_url().is_some() {
                s3 = s3.force_path_style(true);
            }
            Client::from_conf(s3.build())
        };
        Self { clients: Regional::new(config, make) }
    }

    /// For tests: clients made in advance (see [`Regional::prepared`]).
    #[doc(hidden)]
    pub fn from_regional(clients: Regional<Client>) -> Self {
        Self { clients }
    }

    /// The text of a script, from S3 (in `region`) or inline; `name` is the script's, for
    /// messages. A missing or unreadable object is `ScriptNotFound`; a text that is not UTF-8
    /// is `InvalidInput` (PostgreSQL would refuse it).
    pub async fn text(&self, region: &str, name: &str, source: &ScriptSource) -> Result<ScriptText, TaskError> {
        let text = match source {
            ScriptSource::Inline(text) => text.clone(),
            ScriptSource::S3Uri(uri) => self.read(region, name, uri).await?,
        };
        let sha256 = sha256_hex(&text);
        Ok(ScriptText { text, sha256 })
    }

    async fn read(&self, region: &str, name: &str, uri: &str) -> Result<String, TaskError> {
        // check-input checked the URI already; a plan edited by hand is refused the same way.
        let (bucket, key) = parse_s3_uri(uri)
            .map_err(|rule| TaskError::invalid_input("sql.scripts", format!("script {name}: s3Uri {rule}")))?;
        let answer = self
            .clients
            .client(region)
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|error| not_found(name, uri, error))?;
        let bytes = answer.body.collect().await.map_err(|error| {
            TaskError::ServiceUnavailable(format!("script {name}: reading {uri} from S3 failed: {error}"))
        })?;
        String::from_utf8(bytes.to_vec()).map_err(|error| {
            TaskError::invalid_input(
                "sql.scripts",
                format!("script {name}: {uri} is not UTF-8 text (byte {})", error.utf8_error().valid_up_to()),
            )
        })
    }
}

/// SHA-256 of a script's text, in hex: what the output and the dry run report, and what
/// run-script compares with check-scripts' plan.
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A failed GetObject as a named error: throttling and 5xx pass by themselves (the SDK
/// mapping every task uses); any other answer means the script cannot be had, and the
/// message says why (NoSuchKey, NoSuchBucket, AccessDenied: Amazon S3 API Reference,
/// GetObject, and "Error responses"), and where S3 scripts must be.
fn not_found<E>(
    name: &str,
    uri: &str,
    error: aws_sdk_s3::error::SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> TaskError
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match crate::error::from_sdk(&format!("script {name}: GetObject of {uri}"), error) {
        TaskError::RdsRequestFailed(text) => TaskError::ScriptNotFound(format!(
            "{text} (scripts are read in the target's region, with s3:GetObject on the object: the stack's SqlScriptObjectArns)"
        )),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_sha256_in_hex() {
        assert_eq!(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
}
