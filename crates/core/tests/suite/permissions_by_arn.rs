//! Least privilege, checked call by call: every RDS call each function makes in every mode
//! (cross-region and one region, swap and replace, the dry run, re-runs after a failure, a
//! final snapshot, deletion protection, monitoring and a customer managed key), every
//! Secrets Manager call of the credential steps (the input's secrets, an RDS-managed master
//! secret with a customer managed key), and every S3 call of the SQL steps (scripts in S3, one
//! under a customer managed key), is allowed by that function's role in deploy/template.yaml,
//! for the exact ARNs IAM checks.
//!
//! tests/permissions.rs checks the actions each role allows against the code; this checks the
//! resources, by running refreshes whose functions sign with their own access key (the local
//! runner's `--access-key-per-function`) and evaluating the emulator's call log against the
//! template (support/iam.rs; the Secrets Manager and S3 calls and ManageMasterUserPassword's
//! dependent actions here).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use aws_sdk_rds::types::Tag;
use rds_refresh_test_support::iam::{ACCOUNT, Policy, Requirement, required, wildcard_match};
use rds_refresh_test_support::local_run::{
    SOURCE_REGION, TARGET_REGION, input, input_with, refresh_local_with, repair_local, seed_source_with_data,
    seed_target_with_data, stopped_after,
};
use rds_refresh_test_support::{Emulator, create_instance_with, create_snapshot, opt_in, repo_root, tmp_dir, unique};
use serde_json::{Value, json};
use serde_yaml::Value as Yaml;

/// The template's parameters (and pseudo parameters) of the stack for `source` and `target`.
fn deployment<'a>(source: (&'a str, &'a str), target: (&'a str, &'a str)) -> BTreeMap<&'a str, &'a str> {
    BTreeMap::from([
        ("AWS::Partition", "aws"),
        ("AWS::Region", target.0),
        ("AWS::AccountId", ACCOUNT),
        // The local runner names the refresh state machine after its definition file, as the
        // template names it after the stack.
        ("AWS::StackName", "refresh"),
        ("SourceRegion", source.0),
        ("SourceDbInstanceIdentifier", source.1),
        ("TargetDbInstanceIdentifier", target.1),
    ])
}

/// The deployment's list parameters: the secrets an input may name, the S3 objects its
/// scripts may be read from, and their customer managed keys (all empty by default, as in the
/// template).
#[derive(Clone, Debug, Default)]
struct Lists {
    credential_secrets: Vec<String>,
    secrets_keys: Vec<String>,
    sql_script_objects: Vec<String>,
    sql_scripts_keys: Vec<String>,
}

/// deploy/template.yaml as deployed with `lists`, in a folder of its own, for
/// [`Policy::of_function`] (which resolves `!Sub`s only): each `!Ref` of a list parameter
/// replaced by its values, and each `!If` on the conditions made of them (and on
/// InDatabaseVpc, which no policy holds) decided, `!Ref AWS::NoValue` left out.
fn deployed(lists: &Lists) -> PathBuf {
    let text = std::fs::read_to_string(repo_root().join("deploy/template.yaml")).unwrap();
    let template: Yaml = serde_yaml::from_str(&text).unwrap();
    let values = BTreeMap::from([
        ("CredentialSecretArns", &lists.credential_secrets),
        ("SecretsKmsKeyArns", &lists.secrets_keys),
        ("SqlScriptObjectArns", &lists.sql_script_objects),
        ("SqlScriptsKmsKeyArns", &lists.sql_scripts_keys),
    ]);
    let conditions = BTreeMap::from([
        ("HasCredentialSecrets", !lists.credential_secrets.is_empty()),
        ("HasSecretsKmsKeys", !lists.secrets_keys.is_empty()),
        ("HasSqlScriptObjects", !lists.sql_script_objects.is_empty()),
        ("HasSqlScriptsKmsKeys", !lists.sql_script_objects.is_empty() && !lists.sql_scripts_keys.is_empty()),
        ("InDatabaseVpc", false),
    ]);
    let resolved = decide(&template, &values, &conditions).unwrap();
    let root = tmp_dir().join(unique("deployment"));
    std::fs::create_dir_all(root.join("deploy")).unwrap();
    std::fs::write(root.join("deploy/template.yaml"), serde_yaml::to_string(&resolved).unwrap()).unwrap();
    root
}

/// `value` with the list parameters and conditions of [`deployed`] resolved; `None` for
/// `!Ref AWS::NoValue`.
fn decide(value: &Yaml, values: &BTreeMap<&str, &Vec<String>>, conditions: &BTreeMap<&str, bool>) -> Option<Yaml> {
    use serde_yaml::value::{Tag, TaggedValue};
    match value {
        Yaml::Tagged(tagged) if tagged.tag == Tag::new("!Ref") => match tagged.value.as_str() {
            Some("AWS::NoValue") => None,
            Some(name) if values.contains_key(name) => {
                Some(Yaml::Sequence(values[name].iter().map(|v| Yaml::String(v.clone())).collect()))
            }
            _ => Some(value.clone()),
        },
        Yaml::Tagged(tagged) if tagged.tag == Tag::new("!If") => {
            let branches = tagged.value.as_sequence().expect("!If [condition, then, else]");
            match branches[0].as_str().and_then(|condition| conditions.get(condition)) {
                Some(holds) => decide(&branches[if *holds { 1 } else { 2 }], values, conditions),
                None => Some(value.clone()),
            }
        }
        Yaml::Tagged(tagged) => Some(Yaml::Tagged(Box::new(TaggedValue {
            tag: tagged.tag.clone(),
            value: decide(&tagged.value, values, conditions)?,
        }))),
        Yaml::Sequence(items) => {
            Some(Yaml::Sequence(items.iter().filter_map(|i| decide(i, values, conditions)).collect()))
        }
        Yaml::Mapping(entries) => Some(Yaml::Mapping(
            entries.iter().filter_map(|(k, v)| Some((k.clone(), decide(v, values, conditions)?))).collect(),
        )),
        other => Some(other.clone()),
    }
}

