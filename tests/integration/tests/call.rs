//! `bia call`, the real binary, against real servers over loopback: list and describe through
//! reflection (v1, and v1alpha on a server that has only that), all four RPC kinds, metadata,
//! deadlines, error details, bad JSON, local protos, TLS and mTLS.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use support::echo::{self, CountRequest, Echo, EchoServer, EchoService, SayRequest, SayResponse};
use tonic::{Request, Response, Status, Streaming};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

/// The `bia` binary, built once per test run with the profile of this test.
fn bia_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        // target/<profile>/deps/call-<hash> -> target/<profile>/bia
        let exe = std::env::current_exe().expect("the test binary has a path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("tests run from target/<profile>/deps");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut build = Command::new(cargo);
        build
            .args(["build", "--quiet", "-p", "bia-cli", "--bin", "bia"])
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
        if profile_dir.ends_with("release") {
            build.arg("--release");
        }
        let status = build.status().expect("cargo runs");
        assert!(status.success(), "building the bia binary failed");
        let built = profile_dir.join(format!("bia{}", std::env::consts::EXE_SUFFIX));
        assert!(built.is_file(), "no bia binary at {}", built.display());
        // Another checkout building into the same target folder replaces target/debug/bia;
        // a link of our own keeps pointing at the binary just built from this one.
        let checkout = env!("CARGO_MANIFEST_DIR")
            .bytes()
            .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
        let bin = profile_dir.join(format!(
            "bia-call-test-{checkout:08x}{}",
            std::env::consts::EXE_SUFFIX
        ));
        let _ = std::fs::remove_file(&bin);
        std::fs::hard_link(&built, &bin)
            .or_else(|_| std::fs::copy(&built, &bin).map(drop))
            .expect("the bia binary can be linked or copied");
        bin
    })
}

/// What a run of `bia` printed and how it ended.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code().expect("bia exits, not killed"),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }

    #[track_caller]
    fn ok(self) -> String {
        assert_eq!(self.code, 0, "bia failed:\n{}", self.stderr);
        self.stdout
    }

    /// The replies printed, each a JSON value.
    #[track_caller]
    fn replies(self) -> Vec<serde_json::Value> {
        let out = self.ok();
        serde_json::Deserializer::from_str(&out)
            .into_iter()
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("stdout is not a JSON sequence ({e}):\n{out}"))
    }
}

/// Runs `bia` with `args` and `stdin`, off the runtime's threads (the server runs there).
async fn bia(args: Vec<String>, stdin: &str) -> Run {
    let stdin = stdin.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(bia_bin())
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bia starts");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        Run::from(child.wait_with_output().unwrap())
    })
    .await
    .unwrap()
}

fn args(addr: &str, rest: &[&str]) -> Vec<String> {
    let mut args = vec!["call".to_owned(), addr.to_owned()];
    args.extend(rest.iter().map(|s| s.to_string()));
    args
}

/// The echo service, plus what `bia call` needs to show: metadata read back, rich details.
#[derive(Clone, Default)]
struct CallEcho;

#[tonic::async_trait]
impl Echo for CallEcho {
    async fn say(&self, request: Request<SayRequest>) -> Result<Response<SayResponse>, Status> {
        match request.get_ref().message.as_str() {
            // Reads the caller's metadata back.
            "whoami" => {
                let header = |key: &str| {
                    request
                        .metadata()
                        .get_all(key)
                        .iter()
                        .map(|v| v.to_str().unwrap().to_owned())
                        .collect::<Vec<_>>()
                        .join(",")
                };
                let binary = request
                    .metadata()
                    .get_bin("x-blob-bin")
                    .map(|v| v.to_bytes().unwrap().to_vec())
                    .unwrap_or_default();
                Ok(Response::new(SayResponse {
                    message: format!("tenant={} blob={binary:?}", header("x-tenant")),
                }))
            }
            "invalid" => {
                let mut details = ErrorDetails::with_bad_request(vec![FieldViolation::new(
                    "message",
                    "must not be `invalid`",
                )]);
                details.set_error_info(
                    "MESSAGE_INVALID",
                    "echo.v1",
                    [("hint".to_owned(), "try hello".to_owned())],
                );
                details.set_retry_info(Some(Duration::from_millis(1500)));
                Err(Status::with_error_details(
                    tonic::Code::InvalidArgument,
                    "the message is invalid",
                    details,
                ))
            }
            _ => EchoService.say(request).await,
        }
    }

