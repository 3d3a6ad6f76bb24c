//! JWT authentication over real gRPC on loopback: every way a token can be wrong, scopes,
//! public and built-in methods, the claims a handler sees, HS256 / RS256 (PEM) / ES256 (JWKS),
//! the client's bearer layer, start-up errors, and tokens kept out of logs and spans.

mod support;

use std::sync::{Arc, LazyLock, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use bia::client::BearerLayer;
use bia::middleware::auth::Claims;
use bia::middleware::{JwtLayer, Next, from_fn};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use support::Captured;
use support::echo::{self, EchoClient, SayRequest};
use tonic::Code;

const SECRET: &str = "an HS256 secret of at least 32 bytes, for tests";
const ISSUER: &str = "https://id.test";
const AUDIENCE: &str = "echo";

// ---------------------------------------------------------------------------------------------
// Logs: every test logs into one buffer, so the no-credentials check sees everything.

fn logs() -> &'static Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let captured = Captured::default();
        let writer = captured.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .init();
        captured
    })
}

// ---------------------------------------------------------------------------------------------
// Keys and tokens, made here.

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Valid claims for the test issuer and audience, an hour left.
fn claims() -> Value {
    json!({
        "sub": "user-1",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "exp": now() + 3600,
        "iat": now(),
        "tenant": "acme",
    })
}

/// `claims()` with `changes` merged in (a `null` removes a claim).
fn claims_with(changes: Value) -> Value {
    let mut claims = claims();
    for (name, value) in changes.as_object().unwrap() {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(name);
        } else {
            claims[name] = value.clone();
        }
    }
    claims
}

fn sign(alg: Algorithm, kid: Option<&str>, key: &EncodingKey, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn hs256(claims: &Value) -> String {
    sign(
        Algorithm::HS256,
        None,
        &EncodingKey::from_secret(SECRET.as_bytes()).unwrap(),
        claims,
    )
}

struct RsaKey {
    private_pem: String,
    public_pem: String,
}

fn rsa_key() -> RsaKey {
    use rsa::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let key = rsa::PrivateKey::new(&mut getrandom::SysRng, 2048).unwrap();
    RsaKey {
        private_pem: key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string(),
        public_pem: key
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap(),
    }
}

static RSA: LazyLock<RsaKey> = LazyLock::new(rsa_key);
static OTHER_RSA: LazyLock<RsaKey> = LazyLock::new(rsa_key);

fn rs256(key: &RsaKey, claims: &Value) -> String {
    let encoding = EncodingKey::from_rsa_pem(key.private_pem.as_bytes()).unwrap();
    sign(Algorithm::RS256, None, &encoding, claims)
}

/// A P-256 key: its private key for signing, its public JWK with `kid`.
fn ec_key(kid: &str) -> (EncodingKey, Jwk) {
    use p256::elliptic_curve::Generate;
    use p256::pkcs8::{EncodePrivateKey, LineEnding};
    let key = p256::ecdsa::SigningKey::generate();
    let pem = key.to_pkcs8_pem(LineEnding::LF).unwrap();
    let encoding = EncodingKey::from_ec_pem(pem.as_bytes()).unwrap();
    let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::ES256).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    (encoding, jwk)
}

/// Writes `contents` to `name` in `dir` and returns its path.
fn write(dir: &tempfile::TempDir, name: &str, contents: impl AsRef<[u8]>) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, contents).unwrap();
    path.display().to_string()
}

fn jwks_json(keys: Vec<Jwk>) -> Vec<u8> {
    serde_json::to_vec(&JwkSet { keys }).unwrap()
}

// ---------------------------------------------------------------------------------------------
// The service: echo behind the JWT layer, with a probe inside it that reports the claims.

/// Reports the subject and tenant of the call's `Claims` in a response header, read as a
/// handler reads them (tonic hands handlers the same extensions).
async fn claims_probe(
    request: http::Request<tonic::body::Body>,
    next: Next,
) -> Result<http::Response<tonic::body::Body>, tonic::Status> {
    let seen = request.extensions().get::<Claims>().map(|claims| {
        let tenant = claims.get("tenant").and_then(Value::as_str).unwrap_or("-");
        format!("{}@{tenant}", claims.subject().unwrap_or("-"))
    });
    let mut response = next.run(request).await;
    if let Some(seen) = seen {
        response
            .headers_mut()
            .insert("x-claims", seen.parse().unwrap());
    }
    Ok(response)
}

