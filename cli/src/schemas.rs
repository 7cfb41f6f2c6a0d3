//! `schemas/cli/` holds exactly what the CLI's JSON output types generate.
//!
//! After a deliberate change, regenerate with
//! `UPDATE_SCHEMAS=1 cargo test -p rds-refresh-cli schemas` and review the diff.
use std::path::Path;

use schemars::{Schema, schema_for};

use crate::list::Execution;
use crate::render::HistoryReport;

fn all() -> Vec<(&'static str, Schema)> {
    vec![("history.schema.json", schema_for!(HistoryReport)), ("list.schema.json", schema_for!(Vec<Execution>))]
}

#[test]
fn committed_schemas_match_the_types() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/cli");
    let update = std::env::var_os("UPDATE_SCHEMAS").is_some();
    let mut stale = Vec::new();
    for (name, schema) in all() {
        let generated = rds_refresh_model::json::schema_file(&schema);
        let path = dir.join(name);
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &generated).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(generated.as_str()) {
            stale.push(name);
        }
    }
    assert!(stale.is_empty(), "schemas/cli differ from the types (regenerate with UPDATE_SCHEMAS=1): {stale:?}");
}
