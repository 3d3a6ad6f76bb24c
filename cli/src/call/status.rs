//! An error status, readably: its code by name, its message, and the details of
//! `grpc-status-details-bin` (ErrorInfo, BadRequest, RetryInfo, ... and the server's own
//! detail types when the descriptors have them) decoded and written as an indented outline.

use std::fmt::Write as _;

use base64::Engine as _;
use prost_reflect::{DescriptorPool, DynamicMessage, MapKey, ReflectMessage, Value};

use super::json;

/// `status` as printed after `error: `, decoding its details with `pool` and google.rpc's
/// types.
pub(crate) fn render(status: &tonic::Status, pool: Option<&DescriptorPool>) -> String {
    let mut out = format!(
        "{} (code {}): {}",
        code_name(status.code()),
        status.code() as i32,
        status.message()
    );
    if !status.details().is_empty() {
        details(status.details(), &rpc_pool(pool), &mut out);
    }
    out
}

/// The canonical name of `code` (`NOT_FOUND`), as grpc-status documents it.
pub(crate) fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}

/// google.rpc's status and detail types (from tonic-types), with the service's own types.
fn rpc_pool(pool: Option<&DescriptorPool>) -> DescriptorPool {
    let mut rpc = DescriptorPool::decode(tonic_types::pb::FILE_DESCRIPTOR_SET)
        .expect("tonic-types ships a valid descriptor set");
    if let Some(pool) = pool {
        // Files named like google.rpc's are skipped; a clash leaves google.rpc's types alone.
        let mut merged = rpc.clone();
        if merged
            .add_file_descriptor_protos(pool.file_descriptor_protos().cloned())
            .is_ok()
        {
            rpc = merged;
        }
    }
    rpc
}

fn details(bytes: &[u8], pool: &DescriptorPool, out: &mut String) {
    let desc = pool
        .get_message_by_name("google.rpc.Status")
        .expect("the pool has google.rpc.Status");
    let status = match DynamicMessage::decode(desc, bytes) {
        Ok(status) => status,
        Err(e) => {
            let _ = write!(
                out,
                "\n  (grpc-status-details-bin is not a google.rpc.Status: {e})"
            );
            return;
        }
    };
    let Some(list) = status.get_field_by_name("details") else {
        return;
    };
    let Some(items) = list.as_list() else { return };
    for item in items {
        let Some(any) = item.as_message() else {
            continue;
        };
        let type_url = any
            .get_field_by_name("type_url")
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let value = any
            .get_field_by_name("value")
            .and_then(|v| v.as_bytes().cloned())
            .unwrap_or_default();
        let name = type_url.rsplit('/').next().unwrap_or(&type_url);
        let short = name.rsplit('.').next().unwrap_or(name);
        let decoded = pool
            .get_message_by_name(name)
            .and_then(|desc| DynamicMessage::decode(desc, value.as_ref()).ok());
        match decoded {
            Some(detail) => {
                let _ = write!(out, "\n  {short} ({name}):");
                message_outline(&detail, 4, out);
            }
            None => {
                let _ = write!(
                    out,
                    "\n  {type_url}: {} bytes of a type the descriptors do not have",
                    value.len()
                );
            }
        }
    }
}

/// The set fields of `message`, in field order, as `key: value` lines at `indent`.
fn message_outline(message: &DynamicMessage, indent: usize, out: &mut String) {
    for (field, value) in message.fields() {
        if let (Value::EnumNumber(number), prost_reflect::Kind::Enum(kind)) = (value, field.kind())
            && let Some(name) = kind.get_value(*number)
        {
            let _ = write!(
                out,
                "\n{:indent$}{}: {}",
                "",
                field.json_name(),
                name.name()
            );
            continue;
        }
        value_outline(field.json_name(), value, indent, out);
    }
}

