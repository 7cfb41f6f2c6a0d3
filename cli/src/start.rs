//! `start`: check the input with the tasks' own rules, then StartExecution.
use std::io::Read;

use aws_sdk_sfn::Client;
use aws_sdk_sfn::primitives::{DateTime, DateTimeFormat};
use rds_refresh_model::RefreshRequest;
use rds_refresh_model::identifiers::short_hash;
use rds_refresh_model::parse_input;
use serde_json::{Value, json};

use crate::args::{InputArgs, ModeArg};
use crate::error::CliError;
use crate::sfn::api_error;

/// The execution input: the file as written, or an input built from the flags.
pub fn input_of(args: &InputArgs) -> Result<Value, CliError> {
    if let Some(path) = &args.input {
        let text = if path.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).map(|_| text)
        } else {
            std::fs::read_to_string(path)
        }
        .map_err(|error| CliError::Input(format!("cannot read {}: {error}", path.display())))?;
        return serde_json::from_str(&text)
            .map_err(|error| CliError::Input(format!("{} is not JSON: {error}", path.display())));
    }
    let (source, target) = (args.source.as_deref().unwrap_or_default(), args.target.as_deref().unwrap_or_default());
    let mut input = json!({"source": instance("--source", source)?, "target": instance("--target", target)?});
    if let Some(mode) = args.mode {
        input["mode"] = json!(match mode {
            ModeArg::Swap => "swap",
            ModeArg::Replace => "replace",
        });
    }
    if args.dry_run {
        input["dryRun"] = json!(true);
    }
    Ok(input)
}

/// `REGION/ID` -> `{"region", "dbInstanceIdentifier"}` (the rules are checked with the rest).
fn instance(flag: &str, text: &str) -> Result<Value, CliError> {
    match text.split_once('/') {
        Some((region, id)) if !region.is_empty() && !id.is_empty() => {
            Ok(json!({"region": region, "dbInstanceIdentifier": id}))
        }
        _ => Err(CliError::Input(format!("{flag}: expected REGION/ID, for example us-east-1/x, got {text:?}"))),
    }
}

/// The same checks as the check-input task (types, then every rule), so a bad input is
/// refused here, naming the field and the rule, instead of by a failed execution.
pub fn check(input: &Value) -> Result<RefreshRequest, CliError> {
    let request: RefreshRequest = parse_input(input.clone()).map_err(|error| CliError::Input(error.to_string()))?;
    request.validate().map_err(|error| CliError::Input(error.to_string()))?;
    Ok(request)
}

/// `cli-<target>-<UTC minute>-<8 hex of the input's hash>`: the same input started twice in
/// one minute gets one name, and Step Functions returns the running execution instead of
/// starting a second one. Names are at most 80 characters.
pub fn default_name(request: &RefreshRequest, input: &Value, now: DateTime) -> String {
    let minute: String =
        now.fmt(DateTimeFormat::DateTime).unwrap_or_default().chars().filter(char::is_ascii_digit).take(12).collect();
    let hash = short_hash(&input.to_string(), 4);
    let suffix = format!("-{}T{}Z-{hash}", &minute[..8.min(minute.len())], &minute[8.min(minute.len())..]);
    let target: String = request.target.db_instance_identifier.chars().take(80 - "cli-".len() - suffix.len()).collect();
    format!("cli-{target}{suffix}")
}

pub async fn start(client: &Client, state_machine: &str, name: &str, input: &Value) -> Result<String, CliError> {
    let started = client
        .start_execution()
        .state_machine_arn(state_machine)
        .name(name)
        .input(input.to_string())
        .send()
        .await
        .map_err(|error| match error.as_service_error() {
            Some(service) if service.is_execution_already_exists() => CliError::Input(format!(
                "an execution named {name} already exists with another input, or has finished \
                 (names are unique per state machine for 90 days): give another --name"
            )),
            _ => api_error("StartExecution", error),
        })?;
    Ok(started.execution_arn().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(source: &str, target: &str) -> InputArgs {
        InputArgs {
            input: None,
            source: Some(source.into()),
            target: Some(target.into()),
            mode: Some(ModeArg::Replace),
            dry_run: true,
        }
    }

    #[test]
    fn flags_make_the_documented_input() {
        let input = input_of(&flags("us-east-1/x", "us-west-2/y")).unwrap();
        assert_eq!(
            input,
            json!({
                "source": {"region": "us-east-1", "dbInstanceIdentifier": "x"},
                "target": {"region": "us-west-2", "dbInstanceIdentifier": "y"},
                "mode": "replace",
                "dryRun": true
            })
        );
        assert_eq!(check(&input).unwrap().target.db_instance_identifier, "y");
    }

    #[test]
    fn a_malformed_instance_flag_is_named() {
        let error = input_of(&flags("us-east-1", "us-west-2/y")).unwrap_err();
        assert!(error.to_string().starts_with("--source: expected REGION/ID"), "{error}");
    }

    #[test]
    fn a_rule_broken_is_refused_with_the_field() {
        let error = check(&input_of(&flags("us-east-1/x", "us-east-1/x")).unwrap()).unwrap_err();
        assert!(error.to_string().contains("target"), "{error}");
        let error = check(&json!({"source": {"region": "us-east-1", "dbInstanceIdentifier": "x"}})).unwrap_err();
        assert!(error.to_string().contains("target"), "{error}");
    }

    #[test]
    fn the_default_name_is_stable_for_a_minute_and_fits() {
        let input = input_of(&flags("us-east-1/x", "us-west-2/y")).unwrap();
        let request = check(&input).unwrap();
        // 2026-11-25T04:26:00Z, a whole minute.
        let at = |seconds: i64| DateTime::from_secs(1_795_580_760 + seconds);
        let name = default_name(&request, &input, at(0));
        assert!(name.starts_with("cli-y-20261125T0426Z-"), "{name}");
        assert_eq!(name.len(), "cli-y-20261125T0426Z-12345678".len(), "{name}");
        assert_eq!(default_name(&request, &input, at(59)), name);
        assert_ne!(default_name(&request, &input, at(60)), name);
        let mut other = input.clone();
        other["mode"] = json!("swap");
        assert_ne!(default_name(&request, &other, at(0)), name);

        let long = "y".repeat(63);
        let input = input_of(&flags("us-east-1/x", &format!("us-west-2/{long}"))).unwrap();
        let name = default_name(&check(&input).unwrap(), &input, at(0));
        assert_eq!(name.len(), 80, "{name}");
    }
}
