use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use pin_project_lite::pin_project;
use tonic::Code;
use tower_service::Service;

use crate::error::BoxError;
use crate::middleware::body::{CallObserver, ObservedBody, dropped_code};
use crate::telemetry::MetricsRegistry;
use crate::telemetry::metrics::CallMetrics;

/// Records `rpc_client_call_duration_seconds` and `rpc_client_active_calls`.
#[derive(Clone, Debug)]
pub struct ClientMetrics<S> {
    inner: S,
    registry: MetricsRegistry,
}

impl<S> ClientMetrics<S> {
    /// Records calls through `inner` on `registry`.
    pub fn new(inner: S, registry: MetricsRegistry) -> Self {
        Self { inner, registry }
    }
}

impl<S, B, R> Service<http::Request<B>> for ClientMetrics<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Error: Into<BoxError>,
{
    type Response = http::Response<ObservedBody<R, ClientCallEnd>>;
    type Error = BoxError;
    type Future = ClientMetricsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let metrics = self.registry.client_call(request.uri().path());
        metrics.active.increment(1.0);
        ClientMetricsFuture {
            inner: self.inner.call(request),
            end: Some(ClientCallEnd {
                metrics,
                start: Instant::now(),
            }),
        }
    }
}

pin_project! {
    /// The response future of [`ClientMetrics`].
    pub struct ClientMetricsFuture<F> {
        #[pin]
        inner: F,
        end: Option<ClientCallEnd>,
    }

    impl<F> PinnedDrop for ClientMetricsFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(end) = this.project().end.take() {
                end.finish(dropped_code());
            }
        }
    }
}

impl<F, R, E> Future for ClientMetricsFuture<F>
where
    F: Future<Output = Result<http::Response<R>, E>>,
    E: Into<BoxError>,
{
    type Output = Result<http::Response<ObservedBody<R, ClientCallEnd>>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        let end = this.end.take().expect("polled after completion");
        Poll::Ready(match result {
            Ok(response) => Ok(ObservedBody::observe(response, end)),
            Err(e) => {
                let e = e.into();
                end.finish(error_code(&*e));
                Err(e)
            }
        })
    }
}

/// The status a failed call's error stands for: its own if it carries one, else UNAVAILABLE
/// (the call never reached a server).
pub(crate) fn error_code(error: &(dyn std::error::Error + 'static)) -> Code {
    error
        .downcast_ref::<tonic::Status>()
        .map_or(Code::Unavailable, tonic::Status::code)
}

/// Records a client call's end.
pub struct ClientCallEnd {
    metrics: Arc<CallMetrics>,
    start: Instant,
}

impl std::fmt::Debug for ClientCallEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCallEnd").finish_non_exhaustive()
    }
}

impl CallObserver for ClientCallEnd {
    fn finish(self, code: Code) {
        self.metrics.active.decrement(1.0);
        self.metrics
            .record(code, self.start.elapsed().as_secs_f64());
    }
}
