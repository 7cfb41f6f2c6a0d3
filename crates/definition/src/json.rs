//! Free-form JSON (Parameters, ResultSelector, Choice rules) whose objects keep the order they
//! are written in. serde_json's `Value` sorts object keys unless its `preserve_order` feature is
//! on, and that feature would change the JSON other crates of the workspace write.

use serde::ser::{Error, Serialize, SerializeMap, SerializeSeq, Serializer};

#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

/// An object, keys in the order given: `obj! { "target": target(), "appearing": true }`. A key
/// is a string literal or a parenthesised expression; a value, anything that converts into
/// [`Json`].
macro_rules! obj {
    ($($key:tt : $value:expr),* $(,)?) => {{
        // A computed key keeps its parentheses.
        #[allow(unused_parens)]
        let fields = vec![$($crate::json::field($key, $value)),*];
        $crate::json::Json::Object(fields)
    }};
}
pub(crate) use obj;

/// One field of an object (a function, so that keys and values of any convertible type work).
pub fn field(key: impl Into<String>, value: impl Into<Json>) -> (String, Json) {
    (key.into(), value.into())
}

impl Json {
    /// This object with more fields after its own.
    pub fn extended(mut self, more: Json) -> Json {
        match (&mut self, more) {
            (Json::Object(fields), Json::Object(more)) => fields.extend(more),
            _ => panic!("only objects have fields"),
        }
        self
    }
}

impl From<&str> for Json {
    fn from(text: &str) -> Self {
        Json::String(text.to_owned())
    }
}

impl From<String> for Json {
    fn from(text: String) -> Self {
        Json::String(text)
    }
}

impl From<bool> for Json {
    fn from(value: bool) -> Self {
        Json::Bool(value)
    }
}

impl From<Vec<Json>> for Json {
    fn from(items: Vec<Json>) -> Self {
        Json::Array(items)
    }
}

impl Serialize for Json {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Json::Null => serializer.serialize_unit(),
            Json::Bool(value) => serializer.serialize_bool(*value),
            Json::String(text) => serializer.serialize_str(text),
            Json::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Json::Object(fields) => {
                // A key written twice would be read as its last value only: refuse it.
                if let Some(i) = (1..fields.len()).find(|&i| fields[..i].iter().any(|(key, _)| *key == fields[i].0)) {
                    return Err(S::Error::custom(format!("key {} written twice", fields[i].0)));
                }
                let mut map = serializer.serialize_map(Some(fields.len()))?;
                for (key, value) in fields {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_keep_their_order_and_refuse_a_key_twice() {
        let value = obj! { "b": true, "a": Json::Null, ("c".to_owned() + ".$"): vec![Json::from("x")] };
        assert_eq!(serde_json::to_string(&value).unwrap(), r#"{"b":true,"a":null,"c.$":["x"]}"#);
        assert!(serde_json::to_string(&obj! { "a": true, "a": false }).is_err());
    }
}
