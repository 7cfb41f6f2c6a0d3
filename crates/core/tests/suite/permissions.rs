//! Least privilege, checked against the code: for every function of deploy/template.yaml,
//! the RDS, DynamoDB, Step Functions, Secrets Manager and S3 actions its role allows are exactly
//! the ones its code can call, with the KMS actions Secrets Manager (and RDS, for an RDS-managed
//! secret) and S3 use on its behalf, told apart by the service they go through.
//!
//! The calls are found by reading the source (syn): every SDK call is a method chain that
//! ends in `.send()`, and the operation is the first method of the chain named like one
//! (`describe_db_instances`, `update_item`, `get_secret_value`, `get_object`, ...). From the
//! task's `handle`, every function of the crate it calls (by name) is followed; a method called
//! on a receiver named like the type of one of the methods of that name (`secrets.read(..)`,
//! `clients.scripts.text(..)`, `self.read(..)` in that type's impl) is that type's. A new call
//! without its permission, or a permission no code needs, fails this test.
//!
//! The functions that connect to the database (their `handle` takes `lambda::Database`
//! clients, or clients holding them, such as `lambda::Scrub`) must run in the target's VPC with
//! the RDS CA bundle, and call no RDS API; no other function may be in a VPC.
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
    // The template allows these KMS actions through RDS or Secrets Manager (AWS does not say
    // which of the two makes them): they are compared as the secrets' (see [`kms_through`]).
    (
        "rds:ModifyDBInstance",
        &["manage_master_user_password", "set_manage_master_user_password"],
        &["secretsmanager:CreateSecret", "secretsmanager:TagResource", "kms:DescribeKey (through secretsmanager)"],
    ),
    (
        "rds:ModifyDBInstance",
        &["master_user_secret_kms_key_id", "set_master_user_secret_kms_key_id"],
        &[
            "kms:Decrypt (through secretsmanager)",
            "kms:GenerateDataKey (through secretsmanager)",
            "kms:CreateGrant (through secretsmanager)",
        ],
    ),
    // A secret encrypted with a customer managed key is decrypted with the caller's
    // kms:Decrypt ("Secret encryption and decryption in AWS Secrets Manager", "Permissions for
    // the KMS key"); the template allows it for the keys of SecretsKmsKeyArns.
    ("secretsmanager:GetSecretValue", &[], &["kms:Decrypt (through secretsmanager)"]),
    // So is an S3 object encrypted with one (SSE-KMS: S3 User Guide, "Using server-side
    // encryption with AWS KMS keys"); the template allows it for the keys of SqlScriptsKmsKeyArns.
    ("s3:GetObject", &[], &["kms:Decrypt (through s3)"]),
];

/// Verbs that start an AWS operation's name.
const VERBS: &[&str] =
    &["add", "copy", "create", "delete", "describe", "get", "list", "modify", "put", "remove", "restore", "update"];

const DYNAMODB_OPERATIONS: &[&str] = &["get_item", "put_item", "update_item", "delete_item", "query", "scan"];

/// The Step Functions operations a task may call (the lock's holder, the repaired execution).
const STATES_OPERATIONS: &[&str] = &["describe_execution", "get_execution_history"];

/// The Secrets Manager operations a task may call (y's passwords).
const SECRETSMANAGER_OPERATIONS: &[&str] = &["get_secret_value"];

/// The S3 operations a task may call (the SQL scripts).
const S3_OPERATIONS: &[&str] = &["get_object"];

/// The services whose every action in a role is compared with the code.
const SERVICES: &[&str] = &["rds:", "dynamodb:", "states:", "secretsmanager:", "s3:"];

