//! The bridge: the one way every gateway protocol (REST, Connect, gRPC-Web) calls a method.
//!
//! A protocol decodes its request into encoded protobuf messages and hands them to
//! [`Bridge::call`] with the request's metadata. The bridge makes a real gRPC request of them
//! (`POST /pkg.Service/Method`, `content-type: application/grpc`, `te: trailers`,
//! length-prefixed messages, the metadata headers, `grpc-timeout` when the protocol gave a
//! deadline) and sends it through the server's whole stack, the same service the gRPC port calls:
//! call info, the drain cut, recovery, trace, metrics, access log, deadline, limit, auth, the
//! user's layers and the handler. So a gateway call has the same span, the same `rpc_method`
//! label, the same deadline and the same auth as a gRPC call, because it *is* one.
//!
//! The answer is a [`BridgeResponse`]: the response metadata, then a stream of
//! [`ResponseEvent`]s, the encoded response messages and last the final status (from the
//! trailers, or from the headers of a trailers-only response) with the trailing metadata.
//!
//! ```text
//! protocol request -> BridgeRequest -> Bridge::call -> [server stack -> handler]
//!                  <- BridgeResponse { metadata, messages: Message* End(status) }
//! ```
//!
//! The stack is type-erased once per server ([`Bridge::new`]); each call clones the boxed
//! service (as tower requires to call a shared service) and boxes its future.

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use futures_util::Stream;
use futures_util::stream::BoxStream;
use http::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, TE};
use http::uri::{Authority, PathAndQuery};
use http_body::{Body, Frame, SizeHint};
use tonic::body::Body as GrpcBody;
use tonic::metadata::MetadataMap;
use tower::ServiceExt;

use crate::polled::PolledFrame;
use crate::server::BoxGrpcService;

const GRPC_CONTENT_TYPE: HeaderValue = HeaderValue::from_static("application/grpc");
const TRAILERS: HeaderValue = HeaderValue::from_static("trailers");
const GRPC_TIMEOUT: HeaderName = HeaderName::from_static("grpc-timeout");

/// Request headers that belong to the HTTP hop or to the protocol, not to the call's metadata:
/// the bridge drops them and sets its own.
const NOT_METADATA: [&str; 16] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
    "host",
    "content-type",
    "content-length",
    "content-encoding",
    "accept-encoding",
    "grpc-timeout",
    "grpc-encoding",
    "grpc-accept-encoding",
    "grpc-status",
    "grpc-message",
];

/// Response headers that are gRPC's own, not metadata the handler set.
const NOT_RESPONSE_METADATA: [&str; 7] = [
    "content-type",
    "content-length",
    "grpc-status",
    "grpc-message",
    "grpc-status-details-bin",
    "grpc-encoding",
    "grpc-accept-encoding",
];

/// Calls methods through the server's whole stack; cheap to clone (one boxed service).
#[derive(Clone)]
pub(crate) struct Bridge {
    service: BoxGrpcService,
}

impl std::fmt::Debug for Bridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bridge")
    }
}

/// One call for [`Bridge::call`]: which method, the request's metadata and its messages.
#[derive(Debug)]
pub(crate) struct BridgeRequest {
    /// `/package.Service/Method`. The server's call info looks the method up by it, so an
    /// unknown path is counted as `_OTHER` and answered `UNIMPLEMENTED` by the router.
    pub(crate) path: PathAndQuery,
    /// The call's metadata, usually the protocol request's headers as they came: the bridge
    /// drops the hop-by-hop and protocol headers ([`NOT_METADATA`]) and keeps the rest
    /// (`authorization`, `traceparent`, custom `x-…` headers, `…-bin` headers).
    pub(crate) metadata: HeaderMap,
    /// The protocol request's extensions (the connection's addresses, for call info and
    /// `tonic::Request::remote_addr`).
    pub(crate) extensions: http::Extensions,
    /// The deadline the protocol's client asked for; sent as `grpc-timeout` (the server's
    /// deadline layer still caps it).
    pub(crate) timeout: Option<Duration>,
    /// The `:authority` (or `Host`) the client addressed, for the span's `server.address`.
    pub(crate) authority: Option<Authority>,
    /// The encoded request messages.
    pub(crate) messages: RequestMessages,
}

