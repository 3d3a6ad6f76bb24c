//! Reading and writing gRPC statuses at the HTTP level, where the layers work.

use http::{HeaderMap, HeaderName};
use tonic::Code;

use crate::headers::header_value;

/// The status carried by `grpc-status` in a header map (response headers of a trailers-only
/// response, or trailers).
pub(crate) fn code_in(headers: &HeaderMap) -> Option<Code> {
    header_value(headers, &GRPC_STATUS).map(|v| Code::from_bytes(v.as_bytes()))
}

/// `grpc-status`, `grpc-message`, `grpc-status-details-bin` and `grpc-timeout`, named once: a
/// lookup by `&str` parses and hashes the name on every call.
pub(crate) static GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");
/// How long a client should wait before retrying (gRFC A6), set on refusals that know it.
pub(crate) static GRPC_RETRY_PUSHBACK: HeaderName =
    HeaderName::from_static("grpc-retry-pushback-ms");
pub(crate) static GRPC_MESSAGE: HeaderName = HeaderName::from_static("grpc-message");
pub(crate) static GRPC_STATUS_DETAILS: HeaderName =
    HeaderName::from_static("grpc-status-details-bin");
pub(crate) static GRPC_TIMEOUT: HeaderName = HeaderName::from_static("grpc-timeout");

/// The canonical name of a status code, as the OpenTelemetry conventions and grpc's docs spell it.
pub fn code_name(code: Code) -> &'static str {
    CODE_NAMES[code_index(code)]
}

/// A dense index of the 17 gRPC codes, for per-code tables.
pub(crate) fn code_index(code: Code) -> usize {
    let n = code as i32;
    if (0..CODE_COUNT as i32).contains(&n) {
        n as usize
    } else {
        Code::Unknown as usize
    }
}

/// How many gRPC codes there are.
pub(crate) const CODE_COUNT: usize = 17;

const CODE_NAMES: [&str; CODE_COUNT] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

/// Trailers that end a stream with `status`.
pub(crate) fn status_trailers(status: &tonic::Status) -> HeaderMap {
    let mut trailers = HeaderMap::with_capacity(2);
    // Adding a status to a map only fails for values that cannot be headers; grpc-message is
    // percent-encoded by tonic, so this cannot happen for our own statuses.
    let _ = status.add_header(&mut trailers);
    trailers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_grpc_spelling() {
        assert_eq!(code_name(Code::Ok), "OK");
        assert_eq!(code_name(Code::DeadlineExceeded), "DEADLINE_EXCEEDED");
        assert_eq!(code_name(Code::Unauthenticated), "UNAUTHENTICATED");
    }

    #[test]
    fn reads_status_from_headers() {
        let mut headers = HeaderMap::new();
        assert_eq!(code_in(&headers), None);
        headers.insert("grpc-status", "5".parse().unwrap());
        assert_eq!(code_in(&headers), Some(Code::NotFound));
        let trailers = status_trailers(&tonic::Status::unavailable("bye"));
        assert_eq!(code_in(&trailers), Some(Code::Unavailable));
    }
}
