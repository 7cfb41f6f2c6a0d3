//! Least privilege by ARN: what IAM would decide for each call a function made.
//!
//! The emulator logs every RDS call with the access key that signed it (the local runner gives
//! each function its own: its logical id in the template), its parameters and the tags of the
//! instance it names at that moment. [`required`] turns a logged call into the actions and
//! resource ARNs IAM authorizes it against, after the Service Authorization Reference ("Actions,
//! resources, and condition keys for Amazon RDS": the resource types of each action, and its
//! dependent actions such as AddTagsToResource for tags given at creation); [`Policy`] is the
//! function's role in deploy/template.yaml with its `!Sub`s resolved, and decides each one as
//! IAM does for an identity policy: an Allow statement whose Action, Resource and Condition all
//! match.
use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use serde_yaml::Value as Yaml;

pub const ACCOUNT: &str = "123456789012";

/// One authorization IAM makes for a call: an action on a resource, with request context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Requirement {
    pub action: String,
    pub resource: String,
    /// Condition keys and their values (`rds:db-tag/<key>`, `kms:ViaService`, ...).
    pub context: BTreeMap<String, Vec<String>>,
}

fn rds_arn(region: &str, kind: &str, name: &str) -> String {
    if name.starts_with("arn:") { name.to_owned() } else { format!("arn:aws:rds:{region}:{ACCOUNT}:{kind}:{name}") }
}

fn requirement(action: &str, resource: String, context: &BTreeMap<String, Vec<String>>) -> Requirement {
    Requirement { action: action.to_owned(), resource, context: context.clone() }
}

