//! The encoder against the official protos: its bytes, decoded with opentelemetry-proto's
//! prost types, equal what opentelemetry-proto's own conversion makes of the same spans.

use std::borrow::Cow;
use std::time::{Duration, SystemTime};

use bytes::BytesMut;
use opentelemetry::trace::{
    Event, Link, SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use prost::Message as _;

use super::{EncodedResource, request};

fn every_kind_of_attribute() -> Vec<KeyValue> {
    vec![
        KeyValue::new("s", "text"),
        KeyValue::new("s.owned", String::from("owned text")),
        KeyValue::new("s.empty", ""),
        KeyValue::new("b.true", true),
        KeyValue::new("b.false", false),
        KeyValue::new("i", 42_i64),
        KeyValue::new("i.zero", 0_i64),
        KeyValue::new("i.negative", -7_i64),
        KeyValue::new("i.max", i64::MAX),
        KeyValue::new("f", 1.5_f64),
        KeyValue::new("f.zero", 0.0_f64),
        KeyValue::new("f.negative", -2.25_f64),
        KeyValue::new("a.bool", Value::Array(Array::Bool(vec![true, false]))),
        KeyValue::new("a.i64", Value::Array(Array::I64(vec![1, -1, 0, i64::MIN]))),
        KeyValue::new("a.f64", Value::Array(Array::F64(vec![0.5, -0.0, 1e300]))),
        KeyValue::new(
            "a.string",
            Value::Array(Array::String(vec![
                StringValue::from("x"),
                StringValue::from(""),
                StringValue::from(String::from("é ünïcode")),
            ])),
        ),
        KeyValue::new("a.empty", Value::Array(Array::I64(Vec::new()))),
        // Long enough that its KeyValue needs a two-byte length.
        KeyValue::new("long", "l".repeat(300)),
    ]
}

fn context(trace: u128, span: u64, sampled: bool, remote: bool, state: &str) -> SpanContext {
    SpanContext::new(
        TraceId::from(trace),
        SpanId::from(span),
        if sampled {
            TraceFlags::SAMPLED
        } else {
            TraceFlags::default()
        },
        remote,
        state.parse::<TraceState>().unwrap(),
    )
}

fn span(
    name: &'static str,
    scope: &InstrumentationScope,
    status: Status,
    kind: SpanKind,
) -> SpanData {
    let start = SystemTime::UNIX_EPOCH + Duration::from_nanos(1_764_000_000_123_456_789);
    let mut events = SpanEvents::default();
    events.events.push(Event::new(
        "with attributes",
        start + Duration::from_micros(5),
        every_kind_of_attribute(),
        3,
    ));
    events.events.push(Event::new("bare", start, Vec::new(), 0));
    events.dropped_count = 4;
    let mut links = SpanLinks::default();
    links.links.push(Link::new(
        context(0xabc, 0xdef, true, true, "k=v,other=1"),
        vec![KeyValue::new("link.attr", 9_i64)],
        5,
    ));
    links.links.push(Link::new(
        context(0x1, 0x2, false, false, ""),
        Vec::new(),
        0,
    ));
    links.dropped_count = 6;
    SpanData {
        span_context: context(
            0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736,
            0x00f0_67aa_0ba9_02b7,
            true,
            false,
            "vendor=value",
        ),
        parent_span_id: SpanId::from(0x1122_3344_5566_7788),
        parent_span_is_remote: true,
        span_kind: kind,
        name: Cow::Borrowed(name),
        start_time: start,
        end_time: start + Duration::from_millis(3),
        attributes: every_kind_of_attribute(),
        dropped_attributes_count: 2,
        events,
        links,
        status,
        instrumentation_scope: scope.clone(),
    }
}

/// A root span with nothing but its ids, name and times.
fn plain_root(scope: &InstrumentationScope) -> SpanData {
    let start = SystemTime::now();
    SpanData {
        span_context: context(7, 8, true, false, ""),
        parent_span_id: SpanId::INVALID,
        parent_span_is_remote: false,
        span_kind: SpanKind::Internal,
        name: Cow::Borrowed("root"),
        start_time: start,
        end_time: start,
        attributes: Vec::new(),
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: Status::Unset,
        instrumentation_scope: scope.clone(),
    }
}

fn resource() -> Resource {
    Resource::builder_empty()
        .with_service_name("encoder-test")
        .with_schema_url(
            [
                KeyValue::new("service.version", "1.2.3"),
                KeyValue::new("host.cores", 2_i64),
            ],
            "https://opentelemetry.io/schemas/1.39.0",
        )
        .build()
}

fn decode(spans: &[SpanData], resource: &Resource) -> ExportTraceServiceRequest {
    let mut buf = BytesMut::new();
    request(&mut buf, &EncodedResource::new(resource), spans);
    ExportTraceServiceRequest::decode(&buf[..]).expect("the official protos decode it")
}

fn expected(spans: &[SpanData], resource: &Resource) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: group_spans_by_resource_and_scope(
            spans.to_vec(),
            &ResourceAttributesWithSchema::from(resource),
        ),
    }
}

