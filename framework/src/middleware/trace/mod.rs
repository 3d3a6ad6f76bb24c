//! Tracing: one OpenTelemetry SERVER span per call, parented by the caller's `traceparent`.
//!
//! The span is named `package.Service/Method` and carries the attributes of the OpenTelemetry RPC
//! conventions (`rpc.system.name`, `rpc.method`, `rpc.response.status_code`, `error.type`,
//! `server.address`, `server.port`, `network.peer.address`). It ends when the response body ends,
//! so a stream's span lasts as long as the stream. The handler runs inside the span's context
//! (so calls it makes through `bia::client` are its children) and inside a `tracing` span
//! `rpc` whose `trace_id` and `span_id` fields appear on every log line written meanwhile.

mod future;
mod layer;

use std::borrow::Cow;
use std::task::{Context as TaskContext, Poll};

use opentelemetry::trace::{Span as _, SpanBuilder, SpanKind, Status, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};
use tonic::Code;
use tower_service::Service;

pub use future::TraceFuture;
pub use layer::TraceLayer;

use super::body::CallObserver;
use super::method::{CallInfo, method_of};
use super::status::code_name;
use crate::telemetry::Telemetry;
use crate::telemetry::propagation;

/// The tracing middleware; see the [module docs](self).
#[derive(Clone, Debug)]
pub struct Trace<S> {
    inner: S,
    telemetry: Telemetry,
}

impl<S> Trace<S> {
    /// Wraps `inner`, creating spans with `telemetry`'s tracer.
    pub fn new(inner: S, telemetry: Telemetry) -> Self {
        Self { inner, telemetry }
    }
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Trace<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<super::body::ObservedBody<ResBody, SpanEnd>>;
    type Error = S::Error;
    type Future = TraceFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let method = method_of(&request);
        let parent = propagation::extract(self.telemetry.propagator(), request.headers());
        // Static attributes go in at the start (a sampler may read them); the addresses, which
        // must be formatted, only when the span is recorded at all.
        let mut attributes = Vec::with_capacity(9);
        attributes.push(KeyValue::new("rpc.system.name", "grpc"));
        attributes.push(KeyValue::new("rpc.method", method.name));
        if self.telemetry.semconv_dup() {
            attributes.push(KeyValue::new("rpc.system", "grpc"));
            attributes.push(KeyValue::new("rpc.service", method.service));
        }
        let builder = SpanBuilder::from_name(Cow::Borrowed(method.name))
            .with_kind(SpanKind::Server)
            .with_attributes(attributes);
        let mut span = self.telemetry.tracer().build_with_context(builder, &parent);
        if span.is_recording() {
            add_address_attributes(&mut span, &request);
        }
        let cx = parent.with_span(span);
        let log_span = log_span(&cx, method.name);
        crate::telemetry::bridge::bind_call(&log_span, &cx, self.telemetry.tracer());
        let future = {
            let _attached = cx.clone().attach();
            let _entered = log_span.enter();
            self.inner.call(request)
        };
        TraceFuture::new(future, cx, log_span, self.telemetry.semconv_dup())
    }
}

/// `server.address`, `server.port` (from `:authority`, else the local address) and
/// `network.peer.address`, `network.peer.port`.
fn add_address_attributes<B>(
    span: &mut impl opentelemetry::trace::Span,
    request: &http::Request<B>,
) {
    let info = request.extensions().get::<CallInfo>();
    if let Some(authority) = request.uri().authority() {
        span.set_attribute(KeyValue::new("server.address", authority.host().to_owned()));
        if let Some(port) = authority.port_u16() {
            span.set_attribute(KeyValue::new("server.port", i64::from(port)));
        }
    } else if let Some(local) = info.and_then(|i| i.local) {
        span.set_attribute(KeyValue::new("server.address", local.ip().to_string()));
        span.set_attribute(KeyValue::new("server.port", i64::from(local.port())));
    }
    if let Some(peer) = info.and_then(|i| i.peer) {
        span.set_attribute(KeyValue::new("network.peer.address", peer.ip().to_string()));
        span.set_attribute(KeyValue::new("network.peer.port", i64::from(peer.port())));
    }
}

/// The `tracing` span every log line of the call is written in.
pub(crate) fn log_span(cx: &Context, method: &'static str) -> tracing::Span {
    let span_context = cx.span().span_context().clone();
    tracing::info_span!(
        target: "bia::call",
        "rpc",
        rpc.method = method,
        trace_id = %span_context.trace_id(),
        span_id = %span_context.span_id(),
    )
}

/// Ends the call's span with its status when the response ends.
#[derive(Debug)]
pub struct SpanEnd {
    cx: Context,
    log_span: Option<tracing::Span>,
    semconv_dup: bool,
}

impl SpanEnd {
    pub(crate) fn new(cx: Context, log_span: Option<tracing::Span>, semconv_dup: bool) -> Self {
        Self {
            cx,
            log_span,
            semconv_dup,
        }
    }
}

impl CallObserver for SpanEnd {
    fn finish(self, code: Code) {
        end_span(&self.cx, code, self.semconv_dup);
    }

    fn scoped<R>(&self, poll: impl FnOnce() -> R) -> R {
        let _attached = self.cx.clone().attach();
        match &self.log_span {
            Some(span) => span.in_scope(poll),
            None => poll(),
        }
    }
}

/// Records the status on the context's span and ends it.
pub(crate) fn end_span(cx: &Context, code: Code, semconv_dup: bool) {
    let span = cx.span();
    span.set_attribute(KeyValue::new("rpc.response.status_code", code_name(code)));
    if semconv_dup {
        span.set_attribute(KeyValue::new("rpc.grpc.status_code", code as i64));
    }
    if code != Code::Ok {
        span.set_attribute(KeyValue::new("error.type", code_name(code)));
        span.set_status(Status::error(code_name(code)));
    }
    span.end();
}
