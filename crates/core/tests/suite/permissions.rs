//! Least privilege, checked against the code: for every function of deploy/template.yaml,
//! the RDS, DynamoDB and Step Functions actions its role allows are exactly the ones its code can call.
//!
//! The calls are found by reading the source (syn): every SDK call is a method chain that
//! ends in `.send()`, and the operation is the first method of the chain named like one
//! (`describe_db_instances`, `update_item`, ...). From the task's `handle`, every function of
//! the crate it calls (by name) is followed. A new call without its permission, or a
//! permission no code needs, fails this test.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rds_refresh_core::handlers::Handler;
use strum::IntoEnumIterator;
use syn::visit::Visit;

/// Actions RDS checks besides the one called, when the calling function also sets one of
/// these parameters (AWS's "dependent actions"): tags given at creation, and the final
/// snapshot a delete takes.
const DEPENDENT_ACTIONS: &[(&str, &[&str], &str)] = &[
    ("rds:CopyDBSnapshot", &["tags", "set_tags"], "rds:AddTagsToResource"),
    ("rds:RestoreDBInstanceFromDBSnapshot", &["tags", "set_tags"], "rds:AddTagsToResource"),
    (
        "rds:DeleteDBInstance",
        &["final_db_snapshot_identifier", "set_final_db_snapshot_identifier"],
        "rds:CreateDBSnapshot",
    ),
];

/// Verbs that start an AWS operation's name.
const VERBS: &[&str] =
    &["add", "copy", "create", "delete", "describe", "get", "list", "modify", "put", "remove", "restore", "update"];

const DYNAMODB_OPERATIONS: &[&str] = &["get_item", "put_item", "update_item", "delete_item", "query", "scan"];

/// The Step Functions operations a task may call (the lock's holder, the repaired execution).
const STATES_OPERATIONS: &[&str] = &["describe_execution", "get_execution_history"];

/// `describe_db_instances` -> `DescribeDBInstances`.
fn action_name(operation: &str) -> String {
    operation
        .split('_')
        .map(|word| match word {
            "db" => "DB".to_owned(),
            word => word[..1].to_ascii_uppercase() + &word[1..],
        })
        .collect()
}

/// A function of the crate: where it is, and what it calls.
#[derive(Default, Debug)]
struct Function {
    file: PathBuf,
    actions: BTreeSet<String>,
    calls: BTreeSet<String>,
}

#[derive(Default)]
struct Collector {
    file: PathBuf,
    functions: Vec<(String, Function)>,
    current: Option<(String, Function)>,
    /// `let` bindings of the current function, in order: a request is often built in one.
    bindings: Vec<(String, syn::Expr)>,
    /// `.send()` calls whose operation could not be told: each fails the test.
    unresolved: Vec<String>,
}

impl Collector {
    fn enter(&mut self, name: String) -> Option<(String, Function)> {
        self.bindings.clear();
        self.current.replace((name, Function { file: self.file.clone(), ..Default::default() }))
    }

    fn leave(&mut self, outer: Option<(String, Function)>) {
        if let Some(done) = std::mem::replace(&mut self.current, outer) {
            self.functions.push(done);
        }
    }
}

fn is_operation(name: &str) -> bool {
    VERBS.iter().any(|verb| name.starts_with(&format!("{verb}_"))) || name == "query"
}

/// The operation of the request `expr` (the receiver of a `.send()`): the method nearest the
/// chain's root named like an operation, following a variable to its `let` and a request
/// passed through a function (`modification(request, ...)`) to its first argument.
fn operation_of(expr: &syn::Expr, bindings: &[(String, syn::Expr)]) -> Option<String> {
    let mut names = Vec::new();
    let mut expr = expr;
    loop {
        match expr {
            syn::Expr::MethodCall(call) => {
                names.push(call.method.to_string());
                expr = &call.receiver;
            }
            syn::Expr::Call(call) if !call.args.is_empty() => expr = &call.args[0],
            syn::Expr::Reference(reference) => expr = &reference.expr,
            syn::Expr::Paren(paren) => expr = &paren.expr,
            syn::Expr::Path(path) if path.path.segments.len() == 1 => {
                let variable = path.path.segments[0].ident.to_string();
                if let Some(at) = bindings.iter().rposition(|(name, _)| *name == variable)
                    && let Some(operation) = operation_of(&bindings[at].1, &bindings[..at])
                {
                    return Some(operation);
                }
                break;
            }
            _ => break,
        }
    }
    names.into_iter().rev().find(|name| is_operation(name))
}

