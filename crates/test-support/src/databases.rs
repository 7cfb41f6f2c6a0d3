//! The emulator's data plane in tests: its CA, logins to its PostgreSQL servers, and the
//! secrets y's credentials come from (in the emulator's Secrets Manager).
use std::collections::BTreeMap;

use rds_refresh_database::{DatabaseError, Login, SecretString, Session, Tls};
use serde_json::Value;

use crate::Emulator;

/// An instance's server as the seed answered it: where it listens, and its logins' passwords
/// (generated at seed time, never stored).
#[derive(Clone, Debug)]
pub struct SeededDatabase {
    pub address: String,
    pub port: u16,
    pub master_username: String,
    pub passwords: BTreeMap<String, String>,
}

impl SeededDatabase {
    /// From the `database` field of a seeded instance.
    pub fn from_seed(seeded: &Value) -> SeededDatabase {
        let database = &seeded["database"];
        assert!(
            database.is_object(),
            "the seed answered no database (is the emulator started with databases?): {seeded}"
        );
        SeededDatabase {
            address: database["address"].as_str().unwrap().to_owned(),
            port: u16::try_from(database["port"].as_u64().unwrap()).unwrap(),
            master_username: database["masterUsername"].as_str().unwrap().to_owned(),
            passwords: serde_json::from_value(database["passwords"].clone()).unwrap(),
        }
    }

    /// The password the seed gave `role`.
    pub fn password(&self, role: &str) -> &str {
        self.passwords
            .get(role)
            .unwrap_or_else(|| panic!("the seed gave no password to {role}: {:?}", self.passwords.keys()))
    }
}

impl Emulator {
    /// The CA bundle the emulator's servers' certificates are signed by (what the tasks get as
    /// RDS_REFRESH_CA_BUNDLE).
    pub fn ca_bundle(&self) -> String {
        let answer = self.control_get("databases");
        answer["caBundle"].as_str().unwrap_or_else(|| panic!("the emulator has no databases: {answer}")).to_owned()
    }

    /// TLS trusting the emulator's CA.
    pub fn tls(&self) -> Tls {
        Tls::from_bundle_file(&self.ca_bundle()).expect("the emulator's CA bundle")
    }

    /// Creates a secret named `name` in `region` holding `value` (as JSON text); its ARN.
    pub async fn create_secret(&self, region: &str, name: &str, value: &Value) -> String {
        let config = aws_sdk_secretsmanager::config::Builder::from(&self.sdk_config())
            .region(aws_config::Region::new(region.to_owned()))
            .build();
        let client = aws_sdk_secretsmanager::Client::from_conf(config);
        let created = client.create_secret().name(name).secret_string(value.to_string()).send().await.unwrap();
        created.arn().unwrap().to_owned()
    }

    /// S3, in `region`, as the tasks reach it (path-style, on the emulator's port).
    pub fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.sdk_config())
            .region(aws_config::Region::new(region.to_owned()))
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// Puts `text` at `bucket/key` in `region` (making the bucket the first time): its `s3://` URI.
    pub async fn put_script(&self, region: &str, bucket: &str, key: &str, text: &str) -> String {
        let s3 = self.s3(region);
        if s3.head_bucket().bucket(bucket).send().await.is_err() {
            let location = aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(region))
                .build();
            s3.create_bucket().bucket(bucket).create_bucket_configuration(location).send().await.unwrap();
        }
        s3.put_object().bucket(bucket).key(key).body(text.as_bytes().to_vec().into()).send().await.unwrap();
        format!("s3://{bucket}/{key}")
    }
}

/// Logs in to the server at `address:port` (TLS verified by `tls`) as `user`.
pub async fn log_in(
    tls: &Tls,
    address: &str,
    port: u16,
    database: &str,
    user: &str,
    password: &str,
) -> Result<Session, DatabaseError> {
    let login = Login {
        host: address.to_owned(),
        port,
        database: database.to_owned(),
        user: user.to_owned(),
        password: SecretString::from(password.to_owned()),
    };
    Session::connect(tls, &login).await
}

/// The first column of `sql`'s rows, as text, sorted.
pub async fn rows(session: &Session, sql: &str) -> Vec<String> {
    let mut rows: Vec<String> = session.first_column(sql).await.unwrap().into_iter().flatten().collect();
    rows.sort();
    rows
}
