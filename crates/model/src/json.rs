//! JSON text that does not depend on serde_json's `preserve_order` feature.
//!
//! That feature is switched on for the whole build by some dependencies (the SDK's test
//! HTTP client, for one, which only the tests build), so a map's key order differs between
//! builds. Files committed from generated values (`schemas/`) are written as they are without
//! the feature: schemars' keyword order, every other key sorted.
use schemars::Schema;
use serde_json::{Map, Value};

/// The text of a committed schema file: pretty-printed, with a final newline.
pub fn schema_file(schema: &Schema) -> String {
    let schema = Schema::try_from(sorted(schema.as_value())).expect("a schema stays a schema");
    serde_json::to_string_pretty(&schema).expect("a schema prints") + "\n"
}

/// `value` with every object's keys in sorted order.
fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(keys.into_iter().map(|key| (key.clone(), sorted(&map[key]))).collect::<Map<_, _>>())
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schema_keeps_its_keywords_first_and_sorts_the_rest() {
        let schema = schemars::json_schema!({"type": "object", "title": "T", "properties": {"z": {}, "a": {}}});
        let text = schema_file(&schema);
        assert_eq!(
            text,
            "{\n  \"title\": \"T\",\n  \"type\": \"object\",\n  \"properties\": {\n    \"a\": {},\n    \"z\": {}\n  }\n}\n"
        );
    }
}