/// The authorizations a logged RDS call needs (`call` is one entry of the emulator's call log).
pub fn required(call: &Value) -> Vec<Requirement> {
    let action = call["action"].as_str().unwrap();
    let region = call["region"].as_str().unwrap_or("us-east-1");
    let params = &call["params"];
    let param = |name: &str| params[name].as_str();
    let has_tags = params.as_object().is_some_and(|p| p.keys().any(|k| k.starts_with("Tags.")));
    // `rds:db-tag/<key>` for the instance the call names, as it was when the call came.
    let mut db_context = BTreeMap::new();
    for (key, value) in call["resourceTags"].as_object().into_iter().flatten() {
        db_context.insert(format!("rds:db-tag/{key}"), vec![value.as_str().unwrap_or_default().to_owned()]);
    }
    let none = BTreeMap::new();
    let rds = |name: &str| format!("rds:{name}");
    let db = |id: &str| rds_arn(region, "db", id);
    let snapshot = |id: &str| rds_arn(region, "snapshot", id);
    let kms_context = |grant: bool| {
        let mut context = BTreeMap::from([("kms:ViaService".to_owned(), vec![format!("rds.{region}.amazonaws.com")])]);
        if grant {
            context.insert("kms:GrantIsForAWSResource".to_owned(), vec!["true".to_owned()]);
        }
        context
    };
    let key_arn = |key: &str| {
        if key.starts_with("arn:") { key.to_owned() } else { format!("arn:aws:kms:{region}:{ACCOUNT}:key/{key}") }
    };
    let mut needs = Vec::new();
    match action {
        "DescribeDBInstances" => {
            needs.push(requirement(action, db(param("DBInstanceIdentifier").unwrap_or("*")), &none))
        }
        "DescribeDBSnapshots" => {
            if let Some(id) = param("DBSnapshotIdentifier") {
                needs.push(requirement(action, snapshot(id), &none));
            }
            if let Some(id) = param("DBInstanceIdentifier") {
                needs.push(requirement(action, db(id), &none));
            }
            if needs.is_empty() {
                needs.push(requirement(action, snapshot("*"), &none));
            }
        }
        "CopyDBSnapshot" => {
            // The source (an ARN in another region, or a name here) and the copy: which of the
            // two RDS checks is not documented, so both must be allowed.
            needs.push(requirement(action, snapshot(param("SourceDBSnapshotIdentifier").unwrap()), &none));
            let copy = snapshot(param("TargetDBSnapshotIdentifier").unwrap());
            needs.push(requirement(action, copy.clone(), &none));
            if has_tags {
                needs.push(requirement("AddTagsToResource", copy, &none));
            }
            if let Some(key) = param("KmsKeyId") {
                needs.push(requirement("kms:CreateGrant", key_arn(key), &kms_context(true)));
                needs.push(requirement("kms:DescribeKey", key_arn(key), &kms_context(false)));
            }
        }
        "RestoreDBInstanceFromDBSnapshot" => {
            let new = db(param("DBInstanceIdentifier").unwrap());
            needs.push(requirement(action, new.clone(), &none));
            needs.push(requirement(action, snapshot(param("DBSnapshotIdentifier").unwrap()), &none));
            needs.push(requirement(
                action,
                rds_arn(region, "subgrp", param("DBSubnetGroupName").unwrap_or("default")),
                &none,
            ));
            needs.push(requirement(
                action,
                rds_arn(region, "pg", param("DBParameterGroupName").unwrap_or("default")),
                &none,
            ));
            needs.push(requirement(
                action,
                rds_arn(region, "og", param("OptionGroupName").unwrap_or("default")),
                &none,
            ));
            if has_tags {
                needs.push(requirement("AddTagsToResource", new, &none));
            }
        }
        "ModifyDBInstance" => {
            // Authorized on the instance being modified (the one resource of type db the
            // reference lists); a new name is not yet a resource with tags to condition on.
            needs.push(requirement(action, db(param("DBInstanceIdentifier").unwrap()), &db_context));
            for (name, kind) in
                [("DBParameterGroupName", "pg"), ("OptionGroupName", "og"), ("DBSubnetGroupName", "subgrp")]
            {
                if let Some(group) = param(name) {
                    needs.push(requirement(action, rds_arn(region, kind, group), &none));
                }
            }
            if let Some(role) = param("MonitoringRoleArn") {
                let context = BTreeMap::from([(
                    "iam:PassedToService".to_owned(),
                    vec!["monitoring.rds.amazonaws.com".to_owned()],
                )]);
                needs.push(requirement("iam:PassRole", role.to_owned(), &context));
            }
            if let Some(key) = param("PerformanceInsightsKMSKeyId") {
                needs.push(requirement("kms:CreateGrant", key_arn(key), &kms_context(true)));
                needs.push(requirement("kms:DescribeKey", key_arn(key), &kms_context(false)));
            }
        }
        "DeleteDBInstance" => {
            let id = param("DBInstanceIdentifier").unwrap();
            needs.push(requirement(action, db(id), &db_context));
            if let Some(final_snapshot) = param("FinalDBSnapshotIdentifier") {
                needs.push(requirement("CreateDBSnapshot", db(id), &db_context));
                needs.push(requirement("CreateDBSnapshot", snapshot(final_snapshot), &none));
            }
        }
        "DeleteDBSnapshot" => needs.push(requirement(action, snapshot(param("DBSnapshotIdentifier").unwrap()), &none)),
        "AddTagsToResource" | "RemoveTagsFromResource" | "ListTagsForResource" => {
            needs.push(requirement(action, param("ResourceName").unwrap().to_owned(), &none));
        }
        "DescribeDBParameterGroups" => {
            needs.push(requirement(action, rds_arn(region, "pg", param("DBParameterGroupName").unwrap_or("*")), &none));
        }
        "DescribeOptionGroups" => {
            needs.push(requirement(action, rds_arn(region, "og", param("OptionGroupName").unwrap_or("*")), &none));
        }
        // Service Authorization Reference, AWS Step Functions: both on the `execution` resource.
        "DescribeExecution" | "GetExecutionHistory" => {
            needs.push(requirement(&format!("states:{action}"), param("executionArn").unwrap_or("*").to_owned(), &none))
        }
        other => panic!("no IAM model of {other}: add it to support/iam.rs from the Service Authorization Reference"),
    }
    for need in &mut needs {
        if !need.action.contains(':') {
            need.action = rds(&need.action);
        }
    }
    needs
}

/// One statement of an identity policy.
#[derive(Clone, Debug)]
struct Statement {
    allow: bool,
    actions: Vec<String>,
    resources: Vec<String>,
    /// (operator, key, values)
    conditions: Vec<(String, String, Vec<String>)>,
}

