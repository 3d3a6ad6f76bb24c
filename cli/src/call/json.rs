//! The proto3 JSON mapping of `bia call`, both ways, by prost-reflect, with the HTTP gateway's
//! options (`bia::gateway::json`), so a message reads and prints the same in both.

use std::io::Write;

use prost_reflect::{
    DeserializeOptions, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, SerializeOptions,
};
use serde_path_to_error::{Segment, Track};

use super::error::{CallError, Result};

/// How replies are written: the HTTP gateway's mapping (lowerCamelCase names, 64-bit integers
/// as strings, enums by name); fields at their default value are left out unless
/// `emit_defaults`.
pub(crate) fn serialize_options(emit_defaults: bool) -> SerializeOptions {
    bia::gateway::json::SERIALIZE.skip_default_fields(!emit_defaults)
}

/// How requests are read: the HTTP gateway's mapping (either field name form, enums by name or
/// number, unknown fields refused: a typo must not silently send an empty field).
pub(crate) fn deserialize_options() -> DeserializeOptions {
    bia::gateway::json::DESERIALIZE
}

/// `value` as a message of type `desc`; a mismatch names the field (`user.id`), what it holds
/// and what the field expects.
pub(crate) fn to_message(
    desc: &MessageDescriptor,
    value: serde_json::Value,
) -> Result<DynamicMessage, String> {
    let mut track = Track::new();
    let deserializer = serde_path_to_error::Deserializer::new(value, &mut track);
    DynamicMessage::deserialize_with_options(desc.clone(), deserializer, &deserialize_options())
        .map_err(|err| {
            let path = track.path();
            let mut text = err.to_string();
            let unknown = text.starts_with("unrecognized field name");
            let place = path.to_string();
            if place != "." && !place.is_empty() {
                text = format!("field `{place}`: {text}");
            }
            let place_found = walk(desc, &path);
            if let Some((_, Some(field))) = &place_found
                && !unknown
            {
                text.push_str(&format!(
                    " (`{}` is {} and takes {})",
                    field.json_name(),
                    kind_label(field),
                    expected(field)
                ));
            }
            if unknown && let Some((message, _)) = place_found {
                let names: Vec<String> =
                    message.fields().map(|f| f.json_name().to_owned()).collect();
                text.push_str(&format!(
                    "; {} has the fields: {}",
                    message.full_name(),
                    names.join(", ")
                ));
            }
            text
        })
}

/// Where `path` leads from `desc`: the message it is in, and the field whose value it names
/// (none when it ends on a map key or at the top).
fn walk(
    desc: &MessageDescriptor,
    path: &serde_path_to_error::Path,
) -> Option<(MessageDescriptor, Option<FieldDescriptor>)> {
    let mut message = desc.clone();
    let mut field: Option<FieldDescriptor> = None;
    for segment in path.iter() {
        match segment {
            // A list's index stays on the same field; a map's key keeps the map's value type.
            Segment::Seq { .. } => {}
            Segment::Map { .. } if field.as_ref().is_some_and(|f| f.is_map()) => {
                let entry = field.take().expect("checked above");
                let Kind::Message(entry) = entry.kind() else {
                    return None;
                };
                field = Some(entry.map_entry_value_field());
            }
            Segment::Map { key } => {
                if let Some(parent) = &field {
                    message = match parent.kind() {
                        Kind::Message(m) => m,
                        _ => return None,
                    };
                }
                field = Some(
                    message
                        .get_field_by_json_name(key)
                        .or_else(|| message.get_field_by_name(key))?,
                );
            }
            _ => return None,
        }
    }
    // A path ending on a message-typed field is inside that message.
    if let Some(Kind::Message(inner)) = field.as_ref().filter(|f| !f.is_map()).map(|f| f.kind()) {
        return Some((inner, None));
    }
    Some((message, field))
}

/// The field's proto type, as a .proto file writes it.
fn kind_label(field: &FieldDescriptor) -> String {
    let name = match field.kind() {
        Kind::Message(m) => m.full_name().to_owned(),
        Kind::Enum(e) => e.full_name().to_owned(),
        other => format!("{other:?}").to_ascii_lowercase(),
    };
    if field.is_list() {
        format!("repeated {name}")
    } else {
        name
    }
}