impl<'ast> Visit<'ast> for Collector {
    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        let outer = self.enter(item.sig.ident.to_string());
        syn::visit::visit_item_fn(self, item);
        self.leave(outer);
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        let outer = self.enter(item.sig.ident.to_string());
        syn::visit::visit_impl_item_fn(self, item);
        self.leave(outer);
    }

    fn visit_item_mod(&mut self, item: &'ast syn::ItemMod) {
        // Unit tests call nothing that a deployed function does.
        if item.ident != "tests" {
            syn::visit::visit_item_mod(self, item);
        }
    }

    fn visit_local(&mut self, local: &'ast syn::Local) {
        let name = match &local.pat {
            syn::Pat::Ident(ident) => Some(ident.ident.to_string()),
            syn::Pat::Type(typed) => match &*typed.pat {
                syn::Pat::Ident(ident) => Some(ident.ident.to_string()),
                _ => None,
            },
            _ => None,
        };
        syn::visit::visit_local(self, local);
        if let (Some(name), Some(init)) = (name, &local.init) {
            self.bindings.push((name, (*init.expr).clone()));
        }
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        if let Some((name, function)) = &mut self.current {
            if call.method == "send" {
                match operation_of(&call.receiver, &self.bindings) {
                    Some(operation) => {
                        let service = if DYNAMODB_OPERATIONS.contains(&operation.as_str()) {
                            "dynamodb"
                        } else if STATES_OPERATIONS.contains(&operation.as_str()) {
                            "states"
                        } else {
                            "rds"
                        };
                        function.actions.insert(format!("{service}:{}", action_name(&operation)));
                    }
                    None => self.unresolved.push(format!("{}: {name}", self.file.display())),
                }
            }
            function.calls.insert(call.method.to_string());
        }
        syn::visit::visit_expr_method_call(self, call);
    }

    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        if let (Some((_, function)), syn::Expr::Path(path)) = (&mut self.current, &*call.func)
            && let Some(last) = path.path.segments.last()
        {
            function.calls.insert(last.ident.to_string());
        }
        syn::visit::visit_expr_call(self, call);
    }

    fn visit_expr_path(&mut self, path: &'ast syn::ExprPath) {
        // A function passed by name (`map(describe)`) is called too.
        if let (Some((_, function)), Some(last)) = (&mut self.current, path.path.segments.last()) {
            function.calls.insert(last.ident.to_string());
        }
        syn::visit::visit_expr_path(self, path);
    }
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// Every function of the core crate.
fn crate_functions() -> Vec<(String, Function)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut functions = Vec::new();
    let mut unresolved = Vec::new();
    for file in rust_files(&src) {
        let syntax = syn::parse_file(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let mut collector = Collector { file: file.clone(), ..Default::default() };
        collector.visit_file(&syntax);
        functions.extend(collector.functions);
        unresolved.extend(collector.unresolved);
    }
    assert!(unresolved.is_empty(), "cannot tell which AWS operation these .send() calls make: {unresolved:?}");
    functions
}

/// The actions the task in `module` (`tasks/<module>.rs`) can call, from its `handle`.
fn actions_of(module: &str, functions: &[(String, Function)]) -> BTreeSet<String> {
    let entry_file = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/tasks").join(format!("{module}.rs"));
    let mut seen: BTreeSet<usize> = BTreeSet::new();
    let mut queue: Vec<usize> =
        functions.iter().position(|(name, f)| name == "handle" && f.file == entry_file).into_iter().collect();
    let mut actions = BTreeSet::new();
    while let Some(index) = queue.pop() {
        if !seen.insert(index) {
            continue;
        }
        let (_, function) = &functions[index];
        actions.extend(function.actions.iter().cloned());
        for (action, parameters, needs) in DEPENDENT_ACTIONS {
            if function.actions.contains(*action) && parameters.iter().any(|p| function.calls.contains(*p)) {
                actions.insert(needs.to_string());
            }
        }
        for called in &function.calls {
            // Every other task's `handle` is that task's, never called from here.
            if called == "handle" {
                continue;
            }
            queue.extend(functions.iter().enumerate().filter(|(_, (name, _))| name == called).map(|(i, _)| i));
        }
    }
    actions
}

