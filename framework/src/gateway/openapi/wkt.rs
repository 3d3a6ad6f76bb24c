//! The well-known types, whose proto3 JSON form is not the object their fields would make:
//! they are written inline where they are used, as the JSON a client actually sends and gets.

use serde_json::{Value, json};

/// The JSON schema of the well-known type `full_name`, or `None` for any other message.
/// `google.protobuf.Empty` is absent on purpose: it is the empty object its fields make.
pub(super) fn schema(full_name: &str) -> Option<Value> {
    let schema = match full_name {
        "google.protobuf.Timestamp" => json!({
            "type": "string",
            "format": "date-time",
            "description": "An RFC 3339 time in UTC, e.g. `2024-05-01T12:30:00Z` or `2024-05-01T12:30:00.250Z`.",
        }),
        "google.protobuf.Duration" => json!({
            "type": "string",
            "pattern": r"^-?[0-9]+(\.[0-9]{1,9})?s$",
            "description": "Seconds with up to nine fractional digits and an `s`, e.g. `1.5s` or `300s`.",
        }),
        "google.protobuf.FieldMask" => json!({
            "type": "string",
            "description": "Field paths in lowerCamelCase, separated by commas, e.g. `displayName,address.city`.",
        }),
        "google.protobuf.Struct" => json!({
            "type": "object",
            "additionalProperties": true,
            "description": "Any JSON object.",
        }),
        "google.protobuf.Value" => json!({ "description": "Any JSON value." }),
        "google.protobuf.ListValue" => json!({
            "type": "array",
            "items": {},
            "description": "Any JSON array.",
        }),
        "google.protobuf.Any" => json!({
            "type": "object",
            "properties": {
                "@type": {
                    "type": "string",
                    "description": "The message's type URL, e.g. `type.googleapis.com/google.rpc.ErrorInfo`.",
                },
            },
            "required": ["@type"],
            "additionalProperties": true,
            "description": "A message of any type: its `@type` and its own fields (or `value` for a well-known type).",
        }),
        "google.protobuf.DoubleValue" => number("double"),
        "google.protobuf.FloatValue" => number("float"),
        "google.protobuf.Int64Value" => long("int64"),
        "google.protobuf.UInt64Value" => long("uint64"),
        "google.protobuf.Int32Value" => json!({ "type": "integer", "format": "int32" }),
        "google.protobuf.UInt32Value" => unsigned(),
        "google.protobuf.BoolValue" => json!({ "type": "boolean" }),
        "google.protobuf.StringValue" => json!({ "type": "string" }),
        "google.protobuf.BytesValue" => bytes(),
        _ => return None,
    };
    Some(schema)
}

/// `double` and `float` fields: JSON numbers (the mapping also reads `"NaN"` and `"Infinity"`).
pub(super) fn number(format: &str) -> Value {
    json!({ "type": "number", "format": format })
}

/// 64-bit integers: decimal strings, so that JavaScript's doubles lose no digits.
pub(super) fn long(format: &str) -> Value {
    json!({ "type": "string", "format": format, "pattern": if format == "uint64" { r"^[0-9]+$" } else { r"^-?[0-9]+$" } })
}

/// `uint32` and `fixed32` fields.
pub(super) fn unsigned() -> Value {
    json!({ "type": "integer", "format": "uint32", "minimum": 0, "maximum": u32::MAX })
}

/// `bytes` fields: standard base64 (the mapping also reads the URL-safe alphabet).
pub(super) fn bytes() -> Value {
    json!({ "type": "string", "contentEncoding": "base64", "format": "byte" })
}
