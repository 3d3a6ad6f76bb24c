//! Connect and gRPC-Web on the gRPC port, with real clients over loopback: the Connect-ES
//! clients for Node (`@connectrpc/connect-node`, Connect and gRPC-Web transports, HTTP/1.1 and
//! HTTP/2, JSON and binary), and hyper for what a library client hides (gRPC-Web text, Connect
//! GET, the error forms, gzip, CORS).
//!
//! The Node clients must be installed first: `tests/integration/clients/install.sh`.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use prost::Message;
use serde_json::{Value, json};
use support::echo::{self, SayResponse, say};

const ORIGIN: &str = "https://app.example.com";

async fn server(toml: &str) -> bia::RunningApp {
    echo::start("connect-echo", toml).await
}

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("clients")
}

/// Runs the Node client against `running` and returns what it saw.
fn node(running: &bia::RunningApp, protocol: &str, http: &str, format: &str, gzip: bool) -> Value {
    let dir = clients_dir();
    assert!(
        dir.join("node_modules/@connectrpc/connect-node").is_dir(),
        "the Node clients are not installed: run tests/integration/clients/install.sh (needs Node.js 20 and npm)"
    );
    let descriptors = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(descriptors.path(), echo::pb::FILE_DESCRIPTOR_SET).unwrap();
    let url = format!("http://{}", running.grpc_addr());
    let output = Command::new("node")
        .current_dir(&dir)
        .arg("echo_client.mjs")
        .args([
            url.as_str(),
            descriptors.path().to_str().unwrap(),
            protocol,
            http,
            format,
        ])
        .args(gzip.then_some("gzip"))
        .output()
        .expect("node runs (install Node.js 20 or newer)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the {protocol} client over HTTP/{http} ({format}) failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

/// What every transport must see of unary and server-streaming calls.
fn assert_unary_and_server_streaming(seen: &Value, what: &str) {
    assert_eq!(seen["say"]["ok"]["message"], "hello", "{what}: {seen}");
    assert!(
        seen["say"]["ok"]["served_by"]
            .as_str()
            .is_some_and(|s| s.starts_with("127.0.0.1:")),
        "{what}: the handler's response header reaches the client: {seen}"
    );
    let missing = &seen["missing"]["error"];
    assert_eq!(missing["code"], "NotFound", "{what}: {seen}");
    assert_eq!(missing["message"], "no such thing", "{what}: {seen}");
    assert_eq!(
        missing["details"][0]["type"], "google.rpc.ErrorInfo",
        "{what}: {seen}"
    );
    assert_eq!(
        seen["deadline"]["error"]["code"], "DeadlineExceeded",
        "{what}: {seen}"
    );
    assert_eq!(
        seen["count"]["ok"],
        json!(["n 0", "n 1", "n 2"]),
        "{what}: {seen}"
    );
    assert_eq!(
        seen["count_missing"]["error"]["code"], "NotFound",
        "{what}: {seen}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_clients_make_every_kind_of_call_in_json_and_binary() {
    let running = server("").await;
    let runs = [
        ("1.1", "json", false),
        ("1.1", "binary", true),
        ("2", "json", true),
        ("2", "binary", false),
    ];
    for (http, format, gzip) in runs {
        let seen = tokio::task::block_in_place(|| node(&running, "connect", http, format, gzip));
        let what = format!("Connect over HTTP/{http} in {format}, gzip {gzip}");
        assert_unary_and_server_streaming(&seen, &what);
        // Say has no side effects, so the Connect client calls it with GET.
        let methods = seen["http_methods"].as_array().unwrap();
        assert!(methods.contains(&json!("Say GET")), "{what}: {seen}");
        assert!(methods.contains(&json!("Count POST")), "{what}: {seen}");
        assert!(!methods.contains(&json!("Say POST")), "{what}: {seen}");
        assert_eq!(seen["collect"]["ok"], "a b c", "{what}: {seen}");
        assert_eq!(
            seen["collect_error"]["error"]["code"], "NotFound",
            "{what}: {seen}"
        );
        if http == "2" {
            assert_eq!(seen["chat"]["ok"], json!(["x", "y"]), "{what}: {seen}");
        }
    }
    // The calls went through the server's stack as gRPC calls do, under the same method names.
    support::assert_metrics(
        &running,
        &[
            r#"rpc_method="echo.v1.Echo/Say",rpc_response_status_code="OK""#,
            r#"rpc_method="echo.v1.Echo/Say",rpc_response_status_code="NOT_FOUND""#,
            r#"rpc_method="echo.v1.Echo/Say",rpc_response_status_code="DEADLINE_EXCEEDED""#,
            r#"rpc_method="echo.v1.Echo/Chat",rpc_response_status_code="OK""#,
            r#"rpc_method="echo.v1.Echo/Collect",rpc_response_status_code="NOT_FOUND""#,
        ],
    )
    .await;
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_web_clients_make_unary_and_server_streaming_calls() {
    let running = server("").await;
    for http in ["1.1", "2"] {
        let seen =
            tokio::task::block_in_place(|| node(&running, "grpc-web", http, "binary", false));
        assert_unary_and_server_streaming(&seen, &format!("gRPC-Web over HTTP/{http}"));
        assert_eq!(
            seen["http_methods"],
            json!(["Count POST", "Say POST"]),
            "{seen}"
        );
    }
    support::assert_metrics(
        &running,
        &[r#"rpc_method="echo.v1.Echo/Count",rpc_response_status_code="OK""#],
    )
    .await;
    running.stop().await.unwrap();
}

/// One HTTP/1.1 request to `running`; the status, headers and whole body of the answer.
async fn http1(
    running: &bia::RunningApp,
    request: http::request::Builder,
    body: impl Into<Bytes>,
) -> (http::StatusCode, http::HeaderMap, Bytes) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let path = request.uri_ref().unwrap().clone();
    let request = request
        .uri(format!("http://{}{path}", running.grpc_addr()))
        .body(Full::new(body.into()))
        .unwrap();
    let response = client.request(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    (parts.status, parts.headers, body)
}

fn post(path: &str, content_type: &str) -> http::request::Builder {
    http::Request::post(path).header("content-type", content_type)
}

/// A gRPC (and gRPC-Web) frame of `message`.
fn frame(flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![flags];
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// The frames of a gRPC-Web body: (flags, payload).
fn frames(mut body: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while !body.is_empty() {
        let len = u32::from_be_bytes(body[1..5].try_into().unwrap()) as usize;
        out.push((body[0], body[5..5 + len].to_vec()));
        body = &body[5 + len..];
    }
    out
}

#[tokio::test]
async fn grpc_web_text_carries_messages_and_trailers_in_base64() {
    let running = server("").await;
    let request = post("/echo.v1.Echo/Count", "application/grpc-web-text")
        .header("accept", "application/grpc-web-text")
        .header("x-grpc-web", "1");
    let body = STANDARD.encode(frame(0, &echo::count("t", 2, 0).encode_to_vec()));
    let (status, headers, body) = http1(&running, request, body).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/grpc-web-text+proto");
    // Each chunk is its own base64 run; a whole body of them decodes piece by piece.
    let decoded: Vec<u8> = body
        .split(|&b| b == b'=')
        .filter(|s| !s.is_empty())
        .flat_map(|chunk| {
            let mut chunk = chunk.to_vec();
            while chunk.len() % 4 != 0 {
                chunk.push(b'=');
            }
            STANDARD.decode(chunk).unwrap()
        })
        .collect();
    let text_frames = frames(&decoded);
    let messages: Vec<String> = text_frames
        .iter()
        .filter(|(flags, _)| *flags == 0)
        .map(|(_, m)| SayResponse::decode(m.as_slice()).unwrap().message)
        .collect();
    assert_eq!(messages, ["t 0", "t 1"]);
    let (flags, trailers) = text_frames.last().unwrap();
    assert_eq!(*flags, 0x80, "the last frame holds the trailers");
    let trailers = String::from_utf8_lossy(trailers);
    assert!(trailers.contains("grpc-status:0"), "{trailers}");

    // An error answered before any message is gRPC-Web's trailers-only form: in the headers.
    let request = post("/echo.v1.Echo/Say", "application/grpc-web-text")
        .header("accept", "application/grpc-web-text");
    let body = STANDARD.encode(frame(0, &say("missing").encode_to_vec()));
    let (status, headers, _) = http1(&running, request, body).await;
    assert_eq!(status, 200);
    assert_eq!(headers["grpc-status"], "5");
    // Percent-encoded, as gRPC sends messages.
    assert_eq!(headers["grpc-message"], "no%20such%20thing");
    assert!(headers.contains_key("grpc-status-details-bin"));

    // An error after a message (binary this time): the status is in the trailer frame.
    let request = post("/echo.v1.Echo/Count", "application/grpc-web+proto");
    // (20 ms apart: tonic sends messages ready at once in one chunk, lost with the panic.)
    let body = frame(0, &echo::count("panic", 3, 20).encode_to_vec());
    let (status, _, body) = http1(&running, request, body).await;
    assert_eq!(status, 200);
    let parts = frames(&body);
    assert_eq!(parts.len(), 2, "{parts:?}");
    assert_eq!(
        SayResponse::decode(parts[0].1.as_slice()).unwrap().message,
        "panic 0"
    );
    assert_eq!(parts[1].0, 0x80);
    let trailers = String::from_utf8_lossy(&parts[1].1);
    assert!(trailers.contains("grpc-status:13"), "{trailers}");
    running.stop().await.unwrap();
}

#[tokio::test]
async fn a_grpc_web_codec_other_than_protobuf_is_refused_with_what_is_served() {
    let running = server("").await;
    let (status, _, body) = http1(
        &running,
        post("/echo.v1.Echo/Say", "application/grpc-web+json"),
        "{}",
    )
    .await;
    assert_eq!(status, 415);
    assert!(String::from_utf8_lossy(&body).contains("application/grpc-web+proto"));
    running.stop().await.unwrap();
}

/// The `message` of a Connect error body.
fn message_of(body: &Bytes) -> String {
    json_body(body)["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn json_body(body: &Bytes) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)))
}

#[tokio::test]
async fn connect_unary_errors_have_connect_codes_http_statuses_and_details() {
    let running = server("").await;
    let request =
        post("/echo.v1.Echo/Say", "application/json").header("connect-protocol-version", "1");
    let (status, headers, body) = http1(&running, request, r#"{"message":"missing"}"#).await;
    assert_eq!(status, 404);
    assert_eq!(headers["content-type"], "application/json");
    let error = json_body(&body);
    assert_eq!(error["code"], "not_found");
    assert_eq!(error["message"], "no such thing");
    let detail = &error["details"][0];
    assert_eq!(detail["type"], "google.rpc.ErrorInfo");
    assert_eq!(detail["debug"]["reason"], "THING_NOT_FOUND");
    assert!(detail["value"].as_str().is_some_and(|v| !v.is_empty()));

    // A JSON body that does not fit the message names the field.
    let (status, _, body) = http1(
        &running,
        post("/echo.v1.Echo/Say", "application/json"),
        r#"{"mesage":"typo"}"#,
    )
    .await;
    assert_eq!(status, 400);
    let error = json_body(&body);
    assert_eq!(error["code"], "invalid_argument");
    assert!(
        error["message"].as_str().unwrap().contains("mesage"),
        "{error}"
    );

    // A method the server does not have.
    let (status, _, body) = http1(
        &running,
        post("/echo.v1.Echo/Shout", "application/proto"),
        "",
    )
    .await;
    assert_eq!(status, 501);
    assert_eq!(json_body(&body)["code"], "unimplemented");

    // A bad timeout header is the client's mistake, named.
    let request =
        post("/echo.v1.Echo/Say", "application/json").header("connect-timeout-ms", "soon");
    let (status, _, body) = http1(&running, request, r#"{"message":"x"}"#).await;
    assert_eq!(status, 400);
    support::assert_contains(&message_of(&body), &["connect-timeout-ms"]);

    // A streaming method is not callable as unary.
    let (status, _, body) = http1(
        &running,
        post("/echo.v1.Echo/Count", "application/json"),
        "{}",
    )
    .await;
    assert_eq!(status, 415);
    support::assert_contains(&message_of(&body), &["application/connect+json"]);
    running.stop().await.unwrap();
}

#[tokio::test]
async fn connect_get_calls_methods_without_side_effects_only() {
    let running = server("").await;
    let get = |query: &str| http::Request::get(format!("/echo.v1.Echo/Say?{query}"));
    let (status, headers, body) = http1(
        &running,
        get("connect=v1&encoding=json&message=%7B%22message%22%3A%22got%22%7D"),
        "",
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(json_body(&body), json!({"message": "got"}));

    // Binary, in URL-safe base64.
    let message =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(say("bin").encode_to_vec());
    let (status, headers, body) = http1(
        &running,
        get(&format!(
            "connect=v1&encoding=proto&base64=1&message={message}"
        )),
        "",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/proto");
    assert_eq!(SayResponse::decode(body).unwrap().message, "bin");

    // Count has side effects as far as the proto says: no GET.
    let (status, headers, body) = http1(
        &running,
        http::Request::get("/echo.v1.Echo/Count?connect=v1&encoding=json&message=%7B%7D"),
        "",
    )
    .await;
    assert_eq!(status, 405);
    assert_eq!(headers["allow"], "POST");
    support::assert_contains(&message_of(&body), &["NO_SIDE_EFFECTS"]);

    let (status, _, body) = http1(&running, get("connect=v1&message=x"), "").await;
    assert_eq!(status, 400);
    support::assert_contains(&message_of(&body), &["encoding"]);
    running.stop().await.unwrap();
}

fn gzip(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[tokio::test]
async fn connect_unary_takes_and_answers_gzip() {
    let running = server("").await;
    let long = "z".repeat(4096);
    let request = post("/echo.v1.Echo/Say", "application/json")
        .header("content-encoding", "gzip")
        .header("accept-encoding", "gzip");
    let body = gzip(json!({"message": long}).to_string().as_bytes());
    let (status, headers, body) = http1(&running, request, body).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-encoding"], "gzip");
    assert!(body.len() < 1024, "compressed: {} bytes", body.len());
    assert_eq!(
        serde_json::from_slice::<Value>(&gunzip(&body)).unwrap()["message"],
        long
    );

    // Small answers are not worth compressing; unknown encodings are named.
    let request = post("/echo.v1.Echo/Say", "application/json").header("accept-encoding", "gzip");
    let (_, headers, _) = http1(&running, request, r#"{"message":"short"}"#).await;
    assert!(headers.get("content-encoding").is_none());
    let request = post("/echo.v1.Echo/Say", "application/json").header("content-encoding", "br");
    let (status, headers, body) = http1(&running, request, "{}").await;
    assert_eq!(status, 501);
    assert_eq!(headers["accept-encoding"], "gzip");
    support::assert_contains(&message_of(&body), &["\"br\""]);
    running.stop().await.unwrap();
}

#[tokio::test]
async fn connect_streams_end_with_an_end_of_stream_message() {
    let running = server("").await;
    // Server streaming with gzip both ways: 1 KiB answers go out compressed.
    let long = "s".repeat(2048);
    let request = post("/echo.v1.Echo/Count", "application/connect+json")
        .header("connect-content-encoding", "gzip")
        .header("connect-accept-encoding", "gzip");
    let message = gzip(json!({"message": long, "count": 2}).to_string().as_bytes());
    let (status, headers, body) = http1(&running, request, frame(1, &message)).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/connect+json");
    assert_eq!(headers["connect-content-encoding"], "gzip");
    let answers = frames(&body);
    assert_eq!(answers.len(), 3);
    for (i, (flags, data)) in answers[..2].iter().enumerate() {
        assert_eq!(*flags, 1, "compressed");
        let answer: Value = serde_json::from_slice(&gunzip(data)).unwrap();
        assert_eq!(answer["message"], format!("{long} {i}"));
    }
    assert_eq!(answers[2].0, 2, "the end-of-stream flag");
    assert_eq!(
        serde_json::from_slice::<Value>(&answers[2].1).unwrap(),
        json!({})
    );

    // A handler failing mid-stream: the messages so far, then its error at the end.
    let request = post("/echo.v1.Echo/Count", "application/connect+json");
    let body = frame(0, br#"{"message":"panic","count":3,"delayMs":20}"#);
    let (_, _, body) = http1(&running, request, body).await;
    let answers = frames(&body);
    assert_eq!(answers.len(), 2);
    assert_eq!(
        json_body(&answers[0].1.clone().into()),
        json!({"message": "panic 0"})
    );
    assert_eq!(answers[1].0, 2);
    let end: Value = serde_json::from_slice(&answers[1].1).unwrap();
    assert_eq!(end["error"]["code"], "internal", "{end}");

    // A broken request stream is told apart from a handler's error.
    let request = post("/echo.v1.Echo/Collect", "application/connect+proto");
    let mut body = frame(0, &say("a").encode_to_vec());
    body.extend_from_slice(&[0, 0, 0, 0, 9, 1]);
    let (status, _, body) = http1(&running, request, body).await;
    assert_eq!(status, 200);
    let ends = frames(&body);
    let (flags, end) = ends.last().unwrap();
    assert_eq!(*flags, 2);
    let end: Value = serde_json::from_slice(end).unwrap();
    assert_eq!(end["error"]["code"], "invalid_argument", "{end}");
    assert!(
        end["error"]["message"]
            .as_str()
            .unwrap()
            .contains("short of a whole envelope"),
        "{end}"
    );
    running.stop().await.unwrap();
}

const CORS: &str = r#"
[server.gateway.cors]
allowed_origins = ["https://app.example.com"]
allowed_headers = ["authorization"]
"#;

#[tokio::test]
async fn cors_preflights_are_answered_for_allowed_origins_only() {
    let running = server(CORS).await;
    let preflight = |origin: &str| {
        http::Request::options("/echo.v1.Echo/Say")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type,connect-protocol-version,authorization",
            )
    };
    let (status, headers, _) = http1(&running, preflight(ORIGIN), "").await;
    assert_eq!(status, 204);
    assert_eq!(headers["access-control-allow-origin"], ORIGIN);
    assert!(
        headers["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    let allowed = headers["access-control-allow-headers"].to_str().unwrap();
    for name in [
        "content-type",
        "connect-protocol-version",
        "x-grpc-web",
        "authorization",
    ] {
        assert!(allowed.contains(name), "{name} in {allowed}");
    }
    let (status, headers, body) = http1(&running, preflight("https://evil.example"), "").await;
    assert_eq!(status, 403);
    assert!(headers.get("access-control-allow-origin").is_none());
    assert!(String::from_utf8_lossy(&body).contains("server.gateway.cors.allowed_origins"));

    // The call itself: its status headers are readable by the page's script.
    let request = post("/echo.v1.Echo/Say", "application/grpc-web+proto").header("origin", ORIGIN);
    let (status, headers, _) =
        http1(&running, request, frame(0, &say("missing").encode_to_vec())).await;
    assert_eq!(status, 200);
    assert_eq!(headers["access-control-allow-origin"], ORIGIN);
    let exposed = headers["access-control-expose-headers"].to_str().unwrap();
    for name in ["grpc-status", "grpc-message", "grpc-status-details-bin"] {
        assert!(exposed.contains(name), "{name} in {exposed}");
    }
    running.stop().await.unwrap();
}

#[tokio::test]
async fn without_cors_configuration_no_cors_header_is_sent() {
    let running = server("").await;
    let request = post("/echo.v1.Echo/Say", "application/json").header("origin", ORIGIN);
    let (status, headers, _) = http1(&running, request, r#"{"message":"hi"}"#).await;
    assert_eq!(status, 200);
    assert!(
        headers
            .keys()
            .all(|name| !name.as_str().starts_with("access-control-")),
        "{headers:?}"
    );
    let preflight = http::Request::options("/echo.v1.Echo/Say")
        .header("origin", ORIGIN)
        .header("access-control-request-method", "POST");
    let (_, headers, _) = http1(&running, preflight, "").await;
    assert!(headers.get("access-control-allow-origin").is_none());
    running.stop().await.unwrap();
}

const SECRET: &str = "an HS256 secret of at least 32 bytes, for the gateway";

/// A token for the JWT auth of [`SECRET`], an hour left.
fn token() -> String {
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let claims = json!({"sub": "browser-user", "iss": "https://id.test", "exp": exp});
    let key = jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()).unwrap();
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).unwrap()
}

#[tokio::test]
async fn connect_and_grpc_web_calls_meet_the_same_auth_as_grpc() {
    let running = server(&format!(
        "[auth.jwt]\nsecret = \"{SECRET}\"\nissuer = \"https://id.test\"\n"
    ))
    .await;
    let say_json = || post("/echo.v1.Echo/Say", "application/json");
    let (status, _, body) = http1(&running, say_json(), r#"{"message":"hi"}"#).await;
    assert_eq!(status, 401);
    assert_eq!(json_body(&body)["code"], "unauthenticated");
    let bearer = format!("Bearer {}", token());
    let request = say_json().header("authorization", &bearer);
    let (status, _, body) = http1(&running, request, r#"{"message":"hi"}"#).await;
    assert_eq!(status, 200);
    assert_eq!(json_body(&body), json!({"message": "hi"}));

    // A stream: the refusal comes in the end-of-stream message.
    let request = post("/echo.v1.Echo/Count", "application/connect+json");
    let (status, _, body) = http1(&running, request, frame(0, br#"{"count":1}"#)).await;
    assert_eq!(status, 200);
    let end = frames(&body).pop().unwrap();
    assert_eq!(end.0, 2);
    let end: Value = serde_json::from_slice(&end.1).unwrap();
    assert_eq!(end["error"]["code"], "unauthenticated", "{end}");

    let request = post("/echo.v1.Echo/Say", "application/grpc-web+proto");
    let (_, headers, _) = http1(&running, request, frame(0, &say("hi").encode_to_vec())).await;
    assert_eq!(headers["grpc-status"], "16");
    running.stop().await.unwrap();
}
