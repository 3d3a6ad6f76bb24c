//! Bounded error trailers: a status's message and details never exceed safe sizes on the wire.
//!
//! A handler that puts a client's input into its error (a 4 MiB id echoed in `grpc-message` and
//! in ErrorInfo metadata, say) would send megabytes of trailers: grpc C-core clients refuse
//! trailers over 16 KiB (their calls fail RESOURCE_EXHAUSTED instead of with the real status), and
//! a proxy's shared connection to us can break. So every response's `grpc-message` is cut to
//! [`MAX_MESSAGE`] bytes, with a marker that it was cut, and a `grpc-status-details-bin` larger
//! than [`MAX_DETAILS`] (which cannot be cut without breaking its protobuf) is dropped, saying so
//! in the message. The status code always goes through.

use http::{HeaderMap, HeaderValue};

use crate::middleware::status::{GRPC_MESSAGE, GRPC_STATUS_DETAILS};

/// The most bytes of `grpc-message` (percent-encoded) a response carries.
pub(crate) const MAX_MESSAGE: usize = 1024;
/// The most bytes of `grpc-status-details-bin` (base64) a response carries.
pub(crate) const MAX_DETAILS: usize = 8 * 1024;

const CUT: &str = "%E2%80%A6%20(cut%20by%20the%20server)";
const DETAILS_DROPPED: &str = "%20(details%20dropped%20by%20the%20server:%20too%20large)";

/// Bounds the status headers in `headers` (trailers, or the headers of a trailers-only answer).
pub(crate) fn bound(headers: &mut HeaderMap) {
    // Every response passes here twice. Its few values are read in one walk for less than
    // the two lookups by name would cost (both names are hashed byte by byte); only a value
    // over the smaller bound sends it on to them.
    if headers.values().all(|v| v.len() <= MAX_MESSAGE) {
        return;
    }
    let details_too_large = headers
        .get(&GRPC_STATUS_DETAILS)
        .is_some_and(|v| v.len() > MAX_DETAILS);
    let message_too_long = headers
        .get(&GRPC_MESSAGE)
        .is_some_and(|v| v.len() > MAX_MESSAGE);
    if !details_too_large && !message_too_long {
        return;
    }
    let mut message = headers
        .get(&GRPC_MESSAGE)
        .map(|v| v.as_bytes().to_vec())
        .unwrap_or_default();
    if message_too_long {
        message.truncate(cut_point(&message, MAX_MESSAGE));
        message.extend_from_slice(CUT.as_bytes());
    }
    if details_too_large {
        headers.remove(&GRPC_STATUS_DETAILS);
        message.extend_from_slice(DETAILS_DROPPED.as_bytes());
    }
    // Percent-encoded ASCII cut at an escape's boundary stays a valid header value.
    if let Ok(value) = HeaderValue::from_bytes(&message) {
        headers.insert(GRPC_MESSAGE.clone(), value);
    } else {
        headers.remove(&GRPC_MESSAGE);
    }
}

/// The largest length at most `max` that does not split a `%XX` escape.
fn cut_point(message: &[u8], max: usize) -> usize {
    let mut end = max.min(message.len());
    for back in 1..=2 {
        if end >= back && message[end - back] == b'%' {
            end -= back;
            break;
        }
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_cut_and_large_details_dropped() {
        let mut headers = HeaderMap::new();
        headers.insert("grpc-status", HeaderValue::from_static("5"));
        let long = format!("user%20{}%20not%20found", "x".repeat(5000));
        headers.insert("grpc-message", HeaderValue::from_str(&long).unwrap());
        headers.insert(
            "grpc-status-details-bin",
            HeaderValue::from_str(&"A".repeat(20_000)).unwrap(),
        );
        bound(&mut headers);
        let message = headers.get("grpc-message").unwrap().to_str().unwrap();
        assert!(message.len() < MAX_MESSAGE + 200, "{}", message.len());
        assert!(message.ends_with(DETAILS_DROPPED), "{message}");
        assert!(message.contains("(cut%20by%20the%20server)"), "{message}");
        assert!(headers.get("grpc-status-details-bin").is_none());
        assert_eq!(headers.get("grpc-status").unwrap(), "5");
    }

    #[test]
    fn a_cut_never_splits_an_escape() {
        let message = b"ab%20cd";
        assert_eq!(cut_point(message, 3), 2);
        assert_eq!(cut_point(message, 4), 2);
        assert_eq!(cut_point(message, 5), 5);
    }

    #[test]
    fn details_between_the_bounds_are_kept() {
        let mut headers = HeaderMap::new();
        let details = "A".repeat(MAX_MESSAGE + 100);
        headers.insert("grpc-message", HeaderValue::from_static("not%20found"));
        headers.insert(
            "grpc-status-details-bin",
            HeaderValue::from_str(&details).unwrap(),
        );
        headers.insert(
            "x-long",
            HeaderValue::from_str(&"b".repeat(MAX_DETAILS + 1)).unwrap(),
        );
        bound(&mut headers);
        assert_eq!(headers.get("grpc-message").unwrap(), "not%20found");
        assert_eq!(headers.get("grpc-status-details-bin").unwrap(), &details);
        assert_eq!(headers.get("x-long").unwrap().len(), MAX_DETAILS + 1);
    }

    #[test]
    fn small_statuses_are_left_alone() {
        let mut headers = HeaderMap::new();
        headers.insert("grpc-message", HeaderValue::from_static("not%20found"));
        bound(&mut headers);
        assert_eq!(headers.get("grpc-message").unwrap(), "not%20found");
    }
}