/// A function's role, as the template deploys it with `parameters`.
#[derive(Clone, Debug)]
pub struct Policy {
    statements: Vec<Statement>,
}

impl Policy {
    /// The inline policies of function `logical_id` in deploy/template.yaml.
    pub fn of_function(root: &Path, logical_id: &str, parameters: &BTreeMap<&str, &str>) -> Policy {
        let template: Yaml =
            serde_yaml::from_str(&std::fs::read_to_string(root.join("deploy/template.yaml")).unwrap()).unwrap();
        let function = &template["Resources"][logical_id];
        assert_eq!(function["Type"], "AWS::Serverless::Function", "{logical_id} is not a function of the template");
        let mut statements = Vec::new();
        for policy in function["Properties"]["Policies"].as_sequence().into_iter().flatten() {
            for statement in policy["Statement"].as_sequence().into_iter().flatten() {
                statements.push(Statement {
                    allow: statement["Effect"] == "Allow",
                    actions: strings(&statement["Action"], parameters),
                    resources: strings(&statement["Resource"], parameters),
                    conditions: conditions(&statement["Condition"], parameters),
                });
            }
        }
        Policy { statements }
    }

    /// Whether the policy allows `need` (identity policies only; no Deny is used).
    pub fn allows(&self, need: &Requirement) -> bool {
        self.statements.iter().filter(|s| s.allow).any(|statement| {
            statement.actions.iter().any(|a| wildcard_match(&a.to_ascii_lowercase(), &need.action.to_ascii_lowercase()))
                && statement.resources.iter().any(|r| wildcard_match(r, &need.resource))
                && statement
                    .conditions
                    .iter()
                    .all(|(operator, key, values)| condition_holds(operator, key, values, need))
        })
    }
}

fn condition_holds(operator: &str, key: &str, values: &[String], need: &Requirement) -> bool {
    let Some(actual) = need.context.get(key) else { return false };
    actual.iter().any(|actual| match operator {
        "StringEquals" | "Bool" => values.iter().any(|v| v == actual),
        "StringLike" => values.iter().any(|v| wildcard_match(v, actual)),
        other => panic!("condition operator {other} is not modelled"),
    })
}

/// IAM's `*` (any run) and `?` (any one character).
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// A string or a list of strings of the template, with `!Sub` resolved.
fn strings(value: &Yaml, parameters: &BTreeMap<&str, &str>) -> Vec<String> {
    match value {
        Yaml::Sequence(items) => items.iter().flat_map(|item| strings(item, parameters)).collect(),
        Yaml::Null => Vec::new(),
        other => vec![resolve(other, parameters)],
    }
}

fn conditions(value: &Yaml, parameters: &BTreeMap<&str, &str>) -> Vec<(String, String, Vec<String>)> {
    let mut found = Vec::new();
    for (operator, keys) in value.as_mapping().into_iter().flatten() {
        for (key, values) in keys.as_mapping().into_iter().flatten() {
            found.push((
                operator.as_str().unwrap().to_owned(),
                key.as_str().unwrap().to_owned(),
                strings(values, parameters),
            ));
        }
    }
    found
}

/// `!Sub "..."` with `${Param}` and `${AWS::...}` replaced; a plain string as it is.
fn resolve(value: &Yaml, parameters: &BTreeMap<&str, &str>) -> String {
    match value {
        Yaml::String(text) => text.clone(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Tagged(tagged) if tagged.tag == "!Sub" => {
            let mut text = tagged.value.as_str().expect("a one-string !Sub").to_owned();
            while let Some(start) = text.find("${") {
                let end = text[start..].find('}').unwrap() + start;
                let name = &text[start + 2..end];
                let replacement = parameters
                    .get(name)
                    .unwrap_or_else(|| panic!("no value for ${{{name}}} in the IAM test's parameters"));
                text.replace_range(start..=end, replacement);
            }
            text
        }
        Yaml::Tagged(tagged) => format!("<{} {:?}>", tagged.tag, tagged.value),
        other => panic!("unexpected policy value {other:?}"),
    }
}
