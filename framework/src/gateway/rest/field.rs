//! Request fields set from text: path variables and query parameters.

use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, Value};

use crate::gateway::rule::is_text_message;

/// The fields a query parameter `key` (`page_size`, `filter.state`, JSON names too) names
/// from `message`, outermost first.
pub(super) fn resolve(
    message: &MessageDescriptor,
    key: &str,
) -> Result<Vec<FieldDescriptor>, String> {
    let mut chain = Vec::new();
    let mut current = message.clone();
    let mut names = key.split('.').peekable();
    while let Some(name) = names.next() {
        let field = current
            .get_field_by_name(name)
            .or_else(|| current.get_field_by_json_name(name))
            .ok_or_else(|| {
                format!(
                    "{} has no field `{name}`",
                    if chain.is_empty() {
                        "the request".to_owned()
                    } else {
                        format!("`{}`", key_prefix(key, chain.len()))
                    }
                )
            })?;
        let last = names.peek().is_none();
        match field.kind() {
            Kind::Message(next) if !last && !field.is_list() && !field.is_map() => {
                current = next;
            }
            _ if !last => {
                return Err(format!(
                    "`{}` is not a singular message, so it has no field `{}`",
                    key_prefix(key, chain.len() + 1),
                    names.peek().copied().unwrap_or_default()
                ));
            }
            _ if field.is_map() => {
                return Err(format!("`{key}` is a map, which a query string cannot set"));
            }
            Kind::Message(leaf) if !is_text_message(&leaf) => {
                return Err(format!(
                    "`{key}` is a {} message; set its fields (`{key}.<field>`) instead",
                    leaf.full_name()
                ));
            }
            _ => {}
        }
        chain.push(field);
    }
    Ok(chain)
}

/// The first `n` names of a dotted key.
fn key_prefix(key: &str, n: usize) -> &str {
    let end = key
        .match_indices('.')
        .nth(n.saturating_sub(1))
        .map_or(key.len(), |(i, _)| i);
    &key[..end]
}

/// Sets the field at the end of `chain` in `message` from `text`; a repeated field gets
/// `text` appended.
pub(super) fn set_from_text(
    message: &mut DynamicMessage,
    chain: &[FieldDescriptor],
    text: &str,
) -> Result<(), String> {
    let Some((leaf, parents)) = chain.split_last() else {
        return Ok(());
    };
    let mut target = message;
    for parent in parents {
        target = match target.get_field_mut(parent) {
            Value::Message(inner) => inner,
            _ => return Err(format!("`{}` is not a message", parent.name())),
        };
    }
    let value = parse(leaf, text)?;
    if leaf.is_list() {
        if let Value::List(list) = target.get_field_mut(leaf) {
            list.push(value);
        }
    } else {
        target.set_field(leaf, value);
    }
    Ok(())
}

/// `text` as a value of `field`'s type: the proto3 JSON forms of scalars, enums by name or
/// number, and the JSON string forms of the well-known types.
fn parse(field: &FieldDescriptor, text: &str) -> Result<Value, String> {
    let bad = |what: &str| format!("`{text}` is not {what}");
    Ok(match field.kind() {
        Kind::String => Value::String(text.to_owned()),
        Kind::Bool => match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err(bad("a boolean (true or false)")),
        },
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
            Value::I32(text.parse().map_err(|_| bad("a 32-bit integer"))?)
        }
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
            Value::I64(text.parse().map_err(|_| bad("a 64-bit integer"))?)
        }
        Kind::Uint32 | Kind::Fixed32 => Value::U32(
            text.parse()
                .map_err(|_| bad("an unsigned 32-bit integer"))?,
        ),
        Kind::Uint64 | Kind::Fixed64 => Value::U64(
            text.parse()
                .map_err(|_| bad("an unsigned 64-bit integer"))?,
        ),
        Kind::Float => Value::F32(parse_float(text).ok_or_else(|| bad("a number"))? as f32),
        Kind::Double => Value::F64(parse_float(text).ok_or_else(|| bad("a number"))?),
        Kind::Enum(enumeration) => match enumeration.get_value_by_name(text) {
            Some(value) => Value::EnumNumber(value.number()),
            None => match text.parse::<i32>() {
                Ok(number) => Value::EnumNumber(number),
                Err(_) => {
                    let names: Vec<String> =
                        enumeration.values().map(|v| v.name().to_owned()).collect();
                    return Err(format!(
                        "`{text}` is not a value of {} (one of {})",
                        enumeration.full_name(),
                        names.join(", ")
                    ));
                }
            },
        },
        Kind::Message(message) if message.full_name() == "google.protobuf.FieldMask" => {
            field_mask(message, text)?
        }
        Kind::Message(message) if message.full_name().ends_with("Value") => {
            // A wrapper: the text is its `value`.
            let inner = message
                .get_field_by_name("value")
                .ok_or_else(|| bad(message.full_name()))?;
            let mut wrapper = DynamicMessage::new(message);
            wrapper.set_field(&inner, parse(&inner, text)?);
            Value::Message(wrapper)
        }
        // Bytes, Timestamp, Duration and FieldMask: their JSON form is this very string.
        Kind::Bytes | Kind::Message(_) => from_json_string(field, text)?,
    })
}

