//! JSON text that does not depend on serde_json's `preserve_order` feature.
//!
//! That feature is switched on for the whole build by some dependencies (the SDK's test
//! HTTP client, for one, which only the tests build), so a map's key order differs between
//! builds. Files committed from generated values (`schemas/`) are written with sorted keys.
use serde_json::{Map, Value};

/// `value` with every object's keys in sorted order, pretty-printed, with a final newline.
pub fn sorted_pretty(value: &Value) -> String {
    serde_json::to_string_pretty(&sorted(value)).expect("a JSON value prints") + "\n"
}

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
    use serde_json::json;

    #[test]
    fn keys_come_out_sorted_at_every_depth() {
        let mut inner = Map::new();
        inner.insert("z".into(), json!(1));
        inner.insert("a".into(), json!([{"y": 1, "b": 2}]));
        let text = sorted_pretty(&Value::Object(inner));
        assert_eq!(text, "{\n  \"a\": [\n    {\n      \"b\": 2,\n      \"y\": 1\n    }\n  ],\n  \"z\": 1\n}\n");
    }
}