/// A secret of the emulator's Secrets Manager, as IAM sees it when it is read: its tags
/// (`aws:ResourceTag/<key>`) and its KMS key (none: aws/secretsmanager).
#[derive(Clone, Debug)]
struct SecretFacts {
    tags: BTreeMap<String, String>,
    kms_key: Option<String>,
}

/// What IAM sees of the emulator's resources when they are used: its secrets by ARN, and its
/// S3 objects by `bucket/key` with the customer managed key each is encrypted with (`None`:
/// SSE-S3, or no encryption).
#[derive(Clone, Debug, Default)]
struct Facts {
    secrets: BTreeMap<String, SecretFacts>,
    objects: BTreeMap<String, Option<String>>,
}

/// The secrets of `region` and every object of the emulator's S3 buckets in it.
async fn facts_of(emulator: &Emulator, region: &str) -> Facts {
    let s3 = emulator.s3(region);
    let mut objects = BTreeMap::new();
    for bucket in s3.list_buckets().send().await.unwrap().buckets() {
        let bucket = bucket.name().unwrap();
        let listed = s3.list_objects_v2().bucket(bucket).send().await.unwrap();
        for object in listed.contents() {
            let key = object.key().unwrap();
            let head = s3.head_object().bucket(bucket).key(key).send().await.unwrap();
            let kms = head.server_side_encryption() == Some(&aws_sdk_s3::types::ServerSideEncryption::AwsKms);
            objects.insert(format!("{bucket}/{key}"), head.ssekms_key_id().filter(|_| kms).map(str::to_owned));
        }
    }
    Facts { secrets: secrets_of(emulator, region).await, objects }
}

/// Every secret of `region`, by ARN.
async fn secrets_of(emulator: &Emulator, region: &str) -> BTreeMap<String, SecretFacts> {
    let config = aws_sdk_secretsmanager::config::Builder::from(&emulator.sdk_config())
        .region(aws_config::Region::new(region.to_owned()))
        .build();
    let listed = aws_sdk_secretsmanager::Client::from_conf(config).list_secrets().send().await.unwrap();
    listed
        .secret_list()
        .iter()
        .map(|secret| {
            let tags = secret.tags().iter().map(|t| (t.key().unwrap().to_owned(), t.value().unwrap().to_owned()));
            (
                secret.arn().unwrap().to_owned(),
                SecretFacts { tags: tags.collect(), kms_key: secret.kms_key_id().map(str::to_owned) },
            )
        })
        .collect()
}

fn key_arn(region: &str, key: &str) -> String {
    if key.starts_with("arn:") { key.to_owned() } else { format!("arn:aws:kms:{region}:{ACCOUNT}:key/{key}") }
}

fn via(service: &str, region: &str) -> BTreeMap<String, Vec<String>> {
    BTreeMap::from([("kms:ViaService".to_owned(), vec![format!("{service}.{region}.amazonaws.com")])])
}

/// The authorizations a logged Secrets Manager call needs (Service Authorization Reference,
/// AWS Secrets Manager: GetSecretValue on the secret, its tags as `aws:ResourceTag/<key>`),
/// with the kms:Decrypt Secrets Manager makes with the caller's permissions for a secret under
/// a customer managed key ("Secret encryption and decryption in AWS Secrets Manager").
fn secret_required(call: &Value, secrets: &BTreeMap<String, SecretFacts>) -> Vec<Requirement> {
    let action = call["action"].as_str().unwrap();
    assert_eq!(action, "GetSecretValue", "no IAM model of secretsmanager:{action}: add it here");
    let region = call["region"].as_str().unwrap();
    let arn = call["params"]["SecretId"].as_str().unwrap();
    let secret = secrets.get(arn).unwrap_or_else(|| panic!("{arn} is not a secret of {region}: {secrets:?}"));
    let context = secret.tags.iter().map(|(k, v)| (format!("aws:ResourceTag/{k}"), vec![v.clone()])).collect();
    let mut needs =
        vec![Requirement { action: "secretsmanager:GetSecretValue".into(), resource: arn.to_owned(), context }];
    if let Some(key) = &secret.kms_key {
        needs.push(Requirement {
            action: "kms:Decrypt".into(),
            resource: key_arn(region, key),
            context: via("secretsmanager", region),
        });
    }
    needs
}

