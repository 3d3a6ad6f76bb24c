//! Connect's headers to gRPC metadata and back.
//!
//! A request's headers become the call's metadata, less what belongs to HTTP or to Connect
//! itself; `connect-timeout-ms` becomes the call's deadline (sent on as `grpc-timeout`, so the
//! deadline layer applies the same contract to Connect as to gRPC). Unary responses carry the trailers as `trailer-` headers,
//! streams in the end-of-stream message's `metadata`.

use std::time::Duration;

use http::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value};

/// `connect-timeout-ms`.
pub(crate) const TIMEOUT: HeaderName = HeaderName::from_static("connect-timeout-ms");
/// `connect-protocol-version`.
pub(crate) const PROTOCOL_VERSION: HeaderName = HeaderName::from_static("connect-protocol-version");
/// The encoding of a stream's messages.
pub(crate) const STREAM_CONTENT_ENCODING: HeaderName =
    HeaderName::from_static("connect-content-encoding");
/// The encodings a stream's client takes.
pub(crate) const STREAM_ACCEPT_ENCODING: HeaderName =
    HeaderName::from_static("connect-accept-encoding");

/// A request header that is wrong, in the words the client gets back.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum HeaderError {
    #[error(
        "connect-timeout-ms must be a positive number of milliseconds of at most 10 digits, not {0:?}"
    )]
    Timeout(String),
    #[error("connect-protocol-version must be 1, not {0:?}")]
    Version(String),
}

/// Checks `connect-protocol-version` when it is sent (Bia does not require it, as connect-go
/// does not by default: curl users need not know it).
pub(crate) fn check_version(headers: &HeaderMap) -> Result<(), HeaderError> {
    match headers.get(PROTOCOL_VERSION) {
        None => Ok(()),
        Some(v) if v.as_bytes() == b"1" => Ok(()),
        Some(v) => Err(HeaderError::Version(lossy(v))),
    }
}

/// The call's metadata and deadline from a Connect request's headers: Connect's own headers
/// leave (the bridge drops HTTP's), `connect-timeout-ms` becomes the deadline.
pub(crate) fn metadata(
    mut headers: HeaderMap,
) -> Result<(HeaderMap, Option<Duration>), HeaderError> {
    let timeout = headers.remove(TIMEOUT).map(|t| timeout(&t)).transpose()?;
    for name in [
        PROTOCOL_VERSION,
        STREAM_CONTENT_ENCODING,
        STREAM_ACCEPT_ENCODING,
    ] {
        headers.remove(name);
    }
    Ok((headers, timeout))
}

/// `connect-timeout-ms`: a positive integer of at most 10 digits.
fn timeout(value: &HeaderValue) -> Result<Duration, HeaderError> {
    let digits = value.as_bytes();
    if digits.is_empty() || digits.len() > 10 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(HeaderError::Timeout(lossy(value)));
    }
    let ms = digits
        .iter()
        .fold(0u64, |ms, digit| ms * 10 + u64::from(digit - b'0'));
    Ok(Duration::from_millis(ms))
}

/// Whether `name` is gRPC's own, never shown to a Connect client as metadata.
fn is_grpc_reserved(name: &HeaderName) -> bool {
    let name = name.as_str();
    matches!(name, "content-type" | "content-length" | "te" | "trailer")
        || name.starts_with("grpc-")
}

/// A unary response's headers: the call's headers, then its trailers as `trailer-<name>`.
pub(crate) fn unary_headers(out: &mut HeaderMap, headers: &HeaderMap, trailers: &HeaderMap) {
    for (name, value) in headers {
        if !is_grpc_reserved(name) {
            out.append(name.clone(), value.clone());
        }
    }
    for (name, value) in trailers {
        if is_grpc_reserved(name) {
            continue;
        }
        let mut prefixed = String::with_capacity(8 + name.as_str().len());
        prefixed.push_str("trailer-");
        prefixed.push_str(name.as_str());
        if let Ok(name) = HeaderName::try_from(prefixed) {
            out.append(name, value.clone());
        }
    }
}

/// A stream's response headers: the call's headers less gRPC's own.
pub(crate) fn stream_headers(out: &mut HeaderMap, headers: &HeaderMap) {
    for (name, value) in headers {
        if !is_grpc_reserved(name) {
            out.append(name.clone(), value.clone());
        }
    }
}

/// The end-of-stream message's `metadata`: every trailer, by name, with all its values.
pub(crate) fn trailer_json(trailers: &HeaderMap) -> Map<String, Value> {
    let mut out = Map::new();
    for name in trailers.keys() {
        if is_grpc_reserved(name) {
            continue;
        }
        let values = trailers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|v| Value::String(v.to_owned()))
            .collect();
        out.insert(name.as_str().to_owned(), Value::Array(values));
    }
    out
}

fn lossy(value: &HeaderValue) -> String {
    String::from_utf8_lossy(value.as_bytes()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (HeaderName::from_static(k), HeaderValue::from_static(v)))
            .collect()
    }

    #[test]
    fn connect_headers_leave_and_the_timeout_is_the_deadline() {
        let (metadata, timeout) = metadata(map(&[
            ("connect-protocol-version", "1"),
            ("connect-timeout-ms", "1500"),
            ("connect-accept-encoding", "gzip"),
            ("authorization", "Bearer t"),
            ("x-request-id", "r1"),
        ]))
        .unwrap();
        assert_eq!(
            metadata,
            map(&[("authorization", "Bearer t"), ("x-request-id", "r1")])
        );
        assert_eq!(timeout, Some(Duration::from_millis(1500)));
    }

    #[test]
    fn ten_digit_timeouts_fit_and_bad_ones_are_named() {
        let (_, long) = metadata(map(&[("connect-timeout-ms", "9999999999")])).unwrap();
        assert_eq!(long, Some(Duration::from_millis(9_999_999_999)));
        for bad in ["", "-5", "1.5", "12345678901"] {
            let mut headers = HeaderMap::new();
            headers.insert(TIMEOUT, HeaderValue::from_str(bad).unwrap());
            assert_eq!(metadata(headers), Err(HeaderError::Timeout(bad.into())));
        }
    }

    #[test]
    fn the_protocol_version_is_checked_when_sent() {
        assert!(check_version(&HeaderMap::new()).is_ok());
        assert!(check_version(&map(&[("connect-protocol-version", "1")])).is_ok());
        assert_eq!(
            check_version(&map(&[("connect-protocol-version", "2")])),
            Err(HeaderError::Version("2".into()))
        );
    }

    #[test]
    fn unary_trailers_are_prefixed_and_grpc_headers_dropped() {
        let mut out = HeaderMap::new();
        unary_headers(
            &mut out,
            &map(&[("content-type", "application/grpc"), ("x-h", "1")]),
            &map(&[("grpc-status", "0"), ("x-t", "2")]),
        );
        assert_eq!(out, map(&[("x-h", "1"), ("trailer-x-t", "2")]));
    }

    #[test]
    fn stream_trailers_become_json_lists() {
        let mut trailers = map(&[("grpc-status", "5"), ("grpc-message", "gone")]);
        trailers.append("x-t", HeaderValue::from_static("a"));
        trailers.append("x-t", HeaderValue::from_static("b"));
        assert_eq!(
            Value::Object(trailer_json(&trailers)),
            serde_json::json!({"x-t": ["a", "b"]})
        );
    }
}
