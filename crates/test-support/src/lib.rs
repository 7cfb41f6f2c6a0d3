//! Test support: the RDS emulator, SDK clients pointed at it, and seeding helpers.
//!
//! The emulator is `local/emulator/rds_emulator.py` (moto with status holds, fault
//! injection and call counts), installed by `scripts/setup`. It is started with a pipe on
//! its stdin and exits when that pipe closes, so it never outlives the test process.

pub mod databases;
pub mod iam;
pub mod local_run;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_rds::Client;
use aws_sdk_rds::config::Credentials;
use rds_refresh_core::rds::Rds;
use rds_refresh_core::state::{RdsAndState, StateTable};
use serde_json::{Value, json};

/// The workspace root (the directory with Cargo.lock): this module is also used by the
/// tests of crates at other depths (the CLI's).
pub fn repo_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.ancestors().find(|dir| dir.join("Cargo.lock").exists()).expect("the workspace root").to_path_buf()
}

/// Where tests write their files: `target/tmp` (or under `CARGO_TARGET_DIR`), as cargo's
/// `CARGO_TARGET_TMPDIR`, which only integration tests themselves are given.
pub fn tmp_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| repo_root().join("target"));
    let dir = target.join("tmp");
    std::fs::create_dir_all(&dir).expect("create target/tmp");
    dir
}

/// A running emulator; stopped when dropped.
pub struct Emulator {
    pub url: String,
    child: Child,
    // Held open for the emulator's lifetime: closing it (even by a crash) stops the emulator.
    _stdin: ChildStdin,
}

impl Emulator {
    /// Starts a fresh emulator on a free port, for a test that needs one of its own
    /// (status holds and faults apply to the whole emulator).
    pub fn start() -> Emulator {
        Emulator::start_with(&[])
    }

    /// Starts a fresh emulator whose PostgreSQL instances are real PostgreSQL servers (its
    /// data plane, `--databases`): snapshots carry the data, restores start servers from them.
    pub fn start_with_databases() -> Emulator {
        Emulator::start_with(&["--databases"])
    }

    fn start_with(args: &[&str]) -> Emulator {
        let root = repo_root();
        let python = root.join(".local/venv/bin/python");
        assert!(python.exists(), "{} is missing: run scripts/setup first", python.display());
        let mut child = Command::new(python)
            .arg(root.join("local/emulator/rds_emulator.py"))
            .args(["--port", "0", "--exit-on-stdin-eof"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the RDS emulator");
        let stdin = child.stdin.take().expect("emulator stdin");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("emulator stdout"))
            .read_line(&mut line)
            .expect("read the emulator's first line");
        let url = line
            .trim()
            .strip_prefix("listening ")
            .unwrap_or_else(|| panic!("unexpected emulator output: {line:?}"))
            .to_owned();
        Emulator { url, child, _stdin: stdin }
    }

    /// One emulator shared by the tests of this binary that need no holds or faults.
    pub fn shared() -> &'static Emulator {
        static SHARED: OnceLock<Emulator> = OnceLock::new();
        SHARED.get_or_init(Emulator::start)
    }