/// The authorizations a logged S3 call needs (Service Authorization Reference, Amazon S3:
/// GetObject on the `object` resource, `arn:aws:s3:::<bucket>/<key>`), with the kms:Decrypt
/// S3 makes with the caller's permissions for an object under a customer managed key (S3 User
/// Guide, "Using server-side encryption with AWS KMS keys (SSE-KMS)").
fn object_required(call: &Value, objects: &BTreeMap<String, Option<String>>) -> Vec<Requirement> {
    let action = call["action"].as_str().unwrap();
    assert_eq!(action, "GetObject", "no IAM model of s3:{action}: add it here");
    let region = call["region"].as_str().unwrap();
    let params = &call["params"];
    let object = format!("{}/{}", params["Bucket"].as_str().unwrap(), params["Key"].as_str().unwrap());
    let mut needs = vec![Requirement {
        action: "s3:GetObject".into(),
        resource: format!("arn:aws:s3:::{object}"),
        context: BTreeMap::new(),
    }];
    // (A missing object is read too: S3 answers AccessDenied, not NoSuchKey, to a caller
    // without s3:ListBucket, and the call needed s3:GetObject all the same.)
    if let Some(Some(key)) = objects.get(&object) {
        needs.push(Requirement {
            action: "kms:Decrypt".into(),
            resource: key_arn(region, key),
            context: via("s3", region),
        });
    }
    needs
}

/// What ModifyDBInstance `ManageMasterUserPassword` needs besides itself: RDS creates and tags
/// the instance's secret, and uses its customer managed key, with the caller's permissions
/// (RDS User Guide, "Password management with Amazon RDS and AWS Secrets Manager"). The secret
/// is the one RDS tagged with the instance's ARN (`aws:rds:primaryDBInstanceArn`).
fn managed_secret_required(call: &Value, secrets: &BTreeMap<String, SecretFacts>) -> Vec<Requirement> {
    let params = &call["params"];
    // The emulator's log leaves out every parameter named like a password, ManageMasterUserPassword
    // too; MasterUserSecretKmsKeyId, which RDS takes only with it, shows it.
    let managed = params["ManageMasterUserPassword"] == "true" || params.get("MasterUserSecretKmsKeyId").is_some();
    if call["action"] != "ModifyDBInstance" || !managed {
        return Vec::new();
    }
    let region = call["region"].as_str().unwrap();
    let instance = format!("arn:aws:rds:{region}:{ACCOUNT}:db:{}", params["DBInstanceIdentifier"].as_str().unwrap());
    let (secret, _) = secrets
        .iter()
        .find(|(_, facts)| facts.tags.get("aws:rds:primaryDBInstanceArn") == Some(&instance))
        .unwrap_or_else(|| panic!("RDS made no secret for {instance}: {secrets:?}"));
    let need = |action: &str, resource: &str, context: BTreeMap<String, Vec<String>>| Requirement {
        action: action.to_owned(),
        resource: resource.to_owned(),
        context,
    };
    let mut needs = vec![
        need("secretsmanager:CreateSecret", secret, BTreeMap::new()),
        need("secretsmanager:TagResource", secret, BTreeMap::new()),
    ];
    if let Some(key) = params["MasterUserSecretKmsKeyId"].as_str() {
        let key = key_arn(region, key);
        for action in ["kms:DescribeKey", "kms:Decrypt", "kms:GenerateDataKey"] {
            needs.push(need(action, &key, via("rds", region)));
        }
        let mut grant = via("rds", region);
        grant.insert("kms:GrantIsForAWSResource".into(), vec!["true".into()]);
        needs.push(need("kms:CreateGrant", &key, grant));
    }
    needs
}

/// Every authorization the calls logged so far needed and the deployment's roles deny, by
/// function.
fn denied(emulator: &Emulator, source: (&str, &str), target: (&str, &str)) -> Vec<String> {
    denied_in(emulator, source, target, &Lists::default(), &Facts::default())
}

/// [`denied`] for a deployment with `lists`, the emulator's secrets and objects as they are
/// now (`facts`).
fn denied_in(
    emulator: &Emulator,
    source: (&str, &str),
    target: (&str, &str),
    lists: &Lists,
    facts: &Facts,
) -> Vec<String> {
    let calls = emulator.control_get("calls");
    let parameters = deployment(source, target);
    let root = deployed(lists);
    let mut policies: BTreeMap<(String, String), Policy> = BTreeMap::new();
    let mut denied = BTreeSet::new();
    for call in calls["log"].as_array().unwrap() {
        let Some(function) = call["accessKey"].as_str().filter(|key| key.ends_with("Function")) else { continue };
        let needs = match call["service"].as_str() {
            Some("secretsmanager") => secret_required(call, &facts.secrets),
            Some("s3") => object_required(call, &facts.objects),
            _ => required(call).into_iter().chain(managed_secret_required(call, &facts.secrets)).collect(),
        };
        for need in needs {
            // The deployment's functions and state machines share its region; locally the
            // runner's state machines are in its own region (the functions' AWS_REGION), which
            // may differ from the target's: a Step Functions resource is checked in its region.
            let region = match need.resource.strip_prefix("arn:aws:states:") {
                Some(rest) => rest.split(':').next().unwrap_or_default().to_owned(),
                None => parameters["AWS::Region"].to_owned(),
            };
            let policy = policies.entry((function.to_owned(), region.clone())).or_insert_with(|| {
                let mut parameters = parameters.clone();
                parameters.insert("AWS::Region", &region);
                Policy::of_function(&root, function, &parameters)
            });
            if !policy.allows(&need) {
                denied.insert(format!("{function}: {} on {} ({:?})", need.action, need.resource, need.context));
            }
        }
    }
    denied.into_iter().collect()
}

