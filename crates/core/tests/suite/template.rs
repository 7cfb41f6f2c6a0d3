//! What the deployment template promises besides permissions (those are tests/permissions.rs).
use std::path::Path;

fn template() -> serde_yaml::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/template.yaml");
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// An execution that times out or is aborted runs no Catch, so no notification: only an
/// alarm on its own metric tells anyone. Each ending but success has one, on this state
/// machine, notifying the topic.
#[test]
fn every_unsuccessful_ending_raises_an_alarm() {
    let template = template();
    let alarms: Vec<&serde_yaml::Value> = template["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|resource| resource["Type"] == "AWS::CloudWatch::Alarm")
        .collect();
    for metric in ["ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"] {
        let on_refresh = |alarm: &&&serde_yaml::Value| {
            let dimension = serde_yaml::to_string(&alarm["Properties"]["Dimensions"][0]["Value"]).unwrap();
            alarm["Properties"]["MetricName"] == metric && dimension.trim() == "!Ref StateMachine"
        };
        let alarm = alarms.iter().find(on_refresh).unwrap_or_else(|| panic!("no alarm on {metric} of StateMachine"));
        let properties = &alarm["Properties"];
        assert_eq!(properties["Namespace"], "AWS/States", "{metric}");
        let dimension = &properties["Dimensions"][0];
        assert_eq!(dimension["Name"], "StateMachineArn", "{metric}");
        assert_eq!(serde_yaml::to_string(&dimension["Value"]).unwrap().trim(), "!Ref StateMachine", "{metric}");
        assert_eq!(
            serde_yaml::to_string(&properties["AlarmActions"][0]).unwrap().trim(),
            "!Ref NotificationTopic",
            "{metric}"
        );
        assert_eq!(properties["Threshold"].as_f64(), Some(1.0), "{metric}");
    }
}

/// RDS stores identifiers in lower case and IAM matches ARNs case-sensitively: the
/// parameters that name instances (and so the ARNs in every policy) must be lower case.
#[test]
fn instance_identifier_parameters_are_lower_case() {
    let template = template();
    for name in ["SourceDbInstanceIdentifier", "TargetDbInstanceIdentifier"] {
        let pattern = template["Parameters"][name]["AllowedPattern"].as_str().unwrap();
        assert_eq!(pattern, "^[a-z][a-z0-9]*(-[a-z0-9]+)*$", "{name}");
    }
}

/// `!Sub` and `!If` of the template resolved to text: `${Name}` from `values` (or from a
/// `!Sub`'s own variables), `!If [HasKmsKey, a, b]` as `a` when `kms`. Anything else (another
/// condition, a name without a value) is a failure, so that a new one is noticed here.
fn resolve(value: &serde_yaml::Value, values: &[(&str, &str)], kms: bool) -> String {
    use serde_yaml::Value;
    match value {
        Value::String(text) => text.clone(),
        Value::Tagged(tagged) if tagged.tag == "!If" => {
            let branches = tagged.value.as_sequence().expect("!If [condition, then, else]");
            assert_eq!(branches[0], "HasKmsKey", "a condition this test does not know");
            resolve(&branches[if kms { 1 } else { 2 }], values, kms)
        }
        Value::Tagged(tagged) if tagged.tag == "!Sub" => {
            let (template, variables): (&str, Vec<(String, String)>) = match &tagged.value {
                Value::String(text) => (text, Vec::new()),
                Value::Sequence(parts) => (
                    parts[0].as_str().expect("the !Sub's template"),
                    parts[1]
                        .as_mapping()
                        .expect("the !Sub's variables")
                        .iter()
                        .map(|(name, value)| (name.as_str().unwrap().to_owned(), resolve(value, values, kms)))
                        .collect(),
                ),
                other => panic!("unexpected !Sub {other:?}"),
            };
            let mut text = String::new();
            let mut rest = template;
            while let Some(start) = rest.find("${") {
                let end = start + rest[start..].find('}').expect("a closed ${...}");
                let name = &rest[start + 2..end];
                let replacement = variables
                    .iter()
                    .find(|(variable, _)| variable == name)
                    .map(|(_, value)| value.as_str())
                    .or_else(|| values.iter().find(|(known, _)| *known == name).map(|(_, value)| *value))
                    .unwrap_or_else(|| panic!("no value for ${{{name}}}"));
                text.push_str(&rest[..start]);
                text.push_str(replacement);
                rest = &rest[end + 1..];
            }
            text.push_str(rest);
            text
        }
        other => panic!("unexpected value {other:?}"),
    }
}

/// Stand-ins for the template's parameters and resources, to resolve its `!Sub`s.
const VALUES: &[(&str, &str)] = &[
    ("SourceRegion", "us-east-1"),
    ("SourceDbInstanceIdentifier", "x"),
    ("TargetDbInstanceIdentifier", "y"),
    ("AWS::Region", "us-west-2"),
    ("Mode", "swap"),
    ("RetainOldMinutes", "30"),
    ("CopyRetain", "2"),
    ("CopyKmsKeyId", "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
    ("NotificationTopic", "arn:aws:sns:us-west-2:123456789012:rds-refresh"),
    ("StateMachine", "arn:aws:states:us-west-2:123456789012:stateMachine:rds-refresh"),
];

fn tagged(value: &serde_yaml::Value) -> String {
    serde_yaml::to_string(value).unwrap().trim().to_owned()
}

/// The snapshot rule starts the starter state machine (never the refresh itself: a rule target
/// cannot name the execution), with `{"snapshotArn": <the event's detail.SourceArn>, "refresh":
/// <the input the schedule gives the refresh>}`; the rule's role may start only the starter.
#[test]
fn the_snapshot_rule_starts_the_starter_with_the_schedules_input() {
    let template = template();
    let resources = &template["Resources"];
    let rule = &resources["SnapshotCreatedRule"];
    assert_eq!(rule["Condition"], "OnSnapshotEvents");
    let targets = rule["Properties"]["Targets"].as_sequence().unwrap();
    assert_eq!(targets.len(), 1);
    let target = &targets[0];
    assert_eq!(tagged(&target["Arn"]), "!Ref SnapshotStarter");
    assert_eq!(tagged(&target["RoleArn"]), "!GetAtt SnapshotCreatedRuleRole.Arn");

    let role = &resources["SnapshotCreatedRuleRole"]["Properties"];
    let principal = &role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"];
    assert_eq!(principal, "events.amazonaws.com");
    let policies = role["Policies"].as_sequence().unwrap();
    assert_eq!(policies.len(), 1);
    let statements = policies[0]["PolicyDocument"]["Statement"].as_sequence().unwrap();
    assert_eq!(statements.len(), 1);
    assert_eq!(statements[0]["Action"], "states:StartExecution");
    assert_eq!(tagged(&statements[0]["Resource"]), "!Ref SnapshotStarter");

    let transformer = &target["InputTransformer"];
    assert_eq!(transformer["InputPathsMap"]["snapshotArn"], "$.detail.SourceArn");
    let schedule = &resources["NightlySchedule"]["Properties"]["Target"]["Input"];
    for kms in [false, true] {
        // EventBridge puts the value of an unquoted <placeholder> as JSON: a string in quotes.
        let snapshot = "arn:aws:rds:us-east-1:123456789012:snapshot:rds:x-2026-11-23-05-10";
        let input =
            resolve(&transformer["InputTemplate"], VALUES, kms).replace("<snapshotArn>", &format!("\"{snapshot}\""));
        let input: serde_json::Value = serde_json::from_str(&input).unwrap_or_else(|e| panic!("{e}: {input}"));
        let mut keys: Vec<&String> = input.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["refresh", "snapshotArn"]);
        assert_eq!(input["snapshotArn"], snapshot);

        let scheduled = resolve(schedule, VALUES, kms);
        let scheduled: serde_json::Value =
            serde_json::from_str(&scheduled).unwrap_or_else(|e| panic!("{e}: {scheduled}"));
        let scheduled: serde_json::Value = serde_json::from_str(scheduled["Input"].as_str().unwrap()).unwrap();
        assert_eq!(input["refresh"], scheduled, "kms: {kms}");
        assert_eq!(scheduled["copy"].get("kmsKeyId").is_some(), kms);
    }
}

/// The starter (statemachine/start-on-snapshot.asl.json) is deployed with the snapshot rule,
/// EXPRESS, with every placeholder of its definition substituted (the refresh state machine's
/// ARN), reading the two fields the rule's input has, and allowed to start only the refresh.
#[test]
fn the_starter_starts_only_the_refresh_and_substitutes_every_placeholder() {
    let template = template();
    let starter = &template["Resources"]["SnapshotStarter"];
    assert_eq!(starter["Type"], "AWS::Serverless::StateMachine");
    assert_eq!(starter["Condition"], "OnSnapshotEvents");
    let properties = &starter["Properties"];
    assert_eq!(properties["Type"], "EXPRESS");
    assert_eq!(properties["DefinitionUri"], "../statemachine/start-on-snapshot.asl.json");
    let substitutions = properties["DefinitionSubstitutions"].as_mapping().unwrap();
    let substituted: Vec<&str> = substitutions.keys().map(|k| k.as_str().unwrap()).collect();

    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../statemachine/start-on-snapshot.asl.json");
    let text = std::fs::read_to_string(path).unwrap();
    let placeholders: Vec<&str> = text.split("${").skip(1).filter_map(|rest| rest.split('}').next()).collect();
    assert_eq!(substituted, placeholders);
    assert_eq!(tagged(&substitutions[&serde_yaml::Value::from("RefreshStateMachineArn")]), "!Ref StateMachine");

    let definition: serde_json::Value = serde_json::from_str(&text).unwrap();
    let start = &definition["States"]["StartRefresh"];
    assert_eq!(start["Resource"], "arn:aws:states:::states:startExecution");
    assert_eq!(start["Parameters"]["Input.$"], "$.refresh");
    assert_eq!(start["Parameters"]["Name.$"], "States.Format('snapshot-{}', States.Hash($.snapshotArn, 'SHA-256'))");

    let statements = properties["Policies"][0]["Statement"].as_sequence().unwrap();
    let states: Vec<&serde_yaml::Value> = statements
        .iter()
        .filter(|statement| {
            let actions = &statement["Action"];
            let named = |action: &serde_yaml::Value| action.as_str().is_some_and(|a| a.starts_with("states:"));
            named(actions) || actions.as_sequence().is_some_and(|list| list.iter().any(named))
        })
        .collect();
    assert_eq!(states.len(), 1, "{states:?}");
    assert_eq!(states[0]["Action"], "states:StartExecution");
    assert_eq!(tagged(&states[0]["Resource"]), "!Ref StateMachine");
}

/// The repair of stopped and timed-out executions: the rule matches this state machine's
/// executions that ended without success and starts only the repair, through a role that may
/// start only it, with a dead-letter queue only that rule may send to; the repair may start
/// (and, for `.sync:2`, describe and stop) only the refresh's executions.
#[test]
fn the_repair_rule_starts_only_the_repair_with_a_dead_letter_queue() {
    let template = template();
    let resources = &template["Resources"];
    let rule = &resources["RepairRule"]["Properties"];
    let pattern = &rule["EventPattern"];
    assert_eq!(pattern["source"][0], "aws.states");
    assert_eq!(pattern["detail-type"][0], "Step Functions Execution Status Change");
    let statuses: Vec<&str> =
        pattern["detail"]["status"].as_sequence().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert_eq!(statuses, ["ABORTED", "TIMED_OUT", "FAILED"]);
    assert_eq!(tagged(&pattern["detail"]["stateMachineArn"][0]), "!Ref StateMachine");
    let targets = rule["Targets"].as_sequence().unwrap();
    assert_eq!(targets.len(), 1);
    let target = &targets[0];
    assert_eq!(tagged(&target["Arn"]), "!Ref RepairStateMachine");
    assert_eq!(tagged(&target["RoleArn"]), "!GetAtt RepairRuleRole.Arn");
    assert_eq!(tagged(&target["DeadLetterConfig"]["Arn"]), "!GetAtt RepairDeadLetterQueue.Arn");

    let role = &resources["RepairRuleRole"]["Properties"];
    assert_eq!(role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"], "events.amazonaws.com");
    let statements = role["Policies"][0]["PolicyDocument"]["Statement"].as_sequence().unwrap();
    assert_eq!(statements.len(), 1);
    assert_eq!(statements[0]["Action"], "states:StartExecution");
    assert_eq!(tagged(&statements[0]["Resource"]), "!Ref RepairStateMachine");

    let queue_policy = &resources["RepairDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"][0];
    assert_eq!(queue_policy["Principal"]["Service"], "events.amazonaws.com");
    assert_eq!(queue_policy["Action"], "sqs:SendMessage");
    assert_eq!(tagged(&queue_policy["Condition"]["ArnEquals"]["aws:SourceArn"]), "!GetAtt RepairRule.Arn");
    assert_eq!(resources["RepairDeadLetterQueue"]["Properties"]["SqsManagedSseEnabled"], true);

    let machine = &resources["RepairStateMachine"]["Properties"];
    assert_eq!(machine["DefinitionUri"], "../statemachine/repair.asl.json");
    assert_eq!(tagged(&machine["DefinitionSubstitutions"]["RefreshStateMachineArn"]), "!Ref StateMachine");
    let statements = machine["Policies"][0]["Statement"].as_sequence().unwrap();
    let allowing = |action: &str| -> Vec<String> {
        statements
            .iter()
            .filter(|s| {
                let actions = &s["Action"];
                actions.as_str() == Some(action)
                    || actions.as_sequence().is_some_and(|list| list.iter().any(|a| a.as_str() == Some(action)))
            })
            .map(|s| tagged(&s["Resource"]))
            .collect()
    };
    assert_eq!(allowing("states:StartExecution"), ["!Ref StateMachine"]);
    for action in ["states:DescribeExecution", "states:StopExecution"] {
        let resources = allowing(action);
        assert_eq!(resources.len(), 1, "{action}");
        assert!(resources[0].contains("execution:${AWS::StackName}:*"), "{action}: {resources:?}");
    }
    let rule_arn = allowing("events:PutRule");
    assert!(rule_arn[0].contains("rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"), "{rule_arn:?}");
    assert!(allowing("states:DeleteStateMachine").is_empty());
}

/// The RDS CA bundle reaches the database tasks as a layer: the file scripts/check-deploy
/// downloads (for scripts/deploy) or stands in for offline, in the layer's folder, which git
/// ignores, is the one their RDS_REFRESH_CA_BUNDLE names under /opt (where Lambda puts a
/// layer's files), for the runtime and both architectures the functions may have.
#[test]
fn the_ca_bundle_layer_holds_the_file_the_database_tasks_trust() {
    let template = template();
    let layer = &template["Resources"]["RdsCaBundleLayer"]["Properties"];
    let folder = layer["ContentUri"].as_str().unwrap().trim_end_matches('/');
    let named: std::collections::BTreeSet<&str> = template["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter_map(|resource| {
            resource["Properties"]["Environment"]["Variables"][rds_refresh_database::CA_BUNDLE_ENV].as_str()
        })
        .collect();
    assert_eq!(named.len(), 1, "one bundle for every database task: {named:?}");
    let file = named.first().unwrap().strip_prefix("/opt/").expect("a file of a layer, under /opt");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let check_deploy = std::fs::read_to_string(root.join("scripts/check-deploy")).unwrap();
    assert!(
        check_deploy.contains(&format!("ca_bundle=deploy/{folder}/{file}\n")),
        "scripts/check-deploy fills deploy/{folder}/{file}"
    );
    let deploy = std::fs::read_to_string(root.join("scripts/deploy")).unwrap();
    assert!(
        deploy.contains("scripts/check-deploy --no-build --download-ca-bundle"),
        "scripts/deploy deploys AWS's bundle"
    );
    let ignored = std::fs::read_to_string(root.join("deploy/.gitignore")).unwrap();
    assert!(ignored.lines().any(|line| line == format!("/{folder}/")), "deploy/{folder}/ is not committed");
    assert_eq!(layer["CompatibleRuntimes"][0], template["Globals"]["Function"]["Runtime"]);
    let architectures: Vec<&serde_yaml::Value> =
        layer["CompatibleArchitectures"].as_sequence().unwrap().iter().collect();
    for architecture in template["Parameters"]["Architecture"]["AllowedValues"].as_sequence().unwrap() {
        assert!(architectures.contains(&architecture), "{architecture:?}");
    }
}

/// Each function's Lambda timeout: its own `Timeout`, or the Globals'.
fn lambda_timeout(template: &serde_yaml::Value, logical_id: &str) -> u64 {
    let function = &template["Resources"][logical_id];
    assert_eq!(function["Type"], "AWS::Serverless::Function", "{logical_id}");
    function["Properties"]["Timeout"]
        .as_u64()
        .or_else(|| template["Globals"]["Function"]["Timeout"].as_u64())
        .unwrap_or_else(|| panic!("{logical_id} has no Timeout"))
}

/// The Task states of a definition (inside Parallel branches and Map iterations too).
fn task_states<'a>(states: &'a serde_json::Value, found: &mut Vec<(&'a str, &'a serde_json::Value)>) {
    for (name, state) in states.as_object().into_iter().flatten() {
        if state["Type"] == "Task" {
            found.push((name, state));
        }
        for branch in state["Branches"].as_array().into_iter().flatten() {
            task_states(&branch["States"], found);
        }
        for processor in [&state["Iterator"], &state["ItemProcessor"]] {
            task_states(&processor["States"], found);
        }
    }
}

