//! Reading a task's (or the execution's) JSON input into its type.
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::TaskError;

/// Reads a task's input, naming the field and the rule when it does not fit the type.
pub fn parse_input<I: DeserializeOwned>(payload: Value) -> Result<I, TaskError> {
    serde_path_to_error::deserialize(payload).map_err(|error| {
        let path = error.path().to_string();
        let field = if path == "." { "input".to_owned() } else { path };
        TaskError::invalid_input(field, error.into_inner().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RefreshRequest;
    use serde_json::json;

    #[test]
    fn a_missing_field_is_named_with_its_path() {
        let error =
            parse_input::<RefreshRequest>(json!({"source": {"region": "us-east-1"}, "target": {}})).unwrap_err();
        assert_eq!(error, TaskError::invalid_input("source", "missing field `dbInstanceIdentifier`"));
    }

    #[test]
    fn an_unknown_field_is_refused() {
        let input = json!({
            "source": {"region": "us-east-1", "dbInstanceIdentifier": "x"},
            "target": {"region": "us-west-2", "dbInstanceIdentifier": "y", "dbInstanceIdentifer": "typo"}
        });
        let error = parse_input::<RefreshRequest>(input).unwrap_err();
        let TaskError::InvalidInput { field, rule } = error else { panic!("not InvalidInput") };
        assert_eq!(field, "target.dbInstanceIdentifer");
        assert!(rule.starts_with("unknown field `dbInstanceIdentifer`"), "{rule}");
    }
}