/// The functions that signed at least one RDS call.
fn callers(emulator: &Emulator) -> BTreeSet<String> {
    let calls = emulator.control_get("calls");
    calls["log"].as_array().unwrap().iter().filter_map(|c| c["accessKey"].as_str().map(str::to_owned)).collect()
}

fn run(emulator: &Emulator, input: &Value, args: &[&str]) -> rds_refresh_test_support::local_run::Run {
    let mut all = vec!["--access-key-per-function"];
    all.extend_from_slice(args);
    refresh_local_with(emulator, input, &[], &all)
}

fn with(mut base: Value, extra: Value) -> Value {
    for (key, value) in extra.as_object().unwrap() {
        match (base.get_mut(key), value) {
            (Some(Value::Object(existing)), Value::Object(more)) => existing.extend(more.clone()),
            _ => base[key] = value.clone(),
        }
    }
    base
}

/// `x` with a snapshot, and `y` opted in, configured with what needs extra permissions:
/// Enhanced Monitoring (a role passed to RDS) and Performance Insights with a customer
/// managed key.
async fn seed(emulator: &Emulator, source: (&str, &str), target: (&str, &str)) {
    let client = emulator.client(source.0);
    create_instance_with(&client, source.1, |b| b).await;
    create_snapshot(&client, source.1, &format!("{}-manual", source.1)).await;
    let key = emulator.create_kms_key(target.0);
    let opted_in = format!("{}/{}", source.0, source.1);
    create_instance_with(&emulator.client(target.0), target.1, |b| {
        b.tags(Tag::builder().key("team").value("analytics").build())
            .tags(opt_in(&opted_in))
            .monitoring_interval(60)
            .monitoring_role_arn(format!("arn:aws:iam::{ACCOUNT}:role/rds-monitoring"))
            .enable_performance_insights(true)
            .performance_insights_kms_key_id(key)
            .deletion_protection(true)
    })
    .await;
    // What a swap for an older snapshot left: the refresh deletes it (prune-copies).
    let (stale, _) =
        rds_refresh_core::identifiers::swap_identifiers(target.1, "arn:aws:rds:us-east-1:1:snapshot:older");
    create_instance_with(&emulator.client(target.0), &stale, |b| {
        b.tags(opt_in(&opted_in)).tags(rds_refresh_core::tags::restoring("rds-refresh-older"))
    })
    .await;
}

/// Every mode of one deployment: the dry run, swap (failing between the renames, then a
/// re-run), replace with a final snapshot (failing after the delete, then a re-run).
fn every_mode(emulator: &Emulator, source: (&str, &str), target: (&str, &str)) {
    let base = with(
        input(source.1, target.1),
        json!({"source": {"region": source.0}, "target": {"region": target.0, "allowDisableDeletionProtection": true}}),
    );
    let plan = run(emulator, &with(base.clone(), json!({"dryRun": true})), &[]);
    assert!(plan.success, "dry run: {}", plan.stderr);
    let failed = run(emulator, &base, &["--fail-after", "RetireTarget"]);
    assert!(!failed.success, "the injected failure fails the swap");
    run(emulator, &base, &[]).output();
    let replace = with(base.clone(), json!({"mode": "replace", "target": {"finalSnapshot": true}}));
    let failed = run(emulator, &replace, &["--fail-after", "DeleteTarget"]);
    assert!(!failed.success, "the injected failure fails the replace");
    run(emulator, &replace, &[]).output();
    // Stopped between the renames, then repaired; stopped after the switch, then re-run (the
    // lock taken over); stopped after replace mode's delete, then repaired by a re-run.
    let keys = ["--access-key-per-function"];
    let (_, event) = stopped_after(emulator, &base, "RetireTarget", &keys);
    repair_local(emulator, &event, &keys).json();
    stopped_after(emulator, &base, "PromoteNew", &keys);
    assert!(run(emulator, &base, &[]).output().lock_taken_over_from.is_some());
    let (_, event) = stopped_after(emulator, &replace, "DeleteTarget", &keys);
    assert_eq!(repair_local(emulator, &event, &keys).json()["repair"]["action"], "rerun");
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn every_call_in_every_mode_is_allowed_by_its_role_across_regions() {
    let emulator = Emulator::start();
    let (source, target) = (("us-east-1", "x"), ("us-west-2", "y"));
    seed(&emulator, source, target).await;
    emulator.clear_calls();
    every_mode(&emulator, source, target);
    let callers = callers(&emulator);
    for function in [
        "PlanRefreshFunction",
        "FindSnapshotFunction",
        "CopySnapshotFunction",
        "WaitCopiedFunction",
        "DeleteTargetFunction",
        "RestoreTargetFunction",
        "ConfigureTargetFunction",
        "RenameTargetFunction",
        "RecoverSwapFunction",
        "TagTargetFunction",
        "PruneCopiesFunction",
        "LockTargetFunction",
        "RepairExecutionFunction",
    ] {
        assert!(
            callers.contains(function),
            "{function} made no call: is --access-key-per-function in effect? {callers:?}"
        );
    }
    assert_eq!(denied(&emulator, source, target), Vec::<String>::new());
}

#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn every_call_in_every_mode_is_allowed_by_its_role_in_one_region() {
    // No copy: the tasks work on the source's own snapshot in the target's region.
    let emulator = Emulator::start();
    let (source, target) = (("us-west-2", "x"), ("us-west-2", "y"));
    seed(&emulator, source, target).await;
    emulator.clear_calls();
    every_mode(&emulator, source, target);
    assert_eq!(denied(&emulator, source, target), Vec::<String>::new());
}

