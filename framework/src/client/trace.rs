use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll, ready};

use opentelemetry::trace::{SpanBuilder, SpanKind, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::metrics::error_code;
use crate::error::BoxError;
use crate::middleware::body::{ObservedBody, dropped_code};
use crate::middleware::trace::{SpanEnd, end_span};
use crate::telemetry::{Telemetry, propagation};

/// The CLIENT span of a call, in the request's extensions for the layers below.
#[derive(Clone, Debug)]
pub(crate) struct ClientSpan(pub(crate) Context);

/// Opens a CLIENT span per call, child of the current context (the server call being handled,
/// when there is one), and sends it on as `traceparent`.
#[derive(Clone, Debug)]
pub struct ClientTrace<S> {
    inner: S,
    telemetry: Telemetry,
}

impl<S> ClientTrace<S> {
    /// Traces calls through `inner` with `telemetry`'s tracer.
    pub fn new(inner: S, telemetry: Telemetry) -> Self {
        Self { inner, telemetry }
    }
}

impl<S, B, R> Service<http::Request<B>> for ClientTrace<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Error: Into<BoxError>,
{
    type Response = http::Response<ObservedBody<R, SpanEnd>>;
    type Error = BoxError;
    type Future = ClientTraceFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let name = request.uri().path().trim_start_matches('/').to_owned();
        let mut attributes = vec![
            KeyValue::new("rpc.system.name", "grpc"),
            KeyValue::new("rpc.method", name.clone()),
        ];
        if let Some(authority) = request.uri().authority() {
            attributes.push(KeyValue::new("server.address", authority.host().to_owned()));
            if let Some(port) = authority.port_u16() {
                attributes.push(KeyValue::new("server.port", i64::from(port)));
            }
        }
        if self.telemetry.semconv_dup() {
            attributes.push(KeyValue::new("rpc.system", "grpc"));
            if let Some((service, _)) = name.split_once('/') {
                attributes.push(KeyValue::new("rpc.service", service.to_owned()));
            }
        }
        let parent = Context::current();
        let builder = SpanBuilder::from_name(Cow::Owned(name))
            .with_kind(SpanKind::Client)
            .with_attributes(attributes);
        let span = self.telemetry.tracer().build_with_context(builder, &parent);
        let cx = parent.with_span(span);
        propagation::inject(self.telemetry.propagator(), &cx, request.headers_mut());
        // tonic adds the target's address below these layers; the balancer records the endpoint
        // it picks on this span.
        request.extensions_mut().insert(ClientSpan(cx.clone()));
        ClientTraceFuture {
            inner: self.inner.call(request),
            cx: Some(cx),
            semconv_dup: self.telemetry.semconv_dup(),
        }
    }
}

pin_project! {
    /// The response future of [`ClientTrace`].
    pub struct ClientTraceFuture<F> {
        #[pin]
        inner: F,
        cx: Option<Context>,
        semconv_dup: bool,
    }

    impl<F> PinnedDrop for ClientTraceFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(cx) = this.project().cx.take() {
                end_span(&cx, dropped_code(), false);
            }
        }
    }
}

impl<F, R, E> Future for ClientTraceFuture<F>
where
    F: Future<Output = Result<http::Response<R>, E>>,
    E: Into<BoxError>,
{
    type Output = Result<http::Response<ObservedBody<R, SpanEnd>>, BoxError>;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(task));
        let cx = this.cx.take().expect("polled after completion");
        Poll::Ready(match result {
            Ok(response) => Ok(ObservedBody::observe(
                response,
                SpanEnd::new(cx, None, *this.semconv_dup),
            )),
            Err(e) => {
                let e = e.into();
                end_span(&cx, error_code(&*e), *this.semconv_dup);
                Err(e)
            }
        })
    }
}
