//! Amazon States Language, the parts the definitions use (JSONPath only), as typed states.
//! Fields serialize in ASL's usual order (Type, Comment, Resource, Parameters, TimeoutSeconds,
//! ResultSelector, ResultPath, OutputPath, Retry, Catch, Next/End); absent ones are left out.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::json::{Json, obj};
use crate::names::STATES_ALL;

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StateMachine {
    pub comment: &'static str,
    pub start_at: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u32>,
    pub states: States,
}

/// The states by name, in the order they are added (the order the file shows them in).
#[derive(Default)]
pub struct States(Vec<(String, State)>);

impl States {
    pub fn add(&mut self, name: impl Into<String>, state: impl Into<State>) {
        let name = name.into();
        assert!(self.0.iter().all(|(existing, _)| *existing != name), "two states named {name}");
        self.0.push((name, state.into()));
    }
}

impl Serialize for States {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, state) in &self.0 {
            map.serialize_entry(name, state)?;
        }
        map.end()
    }
}

#[derive(Serialize)]
#[serde(tag = "Type")]
pub enum State {
    Task(Task),
    Map(Map),
    Pass(Pass),
    Choice(Choice),
    Wait(Wait),
    Fail(Fail),
    Succeed(Succeed),
}

macro_rules! into_state {
    ($($kind:ident),*) => {
        $(impl From<$kind> for State {
            fn from(state: $kind) -> Self {
                State::$kind(state)
            }
        })*
    };
}
into_state!(Task, Map, Pass, Choice, Wait, Fail, Succeed);

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Task {
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<&'static str>,
    resource: &'static str,
    parameters: Json,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout_seconds: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    result_selector: Option<Json>,
    /// `Some(None)` is `"ResultPath": null`: the result is dropped and the input passes on.
    #[serde(skip_serializing_if = "Option::is_none")]
    result_path: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    output_path: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    retry: Vec<Retrier>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    catch: Vec<Catcher>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end: Option<bool>,
}

impl Task {
    pub fn new(resource: &'static str, parameters: Json) -> Self {
        Task {
            comment: None,
            resource,
            parameters,
            timeout_seconds: None,
            result_selector: None,
            result_path: None,
            output_path: None,
            retry: Vec::new(),
            catch: Vec::new(),
            next: None,
            end: None,
        }
    }

    pub fn comment(self, comment: &'static str) -> Self {
        Task { comment: Some(comment), ..self }
    }

    pub fn timeout_seconds(self, seconds: u32) -> Self {
        Task { timeout_seconds: Some(seconds), ..self }
    }

    pub fn result_selector(self, selector: Json) -> Self {
        Task { result_selector: Some(selector), ..self }
    }

    pub fn result_path(self, path: impl Into<String>) -> Self {
        Task { result_path: Some(Some(path.into())), ..self }
    }

    /// `"ResultPath": null`: the state passes its input on unchanged.
    pub fn discard_result(self) -> Self {
        Task { result_path: Some(None), ..self }
    }

    pub fn output_path(self, path: &'static str) -> Self {
        Task { output_path: Some(path), ..self }
    }

    /// Adds a retrier after those already there.
    pub fn retry(mut self, retrier: Retrier) -> Self {
        self.retry.push(retrier);
        self
    }

    /// Adds a retrier before those already there (the first whose ErrorEquals matches runs).
    pub fn retry_first(mut self, retrier: Retrier) -> Self {
        self.retry.insert(0, retrier);
        self
    }

    pub fn catch(mut self, catcher: Catcher) -> Self {
        self.catch.push(catcher);
        self
    }

    pub fn next(self, state: &str) -> Self {
        Task { next: Some(state.to_owned()), ..self }
    }

    pub fn end(self) -> Self {
        Task { end: Some(true), ..self }
    }
}

/// An inline Map: runs `processor` once per item of `items_path`, at most `max_concurrency` at
/// a time (1: in order, one after the other); the results, in the items' order, go to
/// `result_path`. A failing iteration fails the Map with the iteration's error.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Map {
    comment: &'static str,
    items_path: String,
    item_selector: Json,
    max_concurrency: u32,
    item_processor: Processor,
    result_path: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    catch: Vec<Catcher>,
    next: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Processor {
    processor_config: Json,
    start_at: String,
    states: States,
}