#[test]
fn wildcards_match_as_iam_does() {
    assert!(wildcard_match("arn:aws:rds:us-west-2:1:db:y-rr-*", "arn:aws:rds:us-west-2:1:db:y-rr-new-abc"));
    assert!(!wildcard_match("arn:aws:rds:us-west-2:1:db:y-rr-*", "arn:aws:rds:us-west-2:1:db:y"));
    assert!(wildcard_match("arn:aws:rds:us-west-2:1:snapshot:*", "arn:aws:rds:us-west-2:1:snapshot:rds:x-1"));
    assert!(wildcard_match("rds:describe*", "rds:describedbinstances"));
    assert!(wildcard_match("a?c", "abc") && !wildcard_match("a?c", "ac"));
}

/// The evaluator itself: a call the role does not cover is denied, and a tag condition
/// needs the tag.
#[test]
fn the_evaluator_denies_what_the_role_does_not_allow() {
    let parameters = deployment(("us-east-1", "x"), ("us-west-2", "y"));
    let delete = Policy::of_function(&repo_root(), "DeleteTargetFunction", &parameters);
    let call = |id: &str, tags: Value| json!({"action": "DeleteDBInstance", "region": "us-west-2", "params": {"DBInstanceIdentifier": id}, "resourceTags": tags});
    let opted_in = json!({"rds-refresh:source": "us-east-1/x"});
    assert!(required(&call("y", opted_in.clone())).iter().all(|need| delete.allows(need)));
    assert!(!required(&call("y", json!({}))).iter().all(|need| delete.allows(need)), "needs the opt-in tag");
    assert!(!required(&call("production", opted_in)).iter().all(|need| delete.allows(need)), "only y");
}

/// An encrypted source: the copy is made with `copy.kmsKeyId`, a key of the target region
/// chosen at run time, which the roles may use only through RDS.
#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn an_encrypted_copy_with_a_key_chosen_at_run_time_is_allowed_through_rds() {
    let emulator = Emulator::start();
    let (source, target) = (("us-east-1", "x"), ("us-west-2", "y"));
    let client = emulator.client(source.0);
    create_instance_with(&client, source.1, |b| b.storage_encrypted(true)).await;
    create_snapshot(&client, source.1, "x-encrypted").await;
    create_instance_with(&emulator.client(target.0), target.1, |b| b.tags(opt_in("us-east-1/x"))).await;
    let key = emulator.create_kms_key(target.0);
    emulator.clear_calls();
    let input = with(input(source.1, target.1), json!({"copy": {"kmsKeyId": key}}));
    run(&emulator, &input, &[]).output();
    let copies = emulator.call_params("CopyDBSnapshot");
    assert_eq!(copies.len(), 1);
    assert_eq!(copies[0]["KmsKeyId"], key.as_str());
    assert_eq!(denied(&emulator, source, target), Vec::<String>::new());
}

/// A password for this test run, within RDS's rule for PostgreSQL master passwords.
fn new_password(label: &str) -> String {
    format!("Stg-{label}-{}", rds_refresh_core::identifiers::short_hash(&unique(label), 12))
}

/// A fresh emulator with databases, the standard world's `x` and `y` with their data, and a
/// secret for y's master user (x's master username, a fresh password): `(emulator, its ARN)`.
async fn with_databases_and_master_secret() -> (Emulator, String) {
    let emulator = Emulator::start_with_databases();
    let (_, x) = seed_source_with_data(&emulator, "x").await;
    seed_target_with_data(&emulator, "y", json!({})).await;
    let master = json!({"username": x.master_username, "password": new_password("master")});
    let master = emulator.create_secret(TARGET_REGION, &unique("staging/y/master"), &master).await;
    (emulator, master)
}

/// A dry run, a swap and a replace of y from x with `extra` in the input, each function
/// signing its own calls, the tasks trusting the emulator's CA; each must succeed.
fn dry_run_swap_and_replace(emulator: &Emulator, extra: &Value) {
    let ca = emulator.ca_bundle();
    for mode in [json!({"dryRun": true}), json!({"mode": "swap"}), json!({"mode": "replace"})] {
        let input = with(input_with(extra.clone()), mode);
        let run =
            refresh_local_with(emulator, &input, &[("RDS_REFRESH_CA_BUNDLE", &ca)], &["--access-key-per-function"]);
        assert!(run.success, "{input}: {}", run.stderr);
    }
}

