//! `bia call`, the real binary, against real servers over loopback: list and describe through
//! reflection (v1, and v1alpha on a server that has only that), all four RPC kinds, metadata,
//! deadlines, error details, bad JSON, local protos, TLS and mTLS, and the example services.

#[path = "../support/mod.rs"]
mod support;

mod bin;
mod examples;
mod service;
mod tls;

use std::io::{BufReader, Write};
use std::time::{Duration, Instant};

use bin::{args, bia, bia_bin, call, read_reply, spawn};
use service::{CallEcho, addr, start};
use support::echo::{self, EchoServer};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_and_describe_through_reflection() {
    let running = start("").await;
    let addr = addr(&running);

    let services = bia(args(&addr, &["list"]), "").await.ok();
    support::assert_contains(
        &services,
        &[
            "echo.v1.Echo\n",
            "grpc.health.v1.Health\n",
            "grpc.reflection.v1.ServerReflection\n",
        ],
    );

    let methods = bia(args(&addr, &["list", "echo.v1.Echo"]), "").await.ok();
    assert_eq!(
        methods,
        "echo.v1.Echo/Say\necho.v1.Echo/Count\necho.v1.Echo/Collect\necho.v1.Echo/Chat\n"
    );

    let service = bia(args(&addr, &["describe", "echo.v1.Echo"]), "")
        .await
        .ok();
    support::assert_contains(
        &service,
        &[
            "echo.v1.Echo is a service:\n",
            "service Echo {\n",
            "  rpc Say(echo.v1.SayRequest) returns (echo.v1.SayResponse);\n",
            "  rpc Count(echo.v1.CountRequest) returns (stream echo.v1.SayResponse);\n",
            "  rpc Collect(stream echo.v1.SayRequest) returns (echo.v1.SayResponse);\n",
            "  rpc Chat(stream echo.v1.SayRequest) returns (stream echo.v1.SayResponse);\n",
        ],
    );

    let message = bia(args(&addr, &["describe", "echo.v1.CountRequest"]), "")
        .await
        .ok();
    assert_eq!(
        message,
        "echo.v1.CountRequest is a message:\nmessage CountRequest {\n  string message = 1;\n  \
         uint32 count = 2;\n  uint32 delay_ms = 3;\n}\n"
    );
    let method = bia(args(&addr, &["describe", "echo.v1.Echo/Count"]), "")
        .await
        .ok();
    support::assert_contains(&method, &["echo.v1.Echo.Count is a method:"]);

    // Without a symbol: every service.
    let all = bia(args(&addr, &["describe"]), "").await.ok();
    support::assert_contains(
        &all,
        &[
            "service Echo {\n",
            "service Health {\n",
            "service ServerReflection {\n",
        ],
    );

    let unknown = bia(args(&addr, &["describe", "echo.v1.Nope"]), "").await;
    assert_eq!(unknown.code, 1);
    support::assert_contains(&unknown.stderr, &["echo.v1.Nope", "bia call ADDR list"]);

    // `bia call` ends its reflection streams (closes its side, reads the status) rather than
    // dropping them, so the server counts them OK, not CANCELLED.
    let reflection = "rpc_method=\"grpc.reflection.v1.ServerReflection/ServerReflectionInfo\"";
    let metrics = running.metrics_text().await;
    let statuses: Vec<&str> = metrics
        .lines()
        .filter(|l| {
            l.starts_with("rpc_server_call_duration_seconds_count") && l.contains(reflection)
        })
        .collect();
    assert!(
        statuses.iter().any(|l| l.contains("status_code=\"OK\"")),
        "{statuses:#?}"
    );
    assert!(
        !statuses.iter().any(|l| l.contains("CANCELLED")),
        "{statuses:#?}"
    );
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_four_kinds_of_call() {
    let running = start("").await;
    let addr = addr(&running);

    // Unary, in the three address forms.
    for target in [
        addr.clone(),
        format!("http://{addr}"),
        format!("http://{addr}/"),
    ] {
        let replies = call(&target, "echo.v1.Echo/Say", r#"{"message": "hi"}"#)
            .await
            .replies();
        assert_eq!(replies, [serde_json::json!({"message": "hi"})]);
    }
    // No -d: an empty request; `--emit-defaults` shows the empty reply's field.
    let replies = bia(args(&addr, &["echo.v1.Echo.Say", "--emit-defaults"]), "")
        .await
        .replies();
    assert_eq!(replies, [serde_json::json!({"message": ""})]);

    // Server streaming, fields in either name form.
    let replies = call(
        &addr,
        "echo.v1.Echo/Count",
        r#"{"message": "n", "count": 3, "delay_ms": 1}"#,
    )
    .await
    .replies();
    assert_eq!(
        replies,
        [
            serde_json::json!({"message": "n 0"}),
            serde_json::json!({"message": "n 1"}),
            serde_json::json!({"message": "n 2"})
        ]
    );

    // Client streaming from stdin, messages separated by any whitespace; and from a file.
    let stdin = "{\"message\": \"a\"} {\"message\": \"b\"}\n\n{\"message\":\"c\"}\n";
    let replies = bia(args(&addr, &["echo.v1.Echo/Collect"]), stdin)
        .await
        .replies();
    assert_eq!(replies, [serde_json::json!({"message": "a b c"})]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("messages.json");
    std::fs::write(&file, "{\"message\": \"x\"}\n{\"message\": \"y\"}\n").unwrap();
    let data = format!("@{}", file.display());
    let replies = call(&addr, "echo.v1.Echo/Collect", &data).await.replies();
    assert_eq!(replies, [serde_json::json!({"message": "x y"})]);
    // A unary call reads stdin with -d @-.
    let replies = bia(
        args(&addr, &["echo.v1.Echo/Say", "-d", "@-"]),
        r#"{"message": "piped"}"#,
    )
    .await
    .replies();
    assert_eq!(replies, [serde_json::json!({"message": "piped"})]);

    // Bidi: every message echoed.
    let replies = bia(
        args(&addr, &["echo.v1.Echo/Chat"]),
        "{\"message\": \"one\"}\n{\"message\": \"two\"}\n",
    )
    .await
    .replies();
    assert_eq!(
        replies,
        [
            serde_json::json!({"message": "one"}),
            serde_json::json!({"message": "two"})
        ]
    );
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_print_each_reply_as_it_arrives_and_bidi_sends_as_stdin_is_read() {
    let running = start("").await;
    let addr = addr(&running);
    tokio::task::spawn_blocking(move || {
        // Server streaming: the first reply shows long before the last one is sent.
        let mut child = spawn(&args(
            &addr,
            &[
                "echo.v1.Echo/Count",
                "-d",
                r#"{"message": "t", "count": 3, "delayMs": 400}"#,
            ],
        ));
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        assert_eq!(
            read_reply(&mut stdout),
            serde_json::json!({"message": "t 0"})
        );
        let first = Instant::now();
        let status = child.wait().unwrap();
        assert!(status.success());
        assert!(
            first.elapsed() >= Duration::from_millis(600),
            "the first reply came only {:?} before the end",
            first.elapsed()
        );

        // Bidi: a reply comes back while stdin is still open.
        let mut child = spawn(&args(&addr, &["echo.v1.Echo/Chat"]));
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        stdin.write_all(b"{\"message\": \"ping\"}\n").unwrap();
        stdin.flush().unwrap();
        assert_eq!(
            read_reply(&mut stdout),
            serde_json::json!({"message": "ping"})
        );
        stdin.write_all(b"{\"message\": \"pong\"}").unwrap();
        stdin.flush().unwrap();
        assert_eq!(
            read_reply(&mut stdout),
            serde_json::json!({"message": "pong"})
        );
        drop(stdin);
        assert!(child.wait().unwrap().success());
    })
    .await
    .unwrap();
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_reaches_the_handler() {
    let running = start("").await;
    let addr = addr(&running);
    let replies = bia(
        args(
            &addr,
            &[
                "echo.v1.Echo/Say",
                "-d",
                r#"{"message": "whoami"}"#,
                "-H",
                "X-Tenant: acme",
                "-H",
                "x-tenant:second",
                "-H",
                "x-blob-bin: AAEC",
            ],
        ),
        "",
    )
    .await
    .replies();
    let reply = replies[0]["message"].as_str().unwrap();
    support::assert_contains(reply, &["tenant=acme,second", "blob=[0, 1, 2]"]);

    // -v shows what came back besides the reply: the handler's own response header.
    let verbose = bia(
        args(
            &addr,
            &["-v", "echo.v1.Echo/Say", "-d", r#"{"message": "hi"}"#],
        ),
        "",
    )
    .await;
    support::assert_contains(
        &verbose.stderr,
        &[
            "response headers and trailers:\n",
            &format!("  x-served-by: {addr}\n"),
            "  grpc-status: 0\n",
        ],
    );
    assert_eq!(verbose.ok(), "{\n  \"message\": \"hi\"\n}\n");

    let bad = bia(args(&addr, &["echo.v1.Echo/Say", "-H", "no colon"]), "").await;
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    support::assert_contains(&bad.stderr, &["'key: value'"]);
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deadline_expires_with_deadline_exceeded() {
    let running = start("").await;
    let addr = addr(&running);
    // Built first, so that the build does not count against the deadline.
    tokio::task::spawn_blocking(bia_bin).await.unwrap();
    let started = Instant::now();
    let run = bia(
        args(
            &addr,
            &[
                "echo.v1.Echo/Say",
                "-d",
                r#"{"message": "slow:3000"}"#,
                "--deadline",
                "300ms",
            ],
        ),
        "",
    )
    .await;
    assert_eq!(run.code, 64 + 4, "{}", run.stderr);
    support::assert_contains(&run.stderr, &["error: DEADLINE_EXCEEDED (code 4)"]);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    let bad = bia(args(&addr, &["echo.v1.Echo/Say", "--deadline", "soon"]), "").await;
    assert_eq!(bad.code, 2);
    support::assert_contains(&bad.stderr, &["invalid duration `soon`", "5s"]);
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_status_prints_its_code_message_and_details() {
    let running = start("").await;
    let addr = addr(&running);
    let run = call(&addr, "echo.v1.Echo/Say", r#"{"message": "invalid"}"#).await;
    assert_eq!(run.code, 64 + 3, "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    support::assert_contains(
        &run.stderr,
        &[
            "error: INVALID_ARGUMENT (code 3): the message is invalid\n",
            "  RetryInfo (google.rpc.RetryInfo):\n    retryDelay: 1.500s\n",
            "  ErrorInfo (google.rpc.ErrorInfo):\n    reason: MESSAGE_INVALID\n    domain: echo.v1\n    \
             metadata:\n      hint: try hello\n",
            "  BadRequest (google.rpc.BadRequest):\n    fieldViolations:\n      -\n        \
             field: message\n        description: must not be `invalid`\n",
        ],
    );

    // bia::Error's ErrorInfo, on a server stream too.
    let run = call(&addr, "echo.v1.Echo/Say", r#"{"message": "missing"}"#).await;
    assert_eq!(run.code, 64 + 5, "{}", run.stderr);
    support::assert_contains(
        &run.stderr,
        &[
            "error: NOT_FOUND (code 5): no such thing",
            "reason: THING_NOT_FOUND",
        ],
    );
    let run = call(
        &addr,
        "echo.v1.Echo/Count",
        r#"{"message": "missing", "count": 1}"#,
    )
    .await;
    assert_eq!(run.code, 64 + 5, "{}", run.stderr);
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_json_names_the_field_and_the_expected_type() {
    let running = start("").await;
    let addr = addr(&running);
    // (arguments after the address, stdin, what stderr must say); each fails before a reply.
    let cases: [(&[&str], &str, &[&str]); 5] = [
        (
            &[
                "echo.v1.Echo/Count",
                "-d",
                r#"{"message": "x", "count": "many"}"#,
            ],
            "",
            &[
                "request message 1 does not fit echo.v1.CountRequest: field `count`:",
                "takes an unsigned 32-bit integer",
            ],
        ),
        (
            &["echo.v1.Echo/Say", "-d", r#"{"mesage": "x"}"#],
            "",
            &[
                "unrecognized field name 'mesage'",
                "echo.v1.SayRequest has the fields: message, padding",
            ],
        ),
        (
            &["echo.v1.Echo/Say", "-d", r#"{"message": "x""#],
            "",
            &["request message 1 is not valid JSON", "column"],
        ),
        // The second message of a client stream on stdin is bad: the call is not completed.
        (
            &["echo.v1.Echo/Collect"],
            "{\"message\": \"ok\"}\n{\"message\": 7}\n",
            &["request message 2", "field `message`", "a string"],
        ),
        (
            &["echo.v1.Echo/Shout"],
            "",
            &["no method `echo.v1.Echo/Shout`", "echo.v1.Echo/Say"],
        ),
    ];
    for (rest, stdin, needles) in cases {
        let run = bia(args(&addr, rest), stdin).await;
        assert_eq!(run.code, 1, "{rest:?}: {}", run.stderr);
        assert!(run.stdout.is_empty(), "{rest:?}: {}", run.stdout);
        support::assert_contains(&run.stderr, needles);
    }
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_protos_serve_a_server_without_its_descriptors() {
    // No descriptor set: reflection knows only Bia's own services.
    let config = bia::testing::config("bare");
    let app = bia::App::builder(&config)
        .add_service(EchoServer::new(CallEcho))
        .build()
        .unwrap();
    let running = bia::testing::start(app).await.unwrap();
    let addr = addr(&running);

    let run = call(&addr, "echo.v1.Echo/Say", "{}").await;
    assert_eq!(run.code, 1);
    support::assert_contains(
        &run.stderr,
        &[
            "the server does not know it",
            "echo.v1.Echo",
            "bia call ADDR list",
        ],
    );

    let proto = concat!(env!("CARGO_MANIFEST_DIR"), "/proto/echo/v1/echo.proto");
    let include = concat!(env!("CARGO_MANIFEST_DIR"), "/proto");
    let local = |rest: &[&str]| {
        let mut all = args(&addr, &["--proto", proto, "-I", include]);
        all.extend(rest.iter().map(|s| s.to_string()));
        all
    };
    let replies = bia(
        local(&["echo.v1.Echo/Say", "-d", r#"{"message": "local"}"#]),
        "",
    )
    .await
    .replies();
    assert_eq!(replies, [serde_json::json!({"message": "local"})]);
    let described = bia(local(&["describe", "echo.v1.Echo"]), "").await.ok();
    support::assert_contains(
        &described,
        &["// A test service with all four RPC kinds.\nservice Echo {"],
    );
    assert_eq!(bia(local(&["list"]), "").await.ok(), "echo.v1.Echo\n");

    let missing = bia(args(&addr, &["--proto", "nope.proto", "list"]), "").await;
    assert_eq!(missing.code, 1);
    support::assert_contains(&missing.stderr, &["nope.proto not found"]);
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_only_v1alpha_reflection_is_understood() {
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(echo::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(reflection)
            .add_service(EchoServer::new(CallEcho))
            .serve_with_incoming_shutdown(
                tokio_stream::wrappers::TcpListenerStream::new(listener),
                async {
                    let _ = stopped.await;
                },
            ),
    );
    let services = bia(args(&addr, &["list"]), "").await.ok();
    assert_eq!(
        services,
        "echo.v1.Echo\ngrpc.reflection.v1alpha.ServerReflection\n"
    );
    let replies = call(&addr, "echo.v1.Echo/Say", r#"{"message": "old"}"#)
        .await
        .replies();
    assert_eq!(replies, [serde_json::json!({"message": "old"})]);
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