/// The task module each handler name runs (`Handler::run`, crates/core/src/handlers.rs).
fn handlers() -> BTreeMap<String, String> {
    Handler::iter().map(|handler| (handler.name().to_owned(), handler.module())).collect()
}

/// The RDS, DynamoDB and Step Functions actions each function's role allows, by handler name.
fn template_permissions() -> BTreeMap<String, BTreeSet<String>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/template.yaml");
    let template: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut permissions = BTreeMap::new();
    for (_, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        // Every function deploys the one binary; its Handler picks the task.
        assert_eq!(resource["Metadata"]["BuildMethod"], "rust-cargolambda");
        assert_eq!(resource["Metadata"]["BuildProperties"]["Binary"], "rds-refresh-lambda");
        let handler = resource["Properties"]["Handler"].as_str().expect("every function names its Handler").to_owned();
        let mut actions = BTreeSet::new();
        for policy in resource["Properties"]["Policies"].as_sequence().into_iter().flatten() {
            for statement in policy["Statement"].as_sequence().into_iter().flatten() {
                // `!If [condition, statement, !Ref AWS::NoValue]` holds a statement too.
                let statement = match statement {
                    serde_yaml::Value::Tagged(tagged) => &tagged.value[1],
                    statement => statement,
                };
                for action in statement["Action"].as_sequence().into_iter().flatten() {
                    let action = action.as_str().unwrap();
                    if ["rds:", "dynamodb:", "states:"].iter().any(|service| action.starts_with(service)) {
                        actions.insert(action.to_owned());
                    }
                }
            }
        }
        permissions.insert(handler, actions);
    }
    permissions
}

#[test]
fn every_role_allows_exactly_the_calls_of_its_function() {
    let functions = crate_functions();
    let permissions = template_permissions();
    let handlers = handlers();
    assert_eq!(
        permissions.keys().collect::<Vec<_>>(),
        handlers.keys().collect::<Vec<_>>(),
        "the template has one function per handler"
    );
    let mut wrong = Vec::new();
    for (handler, module) in &handlers {
        let needed = actions_of(module, &functions);
        let allowed = &permissions[handler];
        let missing: Vec<_> = needed.difference(allowed).collect();
        let stale: Vec<_> = allowed.difference(&needed).collect();
        if !missing.is_empty() || !stale.is_empty() {
            wrong.push(format!("{handler}: missing {missing:?}, not needed {stale:?}"));
        }
    }
    assert!(wrong.is_empty(), "roles do not match the code:\n{}", wrong.join("\n"));
}

#[test]
fn the_analysis_sees_the_calls_it_must() {
    // A check of the checker: known calls of known tasks.
    let functions = crate_functions();
    let delete = actions_of("delete_target", &functions);
    for action in ["rds:DescribeDBInstances", "rds:ModifyDBInstance", "rds:DeleteDBInstance", "rds:AddTagsToResource"] {
        assert!(delete.contains(action), "{action} not found in delete-target: {delete:?}");
    }
    assert_eq!(actions_of("check_input", &functions), BTreeSet::new());
    assert!(actions_of("lock_target", &functions).contains("dynamodb:UpdateItem"));
    assert!(!actions_of("find_snapshot", &functions).contains("rds:DeleteDBInstance"));
    assert!(actions_of("lock_target", &functions).contains("states:DescribeExecution"));
    assert!(actions_of("repair_execution", &functions).contains("states:GetExecutionHistory"));
}

#[test]
fn the_template_substitutes_every_placeholder_of_the_definitions() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let template: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(path.join("deploy/template.yaml")).unwrap()).unwrap();
    for (resource, file) in [
        ("StateMachine", "refresh.asl.json"),
        ("RepairStateMachine", "repair.asl.json"),
        ("SnapshotStarter", "start-on-snapshot.asl.json"),
    ] {
        let machine = &template["Resources"][resource]["Properties"];
        assert_eq!(machine["DefinitionUri"].as_str(), Some(format!("../statemachine/{file}").as_str()));
        let substituted: BTreeSet<String> = machine["DefinitionSubstitutions"]
            .as_mapping()
            .unwrap()
            .keys()
            .map(|k| k.as_str().unwrap().to_owned())
            .collect();
        let definition = std::fs::read_to_string(path.join("statemachine").join(file)).unwrap();
        let placeholders: BTreeSet<String> =
            definition.split("${").skip(1).filter_map(|rest| rest.split('}').next()).map(str::to_owned).collect();
        assert_eq!(substituted, placeholders, "{resource}");
    }
}
