//! gRPC statuses as HTTP answers: the status code per `google.rpc.Code`'s own mapping, and a
//! `google.rpc.Status` JSON body with the details decoded.

use bytes::Bytes;
use prost_reflect::{DescriptorPool, DynamicMessage, Value};
use tonic::Code;

use super::dispatch::{GatewayResponse, json_response};

/// The HTTP status for `code`, as `google/rpc/code.proto` maps them.
pub(crate) fn http_status(code: Code) -> http::StatusCode {
    use http::StatusCode as S;
    match code {
        Code::Ok => S::OK,
        // 499 Client Closed Request, as nginx named it; `google.rpc.Code` uses it too.
        Code::Cancelled => S::from_u16(499).unwrap_or(S::BAD_REQUEST),
        Code::Unknown | Code::Internal | Code::DataLoss => S::INTERNAL_SERVER_ERROR,
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => S::BAD_REQUEST,
        Code::DeadlineExceeded => S::GATEWAY_TIMEOUT,
        Code::NotFound => S::NOT_FOUND,
        Code::AlreadyExists | Code::Aborted => S::CONFLICT,
        Code::PermissionDenied => S::FORBIDDEN,
        Code::Unauthenticated => S::UNAUTHORIZED,
        Code::ResourceExhausted => S::TOO_MANY_REQUESTS,
        Code::Unimplemented => S::NOT_IMPLEMENTED,
        Code::Unavailable => S::SERVICE_UNAVAILABLE,
    }
}

/// `status` as `{"code": ..., "message": ..., "details": [...]}`. The details come from the
/// `google.rpc.Status` the handler attached (`grpc-status-details-bin`); those whose type
/// `pool` does not know are left out, since JSON can only show a known type.
pub(crate) fn status_json(status: &tonic::Status, pool: &DescriptorPool) -> serde_json::Value {
    serde_json::json!({
        "code": status.code() as i32,
        "message": status.message(),
        "details": details(status.details(), pool),
    })
}

fn details(encoded: &[u8], pool: &DescriptorPool) -> Vec<serde_json::Value> {
    if encoded.is_empty() {
        return Vec::new();
    }
    let Some(descriptor) = pool.get_message_by_name("google.rpc.Status") else {
        return Vec::new();
    };
    let Ok(status) = DynamicMessage::decode(descriptor, encoded) else {
        return Vec::new();
    };
    let Some(Value::List(details)) = status.get_field_by_name("details").as_deref().cloned() else {
        return Vec::new();
    };
    details
        .iter()
        .filter_map(|any| match any {
            Value::Message(any) if is_known(any, pool) => super::json::to_value(any).ok(),
            _ => None,
        })
        .collect()
}

/// Whether the `Any` `any` holds a type of `pool`.
fn is_known(any: &DynamicMessage, pool: &DescriptorPool) -> bool {
    match any.get_field_by_name("type_url").as_deref() {
        Some(Value::String(url)) => url
            .rsplit('/')
            .next()
            .is_some_and(|name| pool.get_message_by_name(name).is_some()),
        _ => false,
    }
}

/// The whole HTTP answer for a failed call.
pub(crate) fn error_response(status: &tonic::Status, pool: &DescriptorPool) -> GatewayResponse {
    error_response_with(http_status(status.code()), status, pool)
}

/// [`error_response`] with another HTTP status than the code's own.
pub(crate) fn error_response_with(
    http: http::StatusCode,
    status: &tonic::Status,
    pool: &DescriptorPool,
) -> GatewayResponse {
    let body = status_json(status, pool).to_string();
    json_response(http, Bytes::from(body))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_types::{ErrorDetails, StatusExt};

    #[test]
    fn every_code_has_the_google_rpc_status() {
        let expected = [
            (Code::Ok, 200),
            (Code::Cancelled, 499),
            (Code::Unknown, 500),
            (Code::InvalidArgument, 400),
            (Code::DeadlineExceeded, 504),
            (Code::NotFound, 404),
            (Code::AlreadyExists, 409),
            (Code::PermissionDenied, 403),
            (Code::ResourceExhausted, 429),
            (Code::FailedPrecondition, 400),
            (Code::Aborted, 409),
            (Code::OutOfRange, 400),
            (Code::Unimplemented, 501),
            (Code::Internal, 500),
            (Code::Unavailable, 503),
            (Code::DataLoss, 500),
            (Code::Unauthenticated, 401),
        ];
        for (code, http) in expected {
            assert_eq!(http_status(code).as_u16(), http, "{code:?}");
        }
    }

    fn rpc_pool() -> DescriptorPool {
        DescriptorPool::decode(tonic_types::pb::FILE_DESCRIPTOR_SET).unwrap()
    }

    #[test]
    fn details_are_written_in_their_json_form() {
        let details = ErrorDetails::with_error_info(
            "USER_NOT_FOUND",
            "user.example",
            [("id".to_owned(), "7".to_owned())],
        );
        let mut details = details;
        details.add_bad_request_violation("id", "must be a number");
        let status = tonic::Status::with_error_details(Code::NotFound, "no user 7", details);
        let json = status_json(&status, &rpc_pool());
        assert_eq!(
            json,
            serde_json::json!({
                "code": 5,
                "message": "no user 7",
                "details": [
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "USER_NOT_FOUND",
                        "domain": "user.example",
                        "metadata": {"id": "7"}
                    },
                    {
                        "@type": "type.googleapis.com/google.rpc.BadRequest",
                        "fieldViolations": [{"field": "id", "description": "must be a number"}]
                    }
                ]
            })
        );
    }

    #[test]
    fn no_or_unknown_details_leave_an_empty_list() {
        let plain = tonic::Status::internal("boom");
        assert_eq!(
            status_json(&plain, &rpc_pool()),
            serde_json::json!({"code": 13, "message": "boom", "details": []})
        );
        let garbage = tonic::Status::with_details(Code::Internal, "x", Bytes::from_static(b"\xff"));
        assert_eq!(
            status_json(&garbage, &rpc_pool())["details"],
            serde_json::json!([])
        );
    }
}