/// `key: value` at `indent`, nested messages, lists and maps below it.
fn value_outline(key: &str, value: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Value::Message(message) if !is_well_known(message) => {
            let _ = write!(out, "\n{pad}{key}:");
            message_outline(message, indent + 2, out);
        }
        Value::List(items) => {
            let _ = write!(out, "\n{pad}{key}:");
            for item in items {
                match item {
                    Value::Message(message) if !is_well_known(message) => {
                        let _ = write!(out, "\n{pad}  -");
                        message_outline(message, indent + 4, out);
                    }
                    other => {
                        let _ = write!(out, "\n{pad}  - {}", scalar(other));
                    }
                }
            }
        }
        Value::Map(entries) => {
            let _ = write!(out, "\n{pad}{key}:");
            let mut entries: Vec<_> = entries.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            for (key, value) in entries {
                value_outline(&map_key(key), value, indent + 2, out);
            }
        }
        other => {
            let _ = write!(out, "\n{pad}{key}: {}", scalar(other));
        }
    }
}

fn is_well_known(message: &DynamicMessage) -> bool {
    message
        .descriptor()
        .full_name()
        .starts_with("google.protobuf.")
}

fn map_key(key: &MapKey) -> String {
    match key {
        MapKey::String(text) => text.clone(),
        MapKey::Bool(b) => b.to_string(),
        MapKey::I32(n) => n.to_string(),
        MapKey::I64(n) => n.to_string(),
        MapKey::U32(n) => n.to_string(),
        MapKey::U64(n) => n.to_string(),
    }
}

/// A value on one line: well-known types (RetryInfo's `retryDelay`) in their JSON form.
fn scalar(value: &Value) -> String {
    match value {
        Value::String(text) if !text.is_empty() => text.clone(),
        Value::String(_) => "\"\"".to_owned(),
        Value::Message(message) => message
            .serialize_with_options(
                serde_json::value::Serializer,
                &json::serialize_options(false),
            )
            .map(|json| match json {
                serde_json::Value::String(text) => text,
                other => other.to_string(),
            })
            .unwrap_or_else(|e| format!("({e})")),
        Value::Bytes(bytes) => base64::engine::general_purpose::STANDARD.encode(bytes),
        Value::Bool(b) => b.to_string(),
        Value::I32(n) | Value::EnumNumber(n) => n.to_string(),
        Value::I64(n) => n.to_string(),
        Value::U32(n) => n.to_string(),
        Value::U64(n) => n.to_string(),
        Value::F32(n) => n.to_string(),
        Value::F64(n) => n.to_string(),
        Value::List(_) | Value::Map(_) => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

    #[test]
    fn standard_details_are_written_as_an_outline() {
        let mut details = ErrorDetails::with_error_info(
            "USER_NOT_FOUND",
            "user.v1",
            [("id".to_owned(), "42".to_owned())],
        );
        details.set_bad_request(vec![
            FieldViolation::new("email", "must contain @"),
            FieldViolation::new("name", "must not be empty"),
        ]);
        details.set_retry_info(Some(std::time::Duration::from_millis(1500)));
        let status =
            tonic::Status::with_error_details(tonic::Code::NotFound, "no user 42", details);
        assert_eq!(
            render(&status, None),
            "NOT_FOUND (code 5): no user 42\n  \
               RetryInfo (google.rpc.RetryInfo):\n    \
                 retryDelay: 1.500s\n  \
               ErrorInfo (google.rpc.ErrorInfo):\n    \
                 reason: USER_NOT_FOUND\n    \
                 domain: user.v1\n    \
                 metadata:\n      \
                   id: 42\n  \
               BadRequest (google.rpc.BadRequest):\n    \
                 fieldViolations:\n      \
                   -\n        \
                     field: email\n        \
                     description: must contain @\n      \
                   -\n        \
                     field: name\n        \
                     description: must not be empty"
        );
    }

    #[test]
    fn a_status_without_details_is_one_line() {
        let status = tonic::Status::deadline_exceeded("too slow");
        assert_eq!(
            render(&status, None),
            "DEADLINE_EXCEEDED (code 4): too slow"
        );
    }
}