/// run-script runs one script, of at most SCRIPT_TIME_LIMIT_SECONDS (840 s), in one invocation,
/// and verify-data its queries: both may run for Lambda's longest, 15 minutes, which leaves
/// the minute around the script (connecting, reading it, reporting). And no Task state of the
/// definitions gives up on its function before Lambda would: a state's TimeoutSeconds is at
/// least its function's timeout, so that a retry never starts while the first invocation
/// still runs (a script that would then run twice).
#[test]
fn the_sql_tasks_may_run_fifteen_minutes_and_every_state_waits_for_its_function() {
    let template = template();
    for function in ["RunScriptFunction", "VerifyDataFunction"] {
        assert_eq!(lambda_timeout(&template, function), 900, "{function}: Lambda's longest");
    }
    let script = u64::from(rds_refresh_core::model::sql::SCRIPT_TIME_LIMIT_SECONDS);
    assert!(script + 60 <= lambda_timeout(&template, "RunScriptFunction"), "a minute around the script");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    for machine in ["StateMachine", "RepairStateMachine"] {
        let properties = &template["Resources"][machine]["Properties"];
        let file = properties["DefinitionUri"].as_str().unwrap().trim_start_matches("../");
        let definition: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(root.join(file)).unwrap()).unwrap();
        let mut tasks = Vec::new();
        task_states(&definition["States"], &mut tasks);
        for (name, state) in tasks {
            let Some(placeholder) = state["Parameters"]["FunctionName"].as_str() else { continue };
            let Some(placeholder) = placeholder.strip_prefix("${").and_then(|p| p.strip_suffix('}')) else { continue };
            let substitution = tagged(&properties["DefinitionSubstitutions"][placeholder]);
            let logical_id = substitution
                .strip_prefix("!GetAtt ")
                .and_then(|target| target.strip_suffix(".Arn"))
                .unwrap_or_else(|| panic!("{machine} {name}: {placeholder} is {substitution}"));
            let timeout =
                state["TimeoutSeconds"].as_u64().unwrap_or_else(|| panic!("{machine} {name}: no TimeoutSeconds"));
            assert!(
                timeout >= lambda_timeout(&template, logical_id),
                "{machine} {name}: TimeoutSeconds {timeout} is shorter than {logical_id}'s Lambda timeout"
            );
        }
    }
}
