//! Log lines and users' spans through real servers: every line written inside a call carries its
//! `trace_id` and `span_id` at the top level, and `#[instrument]` spans in handlers are exported
//! as children of the call's SERVER span by the App serving it.
//!
//! Own test binary: it installs a global subscriber (JSON into a buffer), as a service's main
//! does; the pretty format and the real standard output are checked in a child process.

mod support;

use bia::testing::otlp::{Collector, ReceivedSpan, SpanKind};
use support::Captured;
use support::echo::{self, SayRequest};
use support::traced;

/// The JSON lines of trace `trace_id`, once `count` of them have been written.
async fn json_lines_of(trace_id: &str, count: usize) -> Vec<serde_json::Value> {
    support::eventually(|| {
        let lines: Vec<serde_json::Value> = support::json_logs()
            .text()
            .lines()
            .map(|line| {
                serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
            })
            .filter(|line: &serde_json::Value| line["trace_id"] == trace_id)
            .collect();
        (lines.len() >= count).then_some(lines)
    })
    .await
}

fn say(message: &str, traceparent: &str) -> tonic::Request<SayRequest> {
    let mut request = tonic::Request::new(echo::say(message));
    request
        .metadata_mut()
        .insert("traceparent", traceparent.parse().unwrap());
    request
}

fn traceparent(trace_id: &str) -> String {
    format!("00-{trace_id}-b7ad6b7169203331-01")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn otlp_config(name: &str, endpoint: &str, extra: &str) -> bia::Config {
    bia::testing::config_with(
        name,
        &format!("[telemetry.otlp]\nendpoint = \"{endpoint}\"\n{extra}"),
    )
}

fn find<'a>(spans: &'a [ReceivedSpan], trace_id: &str, name: &str) -> &'a ReceivedSpan {
    spans
        .iter()
        .find(|s| hex(&s.trace_id) == trace_id && s.name == name)
        .unwrap_or_else(|| panic!("no span {name} in trace {trace_id}: {spans:#?}"))
}

