//! REST/JSON through the gateway on the gRPC port, with real HTTP/1.1 and HTTP/2 clients (and
//! curl) over loopback: every shape of `google.api.http` rule, the proto3 JSON mapping, errors as
//! HTTP statuses with `google.rpc.Status` bodies, auth, metrics and spans shared with gRPC,
//! NDJSON and SSE streams, and start-up errors for bad rules.

mod library;
mod support;

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use tonic::{Request, Response, Status};

#[allow(unreachable_pub, dead_code)]
mod broken {
    tonic::include_proto!("gateway.broken.v1");
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/broken_descriptor.bin"));
}

use library::{Shelf, pb};
use pb::library_server::LibraryServer;
use pb::*;

fn app(config: &bia::Config) -> bia::App {
    bia::App::builder(config)
        .file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .add_service(LibraryServer::new(Shelf))
        .build()
        .expect("the library app builds")
}

async fn start(toml: &str) -> bia::RunningApp {
    let config = bia::testing::config_with("library", toml);
    bia::testing::start(app(&config))
        .await
        .expect("the library starts")
}

// ---------------------------------------------------------------------------------------------
// The clients: hyper over HTTP/1.1 and HTTP/2 (prior knowledge), curl.

struct Answer {
    status: u16,
    headers: http::HeaderMap,
    body: Bytes,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// A REST request to the gateway on the gRPC port: [`rest`], then `json`, `header` and `http2`
/// as needed, then [`Rest::send`].
struct Rest {
    http2: bool,
    request: http::request::Builder,
    body: &'static str,
}

/// A `method` request for `path` (with its query) over HTTP/1.1, without a body.
fn rest(method: &str, path: &str) -> Rest {
    Rest {
        http2: false,
        request: http::Request::builder().method(method).uri(path),
        body: "",
    }
}

impl Rest {
    /// With a JSON body.
    fn json(mut self, body: &'static str) -> Self {
        self.request = self.request.header("content-type", "application/json");
        self.body = body;
        self
    }

    fn header(mut self, name: &str, value: &str) -> Self {
        self.request = self.request.header(name, value);
        self
    }

    /// Over HTTP/2 with prior knowledge (as a gRPC client would connect) when `yes`.
    fn http2(mut self, yes: bool) -> Self {
        self.http2 = yes;
        self
    }

    async fn send(self, running: &bia::RunningApp) -> Answer {
        let mut builder = Client::builder(TokioExecutor::new());
        builder.http2_only(self.http2);
        let client = builder.build_http::<Full<Bytes>>();
        let path = self.request.uri_ref().expect("a path").clone();
        let request = self
            .request
            .uri(format!("http://{}{path}", running.grpc_addr()))
            .body(Full::new(Bytes::from_static(self.body.as_bytes())))
            .unwrap();
        let response = client.request(request).await.expect("the gateway answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Answer {
            status,
            headers,
            body,
        }
    }
}

async fn get(running: &bia::RunningApp, path: &str) -> Answer {
    rest("GET", path).send(running).await
}

// ---------------------------------------------------------------------------------------------
// Every rule shape.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rule_shape_over_http1_and_http2() {
    let running = start("").await;
    for http2 in [false, true] {
        // A variable over several segments; the proto3 JSON mapping of the answer.
        let answer = rest("GET", "/v1/shelves/s1/books/b%201")
            .http2(http2)
            .send(&running)
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        assert_eq!(answer.content_type(), "application/json");
        assert_eq!(
            answer.json(),
            json!({
                "id": "b1",
                "name": "shelves/s1/books/b 1",
                "title": "Dune",
                "genre": "FICTION",
                "pages": "9007199254740993",
                "tags": ["sand", "spice"],
                "published": "2023-11-14T22:13:20.500Z",
                "author": {"id": "a1", "displayName": "Frank Herbert"}
            })
        );

        // A body field beside a path variable and a query parameter; proto names in.
        let emma = r#"{"title":"Emma","genre":"FICTION","pages":"412","tags":["a","b"],"author":{"display_name":"Jane Austen"}}"#;
        let answer = rest("POST", "/v1/shelves/s2/books?request_id=r7")
            .json(emma)
            .http2(http2)
            .send(&running)
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        assert_eq!(
            answer.json(),
            json!({
                "name": "shelves/s2/books/r7",
                "title": "Emma",
                "genre": "FICTION",
                "pages": "412",
                "tags": ["a", "b"],
                "author": {"displayName": "Jane Austen"}
            })
        );
    }

