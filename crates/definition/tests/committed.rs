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

/// Each committed definition is the generator's text, byte for byte; `UPDATE_DEFINITIONS=1`
/// rewrites those that are not.
#[test]
fn the_committed_definitions_are_the_generated_ones() {
    let update = std::env::var_os("UPDATE_DEFINITIONS").is_some();
    let mut stale = Vec::new();
    for (file, machine) in rds_refresh_definition::definitions() {
        let path = statemachine_dir().join(file);
        let generated = rds_refresh_definition::render(&machine);
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed == generated {
            continue;
        }
        if update {
            std::fs::write(&path, &generated).unwrap();
        } else {
            stale.push(format!("statemachine/{file} {}", difference(&committed, &generated)));
        }
    }
    assert!(stale.is_empty(), "{}\nrun UPDATE_DEFINITIONS=1 cargo test -p rds-refresh-definition", stale.join("\n"));
}

/// What differs: the first JSON value that does, else (formatting, key order) the first line.
fn difference(committed: &str, generated: &str) -> String {
    let committed_value: Value = match serde_json::from_str(committed) {
        Ok(value) => value,
        Err(error) => return format!("is not JSON ({error})"),
    };
    let generated_value: Value = serde_json::from_str(generated).unwrap();
    if let Some(difference) = first_difference("", &committed_value, &generated_value) {
        return format!("differs from the generated definition at {difference}");
    }
    let line = committed.lines().zip(generated.lines()).position(|(a, b)| a != b);
    let line = line.unwrap_or(committed.lines().count().min(generated.lines().count()));
    format!("is the generated definition as JSON, written differently from line {}", line + 1)
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