/// The credential steps, with y's master and app_user secrets, in a dry run, a swap and a
/// replace: every Secrets Manager call (check-secrets, the dry run, set-credentials, and
/// inside the database apply-roles and check-connections) reads only the secrets the
/// deployment lists in CredentialSecretArns; with none listed, those reads, and only those,
/// are denied.
#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn the_credential_steps_read_only_the_secrets_the_deployment_lists() {
    let (emulator, master) = with_databases_and_master_secret().await;
    let (source, target) = ((SOURCE_REGION, "x"), (TARGET_REGION, "y"));
    let app = json!({"username": "app_user", "password": new_password("app")});
    let app = emulator.create_secret(TARGET_REGION, &unique("staging/y/app_user"), &app).await;
    emulator.clear_calls();
    dry_run_swap_and_replace(
        &emulator,
        &json!({"target": {"masterUserSecretArn": master, "roleSecrets": {"app_user": app}}}),
    );
    let callers = callers(&emulator);
    for function in [
        "PlanRefreshFunction",
        "CheckSecretsFunction",
        "SetCredentialsFunction",
        "WaitCredentialsFunction",
        "ApplyRolesFunction",
        "CheckConnectionsFunction",
    ] {
        assert!(callers.contains(function), "{function} made no call: {callers:?}");
    }
    let facts = facts_of(&emulator, TARGET_REGION).await;
    let listed = Lists { credential_secrets: vec![master.clone(), app.clone()], ..Lists::default() };
    assert_eq!(denied_in(&emulator, source, target, &listed, &facts), Vec::<String>::new());
    let unlisted = denied_in(&emulator, source, target, &Lists::default(), &facts);
    assert!(!unlisted.is_empty(), "the secrets were read");
    assert!(unlisted.iter().all(|denied| denied.contains(": secretsmanager:GetSecretValue on ")), "{unlisted:?}");
}

/// A y whose master password RDS manages, with a customer managed key: set-credentials gives
/// the new instance a managed secret of its own (CreateSecret, TagResource and the key, as RDS
/// needs of its caller), and apply-roles and check-connections read it by the tag RDS puts on
/// it (`aws:rds:primaryDBInstanceArn`, the new instance's ARN), decrypting it with the key
/// listed in SecretsKmsKeyArns through Secrets Manager. A deployment for another target may
/// not read it.
#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn an_rds_managed_master_secret_is_made_and_read_only_for_the_new_target() {
    let emulator = Emulator::start_with_databases();
    let (source, target) = ((SOURCE_REGION, "x"), (TARGET_REGION, "y"));
    seed_source_with_data(&emulator, "x").await;
    let key = emulator.create_kms_key(TARGET_REGION);
    seed_target_with_data(&emulator, "y", json!({"ManageMasterUserPassword": true, "MasterUserSecretKmsKeyId": key}))
        .await;
    let app = json!({"username": "app_user", "password": new_password("app")});
    let app = emulator.create_secret(TARGET_REGION, &unique("staging/y/app_user"), &app).await;
    emulator.clear_calls();
    let input = input_with(json!({"target": {"roleSecrets": {"app_user": app}}}));
    let ca = emulator.ca_bundle();
    let run = refresh_local_with(&emulator, &input, &[("RDS_REFRESH_CA_BUNDLE", &ca)], &["--access-key-per-function"]);
    assert!(run.success, "{}", run.stderr);

    let facts = facts_of(&emulator, TARGET_REGION).await;
    let calls = emulator.control_get("calls");
    let managed_reads: BTreeSet<&str> = calls["log"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|call| call["action"] == "GetSecretValue")
        .filter(|call| call["params"]["SecretId"].as_str().is_some_and(|id| id.contains(":secret:rds!db-")))
        .filter_map(|call| call["accessKey"].as_str())
        .collect();
    assert_eq!(managed_reads, BTreeSet::from(["ApplyRolesFunction", "CheckConnectionsFunction"]));
    let modified = emulator.call_params("ModifyDBInstance");
    assert!(modified.iter().any(|params| params["MasterUserSecretKmsKeyId"] == key.as_str()), "{modified:?}");

    let lists = Lists { credential_secrets: vec![app.clone()], secrets_keys: vec![key.clone()], ..Lists::default() };
    assert_eq!(denied_in(&emulator, source, target, &lists, &facts), Vec::<String>::new());
    // Without the key listed, the managed secret can be neither made nor read.
    let no_key = Lists { secrets_keys: Vec::new(), ..lists.clone() };
    let denied = denied_in(&emulator, source, target, &no_key, &facts);
    for action in ["kms:Decrypt", "kms:GenerateDataKey", "kms:CreateGrant"] {
        assert!(denied.iter().any(|d| d.contains(&format!(": {action} on {key}"))), "{action}: {denied:?}");
    }
    // Another target's deployment may not read this target's managed secret.
    let elsewhere = denied_in(&emulator, source, (TARGET_REGION, "z"), &lists, &facts);
    let reads: Vec<&String> =
        elsewhere.iter().filter(|d| d.contains("secretsmanager:GetSecretValue on ") && d.contains("rds!db-")).collect();
    assert!(!reads.is_empty(), "{elsewhere:?}");
}

