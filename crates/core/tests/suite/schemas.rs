//! `schemas/` holds exactly what the Rust types generate.
//!
//! After a deliberate change to an input or output type, regenerate with
//! `UPDATE_SCHEMAS=1 cargo test -p rds-refresh-core --test schemas` and review the diff.
use std::fs;
use std::path::Path;

#[test]
fn committed_schemas_match_the_types() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
    let update = std::env::var_os("UPDATE_SCHEMAS").is_some();
    let mut stale = Vec::new();
    let mut expected_files = Vec::new();
    for (name, schema) in rds_refresh_core::schema::all() {
        let generated = rds_refresh_model::json::schema_file(&schema);
        let path = dir.join(name);
        expected_files.push(name.to_owned());
        if update {
            fs::write(&path, &generated).unwrap();
        } else if fs::read_to_string(&path).ok().as_deref() != Some(generated.as_str()) {
            stale.push(name);
        }
    }
    assert!(stale.is_empty(), "schemas differ from the types (regenerate with UPDATE_SCHEMAS=1): {stale:?}");
    let mut committed: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".schema.json"))
        .collect();
    committed.sort();
    expected_files.sort();
    assert_eq!(committed, expected_files, "schemas/ holds a schema no type generates");
}

/// The execution inputs shown in the README parse and pass validation.
#[test]
fn the_readme_input_examples_are_valid() {
    let readme = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")).unwrap();
    let blocks: Vec<&str> = readme.split("```json\n").skip(1).filter_map(|rest| rest.split("```").next()).collect();
    let inputs: Vec<serde_json::Value> = blocks
        .iter()
        .map(|block| serde_json::from_str(block).unwrap_or_else(|e| panic!("README block is not JSON ({e}):\n{block}")))
        .filter(|value: &serde_json::Value| value.get("endpoint").is_none())
        .collect();
    assert!(inputs.len() >= 2, "the README shows the minimal and the full input");
    for input in inputs {
        let request: rds_refresh_core::model::RefreshRequest =
            rds_refresh_core::lambda::parse_input(input.clone()).unwrap_or_else(|e| panic!("{e}: {input}"));
        request.validate().unwrap_or_else(|e| panic!("{e}: {input}"));
    }
}
