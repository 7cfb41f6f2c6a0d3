//! Least privilege, checked against the code: for every function of deploy/template.yaml,
//! the RDS, DynamoDB, Step Functions and Secrets Manager actions its role allows are exactly the
//! ones its code can call, with the KMS actions Secrets Manager (and RDS, for an RDS-managed
//! secret) use on its behalf.
//!
//! The calls are found by reading the source (syn): every SDK call is a method chain that
//! ends in `.send()`, and the operation is the first method of the chain named like one
//! (`describe_db_instances`, `update_item`, `get_secret_value`, ...). From the task's `handle`,
//! every function of the crate it calls (by name) is followed. A new call without its
//! permission, or a permission no code needs, fails this test.
//!
//! The functions that connect to the database (their `handle` takes `lambda::Database`
//! clients) must run in the target's VPC with the RDS CA bundle, and call no RDS API; no other
//! function may be in a VPC.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rds_refresh_core::handlers::Handler;
use strum::IntoEnumIterator;
use syn::visit::Visit;

/// Actions AWS checks besides the one called, when the calling function also sets one of
/// these parameters (no parameter: always): AWS's "dependent actions".
const DEPENDENT_ACTIONS: &[(&str, &[&str], &[&str])] = &[
    // Tags given at creation, and the final snapshot a delete takes.
    ("rds:CopyDBSnapshot", &["tags", "set_tags"], &["rds:AddTagsToResource"]),
    ("rds:RestoreDBInstanceFromDBSnapshot", &["tags", "set_tags"], &["rds:AddTagsToResource"]),
    (
        "rds:DeleteDBInstance",
        &["final_db_snapshot_identifier", "set_final_db_snapshot_identifier"],
        &["rds:CreateDBSnapshot"],
    ),
    // ModifyDBInstance ManageMasterUserPassword: RDS creates the instance's secret with the
    // caller's permissions, and with a customer managed key (MasterUserSecretKmsKeyId) uses it
    // with them (RDS User Guide, "Password management with Amazon RDS and AWS Secrets Manager",
    // "Permissions required for Secrets Manager integration").
    (
        "rds:ModifyDBInstance",
        &["manage_master_user_password", "set_manage_master_user_password"],
        &["secretsmanager:CreateSecret", "secretsmanager:TagResource", "kms:DescribeKey"],
    ),
    (
        "rds:ModifyDBInstance",
        &["master_user_secret_kms_key_id", "set_master_user_secret_kms_key_id"],
        &["kms:Decrypt", "kms:GenerateDataKey", "kms:CreateGrant"],
    ),
    // A secret encrypted with a customer managed key is decrypted with the caller's
    // kms:Decrypt ("Secret encryption and decryption in AWS Secrets Manager", "Permissions for
    // the KMS key"); the template allows it for the keys of SecretsKmsKeyArns.
    ("secretsmanager:GetSecretValue", &[], &["kms:Decrypt"]),
];

/// Verbs that start an AWS operation's name.
const VERBS: &[&str] =
    &["add", "copy", "create", "delete", "describe", "get", "list", "modify", "put", "remove", "restore", "update"];

const DYNAMODB_OPERATIONS: &[&str] = &["get_item", "put_item", "update_item", "delete_item", "query", "scan"];

/// The Step Functions operations a task may call (the lock's holder, the repaired execution).
const STATES_OPERATIONS: &[&str] = &["describe_execution", "get_execution_history"];

/// The Secrets Manager operations a task may call (y's passwords).
const SECRETSMANAGER_OPERATIONS: &[&str] = &["get_secret_value"];

/// The services whose every action in a role is compared with the code.
const SERVICES: &[&str] = &["rds:", "dynamodb:", "states:", "secretsmanager:"];

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
    /// The names of the current function's parameters and `let` bindings: a path naming one
    /// is a value, not a function passed by name (`let plan = copy::plan(..)`, then `plan`).
    locals: BTreeSet<String>,
    /// `.send()` calls whose operation could not be told: each fails the test.
    unresolved: Vec<String>,
}

impl Collector {
    fn enter(&mut self, signature: &syn::Signature) -> Option<(String, Function)> {
        self.bindings.clear();
        self.locals = signature
            .inputs
            .iter()
            .filter_map(|input| match input {
                syn::FnArg::Typed(typed) => binding_name(&typed.pat),
                syn::FnArg::Receiver(_) => None,
            })
            .collect();
        let name = signature.ident.to_string();
        self.current.replace((name, Function { file: self.file.clone(), ..Default::default() }))
    }

    fn leave(&mut self, outer: Option<(String, Function)>) {
        if let Some(done) = std::mem::replace(&mut self.current, outer) {
            self.functions.push(done);
        }
    }
}

