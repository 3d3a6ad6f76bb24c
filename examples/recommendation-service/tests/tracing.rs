//! One call to recommendation-service makes one trace across both services, exported over OTLP;
//! both services' `/metrics` carry the server and client histograms.

mod support;

use bia::testing::otlp::SpanKind;
use bia::testing::otlp::{Collector, ReceivedSpan};
use recommendation_service::pb::recommendation::v1::{EventKind, StreamRecommendationsRequest};
use support::{Services, event};

const STREAM: &str = "recommendation.v1.RecommendationService/StreamRecommendations";
const LIVE: &str = "recommendation.v1.RecommendationService/LiveRecommendations";
const GET_USER: &str = "user.v1.UserService/GetUser";

/// The one span of `parent`'s trace with this name, kind and service, asserting that it is a
/// child of `parent`.
fn child_of(
    spans: &[ReceivedSpan],
    parent: &ReceivedSpan,
    name: &str,
    kind: SpanKind,
    service: &str,
) -> ReceivedSpan {
    let found: Vec<_> = spans
        .iter()
        .filter(|s| {
            s.trace_id == parent.trace_id
                && s.name == name
                && s.kind == kind
                && s.service == service
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one {kind:?} {name} of {service}: {spans:#?}"
    );
    assert_eq!(
        found[0].parent_span_id, parent.span_id,
        "{kind:?} {name} of {service} under {:?} {}",
        parent.kind, parent.name
    );
    found[0].clone()
}

/// The attributes every RPC span carries (for `server.*`, see [`assert_server_address`]), and
/// the span status, as the OpenTelemetry gRPC conventions set it: a CLIENT span is an error on
/// any status but OK; a SERVER span only on the server's own failures (UNKNOWN,
/// DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS), not on the caller's
/// mistakes such as NOT_FOUND.
fn assert_rpc_attributes(span: &ReceivedSpan, method: &str, status: &str) {
    assert_eq!(span.attr("rpc.system.name"), Some("grpc"), "{span:?}");
    assert_eq!(span.attr("rpc.method"), Some(method), "{span:?}");
    let code = span.attr("rpc.response.status_code");
    assert_eq!(code, Some(status), "{span:?}");
    if status == "OK" {
        assert_eq!(span.attr("error.type"), None, "{span:?}");
    } else {
        assert_eq!(span.attr("error.type"), Some(status), "{span:?}");
    }
    let server_fault = [
        "UNKNOWN",
        "DEADLINE_EXCEEDED",
        "UNIMPLEMENTED",
        "INTERNAL",
        "UNAVAILABLE",
        "DATA_LOSS",
    ]
    .contains(&status);
    let error = match span.kind {
        SpanKind::Server => server_fault,
        _ => status != "OK",
    };
    if error {
        assert_eq!(span.status_code, 2, "span status ERROR: {span:?}");
    } else {
        assert_ne!(span.status_code, 2, "span status not ERROR: {span:?}");
    }
}

/// `server.address` and `server.port`: where the call went.
fn assert_server_address(span: &ReceivedSpan, port: u16) {
    let port = port.to_string();
    assert_eq!(span.attr("server.address"), Some("127.0.0.1"), "{span:?}");
    assert_eq!(span.attr("server.port"), Some(port.as_str()), "{span:?}");
}

fn histogram_count(kind: &str, method: &str, status: &str, count: u32) -> String {
    format!(
        "rpc_{kind}_call_duration_seconds_count{{rpc_system_name=\"grpc\",\
         rpc_method=\"{method}\",rpc_response_status_code=\"{status}\"}} {count}"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_call_is_one_trace_across_both_services() {
    let (collector, endpoint) = Collector::start().await;
    let services = Services::start(Some(&endpoint)).await;
    let ada = services.create_user("Ada").await;
    let mut client = services.client().await;

    // A server stream for a known user, then one for an unknown user.
    let request = StreamRecommendationsRequest {
        user_id: ada.clone(),
        limit: 3,
    };
    let mut stream = client
        .stream_recommendations(request)
        .await
        .unwrap()
        .into_inner();
    while stream.message().await.unwrap().is_some() {}
    let request = StreamRecommendationsRequest {
        user_id: "nobody".into(),
        limit: 3,
    };
    let status = client.stream_recommendations(request).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::NotFound);
    // A bidi stream checks its user while the response streams, after the handler returned.
    let events = tokio_stream::iter(vec![event(&ada, "item-001", EventKind::Like)]);
    let mut live = client
        .live_recommendations(events)
        .await
        .unwrap()
        .into_inner();
    while live.message().await.unwrap().is_some() {}

    // Both services' metrics, with the contracted names and labels.
    let recommendation_metrics = services.recommendations.metrics_text().await;
    let user_metrics = services.users.metrics_text().await;
    for line in [
        histogram_count("server", STREAM, "OK", 1),
        histogram_count("server", STREAM, "NOT_FOUND", 1),
        histogram_count("server", LIVE, "OK", 1),
        histogram_count("client", GET_USER, "OK", 2),
        histogram_count("client", GET_USER, "NOT_FOUND", 1),
        format!(
            "rpc_client_call_duration_seconds_bucket{{rpc_system_name=\"grpc\",\
             rpc_method=\"{GET_USER}\",rpc_response_status_code=\"OK\",le=\"0.005\"}}"
        ),
        format!("rpc_server_stream_messages_sent_total{{rpc_method=\"{STREAM}\"}} 3"),
        "# TYPE rpc_server_call_duration_seconds histogram".to_owned(),
        "# TYPE rpc_client_call_duration_seconds histogram".to_owned(),
    ] {
        let text = &recommendation_metrics;
        assert!(text.contains(&line), "missing `{line}` in:\n{text}");
    }
    for line in [
        histogram_count("server", GET_USER, "OK", 2),
        histogram_count("server", GET_USER, "NOT_FOUND", 1),
        histogram_count("server", "user.v1.UserService/CreateUser", "OK", 1),
        "# TYPE rpc_server_call_duration_seconds histogram".to_owned(),
    ] {
        let text = &user_metrics;
        assert!(text.contains(&line), "missing `{line}` in:\n{text}");
    }

    // Stopping flushes each service's spans to the collector.
    let recommendation_port = services.recommendations.grpc_addr().port();
    let user_port = services.users.grpc_addr().port();
    services.stop().await;
    let spans = collector.spans();

    for (method, status) in [(STREAM, "OK"), (STREAM, "NOT_FOUND"), (LIVE, "OK")] {
        // The recommendation-service SERVER span: a root (the test sent no traceparent) ...
        let root = spans
            .iter()
            .find(|s| {
                s.name == method
                    && s.kind == SpanKind::Server
                    && s.attr("rpc.response.status_code") == Some(status)
            })
            .unwrap_or_else(|| panic!("a SERVER span {method} {status} in {spans:#?}"))
            .clone();
        assert_eq!(root.service, "recommendation-service");
        assert!(root.parent_span_id.is_empty(), "a root span: {root:?}");
        assert_rpc_attributes(&root, method, status);
        assert_server_address(&root, recommendation_port);
        assert_eq!(root.attr("network.peer.address"), Some("127.0.0.1"));

        // ... -> its CLIENT span GetUser ...
        let client = child_of(
            &spans,
            &root,
            GET_USER,
            SpanKind::Client,
            "recommendation-service",
        );
        assert_rpc_attributes(&client, GET_USER, status);

        // ... -> the user-service SERVER span GetUser.
        let server = child_of(&spans, &client, GET_USER, SpanKind::Server, "user-service");
        assert_rpc_attributes(&server, GET_USER, status);
        assert_server_address(&server, user_port);
        assert_eq!(server.attr("network.peer.address"), Some("127.0.0.1"));

        let in_trace = spans.iter().filter(|s| s.trace_id == root.trace_id).count();
        assert_eq!(in_trace, 3, "{method} {status}: three spans in the trace");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_span_names_the_server_it_called() {
    let (collector, endpoint) = Collector::start().await;
    let services = Services::start(Some(&endpoint)).await;
    let ada = services.create_user("Ada").await;
    let request = StreamRecommendationsRequest {
        user_id: ada,
        limit: 1,
    };
    let mut stream = services
        .client()
        .await
        .stream_recommendations(request)
        .await
        .unwrap()
        .into_inner();
    while stream.message().await.unwrap().is_some() {}
    let user_port = services.users.grpc_addr().port();
    services.stop().await;
    let client = collector
        .span_named(GET_USER, SpanKind::Client)
        .expect("a CLIENT span");
    assert_server_address(&client, user_port);
}
