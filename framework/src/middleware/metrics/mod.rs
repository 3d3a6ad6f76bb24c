//! Metrics: call durations, active calls and stream messages, in Prometheus.
//!
//! `rpc_server_call_duration_seconds` (a histogram by `rpc_system_name`, `rpc_method`,
//! `rpc_response_status_code`) is recorded when the call ends: when a stream's trailers go out,
//! at once for a trailers-only answer, and as `CANCELLED` when the client goes away first.
//! `rpc_server_active_calls` counts calls in progress, and streaming methods count their
//! messages in `rpc_server_stream_messages_{sent,received}_total`.

mod layer;
mod request_body;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use pin_project_lite::pin_project;
use tonic::Code;
use tower_service::Service;

pub use layer::MetricsLayer;
pub use request_body::CountedBody;

use super::body::{CallObserver, ObservedBody, dropped_code};
use super::frame::FrameScanner;
use super::method::method_of;
use crate::telemetry::MetricsRegistry;
use crate::telemetry::metrics::CallMetrics;

/// The server's instruments, one set per method it serves (index = the method's table index).
pub(crate) struct ServerMetrics {
    methods: Vec<CallMetrics>,
}

impl ServerMetrics {
    pub(crate) fn new(registry: &MetricsRegistry, table: &super::method::MethodTable) -> Self {
        Self {
            methods: table
                .methods()
                .iter()
                .map(|m| registry.server_call(m.name, m.kind.is_streaming()))
                .collect(),
        }
    }
}

/// The metrics middleware; see the [module docs](self).
#[derive(Clone)]
pub struct Metrics<S> {
    inner: S,
    metrics: Arc<ServerMetrics>,
}

impl<S> std::fmt::Debug for Metrics<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Metrics<S>
where
    S: Service<http::Request<CountedBody<ReqBody>>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<ObservedBody<ResBody, CallEnd>>;
    type Error = S::Error;
    type Future = MetricsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let method = method_of(&request);
        let streaming = method.kind.is_streaming();
        let index = method
            .index
            .min(self.metrics.methods.len().saturating_sub(1));
        let call = &self.metrics.methods[index];
        call.active.increment(1.0);
        let request = if streaming {
            request.map(|body| CountedBody::counting(body, call.received.clone()))
        } else {
            request.map(CountedBody::passthrough)
        };
        MetricsFuture {
            inner: self.inner.call(request),
            end: Some(CallEnd {
                metrics: self.metrics.clone(),
                index,
                start: Instant::now(),
                scanner: streaming.then(FrameScanner::default),
            }),
        }
    }
}

pin_project! {
    /// The response future of [`Metrics`].
    pub struct MetricsFuture<F> {
        #[pin]
        inner: F,
        end: Option<CallEnd>,
    }

    impl<F> PinnedDrop for MetricsFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(end) = this.project().end.take() {
                end.finish(dropped_code());
            }
        }
    }
}

impl<F, B, E> Future for MetricsFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
{
    type Output = Result<http::Response<ObservedBody<B, CallEnd>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        let end = this.end.take().expect("polled after completion");
        Poll::Ready(match result {
            Ok(response) => Ok(ObservedBody::observe(response, end)),
            Err(e) => {
                end.finish(Code::Internal);
                Err(e)
            }
        })
    }
}

/// Records a call's end: its duration under its status, and leaves the active gauge.
pub struct CallEnd {
    metrics: Arc<ServerMetrics>,
    index: usize,
    start: Instant,
    scanner: Option<FrameScanner>,
}

impl CallObserver for CallEnd {
    fn on_data(&mut self, chunk: &[u8]) {
        if let Some(scanner) = &mut self.scanner {
            let sent = &self.metrics.methods[self.index].sent;
            let _ = scanner.feed(chunk, |_| {
                sent.increment(1);
                Ok::<_, ()>(())
            });
        }
    }

    fn finish(self, code: Code) {
        let call = &self.metrics.methods[self.index];
        call.active.decrement(1.0);
        call.record(code, self.start.elapsed().as_secs_f64());
    }
}
