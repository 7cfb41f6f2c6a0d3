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
        let alarm = alarms
            .iter()
            .find(|alarm| alarm["Properties"]["MetricName"] == metric)
            .unwrap_or_else(|| panic!("no alarm on {metric}"));
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
