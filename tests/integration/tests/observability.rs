//! Every RPC kind through a real server: responses, Prometheus metrics and OTLP spans.

mod support;

use bia::testing::otlp::Collector;
use bia::testing::otlp::SpanKind;
use support::echo::{self, EchoClient, count, say};
use tokio_stream::StreamExt;
use tonic::Code;

async fn traced_app(name: &str) -> (bia::RunningApp, Collector) {
    let (running, collector, _) = traced_app_with_endpoint(name).await;
    (running, collector)
}

async fn traced_app_with_endpoint(name: &str) -> (bia::RunningApp, Collector, String) {
    let (collector, endpoint) = Collector::start().await;
    let running = echo::start(
        name,
        &format!("[telemetry.otlp]\nendpoint = \"{endpoint}\"\n"),
    )
    .await;
    (running, collector, endpoint)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_kind_answers_and_is_measured_and_traced() {
    let (running, collector) = traced_app("echo-kinds").await;
    let mut client = echo::client(&running).await;

    // Unary: OK and NOT_FOUND.
    let reply = client.say(say("hi")).await.unwrap().into_inner();
    assert_eq!(reply.message, "hi");
    let err = client.say(say("missing")).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(bia::Error::from(err).reason(), "THING_NOT_FOUND");

    // Server streaming: three replies, then a trailers-only error.
    let stream = client.count(count("n", 3, 0)).await.unwrap().into_inner();
    let replies = echo::replies(stream).await;
    assert_eq!(replies, ["n 0", "n 1", "n 2"]);
    let err = client.count(count("missing", 1, 0)).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    // Client streaming.
    let reply = client
        .collect(tokio_stream::iter(vec![say("a"), say("b"), say("c")]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.message, "a b c");

    // Bidi: echoes, and an error status read from the trailers after two good messages.
    let replies = echo::replies(
        client
            .chat(tokio_stream::iter(vec![say("x"), say("y")]))
            .await
            .unwrap()
            .into_inner(),
    )
    .await;
    assert_eq!(replies, ["x", "y"]);
    let stream = client
        .chat(tokio_stream::iter(vec![say("x"), say("missing")]))
        .await
        .unwrap()
        .into_inner();
    let (first, code) = echo::one_then_error(stream).await;
    assert_eq!((first.as_str(), code), ("x", Code::NotFound));

    // An unknown method is UNIMPLEMENTED and counted under _OTHER.
    let mut raw = tonic::client::Grpc::new(running.channel().await.unwrap());
    raw.ready().await.unwrap();
    let err = raw
        .unary::<_, echo::SayResponse, _>(
            tonic::Request::new(say("?")),
            http::uri::PathAndQuery::from_static("/echo.v1.Echo/Nope"),
            tonic_prost::ProstCodec::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unimplemented);

    // Metrics, with the contracted names and labels.
    let text = running.metrics_text().await;
    for (method, code, count) in [
        ("echo.v1.Echo/Say", "OK", 1),
        ("echo.v1.Echo/Say", "NOT_FOUND", 1),
        ("echo.v1.Echo/Count", "OK", 1),
        ("echo.v1.Echo/Count", "NOT_FOUND", 1),
        ("echo.v1.Echo/Collect", "OK", 1),
        ("echo.v1.Echo/Chat", "OK", 1),
        ("echo.v1.Echo/Chat", "NOT_FOUND", 1),
        ("_OTHER", "UNIMPLEMENTED", 1),
    ] {
        let line = format!(
            "rpc_server_call_duration_seconds_count{{rpc_system_name=\"grpc\",rpc_method=\"{method}\",rpc_response_status_code=\"{code}\"}} {count}"
        );
        assert!(text.contains(&line), "missing `{line}` in:\n{text}");
    }
    assert!(text.contains("rpc_server_call_duration_seconds_bucket{rpc_system_name=\"grpc\",rpc_method=\"echo.v1.Echo/Say\",rpc_response_status_code=\"OK\",le=\"0.005\"}"));
    support::assert_contains(
        &text,
        &[
            "rpc_server_active_calls{rpc_method=\"echo.v1.Echo/Say\"} 0",
            "rpc_server_stream_messages_sent_total{rpc_method=\"echo.v1.Echo/Count\"} 3",
            "rpc_server_stream_messages_received_total{rpc_method=\"echo.v1.Echo/Collect\"} 3",
        ],
    );
    assert_promtool_clean(&text);

    running.stop().await.unwrap();

    // Spans, exported over OTLP with the contracted names, kinds and attributes.
    let spans = collector.spans();
    let ok = collector
        .span_named("echo.v1.Echo/Say", SpanKind::Server)
        .expect("a SERVER span for Say");
    assert_eq!(ok.service, "echo-kinds");
    assert_eq!(ok.attr("rpc.system.name"), Some("grpc"));
    assert_eq!(ok.attr("rpc.method"), Some("echo.v1.Echo/Say"));
    assert_eq!(ok.attr("server.address"), Some("127.0.0.1"));
    assert_eq!(ok.attr("network.peer.address"), Some("127.0.0.1"));
    assert!(ok.attr("server.port").is_some());
    let failed: Vec<_> = spans
        .iter()
        .filter(|s| s.attr("rpc.response.status_code") == Some("NOT_FOUND"))
        .collect();
    assert_eq!(failed.len(), 3, "{spans:#?}");
    for span in failed {
        assert_eq!(span.attr("error.type"), Some("NOT_FOUND"));
        // The OTel gRPC conventions: a caller's mistake leaves a SERVER span's status unset.
        assert_eq!(span.status_code, 0, "span status is UNSET: {span:?}");
    }
    for name in [
        "echo.v1.Echo/Count",
        "echo.v1.Echo/Collect",
        "echo.v1.Echo/Chat",
    ] {
        let span = collector.span_named(name, SpanKind::Server).expect(name);
        assert!(span.attr("rpc.response.status_code").is_some(), "{span:?}");
    }
}

/// The checks promtool makes that matter here: one HELP and TYPE per family, before its samples.
fn assert_promtool_clean(text: &str) {
    use std::collections::HashSet;
    let mut help = HashSet::new();
    let mut types = HashSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let name = rest.split(' ').next().unwrap();
            assert!(help.insert(name.to_owned()), "duplicate HELP for {name}");
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            let name = parts.next().unwrap();
            let kind = parts.next().unwrap();
            assert!(types.insert(name.to_owned()), "duplicate TYPE for {name}");
            assert!(help.contains(name), "{name} has no HELP");
            if kind == "counter" {
                assert!(
                    name.ends_with("_total"),
                    "counter {name} must end in _total"
                );
            }
            assert_ne!(kind, "summary", "{name} must be a histogram, not a summary");
        } else if !line.is_empty() {
            let name = line.split(['{', ' ']).next().unwrap();
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s).filter(|f| types.contains(*f)))
                .unwrap_or(name);
            assert!(types.contains(family), "sample {name} before its TYPE");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incoming_traceparent_parents_the_server_span() {
    let (running, collector) = traced_app("echo-parent").await;
    let mut client = echo::client(&running).await;
    let mut request = tonic::Request::new(say("hi"));
    request.metadata_mut().insert(
        "traceparent",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
            .parse()
            .unwrap(),
    );
    client.say(request).await.unwrap();
    running.stop().await.unwrap();
    let span = collector
        .span_named("echo.v1.Echo/Say", SpanKind::Server)
        .expect("a SERVER span");
    assert_eq!(hex(&span.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(hex(&span.parent_span_id), "00f067aa0ba902b7");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bia_client_call_parents_the_server_span_and_is_measured() {
    let (running, collector, client_endpoint) = traced_app_with_endpoint("echo-server").await;
    // A second App's telemetry for the caller: its own service.name and counts, exporting to
    // the same collector, as two services would to one Jaeger.
    let (channel, telemetry) = support::echo_channel(
        "echo-caller",
        &format!(
            "[telemetry.otlp]\nendpoint = \"{client_endpoint}\"\n{}",
            running.client_toml("echo", "timeout = \"3s\"\n")
        ),
    );
    let mut client = EchoClient::new(channel);
    assert_eq!(
        client
            .say(say("via bia"))
            .await
            .unwrap()
            .into_inner()
            .message,
        "via bia"
    );
    let err = client.say(say("missing")).await.unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    let metrics = telemetry.metrics().render();
    support::assert_contains(
        &metrics,
        &[
            "rpc_client_call_duration_seconds_count{rpc_system_name=\"grpc\",rpc_method=\"echo.v1.Echo/Say\",rpc_response_status_code=\"OK\"} 1",
            "rpc_response_status_code=\"NOT_FOUND\"",
        ],
    );
    let server_metrics = running.telemetry().metrics().render();
    assert!(
        !server_metrics.contains("rpc_client_call_duration_seconds_count"),
        "the server App counts no client calls"
    );

    telemetry
        .flush(std::time::Duration::from_secs(5))
        .await
        .unwrap();
    running.stop().await.unwrap();
    let spans = collector.spans();
    let client_span = spans
        .iter()
        .find(|s| s.kind == SpanKind::Client && s.attr("rpc.response.status_code") == Some("OK"))
        .expect("a CLIENT span");
    assert_eq!(client_span.service, "echo-caller");
    assert_eq!(client_span.name, "echo.v1.Echo/Say");
    let server_span = spans
        .iter()
        .find(|s| s.kind == SpanKind::Server && s.trace_id == client_span.trace_id)
        .expect("the SERVER span in the same trace");
    assert_eq!(server_span.service, "echo-server");
    assert_eq!(server_span.parent_span_id, client_span.span_id);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_methods_make_no_spans_but_are_counted_and_families_start_at_zero() {
    let (collector, endpoint) = Collector::start().await;
    let running = echo::start(
        "echo-quiet",
        &format!(
            "[telemetry]\nexclude_methods = [\"echo.v1.Echo/Count\"]\n\
             [telemetry.otlp]\nendpoint = \"{endpoint}\"\n"
        ),
    )
    .await;

    // Before any call: every served method's panic counter is there, at 0.
    let text = running.metrics_text().await;
    assert!(
        text.contains("bia_server_panics_total{rpc_method=\"echo.v1.Echo/Say\"} 0"),
        "{text}"
    );

    let channel = running.channel().await.unwrap();
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
    health
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap();
    let mut client = EchoClient::new(channel);
    client.say(say("traced")).await.unwrap();
    let replies: Vec<_> = client
        .count(count("quiet", 2, 0))
        .await
        .unwrap()
        .into_inner()
        .collect()
        .await;
    assert_eq!(replies.len(), 2);

    let text = running.metrics_text().await;
    for method in ["grpc.health.v1.Health/Check", "echo.v1.Echo/Count"] {
        assert!(
            text.contains(&format!(
                "rpc_server_call_duration_seconds_count{{rpc_system_name=\"grpc\",rpc_method=\"{method}\",rpc_response_status_code=\"OK\"}} 1"
            )),
            "{method} is still counted:\n{text}"
        );
    }
    running.stop().await.unwrap();

    let names: Vec<String> = collector.spans().into_iter().map(|s| s.name).collect();
    assert_eq!(
        names,
        ["echo.v1.Echo/Say"],
        "only the traced call made a span"
    );
}

/// Every field of the OTLP span message, from a real App's exporter through the official
/// protos: a traced call (remote parent, trace state, times, attributes, flags) and a span of
/// the App's tracer with every attribute kind, events, links, an error status and counts of
/// what its limits dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exported_spans_carry_every_field_through_the_official_protos() {
    use bia::testing::otlp::proto::common::v1::any_value::Value as Any;
    use opentelemetry::trace::{
        Link, Span as _, SpanContext, SpanId, Status, TraceContextExt as _, TraceFlags, TraceId,
        Tracer as _,
    };
    use opentelemetry::{Array, KeyValue, StringValue, Value};
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    let (running, collector) = traced_app("echo-fields").await;
    let before = SystemTime::now();
    let mut client = echo::client(&running).await;
    let mut request = tonic::Request::new(say("hi"));
    let metadata = request.metadata_mut();
    metadata.insert(
        "traceparent",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
            .parse()
            .unwrap(),
    );
    metadata.insert("tracestate", "vendor=value".parse().unwrap());
    client.say(request).await.unwrap();
    let after = SystemTime::now();

    let tracer = running.telemetry().tracer();
    let remote = |trace: u128, span: u64, state: &str| {
        SpanContext::new(
            TraceId::from(trace),
            SpanId::from(span),
            TraceFlags::SAMPLED,
            true,
            state.parse().unwrap(),
        )
    };
    let parent = opentelemetry::Context::new().with_remote_span_context(remote(7, 8, ""));
    let mut attributes = vec![
        KeyValue::new("s", "text"),
        KeyValue::new("b", false),
        KeyValue::new("i", -42_i64),
        KeyValue::new("f", 2.5_f64),
        KeyValue::new("a.bool", Value::Array(Array::Bool(vec![true, false]))),
        KeyValue::new("a.i64", Value::Array(Array::I64(vec![1, -2]))),
        KeyValue::new("a.f64", Value::Array(Array::F64(vec![0.25]))),
        KeyValue::new(
            "a.string",
            Value::Array(Array::String(vec![StringValue::from("x"), "".into()])),
        ),
    ];
    // The SDK keeps 128 attributes, events and links a span: the rest are counted as dropped.
    attributes.extend((0..130).map(|i| KeyValue::new(format!("extra.{i}"), i64::from(i))));
    let links: Vec<_> = (0..130_u64)
        .map(|i| {
            Link::new(
                remote(0xabc, 0x100 + i, "k=v"),
                vec![KeyValue::new("n", 1)],
                0,
            )
        })
        .collect();
    let start = UNIX_EPOCH + Duration::from_nanos(1_764_000_000_123_456_789);
    let mut span = tracer
        .span_builder("every-field")
        .with_kind(opentelemetry::trace::SpanKind::Producer)
        .with_attributes(attributes)
        .with_links(links)
        .with_start_time(start)
        .start_with_context(tracer, &parent);
    span.add_event_with_timestamp(
        "first",
        start + Duration::from_nanos(5),
        vec![KeyValue::new("e", "v")],
    );
    for _ in 0..129 {
        span.add_event("filler", Vec::new());
    }
    span.set_status(Status::error("it broke"));
    span.end_with_timestamp(start + Duration::from_millis(3));
    running.stop().await.unwrap();

    let requests = collector.requests();
    let all: Vec<_> = requests
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|r| r.scope_spans.iter().map(move |s| (r, s)))
        .flat_map(|(r, s)| s.spans.iter().map(move |span| (r, s, span)))
        .collect();
    let find = |name: &str| {
        all.iter()
            .find(|(_, _, s)| s.name == name)
            .copied()
            .unwrap_or_else(|| panic!("no span {name} in {requests:#?}"))
    };
    let nanos = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64;
    let text = |v: &Option<bia::testing::otlp::proto::common::v1::AnyValue>| {
        v.as_ref().and_then(|v| v.value.clone())
    };

    // The server span of the call.
    let (resource_spans, scope_spans, server) = find("echo.v1.Echo/Say");
    let resource: std::collections::HashMap<_, _> = resource_spans
        .resource
        .as_ref()
        .unwrap()
        .attributes
        .iter()
        .map(|kv| (kv.key.as_str(), text(&kv.value)))
        .collect();
    assert_eq!(
        resource["service.name"],
        Some(Any::StringValue("echo-fields".into()))
    );
    assert!(resource.contains_key("service.instance.id"), "{resource:?}");
    assert!(resource.contains_key("service.version"), "{resource:?}");
    assert_eq!(
        resource["telemetry.sdk.language"],
        Some(Any::StringValue("rust".into()))
    );
    assert_eq!(scope_spans.scope.as_ref().unwrap().name, "bia");
    assert_eq!(hex(&server.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(hex(&server.parent_span_id), "00f067aa0ba902b7");
    assert_eq!(server.span_id.len(), 8);
    assert_eq!(server.trace_state, "vendor=value");
    assert_eq!(server.kind, SpanKind::Server as i32);
    assert_eq!(server.flags, 0x301, "sampled, with a remote parent");
    assert!(nanos(before) <= server.start_time_unix_nano, "{server:?}");
    assert!(server.start_time_unix_nano <= server.end_time_unix_nano);
    assert!(server.end_time_unix_nano <= nanos(after), "{server:?}");
    let attribute = |span: &bia::testing::otlp::proto::trace::v1::Span, key: &str| {
        span.attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(|kv| text(&kv.value))
    };
    assert_eq!(
        attribute(server, "rpc.response.status_code"),
        Some(Any::StringValue("OK".into()))
    );
    assert!(matches!(
        attribute(server, "server.port"),
        Some(Any::IntValue(p)) if p > 0
    ));
    assert_eq!(server.status.as_ref().map(|s| s.code), Some(0));

    // The span with every field.
    let (_, _, every) = find("every-field");
    assert_eq!(every.kind, SpanKind::Producer as i32);
    assert_eq!(every.trace_id, 7_u128.to_be_bytes());
    assert_eq!(every.parent_span_id, 8_u64.to_be_bytes());
    assert_eq!(every.flags, 0x301);
    assert_eq!(every.start_time_unix_nano, nanos(start));
    assert_eq!(
        every.end_time_unix_nano - every.start_time_unix_nano,
        3_000_000
    );
    for (key, value) in [
        ("s", Any::StringValue("text".into())),
        ("b", Any::BoolValue(false)),
        ("i", Any::IntValue(-42)),
        ("f", Any::DoubleValue(2.5)),
    ] {
        assert_eq!(attribute(every, key), Some(value), "{key}");
    }
    let array = |key: &str| match attribute(every, key) {
        Some(Any::ArrayValue(array)) => array
            .values
            .into_iter()
            .map(|v| v.value.unwrap())
            .collect::<Vec<_>>(),
        other => panic!("{key}: {other:?}"),
    };
    assert_eq!(
        array("a.bool"),
        [Any::BoolValue(true), Any::BoolValue(false)]
    );
    assert_eq!(array("a.i64"), [Any::IntValue(1), Any::IntValue(-2)]);
    assert_eq!(array("a.f64"), [Any::DoubleValue(0.25)]);
    assert_eq!(
        array("a.string"),
        [
            Any::StringValue("x".into()),
            Any::StringValue(String::new())
        ]
    );
    assert_eq!(every.attributes.len(), 128);
    assert_eq!(every.dropped_attributes_count, 10);
    assert_eq!(every.events.len(), 128);
    assert_eq!(every.dropped_events_count, 2);
    let first = &every.events[0];
    assert_eq!(first.name, "first");
    assert_eq!(first.time_unix_nano, nanos(start) + 5);
    assert_eq!(first.attributes[0].key, "e");
    assert_eq!(
        text(&first.attributes[0].value),
        Some(Any::StringValue("v".into()))
    );
    assert_eq!(every.links.len(), 128);
    assert_eq!(every.dropped_links_count, 2);
    let link = &every.links[0];
    assert_eq!(link.trace_id, 0xabc_u128.to_be_bytes());
    assert_eq!(link.span_id, 0x100_u64.to_be_bytes());
    assert_eq!(link.trace_state, "k=v");
    assert_eq!(link.flags, 0x301);
    assert_eq!(link.attributes.len(), 1);
    let status = every.status.as_ref().unwrap();
    assert_eq!((status.code, status.message.as_str()), (2, "it broke"));
}