/// The services a role's KMS statements may let KMS be used through (`kms:ViaService`) whose
/// KMS actions are compared with the code, as `kms:<Action> (through <service>)`.
const KMS_THROUGH: &[&str] = &["secretsmanager", "s3"];

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
    /// The type of the `impl` it is a method of (`Secrets`, `Scripts`), if any.
    owner: Option<String>,
    actions: BTreeSet<String>,
    calls: BTreeSet<String>,
    /// For each name called as a method, what each call's receiver is named (`secrets` for
    /// `clients.secrets.read(..)`, `self`), `None` for a receiver that is not a name (a call's
    /// result).
    receivers: BTreeMap<String, BTreeSet<Option<String>>>,
    /// The names called (or passed) as a function by an unqualified path: `plan(..)`.
    bare: BTreeSet<String>,
}

#[derive(Default)]
struct Collector {
    file: PathBuf,
    /// The type of the `impl` being read, if any.
    owner: Option<String>,
    functions: Vec<(String, Function)>,
    current: Option<(String, Function)>,
    /// `let` bindings of the current function, in order: a request is often built in one.
    bindings: Vec<(String, syn::Expr)>,
    /// The names of the current function's parameters and `let` and pattern bindings: a path
    /// naming one is a value, not a function passed by name (`let plan = copy::plan(..)`, then
    /// `plan`).
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
        let function = Function { file: self.file.clone(), owner: self.owner.clone(), ..Default::default() };
        self.current.replace((name, function))
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

/// The name of a method call's receiver: a variable (`secrets`, `self`) or the last field
/// (`clients.scripts`), through `&` and parentheses; `None` for anything else.
fn receiver_name(expr: &syn::Expr) -> Option<String> {
    match expr {
        syn::Expr::Path(path) if path.path.segments.len() == 1 => Some(path.path.segments[0].ident.to_string()),
        syn::Expr::Field(field) => match &field.member {
            syn::Member::Named(name) => Some(name.to_string()),
            syn::Member::Unnamed(_) => None,
        },
        syn::Expr::Reference(reference) => receiver_name(&reference.expr),
        syn::Expr::Paren(paren) => receiver_name(&paren.expr),
        _ => None,
    }
}

/// Whether a receiver named `receiver`, in a method of `caller`, is of type `owner`: `self` in
/// `owner`'s impl, or a name ending in the type's (`secrets`, `master_secrets` for `Secrets`).
fn receiver_is(receiver: &str, caller: Option<&str>, owner: &str) -> bool {
    if receiver == "self" {
        return caller == Some(owner);
    }
    let squash = |name: &str| name.replace('_', "").to_ascii_lowercase();
    squash(receiver).ends_with(&squash(owner))
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

    fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
        let owner = match &*item.self_ty {
            syn::Type::Path(path) => path.path.segments.last().map(|segment| segment.ident.to_string()),
            _ => None,
        };
        let outer = std::mem::replace(&mut self.owner, owner);
        syn::visit::visit_item_impl(self, item);
        self.owner = outer;
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
        // The value before the pattern: in `let plan = plan(..)` the call is a function's.
        if let Some(init) = &local.init {
            self.visit_expr(&init.expr);
            if let Some((_, diverge)) = &init.diverge {
                self.visit_expr(diverge);
            }
        }
        self.visit_pat(&local.pat);
        if let (Some(name), Some(init)) = (name, &local.init) {
            self.bindings.push((name, (*init.expr).clone()));
        }
    }

    fn visit_pat_ident(&mut self, ident: &'ast syn::PatIdent) {
        // A name bound by a pattern (`Err(text) =>`, `|plan|`, `if let Some(x)`) is a value.
        self.locals.insert(ident.ident.to_string());
        syn::visit::visit_pat_ident(self, ident);
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
                        } else if S3_OPERATIONS.contains(&operation.as_str()) {
                            "s3"
                        } else {
                            "rds"
                        };
                        function.actions.insert(format!("{service}:{}", action_name(&operation)));
                    }
                    None => self.unresolved.push(format!("{}: {name}", self.file.display())),
                }
            }
            function.calls.insert(call.method.to_string());
            function.receivers.entry(call.method.to_string()).or_default().insert(receiver_name(&call.receiver));
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
                    function.bare.insert(last.ident.to_string());
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
            queue.extend(match module {
                Some(_) if in_module.is_empty() => named,
                Some(_) => in_module,
                None => resolve(called, function, &named, functions),
            });
        }
    }
    actions
}

