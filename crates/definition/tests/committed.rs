//! The committed definitions are the generated ones.

use std::path::{Path, PathBuf};

use serde_json::Value;

fn statemachine_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../statemachine")
}

/// The first place where two JSON values differ, as a JSON Pointer with both sides.
fn first_difference(pointer: &str, committed: &Value, generated: &Value) -> Option<String> {
    match (committed, generated) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|key| {
                let here = format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"));
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => first_difference(&here, x, y),
                    (x, y) => Some(format!("{here}: committed {x:?}, generated {y:?}")),
                }
            })
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            a.iter().zip(b).enumerate().find_map(|(i, (x, y))| first_difference(&format!("{pointer}/{i}"), x, y))
        }
        _ if committed == generated => None,
        _ => Some(format!("{pointer}: committed {committed}, generated {generated}")),
    }
}

#[test]
fn each_committed_definition_is_the_generated_one_as_json() {
    for (file, machine) in rds_refresh_definition::definitions() {
        let committed: Value =
            serde_json::from_str(&std::fs::read_to_string(statemachine_dir().join(file)).unwrap()).unwrap();
        let generated: Value = serde_json::from_str(&rds_refresh_definition::render(&machine)).unwrap();
        if let Some(difference) = first_difference("", &committed, &generated) {
            panic!("statemachine/{file} differs from the generated definition at {difference}");
        }
    }
}

#[test]
fn a_difference_is_named_by_its_pointer() {
    let committed = serde_json::json!({"States": {"A": {"Retry": [{"MaxAttempts": 6}]}}});
    let generated = serde_json::json!({"States": {"A": {"Retry": [{"MaxAttempts": 7}]}}});
    assert_eq!(
        first_difference("", &committed, &generated).unwrap(),
        "/States/A/Retry/0/MaxAttempts: committed 6, generated 7"
    );
    assert_eq!(first_difference("", &committed, &committed), None);
}