impl BridgeRequest {
    /// A call of `path` with one message and nothing else; set the other fields as needed.
    pub(crate) fn new(path: PathAndQuery, messages: RequestMessages) -> Self {
        Self {
            path,
            metadata: HeaderMap::new(),
            extensions: http::Extensions::new(),
            timeout: None,
            authority: None,
            messages,
        }
    }
}

/// The encoded protobuf messages a call sends.
pub(crate) enum RequestMessages {
    /// Exactly one message: unary and server-streaming calls.
    One(Bytes),
    /// Any number of messages, for client and bidi streaming; an `Err` ends the request stream
    /// abruptly (the handler sees a broken stream and the call fails).
    Stream(BoxStream<'static, Result<Bytes, tonic::Status>>),
    /// No message: the protocol could not make one of what the client sent (bad JSON, an
    /// unknown field, a body over the limit). The call still goes through the whole stack,
    /// with a request body that fails with this status before its first message, so it is
    /// authenticated, traced, logged and counted under its method like any call; tonic's
    /// handler code answers it with this status without calling the user's handler.
    Refused(tonic::Status),
}

impl std::fmt::Debug for RequestMessages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RequestMessages::One(message) => f.debug_tuple("One").field(&message.len()).finish(),
            RequestMessages::Stream(_) => f.write_str("Stream"),
            RequestMessages::Refused(status) => f.debug_tuple("Refused").field(status).finish(),
        }
    }
}

/// The answer to a [`BridgeRequest`].
#[derive(Debug)]
pub(crate) struct BridgeResponse {
    /// The response headers the handler (or a layer) set, without gRPC's own
    /// ([`NOT_RESPONSE_METADATA`]). Empty for a trailers-only answer, whose metadata is in the
    /// final status.
    pub(crate) metadata: HeaderMap,
    /// The response messages, then the final status.
    pub(crate) messages: ResponseMessages,
}

/// What a call's response yields, in order: any number of messages, then exactly one end.
#[derive(Debug)]
pub(crate) enum ResponseEvent {
    /// One encoded response message.
    Message(Bytes),
    /// The final status (`Code::Ok` for success), carrying the trailing metadata in
    /// [`tonic::Status::metadata`] and the encoded `google.rpc.Status` from
    /// `grpc-status-details-bin` in [`tonic::Status::details`].
    End(tonic::Status),
}

/// The one answer of a unary call, from [`BridgeResponse::into_unary`].
#[derive(Debug)]
pub(crate) struct UnaryResponse {
    /// As [`BridgeResponse::metadata`].
    pub(crate) metadata: HeaderMap,
    /// The encoded response message.
    pub(crate) message: Bytes,
    /// The trailing metadata.
    pub(crate) trailers: MetadataMap,
}

impl Bridge {
    /// A bridge into `service`, the server's whole stack (see `server::grpc`).
    pub(crate) fn new(service: BoxGrpcService) -> Self {
        Self { service }
    }

    /// The server's whole stack, for a protocol that speaks HTTP to it (gRPC-Web).
    pub(crate) fn service(&self) -> &BoxGrpcService {
        &self.service
    }

    /// Makes the call and waits for the response headers. Never fails by itself: whatever goes
    /// wrong ends the [`ResponseMessages`] with a status.
    pub(crate) async fn call(&self, request: BridgeRequest) -> BridgeResponse {
        let request = grpc_request(request);
        // The stack's error type is `Infallible`: a layer's error is already a status.
        let response = match self.service.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
        BridgeResponse::from_http(response)
    }
}

/// The gRPC request a [`BridgeRequest`] stands for.
fn grpc_request(request: BridgeRequest) -> http::Request<GrpcBody> {
    let BridgeRequest {
        path,
        mut metadata,
        extensions,
        timeout,
        authority,
        messages,
    } = request;
    for name in NOT_METADATA {
        metadata.remove(name);
    }
    metadata.insert(CONTENT_TYPE, GRPC_CONTENT_TYPE);
    metadata.insert(TE, TRAILERS);
    if let Some(timeout) = timeout {
        metadata.insert(GRPC_TIMEOUT, grpc_timeout(timeout));
    }
    let mut uri = http::uri::Parts::default();
    if let Some(authority) = authority {
        uri.scheme = Some(http::uri::Scheme::HTTP);
        uri.authority = Some(authority);
    }
    uri.path_and_query = Some(path);
    let mut out = http::Request::new(GrpcBody::new(MessageBody::new(messages)));
    *out.method_mut() = http::Method::POST;
    *out.version_mut() = http::Version::HTTP_2;
    // Parts with a path and either both or neither of scheme and authority always make a URI.
    *out.uri_mut() = http::Uri::from_parts(uri).unwrap_or_default();
    *out.headers_mut() = metadata;
    *out.extensions_mut() = extensions;
    out
}

