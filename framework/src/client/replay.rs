//! Request bodies that can be sent again: what makes transparent retries and retries possible.
//!
//! A unary or server-streaming call's body (one encoded message) is ready at once, so it is
//! buffered and can be replayed; a client-streaming body is not complete when the call starts,
//! so it goes out once and its call is never retried.

use bytes::{Bytes, BytesMut};
use futures_util::FutureExt;
use http_body_util::BodyExt;
use tonic::body::Body as GrpcBody;

/// A request split into its head and a body that may be replayed.
pub(crate) struct Replay {
    parts: http::request::Parts,
    body: ReplayBody,
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
        let (parts, mut body) = request.into_parts();
        let mut buffered = BytesMut::new();
        loop {
            if http_body::Body::is_end_stream(&body) {
                return Self {
                    parts,
                    body: ReplayBody::Buffered(buffered.freeze()),
                };
            }
            match body.frame().now_or_never() {
                Some(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => buffered.extend_from_slice(&data),
                    // Request trailers are not part of gRPC: stop buffering, send as is.
                    Err(_) => break,
                },
                Some(None) => {
                    return Self {
                        parts,
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
            body: ReplayBody::Streaming(Some(rest)),
        }
    }

    /// Whether [`Replay::request`] can be called again after the first time.
    pub(crate) fn replayable(&self) -> bool {
        matches!(self.body, ReplayBody::Buffered(_))
    }

    /// The request for one attempt; `None` once a streaming body has been sent.
    pub(crate) fn request(&mut self) -> Option<http::Request<GrpcBody>> {
        let body = match &mut self.body {
            ReplayBody::Buffered(bytes) => GrpcBody::new(http_body_util::Full::new(bytes.clone())),
            ReplayBody::Streaming(body) => body.take()?,
        };
        let mut request = http::Request::new(body);
        *request.method_mut() = self.parts.method.clone();
        *request.uri_mut() = self.parts.uri.clone();
        *request.version_mut() = self.parts.version;
        *request.headers_mut() = self.parts.headers.clone();
        *request.extensions_mut() = self.parts.extensions.clone();
        Some(request)
    }

    /// The request's method path, e.g. `/user.v1.UserService/GetUser`.
    pub(crate) fn path(&self) -> &str {
        self.parts.uri.path()
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
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, tonic::Status>>> {
        if let Some(head) = self.head.take() {
            return std::task::Poll::Ready(Some(Ok(http_body::Frame::data(head))));
        }
        std::pin::Pin::new(&mut self.tail).poll_frame(cx)
    }
}