#[test]
fn every_field_decodes_as_the_official_conversion_makes_it() {
    let bia = InstrumentationScope::builder("bia").build();
    let other = InstrumentationScope::builder("other")
        .with_version("0.9")
        .with_schema_url("https://example.com/scope")
        .with_attributes([KeyValue::new("scope.attr", true)])
        .build();
    let spans = vec![
        span("pkg.Svc/Ok", &bia, Status::Ok, SpanKind::Server),
        span("other scope", &other, Status::Unset, SpanKind::Client),
        span(
            "pkg.Svc/Failed",
            &bia,
            Status::error("it broke"),
            SpanKind::Producer,
        ),
        span("consumer", &other, Status::error(""), SpanKind::Consumer),
        plain_root(&bia),
    ];
    let resource = resource();
    let decoded = decode(&spans, &resource);
    assert_eq!(decoded, expected(&spans, &resource));

    // The comparison above is only as good as the conversion; spot-check what it must hold.
    let resource_spans = &decoded.resource_spans[0];
    assert_eq!(
        resource_spans.schema_url,
        "https://opentelemetry.io/schemas/1.39.0"
    );
    assert_eq!(resource_spans.scope_spans.len(), 2, "one per scope");
    let first = &resource_spans.scope_spans[0].spans[0];
    assert_eq!(first.name, "pkg.Svc/Ok");
    assert_eq!(first.trace_id.len(), 16);
    assert_eq!(
        first.parent_span_id,
        0x1122_3344_5566_7788_u64.to_be_bytes()
    );
    assert_eq!(first.trace_state, "vendor=value");
    assert_eq!(first.flags, 0x301, "sampled, has is-remote, is remote");
    assert_eq!(first.kind, 2);
    assert_eq!(
        first.end_time_unix_nano - first.start_time_unix_nano,
        3_000_000
    );
    assert_eq!(first.dropped_attributes_count, 2);
    assert_eq!(first.events.len(), 2);
    assert_eq!(first.dropped_events_count, 4);
    assert_eq!(first.links[0].trace_state, "k=v,other=1");
    assert_eq!(first.links[0].flags, 0x301);
    assert_eq!(first.links[1].flags, 0x100);
    assert_eq!(first.dropped_links_count, 6);
    assert_eq!(first.status.as_ref().unwrap().code, 1);
    let negative = first
        .attributes
        .iter()
        .find(|kv| kv.key == "i.negative")
        .and_then(|kv| kv.value.as_ref()?.value.clone());
    assert_eq!(negative, Some(any_value::Value::IntValue(-7)));
    let failed = &resource_spans.scope_spans[0].spans[1];
    assert_eq!(failed.status.as_ref().unwrap().code, 2);
    assert_eq!(failed.status.as_ref().unwrap().message, "it broke");
    let root = &resource_spans.scope_spans[0].spans[2];
    assert!(root.parent_span_id.is_empty());
    assert_eq!(root.flags, 0x101);
}

#[test]
fn a_batch_too_large_for_its_length_guesses_still_decodes() {
    let bia = InstrumentationScope::builder("bia").build();
    let spans: Vec<_> = (0..3000)
        .map(|_| span("pkg.Svc/Ok", &bia, Status::Ok, SpanKind::Server))
        .collect();
    let resource = resource();
    let decoded = decode(&spans, &resource);
    assert_eq!(decoded.resource_spans[0].scope_spans[0].spans.len(), 3000);
    assert_eq!(decoded, expected(&spans, &resource));
}

#[test]
fn an_empty_batch_is_one_resource_with_no_scope() {
    let resource = resource();
    assert_eq!(decode(&[], &resource), expected(&[], &resource));
}