/// `timeout` as a `grpc-timeout` value: at most 8 digits, in the finest unit that fits.
fn grpc_timeout(timeout: Duration) -> HeaderValue {
    const MAX: u128 = 99_999_999;
    let (value, unit) = [
        (timeout.as_nanos(), 'n'),
        (timeout.as_micros(), 'u'),
        (timeout.as_millis(), 'm'),
        (u128::from(timeout.as_secs()), 'S'),
        (u128::from(timeout.as_secs() / 60), 'M'),
    ]
    .into_iter()
    .find(|(value, _)| *value <= MAX)
    .unwrap_or((u128::from(timeout.as_secs() / 3600).min(MAX), 'H'));
    let mut text = value.to_string();
    text.push(unit);
    // Digits and a letter are always a valid header value.
    HeaderValue::try_from(text).unwrap_or(HeaderValue::from_static("1H"))
}

/// Whether `name` is HTTP's or gRPC's rather than the call's metadata.
pub(crate) fn is_reserved_response_header(name: &HeaderName) -> bool {
    NOT_RESPONSE_METADATA.contains(&name.as_str())
}

impl BridgeResponse {
    fn from_http(response: http::Response<GrpcBody>) -> Self {
        let (parts, body) = response.into_parts();
        if parts.status != http::StatusCode::OK {
            // Bia's own stack always answers 200; anything else is a broken layer.
            let status = tonic::Status::unknown(format!(
                "the server answered HTTP {} instead of a gRPC response",
                parts.status
            ));
            return Self::ended(status);
        }
        // A trailers-only response: the status is in the headers and the body is empty.
        if let Some(status) = tonic::Status::from_header_map(&parts.headers) {
            return Self::ended(status);
        }
        let mut metadata = parts.headers;
        for name in NOT_RESPONSE_METADATA {
            metadata.remove(name);
        }
        Self {
            metadata,
            messages: ResponseMessages {
                state: State::Body {
                    body,
                    buffer: BytesMut::new(),
                },
            },
        }
    }

    fn ended(status: tonic::Status) -> Self {
        Self {
            metadata: HeaderMap::new(),
            messages: ResponseMessages {
                state: State::End(Some(status)),
            },
        }
    }

    /// Reads the whole answer of a unary call: its message, or the status it failed with. A
    /// successful call without exactly one message is an `INTERNAL` error.
    pub(crate) async fn into_unary(self) -> Result<UnaryResponse, tonic::Status> {
        use futures_util::StreamExt;
        let mut messages = self.messages;
        let mut message = None;
        while let Some(event) = messages.next().await {
            match event {
                ResponseEvent::Message(m) if message.is_none() => message = Some(m),
                ResponseEvent::Message(_) => {
                    return Err(tonic::Status::internal(
                        "the handler of a unary method sent more than one response message",
                    ));
                }
                ResponseEvent::End(status) if status.code() == tonic::Code::Ok => {
                    let message = message.ok_or_else(|| {
                        tonic::Status::internal("the handler answered OK without a message")
                    })?;
                    return Ok(UnaryResponse {
                        metadata: self.metadata,
                        message,
                        trailers: status.metadata().clone(),
                    });
                }
                ResponseEvent::End(status) => return Err(status),
            }
        }
        Err(tonic::Status::internal(
            "the response ended without a status",
        ))
    }
}

/// The messages of a response, then its status: a [`Stream`] of [`ResponseEvent`]s that ends
/// after exactly one [`ResponseEvent::End`].
pub(crate) struct ResponseMessages {
    state: State,
}

enum State {
    Body { body: GrpcBody, buffer: BytesMut },
    End(Option<tonic::Status>),
}

impl std::fmt::Debug for ResponseMessages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResponseMessages")
    }
}