/// The running echo App behind the JWT layer, and a tonic client of it.
type Served = (bia::RunningApp, EchoClient<tonic::transport::Channel>);

async fn serve(auth_toml: &str) -> Served {
    serve_with(auth_toml, "", false).await
}

/// Echo behind the JWT layer, which `[auth.jwt]` turns on with no code; `builtin_through_user`:
/// health and reflection go through it too.
async fn serve_with(auth_toml: &str, extra_toml: &str, builtin_through_user: bool) -> Served {
    logs();
    let config = bia::testing::config_with("auth", &format!("{extra_toml}\n{auth_toml}"));
    assert!(
        JwtLayer::from_config(&config).unwrap().is_some(),
        "[auth.jwt] has a key source"
    );
    let app = echo::builder(&config)
        .layer(from_fn(claims_probe))
        .user_layers_on_builtin_services(builtin_through_user)
        .build()
        .unwrap();
    let running = bia::testing::start(app).await.unwrap();
    let client = echo::client(&running).await;
    (running, client)
}

fn hs256_config(extra: &str) -> String {
    format!(
        "[auth.jwt]\nsecret = \"{SECRET}\"\nissuer = \"{ISSUER}\"\naudience = \"{AUDIENCE}\"\n{extra}"
    )
}

fn say(message: &str, token: Option<&str>) -> tonic::Request<SayRequest> {
    with_token(echo::say(message), token)
}

fn with_token<T>(message: T, token: Option<&str>) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(token) = token {
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    request
}

/// Asserts `status` has `code`, a message containing `says` and the `ErrorInfo` `reason`, and
/// does not echo `token`.
#[track_caller]
fn assert_refused(status: &tonic::Status, code: Code, reason: &str, says: &str, token: &str) {
    assert_eq!(status.code(), code, "{status:?}");
    assert!(status.message().contains(says), "{status:?}");
    assert!(
        !token.is_empty() && !status.message().contains(token),
        "{status:?}"
    );
    assert_eq!(
        bia::Error::from(status.clone()).reason(),
        reason,
        "{status:?}"
    );
}

/// Calls `Say` with `token` and asserts it is refused `UNAUTHENTICATED` for `reason`.
async fn refused(
    client: &mut EchoClient<tonic::transport::Channel>,
    token: &str,
    reason: &str,
    says: &str,
) {
    let status = say_status(client, token).await;
    assert_refused(&status, Code::Unauthenticated, reason, says, token);
}

fn messages(texts: &[&str]) -> impl tokio_stream::Stream<Item = SayRequest> + use<> {
    let requests: Vec<SayRequest> = texts.iter().map(|text| echo::say(*text)).collect();
    tokio_stream::iter(requests)
}

async fn say_status(
    client: &mut EchoClient<tonic::transport::Channel>,
    token: &str,
) -> tonic::Status {
    client.say(say("hi", Some(token))).await.unwrap_err()
}

// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hs256_tokens_that_are_wrong_in_every_way_are_refused() {
    let (running, mut client) = serve(&hs256_config("")).await;

    let status = client.say(say("hi", None)).await.unwrap_err();
    assert_refused(
        &status,
        Code::Unauthenticated,
        "TOKEN_MISSING",
        "missing credentials",
        "-",
    );

    let mut request = say("hi", None);
    request
        .metadata_mut()
        .insert("authorization", "Basic dXNlcjpwYXNz".parse().unwrap());
    let status = client.say(request).await.unwrap_err();
    assert_refused(
        &status,
        Code::Unauthenticated,
        "TOKEN_MALFORMED",
        "not `Bearer",
        "dXNlcjpwYXNz",
    );

    let token = "not.a-jwt.at-all";
    let status = say_status(&mut client, token).await;
    assert_refused(
        &status,
        Code::Unauthenticated,
        "TOKEN_MALFORMED",
        "not a well-formed JWT",
        token,
    );

    let cases = [
        (json!({"exp": now() - 3600}), "TOKEN_EXPIRED", "expired"),
        (
            json!({"nbf": now() + 3600}),
            "TOKEN_NOT_YET_VALID",
            "not valid yet",
        ),
        (
            json!({"iss": "https://evil.test"}),
            "TOKEN_WRONG_ISSUER",
            "issuer",
        ),
        (
            json!({"aud": "another-service"}),
            "TOKEN_WRONG_AUDIENCE",
            "audience",
        ),
        (json!({"aud": null}), "TOKEN_INVALID", "no `aud` claim"),
        (json!({"exp": null}), "TOKEN_INVALID", "no `exp` claim"),
    ];
    for (changes, reason, says) in cases {
        let token = hs256(&claims_with(changes.clone()));
        let status = say_status(&mut client, &token).await;
        assert_refused(&status, Code::Unauthenticated, reason, says, &token);
    }

    // Signed with another secret.
    let other = EncodingKey::from_secret(b"another secret that is 32 bytes or more long").unwrap();
    let token = sign(Algorithm::HS256, None, &other, &claims());
    refused(&mut client, &token, "TOKEN_BAD_SIGNATURE", "signature").await;

    // A valid signature over a tampered payload.
    let valid = hs256(&claims());
    let mut parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
    parts[1] = hs256(&claims_with(json!({"sub": "admin"})))
        .split('.')
        .nth(1)
        .unwrap()
        .to_owned();
    let token = parts.join(".");
    refused(&mut client, &token, "TOKEN_BAD_SIGNATURE", "signature").await;

    // HS512 with the right secret: not the algorithm the secret is for.
    let key = EncodingKey::from_secret(SECRET.as_bytes()).unwrap();
    let token = sign(Algorithm::HS512, None, &key, &claims());
    refused(
        &mut client,
        &token,
        "TOKEN_ALGORITHM_NOT_ALLOWED",
        "signed with HS512",
    )
    .await;

    // alg "none", unsigned.
    let token = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(claims().to_string().as_bytes())
    );
    let status = say_status(&mut client, &token).await;
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");

    running.stop().await.unwrap();
}

