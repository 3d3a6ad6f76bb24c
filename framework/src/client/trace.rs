//! Client tracing: a CLIENT span per call, child of the current context (the server call being
//! handled, when there is one), sent on as `traceparent`.

use std::borrow::Cow;

use opentelemetry::trace::{SpanBuilder, SpanKind, TraceContextExt, Tracer};
use opentelemetry::{Context, KeyValue};

use crate::middleware::observe::{Observe, ObserveCall, ObserveLayer};
use crate::middleware::trace::{SpanObserver, SpanSide};
use crate::telemetry::{Telemetry, propagation};

/// The CLIENT span of a call, in the request's extensions for the layers below.
#[derive(Clone, Debug)]
pub(crate) struct ClientSpan(pub(crate) Context);

/// The client tracing middleware.
pub type ClientTrace<S> = Observe<S, ClientTracer>;

/// Opens each outgoing call's CLIENT span with an App's tracer.
#[derive(Clone, Debug)]
pub struct ClientTracer {
    telemetry: Telemetry,
}

impl<B> ObserveCall<B> for ClientTracer {
    type Body = B;
    type Observer = Option<SpanObserver>;

    fn start(&self, mut request: http::Request<B>) -> (http::Request<B>, Self::Observer) {
        let parent = Context::current();
        let Some(local) = self.telemetry.local_spans() else {
            return self.start_exported(request, &parent);
        };
        // Nothing is exported: the call only needs its ids, for `traceparent`, and there is
        // no span to end.
        let name = request.uri().path().trim_start_matches('/');
        let span = local.span_context(&parent, name, SpanKind::Client);
        propagation::inject_span(
            self.telemetry.propagator(),
            &parent,
            &span,
            request.headers_mut(),
        );
        (request, None)
    }
}

impl ClientTracer {
    /// The tracer of `telemetry`'s tracer provider.
    pub fn new(telemetry: Telemetry) -> Self {
        Self { telemetry }
    }

    /// Starts a call whose span is exported.
    fn start_exported<B>(
        &self,
        mut request: http::Request<B>,
        parent: &Context,
    ) -> (http::Request<B>, Option<SpanObserver>) {
        let semconv_dup = self.telemetry.semconv_dup();
        let span = self.start_span(&request, parent, semconv_dup);
        let cx = parent.with_span(span);
        propagation::inject(self.telemetry.propagator(), &cx, request.headers_mut());
        // tonic adds the target's address below these layers; the balancer records the endpoint
        // it picks on this span. A span that records nothing has nothing to record it on, and
        // a request with no extension yet saves the map's allocation.
        if cx.span().is_recording() {
            request.extensions_mut().insert(ClientSpan(cx.clone()));
        }
        let observer = SpanObserver::new(cx, None, semconv_dup, SpanSide::Client);
        (request, Some(observer))
    }

    /// The SDK's span, with its attributes.
    fn start_span<B>(
        &self,
        request: &http::Request<B>,
        parent: &Context,
        semconv_dup: bool,
    ) -> opentelemetry_sdk::trace::Span {
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
        if semconv_dup {
            attributes.push(KeyValue::new("rpc.system", "grpc"));
            if let Some((service, _)) = name.split_once('/') {
                attributes.push(KeyValue::new("rpc.service", service.to_owned()));
            }
        }
        let builder = SpanBuilder::from_name(Cow::Owned(name))
            .with_kind(SpanKind::Client)
            .with_attributes(attributes);
        self.telemetry.tracer().build_with_context(builder, parent)
    }
}

/// Applies [`ClientTrace`]: `ClientTraceLayer::new(ClientTracer::new(telemetry))`.
pub type ClientTraceLayer = ObserveLayer<ClientTracer>;