impl Stream for ResponseMessages {
    type Item = ResponseEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ResponseEvent>> {
        loop {
            let (body, buffer) = match &mut self.state {
                State::End(status) => return Poll::Ready(status.take().map(ResponseEvent::End)),
                State::Body { body, buffer } => (body, buffer),
            };
            match next_message(buffer) {
                Ok(Some(message)) => return Poll::Ready(Some(ResponseEvent::Message(message))),
                Ok(None) => {}
                Err(status) => {
                    self.state = State::End(None);
                    return Poll::Ready(Some(ResponseEvent::End(status)));
                }
            }
            let status = match ready!(Pin::new(body).poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(mut data) => {
                        // The common case, one whole message per frame, copies nothing.
                        if buffer.is_empty()
                            && let Some(message) = whole_message(&mut data)
                        {
                            // Whatever follows the message waits in the buffer.
                            buffer.extend_from_slice(&data);
                            return Poll::Ready(Some(ResponseEvent::Message(message)));
                        }
                        buffer.extend_from_slice(&data);
                        continue;
                    }
                    Err(frame) => match frame.into_trailers() {
                        Ok(trailers) => end_status(&trailers, buffer),
                        Err(_) => continue,
                    },
                },
                Some(Err(e)) => tonic::Status::from_error(e.into()),
                None => tonic::Status::internal("the response ended without a gRPC status"),
            };
            self.state = State::End(None);
            return Poll::Ready(Some(ResponseEvent::End(status)));
        }
    }
}

/// The status the trailers carry; a message left half-received is an error of its own.
fn end_status(trailers: &HeaderMap, buffer: &BytesMut) -> tonic::Status {
    if !buffer.is_empty() {
        return tonic::Status::internal("the response ended inside a message");
    }
    tonic::Status::from_header_map(trailers)
        .unwrap_or_else(|| tonic::Status::internal("the response trailers carry no grpc-status"))
}

/// Takes one whole message off the front of `data` when it holds one.
fn whole_message(data: &mut Bytes) -> Option<Bytes> {
    let len = message_len(data)?;
    if data.len() < 5 + len || data[0] != 0 {
        return None;
    }
    data.advance(5);
    Some(data.split_to(len))
}

/// Takes the next whole message out of `buffer`, if it holds one.
fn next_message(buffer: &mut BytesMut) -> Result<Option<Bytes>, tonic::Status> {
    let Some(len) = message_len(buffer) else {
        return Ok(None);
    };
    if buffer[0] != 0 {
        // The bridge asks for no compression (it sends no grpc-accept-encoding).
        return Err(tonic::Status::internal(
            "the handler sent a compressed message the gateway did not ask for",
        ));
    }
    if buffer.len() < 5 + len {
        buffer.reserve(5 + len - buffer.len());
        return Ok(None);
    }
    buffer.advance(5);
    Ok(Some(buffer.split_to(len).freeze()))
}

/// The length a gRPC message prefix declares, once all five bytes are there.
fn message_len(bytes: &[u8]) -> Option<usize> {
    let prefix: [u8; 4] = bytes.get(1..5)?.try_into().ok()?;
    usize::try_from(u32::from_be_bytes(prefix)).ok()
}

/// A request body of length-prefixed messages; the payloads are sent as they are, not copied.
struct MessageBody {
    source: Source,
    /// The payload whose prefix went out last.
    payload: Option<Bytes>,
}

enum Source {
    One(Option<Bytes>),
    Stream(BoxStream<'static, Result<Bytes, tonic::Status>>),
    Refused(Option<tonic::Status>),
}

impl MessageBody {
    fn new(messages: RequestMessages) -> Self {
        let source = match messages {
            RequestMessages::One(message) => Source::One(Some(message)),
            RequestMessages::Stream(stream) => Source::Stream(stream),
            RequestMessages::Refused(status) => Source::Refused(Some(status)),
        };
        Self {
            source,
            payload: None,
        }
    }
}

/// The 5-byte prefix of an uncompressed message of `len` bytes.
fn prefix(len: usize) -> Result<Bytes, tonic::Status> {
    let len = u32::try_from(len)
        .map_err(|_| tonic::Status::resource_exhausted("a request message is larger than 4 GiB"))?;
    let mut prefix = [0u8; 5];
    prefix[1..].copy_from_slice(&len.to_be_bytes());
    Ok(Bytes::copy_from_slice(&prefix))
}

impl Body for MessageBody {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> PolledFrame<Self> {
        if let Some(payload) = self.payload.take() {
            return Poll::Ready(Some(Ok(Frame::data(payload))));
        }
        let message = match &mut self.source {
            Source::One(message) => message.take(),
            Source::Stream(stream) => match ready!(stream.as_mut().poll_next(cx)) {
                Some(Ok(message)) => Some(message),
                Some(Err(status)) => return Poll::Ready(Some(Err(status))),
                None => None,
            },
            Source::Refused(status) => return Poll::Ready(status.take().map(Err)),
        };
        Poll::Ready(message.map(|message| {
            let prefix = prefix(message.len())?;
            if !message.is_empty() {
                self.payload = Some(message);
            }
            Ok(Frame::data(prefix))
        }))
    }