fn line_with<'a>(lines: &'a [serde_json::Value], message: &str) -> &'a serde_json::Value {
    lines
        .iter()
        .find(|l| l["message"] == message)
        .unwrap_or_else(|| panic!("no line {message:?} in {lines:#?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_spans_are_children_of_the_server_span_and_log_lines_carry_their_ids() {
    support::json_logs();
    let (collector, endpoint) = Collector::start().await;
    let config = otlp_config("spans-one", &endpoint, "");
    let running = traced::start(&config, None, None).await;
    let mut client = echo::client(&running).await;
    let ok = "0af7651916cd43dd8448eb211c80319c";
    let failing = "1af7651916cd43dd8448eb211c80319c";
    let reply = client.say(say("hello", &traceparent(ok))).await.unwrap();
    assert_eq!(reply.into_inner().message, "hello");
    client
        .say(say("fail", &traceparent(failing)))
        .await
        .unwrap();
    let panicking = "2af7651916cd43dd8448eb211c80319c";
    let err = client
        .say(say("panic", &traceparent(panicking)))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Internal);
    running.stop().await.unwrap();

    let spans = collector.spans();
    let server = find(&spans, ok, "echo.v1.Echo/Say");
    assert_eq!(server.kind, SpanKind::Server);
    let lookup = find(&spans, ok, "lookup");
    assert_eq!(lookup.kind, SpanKind::Internal);
    assert_eq!(lookup.service, "spans-one");
    assert_eq!(lookup.parent_span_id, server.span_id);
    assert_eq!(lookup.attr("echo.length"), Some("5"));
    assert_eq!(lookup.attr("message"), Some("hello"));
    assert_eq!(lookup.status_code, 0, "no error, no status");
    let inner = find(&spans, ok, "inner_step");
    assert_eq!(inner.parent_span_id, lookup.span_id);
    assert_eq!(inner.service, "spans-one");
    let in_trace = spans.iter().filter(|s| hex(&s.trace_id) == ok).count();
    assert_eq!(
        in_trace, 3,
        "the call's `rpc` span makes no span of its own: {spans:#?}"
    );
    let failed = find(&spans, failing, "lookup");
    assert_eq!(
        failed.status_code, 2,
        "an ERROR event marks the span as failed"
    );

    // Log lines: top-level ids of the innermost exported span, in valid JSON.
    let lines = json_lines_of(ok, 3).await;
    let looking = line_with(&lines, "looking up");
    assert_eq!(looking["span_id"], hex(&lookup.span_id), "{looking}");
    assert_eq!(looking["level"], "INFO");
    assert_eq!(looking["step"], "start");
    assert!(looking["timestamp"].as_str().unwrap().ends_with('Z'));
    assert!(
        looking.get("span").is_none(),
        "ids are not nested: {looking}"
    );
    let inner_line = line_with(&lines, "inner step");
    assert_eq!(inner_line["span_id"], hex(&inner.span_id), "{inner_line}");
    let access = lines
        .iter()
        .find(|l| l["target"] == "bia::access")
        .unwrap_or_else(|| panic!("no access line in {lines:#?}"));
    assert_eq!(access["span_id"], hex(&server.span_id), "{access}");
    assert_eq!(access["status"], "OK");
    assert_eq!(access["method"], "echo.v1.Echo/Say");
    // Whole microseconds, written as a float: no binary noise (`0.37898899999999996`).
    let duration = access["duration_ms"]
        .as_f64()
        .expect("duration_ms is a float");
    assert_eq!((duration * 1000.0).round() / 1000.0, duration, "{access}");
    assert!(
        !access.to_string().contains("hello"),
        "the access log never carries the payload: {access}"
    );

    // A caught panic is logged inside the call: the line carries the call's ids.
    let panic_server = find(&spans, panicking, "echo.v1.Echo/Say");
    let lines = json_lines_of(panicking, 3).await;
    let panicked = line_with(&lines, "handler panicked; answered INTERNAL");
    assert_eq!(panicked["level"], "ERROR");
    assert_eq!(
        panicked["span_id"],
        hex(&panic_server.span_id),
        "{panicked}"
    );
    assert_eq!(panicked["panic"], "asked to panic");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_call_inside_a_user_span_is_its_child_and_each_app_keeps_its_name() {
    support::json_logs();
    let (collector, endpoint) = Collector::start().await;
    let back_config = otlp_config("spans-back", &endpoint, "");
    let back = traced::start(&back_config, None, None).await;
    let timeout = "timeout = \"3s\"\n";
    let front_config = otlp_config("spans-front", &endpoint, &back.client_toml("echo", timeout));
    let (channel, telemetry) = bia::testing::client_channel(&front_config, "echo");
    let front = traced::start(&front_config, Some(telemetry), Some(channel)).await;
    let mut client = echo::client(&front).await;
    let trace = "2af7651916cd43dd8448eb211c80319c";
    let reply = client.say(say("relay", &traceparent(trace))).await.unwrap();
    assert_eq!(reply.into_inner().message, "relay");
    front.stop().await.unwrap();
    back.stop().await.unwrap();

    let spans = collector.spans();
    let in_trace: Vec<_> = spans.iter().filter(|s| hex(&s.trace_id) == trace).collect();
    let of = |service: &str, name: &str, kind: SpanKind| {
        in_trace
            .iter()
            .find(|s| s.service == service && s.name == name && s.kind == kind)
            .copied()
            .unwrap_or_else(|| panic!("no {kind:?} span {name} of {service}: {in_trace:#?}"))
    };
    let method = "echo.v1.Echo/Say";
    let front_server = of("spans-front", method, SpanKind::Server);
    let front_lookup = of("spans-front", "lookup", SpanKind::Internal);
    let client_span = of("spans-front", method, SpanKind::Client);
    let back_server = of("spans-back", method, SpanKind::Server);
    let back_lookup = of("spans-back", "lookup", SpanKind::Internal);
    let back_inner = of("spans-back", "inner_step", SpanKind::Internal);
    assert_eq!(front_lookup.parent_span_id, front_server.span_id);
    assert_eq!(front_lookup.attr("relayed"), Some("true"));
    assert_eq!(
        client_span.parent_span_id, front_lookup.span_id,
        "the client call is a child of the user span it was made in"
    );
    assert_eq!(back_server.parent_span_id, client_span.span_id);
    assert_eq!(back_lookup.parent_span_id, back_server.span_id);
    assert_eq!(back_inner.parent_span_id, back_lookup.span_id);
    assert_eq!(in_trace.len(), 6, "{in_trace:#?}");

    // Both services' lines carry the one trace id; each its own span ids.
    let lines = json_lines_of(trace, 5).await;
    let looking: Vec<_> = lines
        .iter()
        .filter(|l| l["message"] == "looking up")
        .map(|l| l["span_id"].as_str().unwrap().to_owned())
        .collect();
    assert!(looking.contains(&hex(&front_lookup.span_id)), "{lines:#?}");
    assert!(looking.contains(&hex(&back_lookup.span_id)), "{lines:#?}");
}

#[test]
fn colours_only_when_asked_for_and_the_guard_writes_out_queued_lines() {
    for (ansi, format) in [(false, "pretty"), (true, "pretty"), (false, "json")] {
        let captured = Captured::default();
        let config = bia::testing::config_with("ansi", &format!("[log]\nformat = \"{format}\"\n"));
        let (subscriber, guard) = bia::telemetry::Logging::new(&config)
            .unwrap()
            .writer(captured.clone())
            .ansi(ansi)
            .subscriber();
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(target: "demo", value = "a\u{1b}[31mb", "escape \u{1b}[0m inside");
        });
        drop(guard);
        let text = captured.text();
        assert_eq!(text.lines().count(), 1, "{text:?}");
        let escapes = text.matches('\u{1b}').count();
        if ansi {
            assert!(escapes > 0, "{text:?}");
            assert!(
                !text.contains("\u{1b}[31mb"),
                "values cannot paint: {text:?}"
            );
        } else {
            assert_eq!(escapes, 0, "{format}: {text:?}");
        }
        assert!(text.contains("WARN"), "{text:?}");
        assert!(text.contains("demo"), "{text:?}");
    }
}

