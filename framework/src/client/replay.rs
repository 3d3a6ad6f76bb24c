//! Request bodies that can be sent again: what makes transparent retries and retries possible.
//!
//! A unary or server-streaming call's body (one encoded message) is ready at once, so it is
//! buffered and can be replayed; a client-streaming body is not complete when the call starts,
//! so it goes out once and its call is never retried.

use crate::polled::PolledFrame;
use bytes::{Bytes, BytesMut};
use futures_util::FutureExt;
use http_body_util::BodyExt;
use tonic::body::Body as GrpcBody;

/// A request split into its head and a body that may be replayed.
pub(crate) struct Replay {
    parts: http::request::Parts,
    /// The extensions go with the first attempt only: cloning them would copy a map per call,
    /// and nothing below the layer that replays needs them again.
    extensions: Option<http::Extensions>,
    body: ReplayBody,
}

/// What a body had ready at once: nothing, one chunk (kept as is, no copy), or several.
enum Ready {
    Empty,
    One(Bytes),
    Many(BytesMut),
}

impl Ready {
    fn push(&mut self, chunk: Bytes) {
        *self = match std::mem::replace(self, Ready::Empty) {
            Ready::Empty => Ready::One(chunk),
            Ready::One(first) => {
                let mut joined = BytesMut::with_capacity(first.len() + chunk.len());
                joined.extend_from_slice(&first);
                joined.extend_from_slice(&chunk);
                Ready::Many(joined)
            }
            Ready::Many(mut joined) => {
                joined.extend_from_slice(&chunk);
                Ready::Many(joined)
            }
        };
    }

    fn freeze(self) -> Bytes {
        match self {
            Ready::Empty => Bytes::new(),
            Ready::One(bytes) => bytes,
            Ready::Many(joined) => joined.freeze(),
        }
    }
}

enum ReplayBody {
    /// The whole body, ready to send any number of times.
    Buffered(Bytes),
    /// A body still being produced; it can be sent once.
    Streaming(Option<GrpcBody>),
}

impl Replay {
    /// Buffers what the body has ready now; if that is all of it, the request can be replayed.
    pub(crate) fn new(request: http::Request<GrpcBody>) -> Self {
        let (mut parts, mut body) = request.into_parts();
        let extensions = Some(std::mem::take(&mut parts.extensions));
        let mut buffered = Ready::Empty;
        loop {
            if http_body::Body::is_end_stream(&body) {
                return Self {
                    parts,
                    extensions,
                    body: ReplayBody::Buffered(buffered.freeze()),
                };
            }
            match body.frame().now_or_never() {
                Some(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => buffered.push(data),
                    // Request trailers are not part of gRPC: stop buffering, send as is.
                    Err(_) => break,
                },
                Some(None) => {
                    return Self {
                        parts,
                        extensions,
                        body: ReplayBody::Buffered(buffered.freeze()),
                    };
                }
                Some(Some(Err(_))) | None => break,
            }
        }
        let prefix = buffered.freeze();
        let rest = if prefix.is_empty() {
            body
        } else {
            GrpcBody::new(Chain {
                head: Some(prefix),
                tail: body,
            })
        };
        Self {
            parts,
            extensions,
            body: ReplayBody::Streaming(Some(rest)),
        }
    }

    /// Whether [`Replay::request`] can be called again after the first time.
    pub(crate) fn replayable(&self) -> bool {
        matches!(self.body, ReplayBody::Buffered(_))
    }

    /// The request for one attempt; `None` once a streaming body has been sent. Only the first
    /// attempt carries the original request's extensions.
    pub(crate) fn request(&mut self) -> Option<http::Request<GrpcBody>> {
        let body = match &mut self.body {
            ReplayBody::Buffered(bytes) => GrpcBody::new(Resent(Some(bytes.clone()))),
            ReplayBody::Streaming(body) => body.take()?,
        };
        let mut request = http::Request::new(body);
        *request.method_mut() = self.parts.method.clone();
        *request.uri_mut() = self.parts.uri.clone();
        *request.version_mut() = self.parts.version;
        *request.headers_mut() = self.parts.headers.clone();
        if let Some(extensions) = self.extensions.take() {
            *request.extensions_mut() = extensions;
        }
        Some(request)
    }

    /// The request's method path, e.g. `/user.v1.UserService/GetUser`.
    pub(crate) fn path(&self) -> &str {
        self.parts.uri.path()
    }
}

/// A buffered body, sent again. Unlike `Full` it announces no size: hyper would add a
/// `content-length` header for a body of known length, which gRPC does not use (nor does
/// tonic's encoder, whose body this stands for, announce one).
struct Resent(Option<Bytes>);

impl http_body::Body for Resent {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> PolledFrame<Self> {
        std::task::Poll::Ready(self.0.take().map(|data| Ok(http_body::Frame::data(data))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_none()
    }
}

/// The already-read prefix of a body, then the rest of it.
struct Chain {
    head: Option<Bytes>,
    tail: GrpcBody,
}

impl http_body::Body for Chain {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> PolledFrame<Self> {
        if let Some(head) = self.head.take() {
            return std::task::Poll::Ready(Some(Ok(http_body::Frame::data(head))));
        }
        std::pin::Pin::new(&mut self.tail).poll_frame(cx)
    }
}

#[cfg(test)]
mod tests {
    use http_body::Body as _;
    use http_body_util::BodyExt as _;

    use super::*;

    #[tokio::test]
    async fn a_buffered_request_is_sent_again_whole_and_of_no_announced_size() {
        let body = GrpcBody::new(http_body_util::Full::new(Bytes::from_static(
            b"\0\0\0\0\x02hi",
        )));
        let mut request = http::Request::new(body);
        request
            .headers_mut()
            .insert("te", http::HeaderValue::from_static("trailers"));
        let mut replay = Replay::new(request);
        assert!(replay.replayable());
        for attempt in 0..2 {
            let request = replay.request().expect("a buffered request is sent again");
            assert_eq!(request.headers()["te"], "trailers");
            assert_eq!(
                request.body().size_hint().exact(),
                None,
                "attempt {attempt}"
            );
            let sent = request.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(&sent[..], b"\0\0\0\0\x02hi");
        }
    }
}
