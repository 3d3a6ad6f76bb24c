//! W3C Trace Context (`traceparent`) and Baggage (`baggage`) over HTTP headers / gRPC metadata.

use http::HeaderMap;
use http::header::{HeaderName, HeaderValue};
use opentelemetry::Context;
use opentelemetry::baggage::BaggageExt as _;
use opentelemetry::propagation::{
    Extractor, Injector, TextMapCompositePropagator, TextMapPropagator,
};
use opentelemetry::trace::{SpanContext, TraceContextExt as _, TraceFlags};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};

use crate::headers::holds_any;

/// The propagators every Bia service speaks: W3C trace context and baggage.
pub(crate) fn propagator() -> TextMapCompositePropagator {
    TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ])
}

static TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");
static TRACESTATE: HeaderName = HeaderName::from_static("tracestate");
static BAGGAGE: HeaderName = HeaderName::from_static("baggage");

/// Reads a remote parent (and baggage) from incoming headers.
pub(crate) fn extract(propagator: &TextMapCompositePropagator, headers: &HeaderMap) -> Context {
    // Most calls carry neither: then both propagators would return the current context.
    if !holds_any(headers, &[&TRACEPARENT, &BAGGAGE]) {
        return Context::current();
    }
    propagator.extract(&HeaderExtractor(headers))
}

/// Writes the context's span and baggage into outgoing headers.
///
/// `traceparent` and `tracestate` are written here, as the W3C propagator writes them, without
/// its `format!` and the parse of the header name; baggage, when there is any, by `propagator`.
pub(crate) fn inject(
    propagator: &TextMapCompositePropagator,
    cx: &Context,
    headers: &mut HeaderMap,
) {
    if !cx.baggage().is_empty() {
        propagator.inject_context(cx, &mut HeaderInjector(headers));
        return;
    }
    write_span(cx.span().span_context(), headers);
}

/// Writes `span` and `parent`'s baggage into outgoing headers, as [`inject`] writes a context
/// whose span is `span`, for a call that builds no context around its span.
pub(crate) fn inject_span(
    propagator: &TextMapCompositePropagator,
    parent: &Context,
    span: &SpanContext,
    headers: &mut HeaderMap,
) {
    if parent.baggage().is_empty() {
        write_span(span, headers);
    } else {
        let cx = parent.with_remote_span_context(span.clone());
        propagator.inject_context(&cx, &mut HeaderInjector(headers));
    }
}

/// `traceparent` and `tracestate` for `span_context`.
fn write_span(span_context: &SpanContext, headers: &mut HeaderMap) {
    if !span_context.is_valid() {
        return;
    }
    // `00-<trace id>-<span id>-<flags>`: version 00, and of the flags only `sampled`.
    let mut value = *b"00-00000000000000000000000000000000-0000000000000000-00";
    super::log_format::hex(&span_context.trace_id().to_bytes(), &mut value[3..35]);
    super::log_format::hex(&span_context.span_id().to_bytes(), &mut value[36..52]);
    let flags = span_context.trace_flags() & TraceFlags::SAMPLED;
    super::log_format::hex(&[flags.to_u8()], &mut value[53..55]);
    if let Ok(mut value) = HeaderValue::from_bytes(&value) {
        // Never indexed by HPACK: a value that never repeats would only be searched for and
        // added to both ends' header tables, pushing out the headers that do repeat.
        value.set_sensitive(true);
        headers.insert(TRACEPARENT.clone(), value);
    }
    // An empty list is not sent (as OpenTelemetry's Go SDK does): W3C Trace Context reads a
    // missing `tracestate` as an empty one, and the call saves a header.
    let state = span_context.trace_state().header();
    if !state.is_empty()
        && let Ok(state) = HeaderValue::from_str(&state)
    {
        headers.insert(TRACESTATE.clone(), state);
    }
}

struct HeaderExtractor<'a>(&'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        // The propagators' own keys without parsing them again.
        let value = match key {
            "traceparent" => self.0.get(&TRACEPARENT),
            "tracestate" => self.0.get(&TRACESTATE),
            "baggage" => self.0.get(&BAGGAGE),
            other => self.0.get(other),
        };
        value.and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }
}

struct HeaderInjector<'a>(&'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry::trace::TraceContextExt;

    use super::*;
    use crate::telemetry::test_support::sampled_span;

    #[test]
    fn a_context_survives_inject_then_extract() {
        let propagator = propagator();
        let span = sampled_span(true);
        let cx = Context::new().with_remote_span_context(span.clone());
        let mut headers = HeaderMap::new();
        inject(&propagator, &cx, &mut headers);
        assert_eq!(
            headers["traceparent"],
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        );
        // Sent as an HPACK literal that is never indexed.
        assert!(headers["traceparent"].is_sensitive());
        // As the W3C propagator writes them (which writes them all when there is baggage), but
        // for its empty `tracestate`.
        let mut expected = HeaderMap::new();
        propagator.inject_context(&cx, &mut HeaderInjector(&mut expected));
        assert_eq!(expected.remove("tracestate").unwrap(), "");
        assert_eq!(headers, expected);
        let stated = SpanContext::new(
            span.trace_id(),
            span.span_id(),
            span.trace_flags(),
            true,
            "vendor=value".parse().unwrap(),
        );
        let mut headers = HeaderMap::new();
        inject(
            &propagator,
            &Context::new().with_remote_span_context(stated),
            &mut headers,
        );
        assert_eq!(headers["tracestate"], "vendor=value");
        let with_baggage = cx.with_baggage([opentelemetry::KeyValue::new("k", "v")]);
        let mut headers = HeaderMap::new();
        inject(&propagator, &with_baggage, &mut headers);
        assert_eq!(headers["baggage"], "k=v");
        assert_eq!(headers["traceparent"], expected["traceparent"]);
        let back = extract(&propagator, &headers);
        assert_eq!(
            back.span().span_context().trace_id(),
            cx.span().span_context().trace_id()
        );
    }

    #[test]
    fn a_span_without_a_context_is_written_as_its_context_would_be() {
        let propagator = propagator();
        let span = sampled_span(false);
        let baggage = Context::new().with_baggage([opentelemetry::KeyValue::new("k", "v")]);
        for parent in [Context::new(), baggage] {
            let mut direct = HeaderMap::new();
            inject_span(&propagator, &parent, &span, &mut direct);
            let mut through_context = HeaderMap::new();
            let cx = parent.with_remote_span_context(span.clone());
            inject(&propagator, &cx, &mut through_context);
            assert_eq!(direct, through_context);
            assert!(direct.contains_key("traceparent"));
            assert_eq!(direct.contains_key("baggage"), !parent.baggage().is_empty());
        }
    }
}