    fn is_end_stream(&self) -> bool {
        self.payload.is_none() && matches!(self.source, Source::One(None))
    }

    fn size_hint(&self) -> SizeHint {
        match (&self.source, &self.payload) {
            (Source::One(message), payload) => {
                let pending = message.as_ref().map_or(0, |m| 5 + m.len() as u64);
                SizeHint::with_exact(pending + payload.as_ref().map_or(0, |p| p.len() as u64))
            }
            (Source::Stream(_) | Source::Refused(_), _) => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_fit_eight_digits_in_the_finest_unit() {
        let cases = [
            (Duration::from_millis(1500), "1500000u"),
            (Duration::from_nanos(42), "42n"),
            (Duration::from_secs(30), "30000000u"),
            (Duration::from_secs(600), "600000m"),
            (Duration::from_secs(200_000), "200000S"),
            (Duration::MAX, "99999999H"),
        ];
        for (timeout, expected) in cases {
            assert_eq!(grpc_timeout(timeout), expected, "{timeout:?}");
            let parsed = crate::middleware::deadline::parse_grpc_timeout(expected.as_bytes());
            assert!(parsed.is_some(), "{expected} must parse");
        }
    }

    #[test]
    fn the_request_is_grpc_and_keeps_only_metadata() {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", HeaderValue::from_static("Bearer t"));
        headers.insert("x-request-id", HeaderValue::from_static("r1"));
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert("connection", HeaderValue::from_static("keep-alive"));
        headers.insert("grpc-status", HeaderValue::from_static("0"));
        let mut request = BridgeRequest::new(
            PathAndQuery::from_static("/echo.v1.Echo/Say"),
            RequestMessages::One(Bytes::from_static(b"\x0a\x01a")),
        );
        request.metadata = headers;
        request.timeout = Some(Duration::from_secs(2));
        request.authority = Some(Authority::from_static("example.test:8080"));
        let request = grpc_request(request);
        assert_eq!(request.method(), http::Method::POST);
        assert_eq!(
            request.uri().to_string(),
            "http://example.test:8080/echo.v1.Echo/Say"
        );
        let headers = request.headers();
        assert_eq!(headers["content-type"], "application/grpc");
        assert_eq!(headers["te"], "trailers");
        assert_eq!(headers["grpc-timeout"], "2000000u");
        assert_eq!(headers["authorization"], "Bearer t");
        assert_eq!(headers["x-request-id"], "r1");
        assert!(headers.get("connection").is_none());
        assert!(headers.get("grpc-status").is_none());
    }

    async fn collect(body: MessageBody) -> Vec<u8> {
        use http_body_util::BodyExt;
        body.collect().await.unwrap().to_bytes().to_vec()
    }

    #[tokio::test]
    async fn request_messages_are_length_prefixed() {
        let one = MessageBody::new(RequestMessages::One(Bytes::from_static(b"abc")));
        assert_eq!(one.size_hint().exact(), Some(8));
        assert_eq!(collect(one).await, b"\0\0\0\0\x03abc");
        let stream = futures_util::stream::iter([
            Ok(Bytes::from_static(b"x")),
            Ok(Bytes::new()),
            Ok(Bytes::from_static(b"yz")),
        ]);
        let many = MessageBody::new(RequestMessages::Stream(Box::pin(stream)));
        assert_eq!(
            collect(many).await,
            b"\0\0\0\0\x01x\0\0\0\0\0\0\0\0\0\x02yz"
        );
    }

    #[tokio::test]
    async fn a_refused_request_fails_before_any_message_and_keeps_its_status() {
        use http_body_util::BodyExt;
        let status = tonic::Status::invalid_argument("no field `titel`");
        let mut body = MessageBody::new(RequestMessages::Refused(status));
        // tonic's Body::new answers an empty body for one that says it has ended.
        assert!(!body.is_end_stream());
        let failed = body.frame().await.expect("a frame").unwrap_err();
        assert_eq!(failed.code(), tonic::Code::InvalidArgument);
        assert_eq!(failed.message(), "no field `titel`");
        assert!(body.frame().await.is_none());
    }

    fn response(chunks: Vec<&'static [u8]>, trailers: Option<HeaderMap>) -> ResponseMessages {
        let frames = chunks
            .into_iter()
            .map(|c| Ok::<_, tonic::Status>(Frame::data(Bytes::from_static(c))))
            .chain(trailers.map(|t| Ok(Frame::trailers(t))));
        let body = http_body_util::StreamBody::new(futures_util::stream::iter(frames));
        let mut http = http::Response::new(GrpcBody::new(body));
        http.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        http.headers_mut()
            .insert("x-handler", HeaderValue::from_static("set"));
        let response = BridgeResponse::from_http(http);
        assert_eq!(response.metadata["x-handler"], "set");
        assert!(response.metadata.get(CONTENT_TYPE).is_none());
        response.messages
    }

    fn ok_trailers() -> HeaderMap {
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static("0"));
        trailers.insert("x-trailer", HeaderValue::from_static("t"));
        trailers
    }

    async fn events(messages: ResponseMessages) -> (Vec<Bytes>, tonic::Status) {
        use futures_util::StreamExt;
        let events: Vec<ResponseEvent> = messages.collect().await;
        let mut out = Vec::new();
        let mut end = None;
        for event in events {
            assert!(end.is_none(), "nothing may follow the end");
            match event {
                ResponseEvent::Message(m) => out.push(m),
                ResponseEvent::End(status) => end = Some(status),
            }
        }
        (out, end.expect("an end"))
    }

    #[tokio::test]
    async fn response_messages_are_split_at_their_prefixes_whatever_the_chunks() {
        let chunks: Vec<&'static [u8]> = vec![b"\0\0\0\0\x02hi\0\0\0", b"\0\x01!\0\0", b"\0\0\0"];
        let (messages, status) = events(response(chunks, Some(ok_trailers()))).await;
        assert_eq!(messages, vec!["hi", "!", ""]);
        assert_eq!(status.code(), tonic::Code::Ok);
        assert_eq!(status.metadata().get("x-trailer").unwrap(), "t");
    }

    #[tokio::test]
    async fn a_response_without_trailers_or_cut_short_is_an_error() {
        let (_, status) = events(response(vec![b"\0\0\0\0\x02h"], Some(ok_trailers()))).await;
        assert_eq!(status.code(), tonic::Code::Internal);
        assert!(status.message().contains("inside a message"));
        let (messages, status) = events(response(vec![b"\0\0\0\0\x01h"], None)).await;
        assert_eq!(messages, vec!["h"]);
        assert_eq!(status.code(), tonic::Code::Internal);
    }

    #[tokio::test]
    async fn a_trailers_only_response_ends_at_once() {
        let mut http = tonic::Status::not_found("no such user").into_http::<GrpcBody>();
        http.headers_mut()
            .insert("x-meta", HeaderValue::from_static("m"));
        let response = BridgeResponse::from_http(http);
        let error = response.into_unary().await.unwrap_err();
        assert_eq!(error.code(), tonic::Code::NotFound);
        assert_eq!(error.message(), "no such user");
        assert_eq!(error.metadata().get("x-meta").unwrap(), "m");
    }

    #[tokio::test]
    async fn a_unary_answer_is_its_one_message() {
        let messages = response(vec![b"\0\0\0\0\x02ok"], Some(ok_trailers()));
        let unary = BridgeResponse {
            metadata: HeaderMap::new(),
            messages,
        }
        .into_unary()
        .await
        .unwrap();
        assert_eq!(unary.message, "ok");
        assert_eq!(unary.trailers.get("x-trailer").unwrap(), "t");
        let two = response(vec![b"\0\0\0\0\x01a\0\0\0\0\x01b"], Some(ok_trailers()));
        let error = BridgeResponse {
            metadata: HeaderMap::new(),
            messages: two,
        }
        .into_unary()
        .await
        .unwrap_err();
        assert_eq!(error.code(), tonic::Code::Internal);
    }
}