/// Runs in a child process (see below): logs as a service's main does, to standard output.
#[test]
fn child_process_logging_to_stdout() {
    let Ok(format) = std::env::var("BIA_TEST_LOG_CHILD") else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let config = bia::testing::config_with("child", &format!("[log]\nformat = \"{format}\"\n"));
    let guard = bia::telemetry::init_logging(&config).unwrap();
    runtime.block_on(async {
        let running = traced::start(&config, None, None).await;
        let mut client = echo::client(&running).await;
        let trace = "3af7651916cd43dd8448eb211c80319c";
        client.say(say("child", &traceparent(trace))).await.unwrap();
        running.stop().await.unwrap();
    });
    drop(guard);
}

#[test]
fn pretty_lines_on_a_non_terminal_stdout_carry_the_ids_and_no_colours() {
    let out = tempfile::NamedTempFile::new().unwrap();
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["child_process_logging_to_stdout", "--exact", "--nocapture"])
        .env("BIA_TEST_LOG_CHILD", "pretty")
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .stdout(out.reopen().unwrap())
        .status()
        .unwrap();
    assert!(status.success());
    let bytes = std::fs::read(out.path()).unwrap();
    assert!(!bytes.contains(&0x1b), "no ANSI escapes into a file");
    let text = String::from_utf8(bytes).unwrap();
    let trace = "trace_id=3af7651916cd43dd8448eb211c80319c span_id=";
    for needle in ["looking up", "inner step", "bia::access"] {
        let line = text
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{text}"));
        let at = line
            .find(trace)
            .unwrap_or_else(|| panic!("no ids in {line:?}"));
        let span_id = &line[at + trace.len()..];
        assert_eq!(span_id.len(), 16, "{line:?}");
        assert!(span_id.bytes().all(|b| b.is_ascii_hexdigit()), "{line:?}");
    }
    let access = text.lines().find(|l| l.contains("bia::access")).unwrap();
    assert!(
        access.contains(" INFO bia::access: call method=echo.v1.Echo/Say status=OK"),
        "{access}"
    );
}

#[test]
fn a_bad_filter_is_reported_with_its_key_and_value() {
    if std::env::var_os("RUST_LOG").is_some_and(|v| !v.is_empty()) {
        return; // RUST_LOG wins over log.level
    }
    let config = bia::testing::config_with("bad-filter", "[log]\nlevel = \"info,bia=loud\"\n");
    let error = bia::telemetry::Logging::new(&config)
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("log.level = \"info,bia=loud\" is not a valid filter"),
        "{error}"
    );
}