    // A nested path variable into the body field, the update mask from the query.
    let answer = rest("PATCH", "/v1/books/b9?update_mask=title,genre")
        .json(r#"{"title":"New"}"#)
        .send(&running)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(
        answer.json(),
        json!({"id": "b9", "title": "New", "tags": ["title", "genre"]})
    );

    // The additional binding: PUT with the whole request as the body.
    let answer = rest("PUT", "/v1/books/b9")
        .json(r#"{"book":{"title":"Whole"},"updateMask":"title"}"#)
        .http2(true)
        .send(&running)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(
        answer.json(),
        json!({"id": "b9", "title": "Whole", "tags": ["title"]})
    );

    // No body: nested and repeated query parameters, JSON names too, enums by name.
    let answer = get(
        &running,
        "/v1/shelves/s3/books?page_size=25&pageToken=t&filter.genre=SCIENCE&filter.includeDrafts=true&tags=x&tags=y%20z",
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(
        answer.json(),
        json!({
            "books": [{"id": "b1"}],
            "echoed": {
                "shelf": "s3",
                "pageSize": 25,
                "pageToken": "t",
                "filter": {"genre": "SCIENCE", "includeDrafts": true},
                "tags": ["x", "y z"]
            }
        })
    );

    // DELETE answering google.protobuf.Empty.
    let answer = rest("DELETE", "/v1/books/b1").send(&running).await;
    assert_eq!((answer.status, answer.json()), (200, json!({})));

    // A custom verb; a uint64 out of JavaScript's range as a string.
    let answer = rest("POST", "/v1/orders/o5:cancel")
        .json(r#"{"reason":"late"}"#)
        .send(&running)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(
        answer.json(),
        json!({"id": "o5", "state": "CANCELLED", "reason": "late", "refundCents": "18446744073709551615"})
    );

    // `**`: the rest of the path, slashes kept.
    let answer = get(&running, "/v1/files/docs/2024/report.pdf").await;
    assert_eq!(answer.json(), json!({"path": "docs/2024/report.pdf"}));

    // response_body: only that field is the body.
    let answer = get(&running, "/v1/authors/a1").await;
    assert_eq!(
        answer.json(),
        json!({"id": "a1", "displayName": "Frank Herbert"})
    );
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_crosses_the_gateway_both_ways() {
    let running = start("").await;
    let answer = rest("GET", "/v1/shelves/s/books/b")
        .header("x-request-id", "req-42")
        .send(&running)
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.headers["x-echo-id"], "req-42");
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clients_grpc_timeout_is_the_calls_deadline() {
    let running = start("").await;
    let slow = "/v1/files/a?delay_ms=2000";
    let answer = rest("GET", slow)
        .header("grpc-timeout", "100m")
        .send(&running)
        .await;
    assert_eq!(answer.status, 504, "{}", answer.text());
    assert_eq!(answer.json()["code"], 4);
    let quick = "/v1/files/a?delay_ms=1";
    let answer = rest("GET", quick)
        .header("grpc-timeout", "5S")
        .send(&running)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_calls_the_gateway() {
    let running = start("").await;
    let url = format!("http://{}/v1/orders/o1:cancel", running.grpc_addr());
    let output = match std::process::Command::new("curl")
        .args([
            "-sS",
            "-X",
            "POST",
            "-d",
            r#"{"reason":"curl"}"#,
            "-w",
            "\n%{http_code}",
            &url,
        ])
        .output()
    {
        Ok(output) => output,
        Err(e) => panic!("this test needs curl on PATH ({e}); install it (apt-get install curl)"),
    };
    let text = String::from_utf8(output.stdout).unwrap();
    let (body, code) = text.rsplit_once('\n').unwrap();
    assert_eq!(code, "200", "{text}");
    let body: Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["reason"], "curl");
    assert_eq!(body["state"], "CANCELLED");
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_calls_the_gateway_over_tls_with_http1_and_http2() {
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_file = dir.path().join("server.pem");
    let key_file = dir.path().join("server.key");
    std::fs::write(&cert_file, key.cert.pem()).unwrap();
    std::fs::write(&key_file, key.signing_key.serialize_pem()).unwrap();
    let running = start(&format!(
        "[server.grpc.tls]\ncert_file = {:?}\nkey_file = {:?}\n",
        cert_file.display().to_string(),
        key_file.display().to_string()
    ))
    .await;
    let port = running.grpc_addr().port();
    for version in ["--http1.1", "--http2"] {
        let output = std::process::Command::new("curl")
            .args(["-sS", version, "--cacert"])
            .arg(&cert_file)
            .args(["--resolve", &format!("localhost:{port}:127.0.0.1")])
            .args(["-w", "\n%{http_code} %{http_version}"])
            .arg(format!("https://localhost:{port}/v1/files/secure/a"))
            .output()
            .expect("this test needs curl on PATH; install it (apt-get install curl)");
        let text = String::from_utf8(output.stdout).unwrap();
        let (body, status) = text.rsplit_once('\n').unwrap();
        let expected = if version == "--http2" {
            "200 2"
        } else {
            "200 1.1"
        };
        assert_eq!(
            status,
            expected,
            "{text} {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            serde_json::from_str::<Value>(body).unwrap(),
            json!({"path": "secure/a"})
        );
    }
    running.stop().await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Errors.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_errors_are_http_statuses_with_status_json_and_details() {
    let running = start("").await;
    let answer = get(&running, "/v1/shelves/s1/books/missing").await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.content_type(), "application/json");
    assert_eq!(
        answer.json(),
        json!({
            "code": 5,
            "message": "no book shelves/s1/books/missing",
            "details": [{
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "BOOK_NOT_FOUND",
                "domain": "library.test",
                "metadata": {"name": "shelves/s1/books/missing"}
            }]
        })
    );

    let answer = rest("POST", "/v1/shelves/s/books")
        .json(r#"{"title":"dup"}"#)
        .send(&running)
        .await;
    assert_eq!(answer.status, 409);
    assert_eq!(answer.json()["code"], 6);
    assert_eq!(answer.json()["details"][0]["reason"], "BOOK_EXISTS");

    let answer = rest("DELETE", "/v1/books/locked").send(&running).await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.json(),
        json!({"code": 9, "message": "the book is on loan", "details": []})
    );
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_400_naming_the_field() {
    let running = start("").await;
    let post = |body: &'static str| {
        let running = &running;
        async move {
            rest("POST", "/v1/shelves/s/books")
                .json(body)
                .send(running)
                .await
        }
    };
    let bad_request = |answer: &Answer, field: &str, needle: &str| {
        assert_eq!(answer.status, 400, "{}", answer.text());
        let json = answer.json();
        assert_eq!(json["code"], 3);
        let message = json["message"].as_str().unwrap();
        assert!(message.contains(needle), "{message}");
        assert_eq!(
            json["details"][0]["@type"],
            "type.googleapis.com/google.rpc.BadRequest"
        );
        assert_eq!(json["details"][0]["fieldViolations"][0]["field"], field);
    };
    // A wrong type, deep inside the body field.
    let answer = post(r#"{"author":{"displayName":7}}"#).await;
    bad_request(&answer, "book.author.displayName", "invalid type");
    // An unknown field.
    let answer = post(r#"{"titel":"x"}"#).await;
    bad_request(&answer, "book.titel", "titel");
    // Malformed JSON.
    let answer = post(r#"{"title":"#).await;
    bad_request(&answer, "book.title", "expected value at line 1 column 10");
    let answer = post(r#"{"title":"x""#).await;
    bad_request(&answer, "book", "EOF");
    // A bad enum name.
    let answer = post(r#"{"genre":"POETRY"}"#).await;
    bad_request(&answer, "book.genre", "POETRY");
    // Query parameters: unknown, of the wrong type, or given twice.
    let answer = get(&running, "/v1/shelves/s/books?color=red").await;
    bad_request(&answer, "color", "no field `color`");
    let answer = get(&running, "/v1/shelves/s/books?page_size=many").await;
    bad_request(&answer, "page_size", "not a 32-bit integer");
    let answer = get(&running, "/v1/shelves/s/books?page_size=1&page_size=2").await;
    bad_request(&answer, "page_size", "more than once");
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_no_rule_serves_gets_a_clear_answer() {
    let running = start("").await;
    let answer = get(&running, "/v2/nothing").await;
    assert_eq!(answer.status, 404);
    let json = answer.json();
    assert_eq!(json["code"], 5);
    assert_eq!(
        json["message"],
        "no route for GET /v2/nothing: no google.api.http rule of this server matches it"
    );

    let answer = rest("POST", "/v1/files/a").json("{}").send(&running).await;
    assert_eq!(answer.status, 405);
    assert_eq!(answer.headers["allow"], "GET");
    assert!(
        answer.json()["message"]
            .as_str()
            .unwrap()
            .contains("this path takes GET")
    );

    let answer = rest("POST", "/v1/books:import")
        .json("{}")
        .send(&running)
        .await;
    assert_eq!(answer.status, 501);
    let message = answer.json()["message"].as_str().unwrap().to_owned();
    assert!(
        message.contains("a REST call carries one message"),
        "{message}"
    );
    assert!(message.contains("gRPC-Web or Connect"), "{message}");
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_gateway_answers_415_as_plain_grpc_does() {
    let running = start("[server.gateway]\nenabled = false\n").await;
    let answer = get(&running, "/v1/shelves/s1/books/b1").await;
    assert_eq!(answer.status, 415);
    running.stop().await.unwrap();
}

#[test]
fn a_malformed_template_fails_the_build_naming_method_and_template() {
    #[derive(Clone, Default)]
    struct Nothing;
    #[tonic::async_trait]
    impl broken::broken_server::Broken for Nothing {
        async fn get(&self, _request: Request<()>) -> Result<Response<()>, Status> {
            Ok(Response::new(()))
        }
    }
    let config = bia::testing::config("broken");
    let error = bia::App::builder(&config)
        .file_descriptor_set(broken::FILE_DESCRIPTOR_SET)
        .add_service(broken::broken_server::BrokenServer::new(Nothing))
        .build()
        .unwrap_err()
        .to_string();
    support::assert_contains(
        &error,
        &[
            "gateway.broken.v1.Broken/Get",
            "`GET /v1/{name`",
            "expected `}` to close `{name`",
        ],
    );
    // Off, the gateway reads no rule.
    let config = bia::testing::config_with("broken", "[server.gateway]\nenabled = false\n");
    bia::App::builder(&config)
        .file_descriptor_set(broken::FILE_DESCRIPTOR_SET)
        .add_service(broken::broken_server::BrokenServer::new(Nothing))
        .build()
        .expect("builds without the gateway");
}

// ---------------------------------------------------------------------------------------------
// The same stack as gRPC: auth, metrics, spans.

const SECRET: &str = "an HS256 secret of at least 32 bytes, for tests";

fn token() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = json!({"sub": "u1", "iss": "https://id.test", "aud": "library", "exp": now + 600});
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET.as_bytes()).unwrap(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_runs_for_rest_calls_too() {
    let running = start(&format!(
        "[auth.jwt]\nsecret = \"{SECRET}\"\nissuer = \"https://id.test\"\naudience = \"library\"\n\
         public_methods = [\"gateway.v1.Library/GetFile\"]\n"
    ))
    .await;
    let answer = get(&running, "/v1/shelves/s/books/b").await;
    assert_eq!(answer.status, 401, "{}", answer.text());
    assert_eq!(answer.json()["code"], 16);
    let bearer = format!("Bearer {}", token());
    let answer = rest("GET", "/v1/shelves/s/books/b")
        .header("authorization", &bearer)
        .send(&running)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(get(&running, "/v1/files/open").await.status, 200);
    // A request the gateway cannot make a message of is a call too: auth answers it first,
    // as it answers a gRPC call before its message is read.
    let answer = rest("POST", "/v1/shelves/s/books")
        .json(r#"{"titel":"x"}"#)
        .send(&running)
        .await;
    assert_eq!(answer.status, 401, "{}", answer.text());
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_calls_have_the_metrics_label_and_span_of_grpc_calls() {
    let (collector, endpoint) = bia::testing::otlp::Collector::start().await;
    let running = start(&format!("[telemetry.otlp]\nendpoint = \"{endpoint}\"\n")).await;
    let answer = get(&running, "/v1/shelves/s/books/missing").await;
    assert_eq!(answer.status, 404);
    let channel = running.channel().await.unwrap();
    let grpc = pb::library_client::LibraryClient::new(channel)
        .get_book(GetBookRequest {
            name: "shelves/s/books/missing".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(grpc.code(), tonic::Code::NotFound);
    support::assert_metrics(
        &running,
        &[concat!(
            "rpc_server_call_duration_seconds_count{rpc_system_name=\"grpc\",",
            "rpc_method=\"gateway.v1.Library/GetBook\",rpc_response_status_code=\"NOT_FOUND\"} 2"
        )],
    )
    .await;
    running.stop().await.unwrap();
    let spans: Vec<_> = collector
        .spans()
        .into_iter()
        .filter(|s| s.name == "gateway.v1.Library/GetBook")
        .collect();
    assert_eq!(spans.len(), 2, "one SERVER span per call, REST or gRPC");
    for span in &spans {
        assert_eq!(span.attr("rpc.response.status_code"), Some("NOT_FOUND"));
        assert_eq!(span.attr("rpc.method"), Some("gateway.v1.Library/GetBook"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_the_gateway_cannot_transcode_are_still_traced_and_counted_calls() {
    let (collector, endpoint) = bia::testing::otlp::Collector::start().await;
    let running = start(&format!(
        "[server.grpc]\nmax_message_bytes = 64\n[telemetry.otlp]\nendpoint = \"{endpoint}\"\n"
    ))
    .await;
    // REST: an unknown field, then a body over server.grpc.max_message_bytes.
    let answer = rest("POST", "/v1/shelves/s/books")
        .json(r#"{"titel":"x"}"#)
        .send(&running)
        .await;
    assert_eq!(answer.status, 400, "{}", answer.text());
    assert_eq!(
        answer.json()["details"][0]["fieldViolations"][0]["field"],
        "book.titel"
    );
    let long = r#"{"title":"a title far longer than the sixty-four bytes this server reads"}"#;
    let answer = rest("POST", "/v1/shelves/s/books")
        .json(long)
        .send(&running)
        .await;
    assert_eq!(answer.status, 413, "{}", answer.text());
    assert_eq!(answer.json()["code"], 8);
    // Connect: JSON that is not the request message.
    let answer = rest("POST", "/gateway.v1.Library/CreateBook")
        .json(r#"{"shelf":7}"#)
        .send(&running)
        .await;
    assert_eq!(answer.status, 400, "{}", answer.text());
    assert_eq!(answer.json()["code"], "invalid_argument");
    support::assert_metrics(
        &running,
        &[
            concat!(
                "rpc_server_call_duration_seconds_count{rpc_system_name=\"grpc\",",
                "rpc_method=\"gateway.v1.Library/CreateBook\",",
                "rpc_response_status_code=\"INVALID_ARGUMENT\"} 2"
            ),
            concat!(
                "rpc_server_call_duration_seconds_count{rpc_system_name=\"grpc\",",
                "rpc_method=\"gateway.v1.Library/CreateBook\",",
                "rpc_response_status_code=\"RESOURCE_EXHAUSTED\"} 1"
            ),
        ],
    )
    .await;
    running.stop().await.unwrap();
    let mut codes: Vec<_> = collector
        .spans()
        .into_iter()
        .filter(|s| s.name == "gateway.v1.Library/CreateBook")
        .map(|s| s.attr("rpc.response.status_code").unwrap_or("").to_owned())
        .collect();
    codes.sort();
    assert_eq!(
        codes,
        ["INVALID_ARGUMENT", "INVALID_ARGUMENT", "RESOURCE_EXHAUSTED"],
        "one SERVER span per refused request"
    );
}

// ---------------------------------------------------------------------------------------------
// Server streaming.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_streams_as_ndjson() {
    let running = start("").await;
    let answer = get(&running, "/v1/shelves/s/books:watch?count=3").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.content_type(), "application/x-ndjson");
    assert_eq!(
        answer.text(),
        "{\"id\":\"b1\",\"pages\":\"1\"}\n{\"id\":\"b2\",\"pages\":\"2\"}\n{\"id\":\"b3\",\"pages\":\"3\"}\n"
    );
    // A failure after some messages is the last line.
    let answer = get(&running, "/v1/shelves/s/books:watch?count=3&fail_after=1").await;
    assert_eq!(answer.status, 200);
    let lines: Vec<Value> = answer
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines,
        [
            json!({"id": "b1", "pages": "1"}),
            json!({"error": {"code": 10, "message": "the shelf was moved", "details": []}})
        ]
    );
    // A failure before any message is the response's own status.
    let answer = get(&running, "/v1/shelves/closed/books:watch?count=3").await;
    assert_eq!(answer.status, 403);
    assert_eq!(answer.json()["code"], 7);
    // An empty stream is an empty body.
    let answer = get(&running, "/v1/shelves/s/books:watch?count=0").await;
    assert_eq!((answer.status, answer.text().as_str()), (200, ""));
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_streams_as_server_sent_events_when_asked() {
    let running = start("").await;
    let answer = rest("GET", "/v1/shelves/s/books:watch?count=2&fail_after=1")
        .header("accept", "text/event-stream")
        .http2(true)
        .send(&running)
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.content_type(), "text/event-stream");
    assert_eq!(answer.headers["cache-control"], "no-cache");
    assert_eq!(
        answer.text(),
        "data: {\"id\":\"b1\",\"pages\":\"1\"}\n\n\
         event: error\ndata: {\"code\":10,\"details\":[],\"message\":\"the shelf was moved\"}\n\n"
    );
    running.stop().await.unwrap();
}
