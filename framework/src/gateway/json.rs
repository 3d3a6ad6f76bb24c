//! The proto3 JSON mapping, in one place for the REST gateway, Connect and `bia call`.
//!
//! prost-reflect does the mapping from the descriptors: lowerCamelCase field names out and
//! either the JSON or the proto name in, the well-known types in their JSON forms
//! (`Timestamp` as RFC 3339, `Duration` as `"1.5s"`, wrappers as bare values, `Any` with
//! `@type`), enums by name (numbers accepted in), 64-bit integers as strings (numbers accepted
//! in), bytes as base64, and fields that hold their default value left out. Unknown fields are
//! an error, and every error names the field it is about (`user.id: invalid type ...`).
//!
//! ```
//! # fn demo(descriptor: prost_reflect::MessageDescriptor) -> Result<(), bia::gateway::json::JsonError> {
//! let message = bia::gateway::json::from_json(descriptor, br#"{"displayName": "Ada"}"#)?;
//! let json = bia::gateway::json::to_json(&message).expect("no Any of an unknown type");
//! # let _ = json; Ok(()) }
//! ```

use std::fmt;

use prost_reflect::{DeserializeOptions, DynamicMessage, MessageDescriptor, SerializeOptions};

/// How messages are written: the canonical proto3 JSON form.
pub const SERIALIZE: SerializeOptions = SerializeOptions::new()
    .stringify_64_bit_integers(true)
    .use_enum_numbers(false)
    .use_proto_field_name(false)
    .skip_default_fields(true);

/// How messages are read: unknown fields are errors.
pub const DESERIALIZE: DeserializeOptions = DeserializeOptions::new().deny_unknown_fields(true);

/// A JSON document that is not a valid message of its type.
#[derive(Debug)]
pub struct JsonError {
    path: String,
    message: String,
}

impl JsonError {
    /// The path of the field the error is about (`user.id`, `tags[2]`), empty for the
    /// document as a whole.
    pub fn field(&self) -> &str {
        &self.path
    }

    /// What is wrong, without the path.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for JsonError {}

/// Reads a message of type `descriptor` from JSON.
pub fn from_json(descriptor: MessageDescriptor, json: &[u8]) -> Result<DynamicMessage, JsonError> {
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let mut track = serde_path_to_error::Track::new();
    let tracked = serde_path_to_error::Deserializer::new(&mut deserializer, &mut track);
    let message = DynamicMessage::deserialize_with_options(descriptor, tracked, &DESERIALIZE)
        .map_err(|e| {
            let message = e.to_string();
            let mut path = track.path().to_string();
            path = path.trim_start_matches('.').replace('?', "");
            // The path of an unknown field ends at the object that holds it: name the field
            // itself (prost-reflect words it "unrecognized field name 'name'").
            if let Some(name) = message
                .strip_prefix("unrecognized field name '")
                .and_then(|rest| rest.split('\'').next())
            {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(name);
            }
            JsonError { path, message }
        })?;
    deserializer.end().map_err(|e| JsonError {
        path: String::new(),
        message: e.to_string(),
    })?;
    Ok(message)
}

/// Writes `message` as JSON. Fails only for an `Any` whose type the message's pool lacks.
pub fn to_json(message: &DynamicMessage) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(128);
    write_json(message, &mut out)?;
    Ok(out)
}

/// Appends `message` as JSON to `out`; on failure `out` is left as it was.
pub fn write_json(message: &DynamicMessage, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
    let len = out.len();
    let mut serializer = serde_json::Serializer::new(&mut *out);
    let written = message.serialize_with_options(&mut serializer, &SERIALIZE);
    if written.is_err() {
        out.truncate(len);
    }
    written
}

/// `message` as a JSON value.
pub fn to_value(message: &DynamicMessage) -> Result<serde_json::Value, serde_json::Error> {
    message.serialize_with_options(serde_json::value::Serializer, &SERIALIZE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::testing::pool_with_rules;

    fn thing() -> MessageDescriptor {
        pool_with_rules(&[])
            .get_message_by_name("test.v1.Thing")
            .unwrap()
    }

    #[test]
    fn the_proto3_mapping_both_ways() {
        let json = br#"{"id":"1","display_name":"Ada","count":"9007199254740993","color":"RED",
            "created":"2024-01-02T03:04:05Z","labels":["a","b"],"child":{"displayName":"Bob"},
            "on":true,"weight":1.5,"blob":"aGk=","scores":{"x":1},"maybe":0}"#;
        let message = from_json(thing(), json).unwrap();
        let out: serde_json::Value = serde_json::from_slice(&to_json(&message).unwrap()).unwrap();
        assert_eq!(
            out,
            serde_json::json!({"id":"1","displayName":"Ada","count":"9007199254740993",
                "color":"RED","created":"2024-01-02T03:04:05Z","labels":["a","b"],
                "child":{"displayName":"Bob"},"on":true,"weight":1.5,"blob":"aGk=",
                "scores":{"x":1},"maybe":0})
        );
        let defaults = from_json(thing(), br#"{"count":0,"color":0}"#).unwrap();
        assert_eq!(to_json(&defaults).unwrap(), b"{}");
    }

    #[test]
    fn errors_name_the_field() {
        let error = from_json(thing(), br#"{"child":{"count":"x"}}"#).unwrap_err();
        assert_eq!(error.field(), "child.count", "{error}");
        let error = from_json(thing(), br#"{"child":{"nope":1}}"#).unwrap_err();
        assert_eq!(error.field(), "child.nope", "{error}");
        let error = from_json(thing(), br#"{"labels":["a",2]}"#).unwrap_err();
        assert!(error.field().starts_with("labels"), "{error}");
        let error = from_json(thing(), br#"{"id":"1""#).unwrap_err();
        assert!(error.to_string().contains("EOF"), "{error}");
        let error = from_json(thing(), br#"{} x"#).unwrap_err();
        assert!(error.to_string().contains("trailing"), "{error}");
    }
}