impl Map {
    /// Runs the one-state processor `state` (named `name`) for each item, one at a time.
    pub fn one_at_a_time(
        comment: &'static str,
        items_path: impl Into<String>,
        item_selector: Json,
        (name, state): (&str, State),
        result_path: impl Into<String>,
        next: &str,
    ) -> Self {
        let mut states = States::default();
        states.add(name, state);
        Map {
            comment,
            items_path: items_path.into(),
            item_selector,
            max_concurrency: 1,
            item_processor: Processor {
                processor_config: obj! { "Mode": "INLINE" },
                start_at: name.to_owned(),
                states,
            },
            result_path: result_path.into(),
            catch: Vec::new(),
            next: next.to_owned(),
        }
    }

    pub fn catch(mut self, catcher: Catcher) -> Self {
        self.catch.push(catcher);
        self
    }
}

#[derive(Clone, Copy, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Retrier {
    pub error_equals: &'static [&'static str],
    pub interval_seconds: u32,
    pub max_attempts: u32,
    #[serde(serialize_with = "number")]
    pub backoff_rate: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_delay_seconds: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jitter_strategy: Option<Jitter>,
}

#[derive(Clone, Copy, Serialize)]
pub enum Jitter {
    /// Each pause a random time between 0 and the computed one, so that executions that fail
    /// together do not retry together.
    #[serde(rename = "FULL")]
    Full,
}

/// A whole number as an integer (`2`, not `2.0`), as the definitions have always written it.
fn number<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    if value.fract() == 0.0 { serializer.serialize_u64(*value as u64) } else { serializer.serialize_f64(*value) }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Catcher {
    pub error_equals: &'static [&'static str],
    pub result_path: &'static str,
    pub next: String,
}

/// Catches every error, keeps it at `result_path` and goes on to `next`.
pub fn catch_all(result_path: &'static str, next: &str) -> Catcher {
    Catcher { error_equals: &[STATES_ALL], result_path, next: next.to_owned() }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Pass {
    comment: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    parameters: Option<Json>,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<Json>,
    #[serde(skip_serializing_if = "Option::is_none")]
    result_path: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end: Option<bool>,
}

impl Pass {
    /// Writes `result` (a fixed value) at `result_path`, then goes to `next`.
    pub fn result(comment: impl Into<String>, result: impl Into<Json>, result_path: &'static str, next: &str) -> Self {
        Pass {
            comment: comment.into(),
            parameters: None,
            result: Some(result.into()),
            result_path: Some(result_path),
            next: Some(next.to_owned()),
            end: None,
        }
    }

    /// Ends the execution with `parameters` as its output.
    pub fn output(comment: &'static str, parameters: Json) -> Self {
        Pass {
            comment: comment.to_owned(),
            parameters: Some(parameters),
            result: None,
            result_path: None,
            next: None,
            end: Some(true),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Choice {
    #[serde(skip_serializing_if = "Option::is_none")]
    comment: Option<&'static str>,
    choices: Vec<Json>,
    default: &'static str,
}

impl Choice {
    /// The first of `choices` that holds decides the next state; `default` when none does.
    pub fn new(comment: &'static str, choices: Vec<Json>, default: &'static str) -> Self {
        Choice { comment: Some(comment), choices, default }
    }

    pub fn without_comment(choices: Vec<Json>, default: &'static str) -> Self {
        Choice { comment: None, choices, default }
    }
}

/// A Choice rule's comparison: `{"Variable": variable, operator: value}`.
pub fn compare(variable: impl Into<String>, operator: &str, value: impl Into<Json>) -> Json {
    obj! { "Variable": variable.into(), (operator): value }
}

pub fn and(conditions: Vec<Json>) -> Json {
    obj! { "And": conditions }
}

pub fn not(condition: Json) -> Json {
    obj! { "Not": condition }
}

/// A Choice rule: when `condition` holds, go to `next`.
pub fn when(condition: Json, next: &str) -> Json {
    condition.extended(obj! { "Next": next })
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Wait {
    pub comment: &'static str,
    pub seconds_path: &'static str,
    pub next: &'static str,
}

#[derive(Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Fail {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause_path: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Succeed {
    pub comment: &'static str,
}
