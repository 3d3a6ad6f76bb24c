//! Connect's error form: the code names, the HTTP status of a unary error, and the error JSON
//! (`{"code", "message", "details": [{"type", "value", "debug"}]}`) built from a gRPC status.
//!
//! The details travel in gRPC as a `google.rpc.Status` in `grpc-status-details-bin`; Connect
//! sends each `Any` as its bare type name and its bytes in unpadded base64, plus (as connect-go
//! does) the detail in JSON under `debug` when it is one of the `google.rpc` error details.

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage};
use serde_json::{Map, Value};
use tonic::Code;

/// Connect's name of a gRPC code (`NOT_FOUND` is `not_found`; `CANCELLED` is `canceled`).
pub(crate) fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "ok",
        Code::Cancelled => "canceled",
        Code::Unknown => "unknown",
        Code::InvalidArgument => "invalid_argument",
        Code::DeadlineExceeded => "deadline_exceeded",
        Code::NotFound => "not_found",
        Code::AlreadyExists => "already_exists",
        Code::PermissionDenied => "permission_denied",
        Code::ResourceExhausted => "resource_exhausted",
        Code::FailedPrecondition => "failed_precondition",
        Code::Aborted => "aborted",
        Code::OutOfRange => "out_of_range",
        Code::Unimplemented => "unimplemented",
        Code::Internal => "internal",
        Code::Unavailable => "unavailable",
        Code::DataLoss => "data_loss",
        Code::Unauthenticated => "unauthenticated",
    }
}

/// The HTTP status of a unary Connect error with `code`. Since the protocol's RFC 003
/// (`canceled` 499, `deadline_exceeded` 504, `failed_precondition` 400, `unimplemented` 501) its
/// table is `google.rpc.Code`'s, which REST uses too.
pub(crate) use crate::gateway::status::http_status;

/// The error JSON of `status`. A status whose details do not decode as a `google.rpc.Status`
/// keeps its code and message and loses only the details.
pub(crate) fn error_json(status: &tonic::Status) -> Value {
    let mut error = Map::with_capacity(3);
    error.insert("code".into(), code_name(status.code()).into());
    if !status.message().is_empty() {
        error.insert("message".into(), status.message().into());
    }
    let details = details(status.details());
    if !details.is_empty() {
        error.insert("details".into(), Value::Array(details));
    }
    Value::Object(error)
}

/// The Connect form of the `Any`s inside an encoded `google.rpc.Status`.
fn details(encoded: &[u8]) -> Vec<Value> {
    if encoded.is_empty() {
        return Vec::new();
    }
    let Ok(rpc_status) = tonic_types::pb::Status::decode(encoded) else {
        return Vec::new();
    };
    rpc_status
        .details
        .iter()
        .map(|any| {
            let name = any.type_url.rsplit('/').next().unwrap_or(&any.type_url);
            let mut detail = Map::with_capacity(3);
            detail.insert("type".into(), name.into());
            detail.insert("value".into(), STANDARD_NO_PAD.encode(&any.value).into());
            if let Some(debug) = debug_json(name, &any.value) {
                detail.insert("debug".into(), debug);
            }
            Value::Object(detail)
        })
        .collect()
}

/// The `google.rpc` error details (ErrorInfo, BadRequest, ...) that `debug` can show as JSON.
static RPC_TYPES: LazyLock<Option<DescriptorPool>> =
    LazyLock::new(|| DescriptorPool::decode(tonic_types::pb::FILE_DESCRIPTOR_SET).ok());

/// A detail in the proto3 JSON form, when its type is one of [`RPC_TYPES`] and it decodes.
fn debug_json(name: &str, value: &[u8]) -> Option<Value> {
    let descriptor = RPC_TYPES.as_ref()?.get_message_by_name(name)?;
    let message = DynamicMessage::decode(descriptor, value).ok()?;
    serde_json::to_value(&message).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_statuses_follow_the_protocol_table() {
        let table = [
            (Code::Cancelled, "canceled", 499),
            (Code::Unknown, "unknown", 500),
            (Code::InvalidArgument, "invalid_argument", 400),
            (Code::DeadlineExceeded, "deadline_exceeded", 504),
            (Code::NotFound, "not_found", 404),
            (Code::AlreadyExists, "already_exists", 409),
            (Code::PermissionDenied, "permission_denied", 403),
            (Code::ResourceExhausted, "resource_exhausted", 429),
            (Code::FailedPrecondition, "failed_precondition", 400),
            (Code::Aborted, "aborted", 409),
            (Code::OutOfRange, "out_of_range", 400),
            (Code::Unimplemented, "unimplemented", 501),
            (Code::Internal, "internal", 500),
            (Code::Unavailable, "unavailable", 503),
            (Code::DataLoss, "data_loss", 500),
            (Code::Unauthenticated, "unauthenticated", 401),
        ];
        for (code, name, status) in table {
            assert_eq!(code_name(code), name);
            assert_eq!(http_status(code).as_u16(), status, "{name}");
        }
    }

    #[test]
    fn a_bia_error_carries_its_error_info_as_a_detail() {
        let status: tonic::Status = crate::Error::not_found("USER_NOT_FOUND", "no user 7")
            .with_metadata("id", "7")
            .into();
        let json = error_json(&status);
        assert_eq!(json["code"], "not_found");
        assert_eq!(json["message"], "no user 7");
        let detail = &json["details"][0];
        assert_eq!(detail["type"], "google.rpc.ErrorInfo");
        assert_eq!(detail["debug"]["reason"], "USER_NOT_FOUND");
        assert_eq!(detail["debug"]["metadata"]["id"], "7");
        let value = STANDARD_NO_PAD
            .decode(detail["value"].as_str().unwrap())
            .unwrap();
        let info = tonic_types::pb::ErrorInfo::decode(value.as_slice()).unwrap();
        assert_eq!(info.reason, "USER_NOT_FOUND");
    }

    #[test]
    fn a_plain_status_has_no_details_and_undecodable_details_are_dropped() {
        let json = error_json(&tonic::Status::unavailable("later"));
        assert_eq!(
            json,
            serde_json::json!({"code": "unavailable", "message": "later"})
        );
        let garbled = tonic::Status::with_details(Code::Internal, "x", vec![0xff, 0xff].into());
        assert!(error_json(&garbled).get("details").is_none());
    }
}