    type CountStream = <EchoService as Echo>::CountStream;

    async fn count(
        &self,
        request: Request<CountRequest>,
    ) -> Result<Response<Self::CountStream>, Status> {
        EchoService.count(request).await
    }

    async fn collect(
        &self,
        request: Request<Streaming<SayRequest>>,
    ) -> Result<Response<SayResponse>, Status> {
        EchoService.collect(request).await
    }

    type ChatStream = <EchoService as Echo>::ChatStream;

    async fn chat(
        &self,
        request: Request<Streaming<SayRequest>>,
    ) -> Result<Response<Self::ChatStream>, Status> {
        EchoService.chat(request).await
    }
}

/// The Bia echo app on loopback, with reflection of its descriptors, configured by `toml`.
async fn start(toml: &str) -> bia::RunningApp {
    let config = bia::testing::config_with("call", toml);
    let app = bia::App::builder(&config)
        .file_descriptor_set(echo::pb::FILE_DESCRIPTOR_SET)
        .add_service(EchoServer::new(CallEcho))
        .build()
        .expect("the app builds");
    bia::testing::start(app).await.expect("the app starts")
}

fn addr(running: &bia::RunningApp) -> String {
    running.grpc_addr().to_string()
}

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

    let unknown = bia(args(&addr, &["describe", "echo.v1.Nope"]), "").await;
    assert_eq!(unknown.code, 1);
    support::assert_contains(&unknown.stderr, &["echo.v1.Nope", "bia call ADDR list"]);
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
        let replies = bia(
            args(&target, &["echo.v1.Echo/Say", "-d", r#"{"message": "hi"}"#]),
            "",
        )
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
    let replies = bia(
        args(
            &addr,
            &[
                "echo.v1.Echo/Count",
                "-d",
                r#"{"message": "n", "count": 3, "delay_ms": 1}"#,
            ],
        ),
        "",
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
    let replies = bia(args(&addr, &["echo.v1.Echo/Collect", "-d", &data]), "")
        .await
        .replies();
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

/// Spawns `bia` with piped stdin and stdout for a conversation.
fn spawn(args: &[String]) -> std::process::Child {
    Command::new(bia_bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bia starts")
}

/// Reads one pretty-printed JSON reply (up to its closing `}` line).
fn read_reply(stdout: &mut impl BufRead) -> serde_json::Value {
    let mut text = String::new();
    loop {
        let mut line = String::new();
        assert_ne!(
            stdout.read_line(&mut line).unwrap(),
            0,
            "stdout ended in:\n{text}"
        );
        text.push_str(&line);
        if line == "}\n" {
            return serde_json::from_str(&text).unwrap();
        }
    }
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
    let run = bia(
        args(
            &addr,
            &["echo.v1.Echo/Say", "-d", r#"{"message": "invalid"}"#],
        ),
        "",
    )
    .await;
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
    let run = bia(
        args(
            &addr,
            &["echo.v1.Echo/Say", "-d", r#"{"message": "missing"}"#],
        ),
        "",
    )
    .await;
    assert_eq!(run.code, 64 + 5, "{}", run.stderr);
    support::assert_contains(
        &run.stderr,
        &[
            "error: NOT_FOUND (code 5): no such thing",
            "reason: THING_NOT_FOUND",
        ],
    );
    let run = bia(
        args(
            &addr,
            &[
                "echo.v1.Echo/Count",
                "-d",
                r#"{"message": "missing", "count": 1}"#,
            ],
        ),
        "",
    )
    .await;
    assert_eq!(run.code, 64 + 5, "{}", run.stderr);
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_json_names_the_field_and_the_expected_type() {
    let running = start("").await;
    let addr = addr(&running);
    let run = bia(
        args(
            &addr,
            &[
                "echo.v1.Echo/Count",
                "-d",
                r#"{"message": "x", "count": "many"}"#,
            ],
        ),
        "",
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    support::assert_contains(
        &run.stderr,
        &[
            "request message 1 does not fit echo.v1.CountRequest: field `count`:",
            "takes an unsigned 32-bit integer",
        ],
    );

    let run = bia(
        args(&addr, &["echo.v1.Echo/Say", "-d", r#"{"mesage": "x"}"#]),
        "",
    )
    .await;
    assert_eq!(run.code, 1);
    support::assert_contains(
        &run.stderr,
        &[
            "unrecognized field name 'mesage'",
            "echo.v1.SayRequest has the fields: message, padding",
        ],
    );

    let run = bia(
        args(&addr, &["echo.v1.Echo/Say", "-d", r#"{"message": "x""#]),
        "",
    )
    .await;
    assert_eq!(run.code, 1);
    support::assert_contains(
        &run.stderr,
        &["request message 1 is not valid JSON", "column"],
    );

    // The second message of a client stream on stdin is bad: the call is not completed.
    let run = bia(
        args(&addr, &["echo.v1.Echo/Collect"]),
        "{\"message\": \"ok\"}\n{\"message\": 7}\n",
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    support::assert_contains(
        &run.stderr,
        &["request message 2", "field `message`", "a string"],
    );

    let run = bia(args(&addr, &["echo.v1.Echo/Shout"]), "").await;
    assert_eq!(run.code, 1);
    support::assert_contains(
        &run.stderr,
        &["no method `echo.v1.Echo/Shout`", "echo.v1.Echo/Say"],
    );
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

    let run = bia(args(&addr, &["echo.v1.Echo/Say", "-d", "{}"]), "").await;
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
    let replies = bia(
        args(&addr, &["echo.v1.Echo/Say", "-d", r#"{"message": "old"}"#]),
        "",
    )
    .await
    .replies();
    assert_eq!(replies, [serde_json::json!({"message": "old"})]);
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

/// A self-signed certificate for `name`: (certificate PEM, key PEM).
fn self_signed(name: &str) -> (String, String) {
    let certified = rcgen::generate_simple_self_signed(vec![name.to_owned()]).unwrap();
    (certified.cert.pem(), certified.signing_key.serialize_pem())
}

fn write(dir: &Path, name: &str, contents: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_ca_file_an_authority_insecure_and_mtls() {
    let dir = tempfile::tempdir().unwrap();
    let (server_cert, server_key) = self_signed("localhost");
    let (client_cert, client_key) = self_signed("caller");
    let server_pem = write(dir.path(), "server.pem", &server_cert);
    let server_key = write(dir.path(), "server.key", &server_key);
    let client_pem = write(dir.path(), "client.pem", &client_cert);
    let client_key = write(dir.path(), "client.key", &client_key);
    let running = start(&format!(
        "[server.grpc.tls]\ncert_file = {server_pem:?}\nkey_file = {server_key:?}\n\
         client_ca_file = {client_pem:?}\n"
    ))
    .await;
    let https = format!("https://{}", addr(&running));
    let say = ["echo.v1.Echo/Say", "-d", r#"{"message": "whoami"}"#];
    let with = |extra: &[&str]| {
        let mut all = args(&https, extra);
        all.extend(say.iter().map(|s| s.to_string()));
        all
    };

    // The server's certificate names localhost, not 127.0.0.1: --authority says which name.
    let mtls = [
        "--cacert",
        &server_pem,
        "--authority",
        "localhost",
        "--cert",
        &client_pem,
        "--key",
        &client_key,
    ];
    let replies = bia(with(&mtls), "").await.replies();
    support::assert_contains(replies[0]["message"].as_str().unwrap(), &["tenant="]);

    // --insecure skips verifying the server, and still presents the client certificate.
    let insecure = ["--insecure", "--cert", &client_pem, "--key", &client_key];
    bia(with(&insecure), "").await.replies();

    // Without the CA the server's certificate is refused, with the reason.
    let untrusted = [
        "--authority",
        "localhost",
        "--cert",
        &client_pem,
        "--key",
        &client_key,
    ];
    let run = bia(with(&untrusted), "").await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    support::assert_contains(&run.stderr, &["cannot connect to https://", "certificate"]);

    // Without a client certificate the mTLS server refuses the call.
    let run = bia(
        with(&["--cacert", &server_pem, "--authority", "localhost"]),
        "",
    )
    .await;
    assert_ne!(run.code, 0, "{}", run.stdout);

    // A TLS server is not plaintext, and --cert needs --key.
    let plain = bia(args(&addr(&running), &say), "").await;
    assert_ne!(plain.code, 0);
    let half = bia(with(&["--cert", &client_pem]), "").await;
    assert_eq!(half.code, 2);
    support::assert_contains(&half.stderr, &["--cert and --key go together"]);
    running.stop().await.unwrap();
}
