//! Access log: one line per call with method, status, duration and peer.
//!
//! Never the payload, never metadata (credentials live there). Successful calls log at `INFO`,
//! failed ones at `WARN`, under the target `bia::access`, so `RUST_LOG=bia::access=off` mutes it.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use pin_project_lite::pin_project;
use tonic::Code;
use tower_layer::Layer;
use tower_service::Service;

use super::body::{CallObserver, ObservedBody, dropped_code};
use super::method::{CallInfo, method_of};
use super::status::code_name;

/// Applies [`AccessLog`].
#[derive(Clone, Copy, Debug, Default)]
pub struct AccessLogLayer;

impl AccessLogLayer {
    /// The access-log layer.
    pub fn new() -> Self {
        Self
    }
}

impl<S> Layer<S> for AccessLogLayer {
    type Service = AccessLog<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AccessLog { inner }
    }
}

/// The access-log middleware; see the [module docs](self).
#[derive(Clone, Debug)]
pub struct AccessLog<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for AccessLog<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<ObservedBody<ResBody, Option<LogLine>>>;
    type Error = S::Error;
    type Future = AccessLogFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        // Failed calls log at WARN, so WARN off means no line at all: then skip the bookkeeping.
        let line =
            tracing::enabled!(target: "bia::access", tracing::Level::WARN).then(|| LogLine {
                method: method_of(&request).name,
                peer: request.extensions().get::<CallInfo>().and_then(|c| c.peer),
                start: Instant::now(),
                span: tracing::Span::current(),
            });
        AccessLogFuture {
            inner: self.inner.call(request),
            line,
        }
    }
}

pin_project! {
    /// The response future of [`AccessLog`].
    pub struct AccessLogFuture<F> {
        #[pin]
        inner: F,
        line: Option<LogLine>,
    }

    impl<F> PinnedDrop for AccessLogFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(line) = this.project().line.take() {
                line.finish(dropped_code());
            }
        }
    }
}

impl<F, B, E> Future for AccessLogFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
{
    type Output = Result<http::Response<ObservedBody<B, Option<LogLine>>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        let line = this.line.take();
        Poll::Ready(match result {
            Ok(response) => Ok(ObservedBody::observe(response, line)),
            Err(e) => {
                line.finish(Code::Internal);
                Err(e)
            }
        })
    }
}

/// Writes the call's line when it ends.
#[derive(Debug)]
pub struct LogLine {
    method: &'static str,
    peer: Option<SocketAddr>,
    start: Instant,
    span: tracing::Span,
}

impl CallObserver for LogLine {
    fn finish(self, code: Code) {
        let _entered = self.span.enter();
        let duration_ms = self.start.elapsed().as_secs_f64() * 1000.0;
        let peer = self.peer.map(tracing::field::display);
        if code == Code::Ok {
            tracing::info!(target: "bia::access", method = self.method, status = code_name(code), duration_ms, peer, "call");
        } else {
            tracing::warn!(target: "bia::access", method = self.method, status = code_name(code), duration_ms, peer, "call");
        }
    }
}