/// Which of the functions `named` like `called` a call from `caller` may run, when the call
/// names no module. A plain `plan(..)` is the caller's file's own `plan` when it has one (Rust
/// refuses a second `plan` in scope), else any `plan` (an imported one). A method called on a
/// receiver named like a type of the methods of that name is that type's: `secrets.read(..)`
/// is `Secrets::read`, not `Scripts::read`; `self.read(..)` the caller's type's. Any other
/// receiver: every function of that name.
fn resolve(called: &str, caller: &Function, named: &[usize], functions: &[(String, Function)]) -> Vec<usize> {
    let mut found = BTreeSet::new();
    let pick = |keep: &dyn Fn(&Function) -> bool| -> Vec<usize> {
        let kept: Vec<usize> = named.iter().copied().filter(|&i| keep(&functions[i].1)).collect();
        if kept.is_empty() { named.to_vec() } else { kept }
    };
    if caller.bare.contains(called) {
        found.extend(pick(&|f: &Function| f.file == caller.file && f.owner.is_none()));
    }
    for receiver in caller.receivers.get(called).into_iter().flatten() {
        match receiver {
            Some(receiver) => found.extend(pick(&|f: &Function| {
                f.owner.as_deref().is_some_and(|owner| receiver_is(receiver, caller.owner.as_deref(), owner))
            })),
            None => found.extend(named.iter().copied()),
        }
    }
    found.into_iter().collect()
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

/// The services of [`KMS_THROUGH`] that `statement` lets KMS be used through (possibly among
/// other services): its KMS actions are those of the secrets or of the S3 objects, compared
/// with the code. The other KMS statements are the keys RDS uses for snapshots and Performance
/// Insights, which no call's parameters tell (ARCHITECTURE.md, "KMS keys through RDS only").
fn kms_through(statement: &serde_yaml::Value) -> Vec<&'static str> {
    let via = &statement["Condition"]["StringEquals"]["kms:ViaService"];
    let values: Vec<&str> = via
        .as_sequence()
        .map(|items| items.iter().collect())
        .unwrap_or_else(|| vec![via])
        .into_iter()
        .filter_map(|value| match value {
            serde_yaml::Value::Tagged(tagged) if tagged.tag == "!Sub" => tagged.value.as_str(),
            value => value.as_str(),
        })
        .collect();
    KMS_THROUGH
        .iter()
        .copied()
        .filter(|service| values.contains(&format!("{service}.${{AWS::Region}}.amazonaws.com").as_str()))
        .collect()
}