/// The Secrets Manager model: the managed secret's read is allowed by its tag only for the
/// database tasks, and the input's secrets only when listed.
#[test]
fn the_evaluator_reads_secrets_as_iam_does() {
    let parameters = deployment((SOURCE_REGION, "x"), (TARGET_REGION, "y"));
    let listed = "arn:aws:secretsmanager:us-west-2:123456789012:secret:staging/y/app_user-AbCdEf";
    let root = deployed(&Lists { credential_secrets: vec![listed.to_owned()], ..Lists::default() });
    let managed = "arn:aws:secretsmanager:us-west-2:123456789012:secret:rds!db-6f1c-4a2b-GhIjKl";
    let tagged = |instance: &str| SecretFacts {
        tags: BTreeMap::from([(
            "aws:rds:primaryDBInstanceArn".to_owned(),
            format!("arn:aws:rds:us-west-2:123456789012:db:{instance}"),
        )]),
        kms_key: None,
    };
    let read = |arn: &str| json!({"action": "GetSecretValue", "region": "us-west-2", "params": {"SecretId": arn}});
    let allowed = |function: &str, arn: &str, facts: SecretFacts| {
        let policy = Policy::of_function(&root, function, &parameters);
        let secrets = BTreeMap::from([(arn.to_owned(), facts)]);
        secret_required(&read(arn), &secrets).iter().all(|need| policy.allows(need))
    };
    assert!(allowed("ApplyRolesFunction", managed, tagged("y-rr-new-0123456789abcdef")));
    assert!(allowed("CheckConnectionsFunction", managed, tagged("y")));
    assert!(!allowed("ApplyRolesFunction", managed, tagged("production")), "another instance's secret");
    assert!(!allowed("ApplyRolesFunction", managed, tagged("y-rr-old-0123456789abcdef")), "the retired y's");
    assert!(!allowed("CheckSecretsFunction", managed, tagged("y")), "only the database tasks read it");
    let untagged = SecretFacts { tags: BTreeMap::new(), kms_key: None };
    assert!(allowed("CheckSecretsFunction", listed, untagged.clone()));
    let other = "arn:aws:secretsmanager:us-west-2:123456789012:secret:production/x/master-MnOpQr";
    assert!(!allowed("CheckSecretsFunction", other, untagged.clone()), "only the listed secrets");
    let encrypted = SecretFacts { kms_key: Some("arn:aws:kms:us-west-2:123456789012:key/k".into()), ..untagged };
    assert!(!allowed("CheckSecretsFunction", listed, encrypted), "its key is not listed");
}

/// The SQL steps with two scripts in S3 (one encrypted with a customer managed key) and one
/// inline, in a dry run, a swap and a replace: the S3 reads (the dry run, check-scripts,
/// run-script) are allowed on the objects SqlScriptObjectArns lists and their keys in
/// SqlScriptsKmsKeyArns through S3, and only those; verify-data reads no script. With no
/// object listed, those reads, and only those, are denied.
#[tokio::test]
#[ignore = "needs the local emulator: scripts/test runs it (or scripts/setup, then cargo test -- --ignored)"]
async fn the_sql_steps_read_only_the_script_objects_the_deployment_lists() {
    let (emulator, master) = with_databases_and_master_secret().await;
    let (source, target) = ((SOURCE_REGION, "x"), (TARGET_REGION, "y"));
    let bucket = unique("scripts");
    let clear =
        emulator.put_script(TARGET_REGION, &bucket, "refresh/clear-tokens.sql", "DELETE FROM api_tokens;").await;
    let key = emulator.create_kms_key(TARGET_REGION);
    let masked = "refresh/mask-customers.sql";
    emulator
        .s3(TARGET_REGION)
        .put_object()
        .bucket(&bucket)
        .key(masked)
        .body(b"UPDATE customers SET email = 'customer-' || id || '@example.invalid';".to_vec().into())
        .server_side_encryption(aws_sdk_s3::types::ServerSideEncryption::AwsKms)
        .ssekms_key_id(&key)
        .send()
        .await
        .unwrap();
    emulator.clear_calls();
    let sql = json!({
        "scripts": [
            {"name": "clear-tokens", "database": "app", "s3Uri": clear},
            {"name": "mask-customers", "database": "app", "s3Uri": format!("s3://{bucket}/{masked}")},
            {"name": "stamp", "database": "app", "inline": "CREATE TABLE scrubbed (at timestamptz DEFAULT now());"}
        ],
        "verify": [{"name": "no-tokens", "database": "app", "query": "SELECT count(*) = 0 FROM api_tokens"}]
    });
    dry_run_swap_and_replace(&emulator, &json!({"target": {"masterUserSecretArn": master}, "sql": sql}));
    let calls = emulator.control_get("calls");
    let readers: BTreeSet<&str> = calls["log"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|call| call["service"] == "s3" && call["action"] == "GetObject")
        .filter_map(|call| call["accessKey"].as_str())
        .collect();
    assert_eq!(readers, BTreeSet::from(["CheckScriptsFunction", "PlanRefreshFunction", "RunScriptFunction"]));
    assert!(callers(&emulator).contains("VerifyDataFunction"), "verify-data ran: {:?}", callers(&emulator));

    let facts = facts_of(&emulator, TARGET_REGION).await;
    assert_eq!(facts.objects.get(&format!("{bucket}/{masked}")), Some(&Some(key.clone())), "{facts:?}");
    let listed = Lists {
        credential_secrets: vec![master.clone()],
        sql_script_objects: vec![format!("arn:aws:s3:::{bucket}/refresh/*")],
        sql_scripts_keys: vec![key_arn(TARGET_REGION, &key)],
        ..Lists::default()
    };
    assert_eq!(denied_in(&emulator, source, target, &listed, &facts), Vec::<String>::new());
    // Each object by its own ARN is as good as the pattern.
    let exact = Lists {
        sql_script_objects: vec![
            format!("arn:aws:s3:::{bucket}/refresh/clear-tokens.sql"),
            format!("arn:aws:s3:::{bucket}/{masked}"),
        ],
        ..listed.clone()
    };
    assert_eq!(denied_in(&emulator, source, target, &exact, &facts), Vec::<String>::new());
    // No object listed: only the S3 reads (and the encrypted one's key) are denied.
    let unlisted =
        denied_in(&emulator, source, target, &Lists { sql_script_objects: Vec::new(), ..listed.clone() }, &facts);
    assert!(!unlisted.is_empty(), "the scripts were read");
    let decrypt = format!(
        ": kms:Decrypt on {} ({{\"kms:ViaService\": [\"s3.{TARGET_REGION}.amazonaws.com\"]}})",
        key_arn(TARGET_REGION, &key)
    );
    assert!(
        unlisted.iter().all(|denied| denied.contains(": s3:GetObject on arn:aws:s3:::") || denied.ends_with(&decrypt)),
        "{unlisted:?}"
    );
    for function in ["PlanRefreshFunction", "CheckScriptsFunction", "RunScriptFunction"] {
        assert!(unlisted.iter().any(|denied| denied.starts_with(&format!("{function}: s3:GetObject"))), "{function}");
    }
    // Another folder or bucket listed: denied as well.
    for elsewhere in [format!("arn:aws:s3:::{bucket}/other/*"), "arn:aws:s3:::another-bucket/refresh/*".to_owned()] {
        let lists = Lists { sql_script_objects: vec![elsewhere.clone()], ..listed.clone() };
        assert!(!denied_in(&emulator, source, target, &lists, &facts).is_empty(), "{elsewhere}");
    }
    // The encrypted script's key not listed: its decryption, and only that, is denied.
    let no_key =
        denied_in(&emulator, source, target, &Lists { sql_scripts_keys: Vec::new(), ..listed.clone() }, &facts);
    assert!(!no_key.is_empty());
    assert!(
        no_key.iter().all(|denied| denied.contains(&format!(": kms:Decrypt on {}", key_arn(TARGET_REGION, &key)))),
        "{no_key:?}"
    );
}

