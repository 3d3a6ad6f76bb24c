//! Tracing: one OpenTelemetry SERVER span per call, parented by the caller's `traceparent`.
//!
//! The span is named `package.Service/Method` and carries the attributes of the OpenTelemetry RPC
//! conventions (`rpc.system.name`, `rpc.method`, `rpc.response.status_code`, `error.type`,
//! `server.address`, `server.port`, `network.peer.address`). It ends when the response body ends,
//! so a stream's span lasts as long as the stream. The handler runs inside the span's context
//! (so calls it makes through `bia::client` are its children, and Bia's log lines written
//! meanwhile carry its `trace_id` and `span_id`). Under a subscriber that is not Bia's, it also
//! runs inside a `tracing` span `rpc` with those ids as fields. With no OTLP endpoint the span is
//! only a span context: its ids and sampled flag, nothing built to be exported.
//! Bia's own health and reflection calls make no span, nor do the methods listed in
//! `telemetry.exclude_methods`.

mod address;
mod observer;

use std::borrow::Cow;

use opentelemetry::trace::{Span as _, SpanBuilder, SpanKind, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};

pub use observer::SpanObserver;
pub(crate) use observer::SpanSide;

use super::call_info::{CallInfo, method_of};
use super::observe::{Observe, ObserveCall, ObserveLayer};
use crate::telemetry::Telemetry;
use crate::telemetry::bridge::CallTracer;
use crate::telemetry::propagation;

/// The tracing middleware; see the [module docs](self).
pub type Trace<S> = Observe<S, ServerTracer>;

/// Applies [`Trace`]: `TraceLayer::new(ServerTracer::new(telemetry))`.
pub type TraceLayer = ObserveLayer<ServerTracer>;

/// Opens each served call's SERVER span with an App's tracer.
#[derive(Clone, Debug)]
pub struct ServerTracer {
    telemetry: Telemetry,
}

impl ServerTracer {
    /// Spans go to `telemetry`'s tracer provider.
    pub fn new(telemetry: Telemetry) -> Self {
        Self { telemetry }
    }
}

impl<B> ObserveCall<B> for ServerTracer {
    type Body = B;
    type Observer = Option<SpanObserver>;

    fn start(&self, request: http::Request<B>) -> (http::Request<B>, Self::Observer) {
        let method = method_of(&request);
        if method.quiet {
            return (request, None);
        }
        let parent = propagation::extract(self.telemetry.propagator(), request.headers());
        let (cx, recording) = match self.telemetry.local_spans() {
            // Nothing is exported: the call only needs its ids.
            Some(local) => (local.start(&parent, method.name, SpanKind::Server), false),
            None => {
                let mut span = self.start_span(&parent, method.name, method.service);
                let recording = span.is_recording();
                if recording {
                    add_address_attributes(&mut span, &request);
                }
                (parent.with_span(span), recording)
            }
        };
        // Bia's subscriber reads a line's ids from the attached context and parents user spans
        // by the tracer in it; a subscriber of the user's own needs the `rpc` span for both.
        let (cx, log_span) = if crate::telemetry::logs_read_context() {
            let cx = if recording {
                cx.with_value(CallTracer(self.telemetry.tracer().clone()))
            } else {
                cx
            };
            (cx, None)
        } else {
            let log_span = log_span(&cx, method.name);
            crate::telemetry::bridge::bind_call(&log_span, &cx, self.telemetry.tracer());
            (cx, Some(log_span))
        };
        let observer =
            SpanObserver::new(cx, log_span, self.telemetry.semconv_dup(), SpanSide::Server);
        (request, Some(observer))
    }
}

impl ServerTracer {
    /// The SDK's span, with the attributes a sampler may read.
    fn start_span(
        &self,
        parent: &Context,
        name: &'static str,
        service: &'static str,
    ) -> opentelemetry_sdk::trace::Span {
        let mut attributes = Vec::with_capacity(9);
        attributes.push(KeyValue::new("rpc.system.name", "grpc"));
        attributes.push(KeyValue::new("rpc.method", name));
        if self.telemetry.semconv_dup() {
            attributes.push(KeyValue::new("rpc.system", "grpc"));
            attributes.push(KeyValue::new("rpc.service", service));
        }
        let builder = SpanBuilder::from_name(Cow::Borrowed(name))
            .with_kind(SpanKind::Server)
            .with_attributes(attributes);
        self.telemetry.tracer().build_with_context(builder, parent)
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
        span.set_attribute(KeyValue::new(
            "server.address",
            address::host(authority.host()),
        ));
        if let Some(port) = authority.port_u16() {
            span.set_attribute(KeyValue::new("server.port", i64::from(port)));
        }
    } else if let Some(local) = info.and_then(|i| i.local) {
        span.set_attribute(KeyValue::new("server.address", address::server(local.ip())));
        span.set_attribute(KeyValue::new("server.port", i64::from(local.port())));
    }
    if let Some(peer) = info.and_then(|i| i.peer) {
        span.set_attribute(KeyValue::new(
            "network.peer.address",
            address::peer(peer.ip()),
        ));
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

#[cfg(test)]
mod tests {
    use tracing_subscriber::util::SubscriberInitExt as _;

    use super::*;
    use crate::middleware::observe::CallObserver as _;

    fn traced_call() -> SpanObserver {
        let config = crate::Config::builder("trace-test")
            .env(false)
            .build()
            .unwrap();
        let tracer = ServerTracer::new(Telemetry::new(&config).unwrap());
        let (_, observer) = tracer.start(http::Request::new(()));
        observer.expect("a method that is not quiet is traced")
    }

    /// What a poll of the call sees: the current `tracing` span's name and the attached span id.
    fn inside(observer: &SpanObserver) -> (Option<&'static str>, opentelemetry::trace::SpanId) {
        observer.scoped(|| {
            (
                tracing::Span::current().metadata().map(|m| m.name()),
                Context::map_current(|cx| cx.span().span_context().span_id()),
            )
        })
    }

    #[test]
    fn the_rpc_span_is_made_only_for_a_subscriber_that_is_not_bias() {
        let own = tracing_subscriber::registry().set_default();
        let (name, span_id) = inside(&traced_call());
        assert_eq!(name, Some("rpc"));
        assert_ne!(span_id, opentelemetry::trace::SpanId::INVALID);
        drop(own);

        let config = crate::Config::builder("trace-test")
            .env(false)
            .build()
            .unwrap();
        let (subscriber, guard) = crate::telemetry::Logging::new(&config)
            .unwrap()
            .writer(std::io::sink())
            .subscriber();
        let bia = subscriber.set_default();
        let (name, span_id) = inside(&traced_call());
        assert_eq!(
            name, None,
            "Bia's subscriber reads the ids from the attached context"
        );
        assert_ne!(span_id, opentelemetry::trace::SpanId::INVALID);
        drop(bia);
        drop(guard);
    }
}