fn b64(bytes: &[u8]) -> String {
    // base64url without padding, written out to need no extra dependency.
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, b| (n << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_tokens_pass_every_rpc_kind_and_the_handler_sees_the_claims() {
    let (running, mut client) = serve(&hs256_config("")).await;
    let token = hs256(&claims());

    let response = client.say(say("hi", Some(&token))).await.unwrap();
    assert_eq!(response.metadata().get("x-claims").unwrap(), "user-1@acme");
    assert_eq!(response.into_inner().message, "hi");

    // Within the default leeway of 30 s.
    let recent = hs256(&claims_with(json!({"exp": now() - 10})));
    client.say(say("hi", Some(&recent))).await.unwrap();
    // The scheme in any case.
    let mut request = say("hi", None);
    request
        .metadata_mut()
        .insert("authorization", format!("bearer {token}").parse().unwrap());
    client.say(request).await.unwrap();

    // Server streaming.
    let count = echo::count("n", 2, 0);
    let status = client
        .count(with_token(count.clone(), None))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let response = client.count(with_token(count, Some(&token))).await.unwrap();
    assert_eq!(response.metadata().get("x-claims").unwrap(), "user-1@acme");
    let replies = echo::replies(response.into_inner()).await;
    assert_eq!(replies, ["n 0", "n 1"]);

    // Client streaming.
    let status = client
        .collect(with_token(messages(&["a", "b"]), None))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let reply = client
        .collect(with_token(messages(&["a", "b"]), Some(&token)))
        .await
        .unwrap();
    assert_eq!(reply.into_inner().message, "a b");

    // Bidi streaming.
    let status = client
        .chat(with_token(messages(&["a", "b"]), None))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let replies = echo::replies(
        client
            .chat(with_token(messages(&["a", "b"]), Some(&token)))
            .await
            .unwrap()
            .into_inner(),
    )
    .await;
    assert_eq!(replies, ["a", "b"]);

    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn methods_require_their_scopes() {
    let scopes = "[auth.jwt.scopes]\n\"echo.v1.Echo/Say\" = [\"echo:say\"]\n\
                  \"echo.v1.Echo/Chat\" = [\"echo:chat\", \"echo:write\"]\n";
    let (running, mut client) = serve(&hs256_config(scopes)).await;

    let token = hs256(&claims());
    let status = say_status(&mut client, &token).await;
    assert_refused(
        &status,
        Code::PermissionDenied,
        "SCOPE_MISSING",
        "`echo:say`",
        &token,
    );
    let error = bia::Error::from(status);
    assert_eq!(error.metadata().get("missing_scopes").unwrap(), "echo:say");

    let token = hs256(&claims_with(json!({"scope": "other echo:say"})));
    client.say(say("hi", Some(&token))).await.unwrap();
    let token = hs256(&claims_with(json!({"scp": ["echo:say"]})));
    client.say(say("hi", Some(&token))).await.unwrap();

    // A streaming method: checked before the handler, every missing scope named.
    let token = hs256(&claims_with(json!({"scope": "echo:say"})));
    let status = client
        .chat(with_token(messages(&["a", "b"]), Some(&token)))
        .await
        .unwrap_err();
    assert_refused(
        &status,
        Code::PermissionDenied,
        "SCOPE_MISSING",
        "`echo:chat`, `echo:write`",
        &token,
    );
    let token = hs256(&claims_with(json!({"scope": "echo:chat echo:write"})));
    client
        .chat(with_token(messages(&["a", "b"]), Some(&token)))
        .await
        .unwrap();

    // An invalid token is UNAUTHENTICATED even where a scope is missing too.
    let token = hs256(&claims_with(json!({"exp": now() - 3600})));
    let status = say_status(&mut client, &token).await;
    assert_eq!(status.code(), Code::Unauthenticated);

    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_methods_and_health_need_no_token() {
    let public = "public_methods = [\"echo.v1.Echo/Say\"]\n";
    let (running, mut client) = serve(&hs256_config(public)).await;

    client.say(say("hi", None)).await.unwrap();
    // A public method ignores a token, even a bad one.
    client.say(say("hi", Some("garbage"))).await.unwrap();
    let status = client
        .count(with_token(echo::count("n", 1, 0), None))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);

    support::health(&running, "").await.unwrap();
    running.stop().await.unwrap();

    // A whole service; health passes the JWT layer itself when it goes through the user's layers.
    let public = hs256_config("public_methods = [\"echo.v1.Echo/*\"]\n");
    let (running, mut client) = serve_with(&public, "", true).await;
    client
        .count(with_token(echo::count("n", 1, 0), None))
        .await
        .unwrap();
    client.say(say("hi", None)).await.unwrap();
    support::health(&running, "").await.unwrap();
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rs256_from_a_pem_file_refuses_algorithm_confusion() {
    let dir = tempfile::tempdir().unwrap();
    let pem = write(&dir, "jwt.pem", &RSA.public_pem);
    let config = format!(
        "[auth.jwt]\npublic_key_file = \"{pem}\"\nissuer = \"{ISSUER}\"\naudience = \"{AUDIENCE}\"\n"
    );
    let (running, mut client) = serve(&config).await;

    let token = rs256(&RSA, &claims());
    let response = client.say(say("hi", Some(&token))).await.unwrap();
    assert_eq!(response.metadata().get("x-claims").unwrap(), "user-1@acme");

    // Signed by another RSA key.
    let token = rs256(&OTHER_RSA, &claims());
    refused(&mut client, &token, "TOKEN_BAD_SIGNATURE", "signature").await;

    // HS256 "signed" with the public key as the secret: the classic confusion attack.
    let confused = EncodingKey::from_secret(RSA.public_pem.as_bytes()).unwrap();
    let token = sign(Algorithm::HS256, None, &confused, &claims());
    refused(
        &mut client,
        &token,
        "TOKEN_ALGORITHM_NOT_ALLOWED",
        "signed with HS256, but its key verifies RS256",
    )
    .await;

    // An ES256 token against the RSA key.
    let (ec, _) = ec_key("k");
    let token = sign(Algorithm::ES256, None, &ec, &claims());
    refused(
        &mut client,
        &token,
        "TOKEN_ALGORITHM_NOT_ALLOWED",
        "signed with ES256",
    )
    .await;

    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn es256_keys_from_a_jwks_file_are_chosen_by_kid() {
    let (key_a, jwk_a) = ec_key("a");
    let (key_b, jwk_b) = ec_key("b");
    let dir = tempfile::tempdir().unwrap();
    let jwks = write(&dir, "jwks.json", jwks_json(vec![jwk_a, jwk_b]));
    let config = format!("[auth.jwt]\njwks_file = \"{jwks}\"\nissuer = \"{ISSUER}\"\n");
    let (running, mut client) = serve(&config).await;

    for (kid, key) in [("a", &key_a), ("b", &key_b)] {
        let token = sign(Algorithm::ES256, Some(kid), key, &claims());
        let response = client.say(say("hi", Some(&token))).await.unwrap();
        assert_eq!(response.metadata().get("x-claims").unwrap(), "user-1@acme");
    }
    // No audience configured: any audience passes.
    let token = sign(
        Algorithm::ES256,
        Some("a"),
        &key_a,
        &claims_with(json!({"aud": "x"})),
    );
    client.say(say("hi", Some(&token))).await.unwrap();

    let token = sign(Algorithm::ES256, Some("a"), &key_b, &claims());
    refused(&mut client, &token, "TOKEN_BAD_SIGNATURE", "signature").await;

    let token = sign(Algorithm::ES256, Some("c"), &key_a, &claims());
    refused(
        &mut client,
        &token,
        "TOKEN_UNKNOWN_KEY",
        "not one this service knows",
    )
    .await;

    let token = sign(Algorithm::ES256, None, &key_a, &claims());
    refused(&mut client, &token, "TOKEN_UNKNOWN_KEY", "names no key").await;

    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_bearer_layer_sends_the_token() {
    let (running, _) = serve(&hs256_config("")).await;
    let (channel, _telemetry) = support::echo_channel("caller", &running.client_toml("echo", ""));

    let token = hs256(&claims());
    let mut client = EchoClient::new(channel.clone().layer(BearerLayer::new(&token).unwrap()));
    let response = client.say(say("hi", None)).await.unwrap();
    assert_eq!(response.metadata().get("x-claims").unwrap(), "user-1@acme");
    let replies = echo::replies(
        client
            .count(echo::count("n", 2, 0))
            .await
            .unwrap()
            .into_inner(),
    )
    .await;
    assert_eq!(replies.len(), 2);

    // A token source asked at each call; its error fails the call without sending it.
    let current = Arc::new(Mutex::new(None::<String>));
    let source = current.clone();
    let mut client = EchoClient::new(channel.layer(BearerLayer::from_fn(move || {
        source
            .lock()
            .unwrap()
            .clone()
            .ok_or_else(|| tonic::Status::unauthenticated("not signed in yet"))
    })));
    let status = client.say(say("hi", None)).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), "not signed in yet");
    *current.lock().unwrap() = Some(hs256(&claims_with(json!({"sub": "user-2"}))));
    let response = client.say(say("hi", None)).await.unwrap();
    assert_eq!(response.metadata().get("x-claims").unwrap(), "user-2@acme");

    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_never_reach_logs_or_spans() {
    let (collector, endpoint) = bia::testing::otlp::Collector::start().await;
    let scopes = "[auth.jwt.scopes]\n\"echo.v1.Echo/Chat\" = [\"echo:chat\"]\n";
    let (running, mut client) = serve_with(
        &hs256_config(scopes),
        &format!("[telemetry.otlp]\nendpoint = \"{endpoint}\"\n"),
        false,
    )
    .await;

    let valid = hs256(&claims_with(json!({"sub": "log-test"})));
    let expired = hs256(&claims_with(
        json!({"sub": "log-test", "exp": now() - 3600}),
    ));
    let other = EncodingKey::from_secret(b"another secret that is 32 bytes or more long").unwrap();
    let forged = sign(
        Algorithm::HS256,
        None,
        &other,
        &claims_with(json!({"sub": "log-test"})),
    );
    client.say(say("hi", Some(&valid))).await.unwrap();
    say_status(&mut client, &expired).await;
    say_status(&mut client, &forged).await;
    let status = client
        .chat(with_token(messages(&["x"]), Some(&valid)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    running.stop().await.unwrap();

    let text = logs().text();
    assert!(
        text.contains("call refused"),
        "the refusals are logged:\n{text}"
    );
    assert!(text.contains("TOKEN_EXPIRED"), "{text}");
    let spans = collector.spans();
    assert!(
        spans.iter().any(|s| s.name == "echo.v1.Echo/Say"),
        "{spans:?}"
    );
    for token in [&valid, &expired, &forged] {
        // Any part of it: the signature alone would be a leak too.
        for part in token.split('.') {
            assert!(!text.contains(part), "a token part is in the logs:\n{text}");
            for span in &spans {
                for (key, value) in &span.attributes {
                    assert!(
                        !value.contains(part),
                        "span {} attribute {key} = {value}",
                        span.name
                    );
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Start-up errors name the key and the path, and say what to do.

fn start_error(toml: &str) -> String {
    let config = bia::testing::config_with("auth", toml);
    JwtLayer::from_config(&config).unwrap_err().to_string()
}

/// The error of building the echo App with `toml`: what needs the methods it serves.
fn build_error(toml: &str) -> String {
    let config = bia::testing::config_with("auth", toml);
    match echo::builder(&config).build() {
        Ok(_) => panic!("the App built with {toml}"),
        Err(error) => error.to_string(),
    }
}

#[track_caller]
fn assert_says(error: &str, parts: &[&str]) {
    for part in parts {
        assert!(error.contains(part), "{part:?} not in: {error}");
    }
}

#[test]
fn key_files_that_cannot_be_used_stop_the_start() {
    let (_, mut wrong_alg) = ec_key("ec-1");
    wrong_alg.common.key_algorithm = Some(jsonwebtoken::jwk::KeyAlgorithm::RS256);
    let (_, mut a) = ec_key("a");
    let (_, mut b) = ec_key("b");
    a.common.key_id = None;
    b.common.key_id = None;
    // (option, file contents or none for a missing file, what the error says)
    type Case<'a> = (&'a str, Option<Vec<u8>>, &'a [&'a str]);
    let cases: [Case; 7] = [
        ("public_key_file", None, &["cannot read"]),
        (
            "public_key_file",
            Some(b"hello".to_vec()),
            &["is not a PEM public key"],
        ),
        (
            "public_key_file",
            Some(RSA.private_pem.clone().into_bytes()),
            &["private key", "-pubout"],
        ),
        (
            "jwks_file",
            Some(b"{\"keys\": 3}".to_vec()),
            &["is not a JWKS file"],
        ),
        (
            "jwks_file",
            Some(jwks_json(vec![wrong_alg])),
            &[
                "key \"ec-1\"",
                "says alg RS256",
                "P-256 key",
                "verifies ES256",
            ],
        ),
        (
            "jwks_file",
            Some(br#"{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}"#.to_vec()),
            &["symmetric", "auth.jwt.secret"],
        ),
        ("jwks_file", Some(jwks_json(vec![a, b])), &["has no kid"]),
    ];
    for (index, (option, contents, says)) in cases.into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let path = match contents {
            Some(contents) => write(&dir, &format!("key-{index}"), contents),
            None => dir.path().join("missing.pem").display().to_string(),
        };
        let error = start_error(&format!("[auth.jwt]\n{option} = \"{path}\""));
        assert_says(&error, &[&format!("auth.jwt.{option}"), &path]);
        assert_says(&error, says);
    }
}

#[test]
fn conflicting_or_incomplete_settings_stop_the_start() {
    let error = start_error(&format!(
        "[auth.jwt]\nsecret = \"{SECRET}\"\npublic_key_file = \"k.pem\""
    ));
    assert_says(&error, &["secret and public_key_file", "one key source"]);

    let error = start_error("[auth.jwt]\nsecret = \"short\"");
    assert_says(&error, &["auth.jwt.secret", "at least 32"]);
    assert!(!error.contains("\"short\""), "{error}");

    let error = start_error("[auth.jwt]\nissuer = \"x\"\n[auth.jwt.scopes]\n\"a.B/C\" = [\"s\"]");
    assert_says(&error, &["no key source", "auth.jwt.secret"]);

    let error = start_error(&format!(
        "[auth.jwt]\nsecret = \"{SECRET}\"\nsecert = \"x\""
    ));
    assert_says(&error, &["secert"]);

    let error = start_error(&format!(
        "[auth.jwt]\nsecret = \"{SECRET}\"\nleeway = \"soon\""
    ));
    assert_says(&error, &["auth.jwt.leeway", "soon"]);

    let error = start_error(&format!(
        "[auth.jwt]\nsecret = \"{SECRET}\"\nleeway = \"1h\""
    ));
    assert_says(&error, &["auth.jwt.leeway = \"1h\"", "more than \"10m\""]);

    let error = start_error(&format!(
        "[auth.jwt]\nsecret = \"{SECRET}\"\npublic_methods = [\"/echo.v1.Echo/Say\"]"
    ));
    assert_says(&error, &["auth.jwt.public_methods", "starts with a slash"]);

    // A misspelt method would silently need no scope: the start fails, naming what is served.
    let error = build_error(&format!(
        "[auth.jwt]\nsecret = \"{SECRET}\"\n[auth.jwt.scopes]\n\"echo.v1.Echo/Sya\" = [\"s\"]"
    ));
    assert_says(
        &error,
        &[
            "auth.jwt.scopes.\"echo.v1.Echo/Sya\"",
            "serves no method",
            "echo.v1.Echo/Say",
        ],
    );
    let error = build_error(&format!(
        "[auth.jwt]\nsecret = \"{SECRET}\"\npublic_methods = [\"echo.v1.Ech/*\"]"
    ));
    assert_says(&error, &["auth.jwt.public_methods", "echo.v1.Ech/*"]);

    assert!(
        JwtLayer::from_config(&bia::testing::config("auth"))
            .unwrap()
            .is_none()
    );
}