/// The S3 model: GetObject on the objects listed (exact ARNs or patterns) for the functions
/// that read scripts, and their keys only through S3.
#[test]
fn the_evaluator_reads_script_objects_as_iam_does() {
    let parameters = deployment((SOURCE_REGION, "x"), (TARGET_REGION, "y"));
    let key = "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let root = deployed(&Lists {
        sql_script_objects: vec!["arn:aws:s3:::scripts-bucket/refresh/*".into(), "arn:aws:s3:::other/one.sql".into()],
        sql_scripts_keys: vec![key.to_owned()],
        ..Lists::default()
    });
    let read = |object: &str| {
        let (bucket, key) = object.split_once('/').unwrap();
        json!({"service": "s3", "action": "GetObject", "region": "us-west-2", "params": {"Bucket": bucket, "Key": key}})
    };
    let allowed = |function: &str, object: &str, encrypted: Option<&str>| {
        let policy = Policy::of_function(&root, function, &parameters);
        let objects = BTreeMap::from([(object.to_owned(), encrypted.map(str::to_owned))]);
        object_required(&read(object), &objects).iter().all(|need| policy.allows(need))
    };
    for function in ["CheckScriptsFunction", "RunScriptFunction", "PlanRefreshFunction"] {
        assert!(allowed(function, "scripts-bucket/refresh/mask.sql", None), "{function}");
        assert!(allowed(function, "scripts-bucket/refresh/2026/mask.sql", Some(key)), "{function}: its key listed");
        assert!(allowed(function, "other/one.sql", None), "{function}");
        assert!(!allowed(function, "other/two.sql", None), "{function}: only the object listed");
        assert!(!allowed(function, "scripts-bucket/private/mask.sql", None), "{function}: only the folder listed");
        assert!(!allowed(function, "scripts-bucket-2/refresh/mask.sql", None), "{function}: only the bucket listed");
        let other_key = "arn:aws:kms:us-west-2:123456789012:key/another";
        assert!(!allowed(function, "scripts-bucket/refresh/mask.sql", Some(other_key)), "{function}: a key not listed");
    }
    for function in ["VerifyDataFunction", "ApplyRolesFunction", "CheckSecretsFunction"] {
        assert!(!allowed(function, "scripts-bucket/refresh/mask.sql", None), "{function} reads no script");
    }
    // The keys of SqlScriptsKmsKeyArns only through S3, not through Secrets Manager.
    let through = |service: &str| Requirement {
        action: "kms:Decrypt".into(),
        resource: key.into(),
        context: via(service, "us-west-2"),
    };
    let run_script = Policy::of_function(&root, "RunScriptFunction", &parameters);
    assert!(run_script.allows(&through("s3")));
    assert!(!run_script.allows(&through("secretsmanager")));
    // Nothing listed: no S3 permission at all.
    let none = deployed(&Lists::default());
    let policy = Policy::of_function(&none, "CheckScriptsFunction", &parameters);
    assert!(
        !object_required(&read("scripts-bucket/refresh/mask.sql"), &BTreeMap::new()).iter().any(|n| policy.allows(n))
    );
}