/// The name a pattern binds, for `x` and `x: T`.
fn binding_name(pattern: &syn::Pat) -> Option<String> {
    match pattern {
        syn::Pat::Ident(ident) => Some(ident.ident.to_string()),
        syn::Pat::Type(typed) => binding_name(&typed.pat),
        _ => None,
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
            // `let request = match ... { A => request.a(..), B => request.b(..) }`: the arms'
            // values (a block's is its last expression).
            syn::Expr::Match(matched) => {
                return matched.arms.iter().find_map(|arm| operation_of(&arm.body, bindings));
            }
            syn::Expr::Block(block) => match block.block.stmts.last() {
                Some(syn::Stmt::Expr(last, None)) => expr = last,
                _ => break,
            },
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
        let outer = self.enter(&item.sig);
        syn::visit::visit_item_fn(self, item);
        self.leave(outer);
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        let outer = self.enter(&item.sig);
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
        let name = binding_name(&local.pat);
        syn::visit::visit_local(self, local);
        if let Some(name) = &name {
            self.locals.insert(name.clone());
        }
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
                        } else if SECRETSMANAGER_OPERATIONS.contains(&operation.as_str()) {
                            "secretsmanager"
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

    fn visit_expr_path(&mut self, path: &'ast syn::ExprPath) {
        // A function called (`describe(..)`, `copy::plan(..)`: the call's function is a path)
        // or passed by name (`map(describe)`), with the module that qualifies it, if any.
        if let (Some((_, function)), Some(last)) = (&mut self.current, path.path.segments.last()) {
            let segments = &path.path.segments;
            match segments.len() {
                1 if self.locals.contains(&last.ident.to_string()) => {}
                1 => {
                    function.calls.insert(last.ident.to_string());
                }
                n => {
                    function.calls.insert(format!("{}::{}", segments[n - 2].ident, last.ident));
                }
            }
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
            let set = parameters.is_empty() || parameters.iter().any(|p| function.calls.contains(*p));
            if function.actions.contains(*action) && set {
                actions.extend(needs.iter().map(|need| need.to_string()));
            }
        }
        for called in &function.calls {
            // `copy::plan` is the `plan` of a file copy.rs when there is one; `Secrets::new`, a
            // re-exported `rds::find_instance` or a plain `describe`, any function of that name.
            let (module, called) = match called.rsplit_once("::") {
                Some((module, called)) => (Some(module), called),
                None => (None, called.as_str()),
            };
            // Every other task's `handle` is that task's, never called from here.
            if called == "handle" {
                continue;
            }
            let named: Vec<usize> =
                functions.iter().enumerate().filter(|(_, (name, _))| name == called).map(|(i, _)| i).collect();
            let in_module: Vec<usize> = named
                .iter()
                .copied()
                .filter(|&i| module.is_some_and(|m| functions[i].1.file.file_stem().is_some_and(|stem| stem == m)))
                .collect();
            queue.extend(if in_module.is_empty() { named } else { in_module });
        }
    }
    actions
}

/// The task module each handler name runs (`Handler::run`, crates/core/src/handlers.rs).
fn handlers() -> BTreeMap<String, String> {
    Handler::iter().map(|handler| (handler.name().to_owned(), handler.module())).collect()
}

fn template() -> serde_yaml::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/template.yaml");
    serde_yaml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `!If [condition, value, !Ref AWS::NoValue]` holds `value` (a policy or a statement).
fn unless_no_value(value: &serde_yaml::Value) -> &serde_yaml::Value {
    match value {
        serde_yaml::Value::Tagged(tagged) if tagged.tag == "!If" => &tagged.value[1],
        value => value,
    }
}

/// Whether `statement` lets KMS be used only through Secrets Manager (possibly among other
/// services): its KMS actions are those of the secrets, compared with the code. The other KMS
/// statements are the keys RDS uses for snapshots and Performance Insights, which no call's
/// parameters tell (ARCHITECTURE.md, "KMS keys through RDS only").
fn for_secrets(statement: &serde_yaml::Value) -> bool {
    serde_yaml::to_string(&statement["Condition"]).unwrap().contains("secretsmanager.${AWS::Region}.amazonaws.com")
}

/// The actions each function's role allows that the code is compared with, by handler name:
/// every RDS, DynamoDB, Step Functions and Secrets Manager action, and the KMS actions of the
/// statements [`for_secrets`].
fn template_permissions() -> BTreeMap<String, BTreeSet<String>> {
    let template = template();
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
            for statement in unless_no_value(policy)["Statement"].as_sequence().into_iter().flatten() {
                let statement = unless_no_value(statement);
                for action in statement["Action"].as_sequence().into_iter().flatten() {
                    let action = action.as_str().unwrap();
                    let kms_for_secrets = action.starts_with("kms:") && for_secrets(statement);
                    if kms_for_secrets || SERVICES.iter().any(|service| action.starts_with(service)) {
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
    // Secrets Manager, through Secrets::read, check_secrets::plan and logins::master_login.
    let read = BTreeSet::from(["kms:Decrypt".to_owned(), "secretsmanager:GetSecretValue".to_owned()]);
    for module in ["check_secrets", "apply_roles", "check_connections"] {
        assert_eq!(actions_of(module, &functions), read, "{module}");
    }
    assert!(actions_of("plan_refresh", &functions).contains("secretsmanager:GetSecretValue"));
    // A request built in a `match` (MasterUserPassword or ManageMasterUserPassword).
    let set = actions_of("set_credentials", &functions);
    for action in ["rds:ModifyDBInstance", "secretsmanager:CreateSecret", "kms:CreateGrant", "kms:DescribeKey"] {
        assert!(set.contains(action), "{action} not found in set-credentials: {set:?}");
    }
    assert_eq!(actions_of("wait_credentials", &functions), BTreeSet::from(["rds:DescribeDBInstances".to_owned()]));
}

/// The last name of the type of the clients the task in `module` is given (the first
/// parameter of its `handle`): `Rds`, `Database`, `WithSecrets`, ...
fn clients_of(module: &str) -> String {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/tasks").join(format!("{module}.rs"));
    let syntax = syn::parse_file(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let handle = syntax
        .items
        .iter()
        .find_map(|item| match item {
            syn::Item::Fn(function) if function.sig.ident == "handle" => Some(function),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{} has no fn handle", file.display()));
    match handle.sig.inputs.first() {
        Some(syn::FnArg::Typed(typed)) => match &*typed.ty {
            syn::Type::Path(path) => path.path.segments.last().unwrap().ident.to_string(),
            _ => panic!("{module}: the clients of handle are not a named type"),
        },
        _ => panic!("{module}: handle takes no clients"),
    }
}

/// The tasks that connect to the database (`lambda::Database`: Secrets Manager and TLS
/// against the CA bundle) run in the target's VPC when DatabaseSubnetIds is given, with the
/// security group DatabaseSecurityGroupId, and trust the RDS CA bundle of the layer; they call
/// no RDS API (the control plane is called from outside the VPC only). No other function is
/// in a VPC, has the layer or names a CA bundle.
#[test]
fn only_the_database_tasks_run_in_the_vpc_with_the_ca_bundle() {
    let template = template();
    let globals = &template["Globals"]["Function"];
    for setting in ["VpcConfig", "Layers"] {
        assert!(globals.get(setting).is_none(), "Globals must not set {setting}: only the database tasks have it");
    }
    assert!(globals["Environment"]["Variables"].get(rds_refresh_database::CA_BUNDLE_ENV).is_none());
    let layer = &template["Resources"]["RdsCaBundleLayer"];
    assert_eq!(layer["Type"], "AWS::Serverless::LayerVersion");
    let functions = crate_functions();
    let mut database_tasks = Vec::new();
    for (_, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let properties = &resource["Properties"];
        let handler = properties["Handler"].as_str().unwrap();
        let module = Handler::named(handler).unwrap().module();
        let bundle = properties["Environment"]["Variables"].get(rds_refresh_database::CA_BUNDLE_ENV);
        if clients_of(&module) != "Database" {
            assert!(properties.get("VpcConfig").is_none(), "{handler} calls only AWS APIs: no VpcConfig");
            assert!(properties.get("Layers").is_none(), "{handler}: no layer");
            assert!(bundle.is_none(), "{handler}: no CA bundle");
            continue;
        }
        database_tasks.push(handler.to_owned());
        assert_eq!(
            serde_yaml::to_string(&properties["VpcConfig"]).unwrap().trim(),
            "!If\n- InDatabaseVpc\n- SubnetIds: !Ref DatabaseSubnetIds\n  SecurityGroupIds:\n  - !Ref DatabaseSecurityGroupId\n- !Ref AWS::NoValue",
            "{handler}: in the target's VPC, when DatabaseSubnetIds is given"
        );
        assert_eq!(
            serde_yaml::to_string(&properties["Layers"]).unwrap().trim(),
            "- !Ref RdsCaBundleLayer",
            "{handler}"
        );
        // A layer's files are under /opt (the bundle's name in the layer: template.rs).
        let bundle = bundle.and_then(|b| b.as_str()).unwrap_or_else(|| panic!("{handler} names no CA bundle"));
        assert!(bundle.starts_with("/opt/"), "{handler}: {bundle}");
        let rds: Vec<_> = actions_of(&module, &functions).into_iter().filter(|a| a.starts_with("rds:")).collect();
        assert!(rds.is_empty(), "{handler} runs in the VPC and must not call RDS: {rds:?}");
    }
    database_tasks.sort();
    assert_eq!(database_tasks, ["apply-roles", "check-connections"]);
}

#[test]
fn the_template_substitutes_every_placeholder_of_the_definitions() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let template = template();
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