/// The actions each function's role allows that the code is compared with, by handler name:
/// every RDS, DynamoDB, Step Functions, Secrets Manager and S3 action, and the KMS actions of
/// the statements [`kms_through`] a service, as `kms:<Action> (through <service>)`.
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
                    if action.starts_with("kms:") {
                        actions.extend(kms_through(statement).iter().map(|via| format!("{action} (through {via})")));
                    } else if SERVICES.iter().any(|service| action.starts_with(service)) {
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
    // Secrets Manager, through Secrets::read, check_secrets::plan and logins::master_login;
    // never Scripts::read, a method of the same name (the receiver tells them apart).
    let set_of = |actions: &[&str]| actions.iter().map(|a| a.to_string()).collect::<BTreeSet<_>>();
    let secret = ["kms:Decrypt (through secretsmanager)", "secretsmanager:GetSecretValue"];
    for module in ["check_secrets", "apply_roles", "check_connections", "verify_data"] {
        assert_eq!(actions_of(module, &functions), set_of(&secret), "{module}");
    }
    // S3, through Scripts::text, Scripts::read and check_scripts::plan.
    let script = ["kms:Decrypt (through s3)", "s3:GetObject"];
    assert_eq!(actions_of("check_scripts", &functions), set_of(&script));
    assert_eq!(actions_of("run_script", &functions), set_of(&[&secret[..], &script[..]].concat()));
    let plan = actions_of("plan_refresh", &functions);
    assert!(plan.contains("secretsmanager:GetSecretValue") && plan.contains("s3:GetObject"), "{plan:?}");
    // A request built in a `match` (MasterUserPassword or ManageMasterUserPassword).
    let set = actions_of("set_credentials", &functions);
    for action in [
        "rds:ModifyDBInstance",
        "secretsmanager:CreateSecret",
        "kms:CreateGrant (through secretsmanager)",
        "kms:DescribeKey (through secretsmanager)",
    ] {
        assert!(set.contains(action), "{action} not found in set-credentials: {set:?}");
    }
    assert_eq!(actions_of("wait_credentials", &functions), BTreeSet::from(["rds:DescribeDBInstances".to_owned()]));
}

/// The receiver rule of [`resolve`]: `self` is the caller's own type, a name is a type's
/// when it ends in that type's name.
#[test]
fn a_method_is_the_one_of_its_receivers_type() {
    assert!(receiver_is("secrets", None, "Secrets"));
    assert!(receiver_is("master_secrets", None, "Secrets"));
    assert!(!receiver_is("secrets", None, "Scripts"));
    assert!(receiver_is("self", Some("Scripts"), "Scripts"));
    assert!(!receiver_is("self", Some("Scripts"), "Secrets"));
    let call = |code: &str| match syn::parse_str::<syn::Expr>(code).unwrap() {
        syn::Expr::MethodCall(call) => receiver_name(&call.receiver),
        _ => panic!("{code} is not a method call"),
    };
    assert_eq!(call("clients.scripts.text(a)").as_deref(), Some("scripts"));
    assert_eq!(call("(&secrets).read(a)").as_deref(), Some("secrets"));
    assert_eq!(call("self.read(a)").as_deref(), Some("self"));
    assert_eq!(call("make().read(a)"), None);
}

/// Whether clients of the type named `name` connect to the database: `lambda::Database`
/// (Secrets Manager and TLS), or a struct of the crate with a field of such a type
/// (`lambda::Scrub`: the database's clients and S3).
fn connects_to_database(name: &str) -> bool {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut fields: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in rust_files(&src) {
        let syntax = syn::parse_file(&std::fs::read_to_string(&file).unwrap()).unwrap();
        for item in syntax.items {
            if let syn::Item::Struct(item) = item {
                let types = item.fields.iter().filter_map(|field| match &field.ty {
                    syn::Type::Path(path) => path.path.segments.last().map(|s| s.ident.to_string()),
                    _ => None,
                });
                fields.entry(item.ident.to_string()).or_default().extend(types);
            }
        }
    }
    fn holds(name: &str, fields: &BTreeMap<String, Vec<String>>, depth: usize) -> bool {
        name == "Database"
            || depth < 8 && fields.get(name).is_some_and(|types| types.iter().any(|t| holds(t, fields, depth + 1)))
    }
    holds(name, &fields, 0)
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
/// against the CA bundle, or clients holding it, as run-script's `lambda::Scrub`) run in the
/// target's VPC when DatabaseSubnetIds is given, with the security group
/// DatabaseSecurityGroupId, and trust the RDS CA bundle of the layer; they call no RDS API (the
/// control plane is called from outside the VPC only). No other function is in a VPC, has the
/// layer or names a CA bundle.
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
        if !connects_to_database(&clients_of(&module)) {
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
    assert_eq!(database_tasks, ["apply-roles", "check-connections", "run-script", "verify-data"]);
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
