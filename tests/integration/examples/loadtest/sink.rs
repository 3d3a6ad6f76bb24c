//! The harness's OTLP sink: an OTLP/gRPC trace endpoint that answers every export and counts
//! the spans in it, without decoding them into messages.
//!
//! It runs on core 1 beside the load generator. `bia::testing::otlp::Collector` decodes every
//! request into prost structs and keeps them, which is what tests that read spans need; at tens
//! of thousands of spans a second that decoding took core 1's time from the load generator, so
//! the OTLP variant was limited by the harness rather than by the server it measures. Counting
//! walks the encoded bytes instead: a few hundred instructions a span, no allocation.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use h2::server::SendResponse;
use tokio::net::TcpListener;

/// Counts the spans exported to it; cheap to clone.
#[derive(Clone, Default)]
pub(crate) struct Sink {
    spans: Arc<AtomicUsize>,
    malformed: Arc<AtomicUsize>,
}

impl Sink {
    /// Starts the sink on loopback; returns it and its endpoint URL.
    pub(crate) async fn start() -> (Self, String) {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds a loopback port");
        let endpoint = format!(
            "http://{}",
            listener
                .local_addr()
                .expect("a bound listener has an address")
        );
        let sink = Self::default();
        let accepting = sink.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                tokio::spawn(accepting.clone().serve(stream));
            }
        });
        (sink, endpoint)
    }

    /// Spans received so far.
    pub(crate) fn span_count(&self) -> usize {
        self.spans.load(Ordering::Relaxed)
    }

    /// Export requests whose bytes were not a well-formed `ExportTraceServiceRequest`.
    pub(crate) fn malformed(&self) -> usize {
        self.malformed.load(Ordering::Relaxed)
    }

    async fn serve(self, stream: tokio::net::TcpStream) {
        let Ok(mut connection) = h2::server::handshake(stream).await else {
            return;
        };
        while let Some(Ok((request, respond))) = connection.accept().await {
            tokio::spawn(self.clone().export(request.into_body(), respond));
        }
    }

    /// Reads one export call's body, counts its spans and answers OK.
    async fn export(self, mut body: h2::RecvStream, mut respond: SendResponse<Bytes>) {
        let mut received = Vec::new();
        while let Some(chunk) = body.data().await {
            let Ok(chunk) = chunk else { return };
            let _ = body.flow_control().release_capacity(chunk.len());
            received.extend_from_slice(&chunk);
        }
        match grpc_message(&received).and_then(count_spans) {
            Some(spans) => self.spans.fetch_add(spans, Ordering::Relaxed),
            None => self.malformed.fetch_add(1, Ordering::Relaxed),
        };
        let head = http::Response::builder()
            .header("content-type", "application/grpc")
            .body(())
            .expect("a valid response head");
        let Ok(mut send) = respond.send_response(head, false) else {
            return;
        };
        // An empty `ExportTraceServiceResponse`: no partial success to report.
        let _ = send.send_data(Bytes::from_static(&[0, 0, 0, 0, 0]), false);
        let mut trailers = http::HeaderMap::new();
        trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
        let _ = send.send_trailers(trailers);
    }
}

/// The message of a gRPC request body holding one uncompressed message.
fn grpc_message(body: &[u8]) -> Option<&[u8]> {
    let (&compressed, rest) = body.split_first()?;
    let length = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    (compressed == 0).then(|| rest.get(4..4 + length))?
}

/// The spans of an encoded `ExportTraceServiceRequest`: its `resource_spans` (1), their
/// `scope_spans` (2), and those messages' `spans` (2).
fn count_spans(request: &[u8]) -> Option<usize> {
    let mut spans = 0;
    for resource_spans in fields(request, 1) {
        for scope_spans in fields(resource_spans?, 2) {
            for span in fields(scope_spans?, 2) {
                span?;
                spans += 1;
            }
        }
    }
    Some(spans)
}

/// The length-delimited fields numbered `wanted` in one message; an item is `None` where the
/// bytes stop making sense (and nothing follows it).
fn fields(mut message: &[u8], wanted: u64) -> impl Iterator<Item = Option<&[u8]>> {
    std::iter::from_fn(move || {
        while !message.is_empty() {
            let Some(field) = next_field(&mut message) else {
                message = &[];
                return Some(None);
            };
            if let (number, Some(value)) = field
                && number == wanted
            {
                return Some(Some(value));
            }
        }
        None
    })
}

/// Reads one field from the front of `message`: its number, and its bytes if it is
/// length-delimited. `None` for bytes that are not a field.
fn next_field<'a>(message: &mut &'a [u8]) -> Option<(u64, Option<&'a [u8]>)> {
    let key = varint(message)?;
    let value = match key & 7 {
        0 => {
            varint(message)?;
            None
        }
        1 => {
            *message = message.get(8..)?;
            None
        }
        2 => {
            let length = usize::try_from(varint(message)?).ok()?;
            let value = message.get(..length)?;
            *message = &message[length..];
            Some(value)
        }
        5 => {
            *message = message.get(4..)?;
            None
        }
        _ => return None,
    };
    Some((key >> 3, value))
}

fn varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = bytes.split_first()?;
        *bytes = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use bia::testing::otlp::proto::collector::trace::v1::ExportTraceServiceRequest;
    use bia::testing::otlp::proto::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use prost::Message as _;

    use super::*;

    #[test]
    fn counts_the_spans_of_every_scope_of_every_resource() {
        let scope = |n: usize| ScopeSpans {
            spans: (0..n)
                .map(|i| Span {
                    name: format!("span {i}"),
                    start_time_unix_nano: 1,
                    ..Span::default()
                })
                .collect(),
            ..ScopeSpans::default()
        };
        let request = ExportTraceServiceRequest {
            resource_spans: vec![
                ResourceSpans {
                    scope_spans: vec![scope(3), scope(2)],
                    ..ResourceSpans::default()
                },
                ResourceSpans {
                    scope_spans: vec![scope(4)],
                    ..ResourceSpans::default()
                },
            ],
        };
        let message = request.encode_to_vec();
        let mut body = vec![0];
        body.extend_from_slice(&(message.len() as u32).to_be_bytes());
        body.extend_from_slice(&message);
        assert_eq!(grpc_message(&body).and_then(count_spans), Some(9));
        assert_eq!(count_spans(&message[..message.len() - 1]), None);
    }
}