    pub fn sdk_config(&self) -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&self.url)
            .region(Region::new("us-east-1"))
            .credentials_provider(aws_sdk_rds::config::SharedCredentialsProvider::new(Credentials::for_tests()))
            .build()
    }

    /// The RDS clients a task handler gets, pointed at this emulator.
    pub fn rds(&self) -> Rds {
        Rds::new(self.sdk_config())
    }

    /// The RDS clients and the state table the emulator provisions, for tasks that need both.
    pub fn clients(&self) -> RdsAndState {
        RdsAndState { rds: self.rds(), state: StateTable::new(&self.sdk_config(), STATE_TABLE) }
    }

    /// Starts an execution of a state machine named `machine` in the emulator's Step Functions
    /// (created if need be) and returns its ARN: RUNNING until `report_execution` says otherwise.
    pub async fn start_execution(&self, region: &str, machine: &str, name: &str) -> String {
        let config = aws_sdk_sfn::config::Builder::from(&self.sdk_config())
            .region(aws_config::Region::new(region.to_owned()))
            .build();
        let client = aws_sdk_sfn::Client::from_conf(config);
        let definition = r#"{"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}"#;
        let role = format!("arn:aws:iam::123456789012:role/{machine}-local");
        let arn = match client.create_state_machine().name(machine).definition(definition).role_arn(&role).send().await
        {
            Ok(created) => created.state_machine_arn().to_owned(),
            Err(_) => format!("arn:aws:states:{region}:123456789012:stateMachine:{machine}"),
        };
        let started = client.start_execution().state_machine_arn(arn).name(name).input("{}").send().await.unwrap();
        started.execution_arn().to_owned()
    }

    /// Says how execution `arn` ended (`ABORTED`, `TIMED_OUT`, ...), as the local runner does.
    pub fn report_execution(&self, arn: &str, status: &str) {
        self.control("execution", json!({"executionArn": arn, "status": status}));
    }

    /// `clients` and Step Functions (the emulator's), for the tasks that ask about executions.
    pub fn with_executions<C>(&self, clients: C) -> rds_refresh_core::lambda::WithExecutions<C> {
        rds_refresh_core::lambda::WithExecutions {
            clients,
            executions: rds_refresh_core::executions::Executions::new(self.sdk_config()),
        }
    }

    /// Secrets Manager clients (the emulator's), for the tasks that read y's secrets.
    pub fn secrets(&self) -> rds_refresh_core::secrets::Secrets {
        rds_refresh_core::secrets::Secrets::new(self.sdk_config())
    }

    /// `clients` and Secrets Manager (the emulator's).
    pub fn with_secrets<C>(&self, clients: C) -> rds_refresh_core::lambda::WithSecrets<C> {
        rds_refresh_core::lambda::WithSecrets { clients, secrets: self.secrets() }
    }

    /// `clients` and S3 (the emulator's), for the tasks that read SQL scripts.
    pub fn with_scripts<C>(&self, clients: C) -> rds_refresh_core::lambda::WithScripts<C> {
        rds_refresh_core::lambda::WithScripts {
            clients,
            scripts: rds_refresh_core::scripts::Scripts::new(self.sdk_config()),
        }
    }

    /// Calls an AWS query-protocol API (SNS, SQS) of the emulator over plain HTTP and returns
    /// the XML answer: SDK crates only for setting up notifications in tests are not worth
    /// their build time.
    pub fn aws_query(
        &self,
        service: &str,
        region: &str,
        version: &str,
        action: &str,
        params: &[(&str, &str)],
    ) -> String {
        let credential = format!(
            "AWS4-HMAC-SHA256 Credential=test/20261125/{region}/{service}/aws4_request, SignedHeaders=host, Signature=0"
        );
        let mut body = format!("Action={action}&Version={version}");
        for (key, value) in params {
            body.push_str(&format!("&{}={}", form_encode(key), form_encode(value)));
        }
        http_raw(
            "POST",
            &format!("{}/", self.url),
            &body,
            &[("Authorization", &credential)],
            "application/x-www-form-urlencoded",
        )
    }

    /// An SNS topic in `region` with an SQS queue subscribed to it: `(topic ARN, queue URL)`.
    pub fn topic_with_queue(&self, region: &str, name: &str) -> (String, String) {
        let sns = |action: &str, params: &[(&str, &str)]| self.aws_query("sns", region, "2010-03-31", action, params);
        let sqs = |action: &str, params: &[(&str, &str)]| self.aws_query("sqs", region, "2012-11-05", action, params);
        let topic = xml_values(&sns("CreateTopic", &[("Name", name)]), "TopicArn").remove(0);
        let queue_url =
            xml_values(&sqs("CreateQueue", &[("QueueName", &format!("{name}-queue"))]), "QueueUrl").remove(0);
        let attributes = sqs("GetQueueAttributes", &[("QueueUrl", &queue_url), ("AttributeName.1", "QueueArn")]);
        let queue_arn = xml_values(&attributes, "Value").remove(0);
        sns("Subscribe", &[("TopicArn", &topic), ("Protocol", "sqs"), ("Endpoint", &queue_arn)]);
        (topic, queue_url)
    }

    /// The SNS notifications waiting in the queue at `queue_url`: `(subject, message)` each.
    pub fn notifications(&self, region: &str, queue_url: &str) -> Vec<(String, Value)> {
        let received = self.aws_query(
            "sqs",
            region,
            "2012-11-05",
            "ReceiveMessage",
            &[("QueueUrl", queue_url), ("MaxNumberOfMessages", "10"), ("WaitTimeSeconds", "0")],
        );
        xml_values(&received, "Body")
            .iter()
            .map(|body| {
                let envelope: Value = serde_json::from_str(body).expect("an SNS notification");
                let message = serde_json::from_str(envelope["Message"].as_str().unwrap()).expect("a JSON message");
                (envelope["Subject"].as_str().unwrap_or_default().to_owned(), message)
            })
            .collect()
    }

    /// Creates a KMS key in `region` and returns its ARN. Over plain HTTP to the emulator's
    /// KMS (which does not check signatures): a KMS SDK only for this is not worth its build.
    pub fn create_kms_key(&self, region: &str) -> String {
        let credential = format!(
            "AWS4-HMAC-SHA256 Credential=test/20261125/{region}/kms/aws4_request, SignedHeaders=host, Signature=0"
        );
        let response = http_with(
            "POST",
            &format!("{}/", self.url),
            Some(&json!({"Description": "rds-refresh test"})),
            &[("X-Amz-Target", "TrentService.CreateKey"), ("Authorization", &credential)],
            "application/x-amz-json-1.1",
        );
        let key: Value = serde_json::from_str(&response).expect("CreateKey answers JSON");
        key["KeyMetadata"]["Arn"].as_str().expect("a key ARN").to_owned()
    }

    pub fn client(&self, region: &str) -> Client {
        self.rds().client(region)
    }

    /// POSTs `body` to the emulator's control API (`/_emulator/<path>`).
    pub fn control(&self, path: &str, body: Value) -> Value {
        self.control_request("POST", path, Some(&body))
    }

    /// GETs `/_emulator/<path>`.
    pub fn control_get(&self, path: &str) -> Value {
        self.control_request("GET", path, None)
    }

    /// DELETEs `/_emulator/<path>` (clears the calls, faults or transitions).
    pub fn control_delete(&self, path: &str) -> Value {
        self.control_request("DELETE", path, None)
    }

    fn control_request(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let response = http(method, &format!("{}/_emulator/{path}", self.url), body);
        serde_json::from_str(&response).unwrap_or(Value::Null)
    }

    /// Sets moto's own configuration (`/moto-api/config`), e.g. to make its Step Functions
    /// execute state machines.
    pub fn moto_config(&self, body: Value) {
        http("POST", &format!("{}/moto-api/config", self.url), Some(&body));
    }

    /// Forgets the RDS calls received so far.
    pub fn clear_calls(&self) {
        self.control_request("DELETE", "calls", None);
    }

    /// The actions of the RDS calls received since the last `clear_calls`, in order.
    pub fn calls(&self) -> Vec<String> {
        let calls = self.control_request("GET", "calls", None);
        calls["log"].as_array().into_iter().flatten().filter_map(|c| c["action"].as_str().map(str::to_owned)).collect()
    }

    /// The parameters of each `action` call received since the last `clear_calls`, as sent
    /// (`OptionGroupName`, `Tags.Tag.1.Key`, ...).
    pub fn call_params(&self, action: &str) -> Vec<Value> {
        let calls = self.control_request("GET", "calls", None);
        calls["log"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["action"] == action)
            .map(|c| c["params"].clone())
            .collect()
    }

    /// The calls received since the last `clear_calls` that may change something: anything
    /// but a read (Describe, List, Get, Head).
    pub fn changing_calls(&self) -> Vec<String> {
        self.changing_calls_by_region().into_iter().map(|(_, action)| action).collect()
    }

    /// `(region, action)` of each call `changing_calls` lists. Step Functions and STS calls are
    /// left out: the local runner registers its own executions there (GetCallerIdentity,
    /// CreateStateMachine, StartExecution); they are not the refresh's.
    pub fn changing_calls_by_region(&self) -> Vec<(String, String)> {
        let calls = self.control_request("GET", "calls", None);
        calls["log"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["service"] != "states" && c["service"] != "sts")
            .filter_map(|c| {
                Some((c["region"].as_str().unwrap_or_default().to_owned(), c["action"].as_str()?.to_owned()))
            })
            // Reads: RDS's Describe*/List*, Secrets Manager's GetSecretValue, S3's GetObject and
            // HeadObject (the SQL scripts).
            .filter(|(_, action)| !["Describe", "List", "Get", "Head"].iter().any(|read| action.starts_with(read)))
            .collect()
    }

    /// Sets a snapshot's status and/or creation time.
    pub fn set_snapshot(&self, region: &str, id: &str, status: Option<&str>, created_at: Option<&str>) {
        let mut body = json!({"region": region, "snapshotIdentifier": id});
        if let Some(status) = status {
            body["status"] = json!(status);
        }
        if let Some(created_at) = created_at {
            body["snapshotCreateTime"] = json!(created_at);
        }
        self.control("snapshot-status", body);
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal blocking HTTP request over std's TcpStream: the control API is plain JSON on
/// 127.0.0.1, and an HTTP client crate only for this is not worth its build time.
fn http(method: &str, url: &str, body: Option<&Value>) -> String {
    http_with(method, url, body, &[], "application/json")
}

fn http_with(method: &str, url: &str, body: Option<&Value>, headers: &[(&str, &str)], content_type: &str) -> String {
    http_raw(method, url, &body.map(Value::to_string).unwrap_or_default(), headers, content_type)
}

fn http_raw(method: &str, url: &str, body: &str, headers: &[(&str, &str)], content_type: &str) -> String {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/".into()));
    let mut stream = std::net::TcpStream::connect(host).expect("connect to the emulator");
    let extra: String = headers.iter().map(|(name, value)| format!("{name}: {value}\r\n")).collect();
    write!(stream, "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len())
        .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    assert!(
        head.starts_with("HTTP/1.1 2") || head.starts_with("HTTP/1.0 2"),
        "control call {method} {path} failed: {head}\n{body}"
    );
    body.to_owned()
}

/// Percent-encodes everything but unreserved characters (RFC 3986), for form bodies.
fn form_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The text of every `<tag>...</tag>` element in `xml`, unescaped.
fn xml_values(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    xml.split(&open)
        .skip(1)
        .filter_map(|rest| rest.split(&close).next())
        .map(|text| {
            text.replace("&quot;", "\"")
                .replace("&#39;", "'")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&amp;", "&")
        })
        .collect()
}

/// The state table the emulator creates (and scripts/refresh-local names).
pub const STATE_TABLE: &str = "rds-refresh-state";

/// A name unique within this test process, so tests sharing an emulator never collide.
pub fn unique(prefix: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("{prefix}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// Creates a PostgreSQL instance with test defaults.
pub async fn create_instance(client: &Client, id: &str) {
    create_instance_with(client, id, |b| b).await
}

/// Creates a PostgreSQL instance, letting the caller set more of it.
pub async fn create_instance_with(
    client: &Client,
    id: &str,
    customize: impl FnOnce(
        aws_sdk_rds::operation::create_db_instance::builders::CreateDBInstanceFluentBuilder,
    ) -> aws_sdk_rds::operation::create_db_instance::builders::CreateDBInstanceFluentBuilder,
) {
    let request = client
        .create_db_instance()
        .db_instance_identifier(id)
        .db_instance_class("db.t3.micro")
        .engine("postgres")
        // A current major version (the emulator's default, 9.3, is long gone from RDS): the
        // groups a test gives an instance must be of its family.
        .engine_version("16.4")
        .master_username("postgres")
        .master_user_password("not-a-secret-1")
        .allocated_storage(20);
    customize(request).send().await.expect("create instance");
}

/// The tag by which a target opts in to being refreshed from `source` (`region/identifier`).
pub fn opt_in(source: &str) -> aws_sdk_rds::types::Tag {
    aws_sdk_rds::types::Tag::builder().key(rds_refresh_core::tags::SOURCE).value(source).build()
}

/// Creates a manual snapshot of `instance`.
pub async fn create_snapshot(client: &Client, instance: &str, id: &str) {
    client
        .create_db_snapshot()
        .db_instance_identifier(instance)
        .db_snapshot_identifier(id)
        .send()
        .await
        .expect("create snapshot");
}

/// Identifiers of every snapshot of `instance` in the client's region.
pub async fn snapshot_ids(client: &Client, instance: &str) -> Vec<String> {
    let output =
        client.describe_db_snapshots().db_instance_identifier(instance).send().await.expect("describe snapshots");
    output.db_snapshots().iter().filter_map(|s| s.db_snapshot_identifier().map(str::to_owned)).collect()
}

/// Identifiers of every manual snapshot in the client's region, sorted.
pub async fn manual_snapshot_ids(client: &Client) -> Vec<String> {
    let output = client.describe_db_snapshots().snapshot_type("manual").send().await.expect("describe snapshots");
    let mut ids: Vec<String> =
        output.db_snapshots().iter().filter_map(|s| s.db_snapshot_identifier().map(str::to_owned)).collect();
    ids.sort();
    ids
}

/// The instance `id`, or None.
pub async fn instance(client: &Client, id: &str) -> Option<aws_sdk_rds::types::DbInstance> {
    rds_refresh_core::rds::find_instance(client, id).await.expect("describe instance")
}