/// A FieldMask from `a.b,c`. Each path may be written with the proto's names
/// (`display_name`), as grpc-gateway reads a query string, or in lowerCamelCase
/// (`displayName`), the proto3 JSON form.
fn field_mask(message: MessageDescriptor, text: &str) -> Result<Value, String> {
    let paths_field = message
        .get_field_by_name("paths")
        .ok_or("google.protobuf.FieldMask has no field `paths`")?;
    let mut paths = Vec::new();
    for path in text.split(',').filter(|path| !path.is_empty()) {
        let plain = path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
        let mixed = path.contains('_') && path.chars().any(|c| c.is_ascii_uppercase());
        if !plain || mixed {
            return Err(format!(
                "`{path}` is not a field mask path: write the fields' proto names \
                 (`display_name`) or their lowerCamelCase JSON names (`displayName`), joined \
                 with `.` for nested fields and `,` between paths"
            ));
        }
        let mut snake = String::with_capacity(path.len() + 4);
        for c in path.chars() {
            if c.is_ascii_uppercase() {
                snake.push('_');
                snake.push(c.to_ascii_lowercase());
            } else {
                snake.push(c);
            }
        }
        paths.push(Value::String(snake));
    }
    let mut mask = DynamicMessage::new(message);
    mask.set_field(&paths_field, Value::List(paths));
    Ok(Value::Message(mask))
}

fn parse_float(text: &str) -> Option<f64> {
    match text {
        "NaN" => Some(f64::NAN),
        "Infinity" => Some(f64::INFINITY),
        "-Infinity" => Some(f64::NEG_INFINITY),
        _ => text.parse().ok(),
    }
}

/// Reads `text` as the JSON string value of `field`, through the JSON mapping.
fn from_json_string(field: &FieldDescriptor, text: &str) -> Result<Value, String> {
    let mut object = serde_json::Map::new();
    object.insert(field.json_name().to_owned(), text.into());
    let json = serde_json::Value::Object(object).to_string();
    let mut message =
        crate::gateway::json::from_json(field.parent_message().clone(), json.as_bytes())
            .map_err(|e| without_position(e.message()))?;
    let value = message
        .take_field(field)
        .unwrap_or_else(|| field.default_value());
    // A repeated field read this way is a list of one.
    Ok(match value {
        Value::List(mut list) if field.is_list() => list.pop().unwrap_or(Value::Bool(false)),
        other => other,
    })
}

/// `message` without serde_json's " at line 1 column 12": the JSON was made here from one
/// value, so the position would only mislead the caller.
fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) if message[at..].contains(" column ") => message[..at].to_owned(),
        _ => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::testing::pool_with_rules;

    fn request() -> MessageDescriptor {
        pool_with_rules(&[])
            .get_message_by_name("test.v1.Request")
            .unwrap()
    }

    fn set(pairs: &[(&str, &str)]) -> Result<serde_json::Value, String> {
        let mut message = DynamicMessage::new(request());
        for (key, text) in pairs {
            let chain = resolve(&request(), key)?;
            set_from_text(&mut message, &chain, text).map_err(|e| format!("{key}: {e}"))?;
        }
        Ok(crate::gateway::json::to_value(&message).unwrap())
    }

    #[test]
    fn every_kind_of_field_from_text() {
        let json = set(&[
            ("id", "7"),
            ("thing.display_name", "Ada Lovelace"),
            ("thing.count", "-9007199254740993"),
            ("thing.color", "GREEN"),
            ("thing.child.color", "1"),
            ("thing.on", "true"),
            ("thing.weight", "2.5"),
            ("thing.blob", "aGk="),
            ("thing.created", "2024-01-02T03:04:05Z"),
            ("thing.labels", "a"),
            ("thing.labels", "b"),
            ("tags", "x"),
            ("thing.maybe", "0"),
        ])
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "id": "7",
                "thing": {
                    "displayName": "Ada Lovelace", "count": "-9007199254740993", "color": "GREEN",
                    "child": {"color": "RED"}, "on": true, "weight": 2.5, "blob": "aGk=",
                    "created": "2024-01-02T03:04:05Z", "labels": ["a", "b"], "maybe": 0
                },
                "tags": ["x"]
            })
        );
        // JSON names work as well as proto names.
        assert_eq!(
            set(&[("thing.displayName", "x")]).unwrap(),
            serde_json::json!({"thing": {"displayName": "x"}})
        );
    }

    #[test]
    fn bad_text_and_unknown_names_say_what_is_wrong() {
        let error = |pairs: &[(&str, &str)]| set(pairs).unwrap_err();
        assert_eq!(error(&[("nope", "1")]), "the request has no field `nope`");
        assert_eq!(error(&[("thing.nope", "1")]), "`thing` has no field `nope`");
        assert!(error(&[("id.x", "1")]).contains("not a singular message"));
        assert!(error(&[("thing.scores", "1")]).contains("is a map"));
        assert!(error(&[("thing", "1")]).contains("set its fields"));
        assert!(error(&[("thing.count", "x")]).contains("`x` is not a 64-bit integer"));
        assert!(error(&[("thing.on", "yes")]).contains("a boolean"));
        assert!(error(&[("thing.color", "BLUE")]).contains("one of COLOR_UNSPECIFIED, RED, GREEN"));
        assert!(error(&[("thing.created", "yesterday")]).contains("thing.created: "));
        assert!(!error(&[("thing.created", "yesterday")]).contains(" at line "));
        assert!(error(&[("update_mask", "display-name")]).contains("not a field mask path"));
        assert!(error(&[("update_mask", "display_Name")]).contains("lowerCamelCase"));
    }

    #[test]
    fn a_field_mask_takes_proto_names_and_json_names() {
        let expected = serde_json::json!({"updateMask": "displayName,thing.createdAt,tags"});
        assert_eq!(
            set(&[("update_mask", "display_name,thing.created_at,tags")]).unwrap(),
            expected
        );
        assert_eq!(
            set(&[("updateMask", "displayName,thing.createdAt,tags")]).unwrap(),
            expected
        );
    }
}