/// What JSON a field takes, for messages about a value it could not read.
fn expected(field: &FieldDescriptor) -> String {
    let one = match field.kind() {
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => "a 32-bit integer".to_owned(),
        Kind::Uint32 | Kind::Fixed32 => "an unsigned 32-bit integer".to_owned(),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
            "a 64-bit integer (a number or a decimal string)".to_owned()
        }
        Kind::Uint64 | Kind::Fixed64 => {
            "an unsigned 64-bit integer (a number or a decimal string)".to_owned()
        }
        Kind::Float | Kind::Double => "a number".to_owned(),
        Kind::Bool => "true or false".to_owned(),
        Kind::String => "a string".to_owned(),
        Kind::Bytes => "a base64 string".to_owned(),
        Kind::Enum(e) => {
            let names: Vec<String> = e.values().map(|v| v.name().to_owned()).collect();
            format!("one of {} (or its number)", names.join(", "))
        }
        Kind::Message(m) => format!("a {} object", m.full_name()),
    };
    if field.is_list() {
        format!("a list of {one}")
    } else {
        one
    }
}
/// Writes `message` as pretty JSON and a newline, flushed so streams show each reply as it
/// arrives.
pub(crate) fn print(message: &DynamicMessage, options: &SerializeOptions) -> Result<()> {
    let mut text = Vec::with_capacity(256);
    let mut serializer = serde_json::Serializer::pretty(&mut text);
    message
        .serialize_with_options(&mut serializer, options)
        .map_err(|e| {
            CallError::Descriptor(format!(
                "cannot write a {} as JSON: {e}",
                prost_reflect::ReflectMessage::descriptor(message).full_name()
            ))
        })?;
    text.push(b'\n');
    let mut out = std::io::stdout().lock();
    // A closed pipe (`| head`) ends the output; it is not an error of the call.
    let _ = out.write_all(&text).and_then(|()| out.flush());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_reflect::DescriptorPool;

    fn pool() -> DescriptorPool {
        let fds = protox::compile(["test.proto"], ["src/call/testdata"]).unwrap();
        DescriptorPool::from_file_descriptor_set(fds).unwrap()
    }

    fn parse(json: &str) -> Result<DynamicMessage, String> {
        let desc = pool().get_message_by_name("test.v1.Outer").unwrap();
        to_message(&desc, serde_json::from_str(json).unwrap())
    }

    #[test]
    fn a_wrong_type_names_the_nested_field_and_the_expected_type() {
        let err = parse(r#"{"inner": {"count": "many"}}"#).unwrap_err();
        assert!(err.starts_with("field `inner.count`:"), "{err}");
        assert!(
            err.contains("(`count` is uint32 and takes an unsigned 32-bit integer)"),
            "{err}"
        );
        let err = parse(r#"{"items": [{"count": 1}, {"count": true}]}"#).unwrap_err();
        assert!(err.starts_with("field `items[1].count`:"), "{err}");
    }

    #[test]
    fn an_unknown_field_lists_the_fields_that_exist() {
        let err = parse(r#"{"inner": {"cuont": 1}}"#).unwrap_err();
        assert!(err.contains("unrecognized field name 'cuont'"), "{err}");
        assert!(
            err.contains("test.v1.Inner has the fields: count, label, bigNumber"),
            "{err}"
        );
        let err = parse(r#"{"nope": 1}"#).unwrap_err();
        assert!(
            err.contains("test.v1.Outer has the fields: inner, items"),
            "{err}"
        );
    }

    #[test]
    fn both_name_forms_are_read_and_camel_case_is_written() {
        let message =
            parse(r#"{"inner": {"count": 3, "big_number": "7"}, "items": [{"bigNumber": 8}]}"#)
                .unwrap();
        let mut out = Vec::new();
        message
            .serialize_with_options(
                &mut serde_json::Serializer::new(&mut out),
                &serialize_options(false),
            )
            .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"inner":{"count":3,"bigNumber":"7"},"items":[{"bigNumber":"8"}]}"#
        );
    }
}
