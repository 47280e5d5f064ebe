//! JSON the way ZooKeeper's AdminServer writes it: keys in insertion order (Java's
//! `LinkedHashMap`) and Jackson's default pretty printer (`"key" : value`, objects one
//! entry per line, arrays inline as `[ 1, 2 ]`, empty ones as `[ ]` and `{ }`), so that
//! `curl` output reads like Apache's. Clients parse either way; only the looks differ.
//!
//! Owns: [`Object`] and the formatter. Must not know any command.

use std::io;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::ser::Formatter;
use serde_json::Value;

/// A JSON object that keeps its keys in insertion order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Object(pub Vec<(String, Value)>);

impl Object {
    pub fn new() -> Object {
        Object::default()
    }

    pub fn put(&mut self, key: impl Into<String>, value: impl Into<Value>) -> &mut Object {
        self.0.push((key.into(), value.into()));
        self
    }

    /// The value under `key` (first match).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// As a `serde_json::Value` (keys sorted by serde_json's map; for nesting and tests).
    pub fn into_value(self) -> Value {
        Value::Object(self.0.into_iter().collect())
    }
}

impl Serialize for Object {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// Jackson's `DefaultPrettyPrinter` layout.
#[derive(Default)]
struct JacksonFormatter {
    indent: usize,
    /// One entry per open container: (is_array, has_value).
    stack: Vec<(bool, bool)>,
}

impl JacksonFormatter {
    fn newline<W: ?Sized + io::Write>(&self, w: &mut W) -> io::Result<()> {
        w.write_all(b"\n")?;
        for _ in 0..self.indent {
            w.write_all(b"  ")?;
        }
        Ok(())
    }
}

impl Formatter for JacksonFormatter {
    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.stack.push((true, false));
        w.write_all(b"[")
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.stack.pop();
        w.write_all(b" ]")
    }

    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if let Some(top) = self.stack.last_mut() {
            top.1 = true;
        }
        w.write_all(if first { b" " } else { b", " })
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, _w: &mut W) -> io::Result<()> {
        Ok(())
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.stack.push((false, false));
        self.indent += 1;
        w.write_all(b"{")
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.indent = self.indent.saturating_sub(1);
        let had_values = self.stack.pop().is_some_and(|(_, has)| has);
        if had_values {
            self.newline(w)?;
            w.write_all(b"}")
        } else {
            w.write_all(b" }")
        }
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        if let Some(top) = self.stack.last_mut() {
            top.1 = true;
        }
        if !first {
            w.write_all(b",")?;
        }
        self.newline(w)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        w.write_all(b" : ")
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, _w: &mut W) -> io::Result<()> {
        Ok(())
    }
}

/// Serializes `value` in Jackson's pretty layout.
pub fn to_jackson_string<T: Serialize>(value: &T) -> String {
    let mut out = Vec::with_capacity(256);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, JacksonFormatter::default());
    if value.serialize(&mut ser).is_err() {
        // ZooKeeper's JsonOutputter.ERROR_RESPONSE.
        return r#"{"error": "Exception writing command response to JSON"}"#.into();
    }
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn layout_matches_jacksons_default_pretty_printer() {
        let mut o = Object::new();
        o.put("connections", json!([{"a": 1, "b": "x"}]))
            .put("secure_connections", json!([]))
            .put("ids", json!({"7": [1, 2]}))
            .put("empty", json!({}))
            .put("command", "connections")
            .put("error", Value::Null);
        let want = "{\n  \"connections\" : [ {\n    \"a\" : 1,\n    \"b\" : \"x\"\n  } ],\n  \"secure_connections\" : [ ],\n  \"ids\" : {\n    \"7\" : [ 1, 2 ]\n  },\n  \"empty\" : { },\n  \"command\" : \"connections\",\n  \"error\" : null\n}";
        assert_eq!(to_jackson_string(&o), want);
    }

    #[test]
    fn output_is_json_with_keys_in_insertion_order() {
        let mut o = Object::new();
        o.put("z", 1).put("a", 2.5);
        let text = to_jackson_string(&o);
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, json!({"z": 1, "a": 2.5}));
        assert!(text.find("\"z\"").unwrap() < text.find("\"a\"").unwrap());
    }
}
