//! The order of user layers around Bia's own, on the server and on the client, seen by layers
//! that record what they see.

mod support;

use std::sync::{Arc, Mutex};

use bia::middleware::{Next, from_fn};
use opentelemetry::trace::TraceContextExt;
use support::echo::{self, EchoClient, say};
use tonic::Code;
use tonic::body::Body;

/// What a recording layer saw of one call.
#[derive(Clone, Debug)]
struct Seen {
    layer: &'static str,
    method: Option<&'static str>,
    in_span: bool,
    traceparent: bool,
}

type Log = Arc<Mutex<Vec<Seen>>>;

/// A tower layer that records each call it sees, then passes it on.
#[derive(Clone)]
struct Record {
    layer: &'static str,
    log: Log,
}

fn recorder(layer: &'static str, log: &Log) -> Record {
    Record {
        layer,
        log: log.clone(),
    }
}

impl<S> tower::Layer<S> for Record {
    type Service = Recorded<S>;

    fn layer(&self, inner: S) -> Recorded<S> {
        Recorded {
            inner,
            record: self.clone(),
        }
    }
}

#[derive(Clone)]
struct Recorded<S> {
    inner: S,
    record: Record,
}

impl<S, B> tower::Service<http::Request<B>> for Recorded<S>
where
    S: tower::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> S::Future {
        self.record.log.lock().unwrap().push(Seen {
            layer: self.record.layer,
            method: request
                .extensions()
                .get::<bia::CallInfo>()
                .map(|c| c.method.name),
            in_span: opentelemetry::Context::current()
                .span()
                .span_context()
                .is_valid(),
            traceparent: request.headers().contains_key("traceparent"),
        });
        self.inner.call(request)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_layers_run_in_their_documented_order() {
    let log: Log = Arc::default();
    let config = bia::testing::config("order");
    let app = echo::builder(&config)
        .layer_front(recorder("front 1", &log))
        .layer_front(recorder("front 2", &log))
        .layer(recorder("inner 1", &log))
        .layer(recorder("inner 2", &log))
        .build()
        .unwrap();
    let running = bia::testing::start(app).await.unwrap();
    let mut client = echo::client(&running).await;
    client.say(say("hi")).await.unwrap();
    let seen = log.lock().unwrap().clone();
    let layers: Vec<_> = seen.iter().map(|s| s.layer).collect();
    assert_eq!(
        layers,
        ["front 1", "front 2", "inner 1", "inner 2"],
        "{seen:?}"
    );
    for s in &seen {
        assert_eq!(
            s.method,
            Some("echo.v1.Echo/Say"),
            "every layer sees CallInfo: {s:?}"
        );
    }
    // Front layers run outside trace (and so outside recovery); inner layers inside the span.
    assert!(!seen[0].in_span && !seen[1].in_span, "{seen:?}");
    assert!(seen[2].in_span && seen[3].in_span, "{seen:?}");

    // Health and reflection bypass user layers.
    log.lock().unwrap().clear();
    support::health(&running, "").await.unwrap();
    assert!(log.lock().unwrap().is_empty(), "{:?}", log.lock().unwrap());
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auth_layer_lets_health_checks_through() {
    let auth = from_fn(|request: http::Request<Body>, next: Next| async move {
        if request.headers().get("authorization").is_none() {
            return Err(tonic::Status::unauthenticated("send a bearer token"));
        }
        Ok(next.run(request).await)
    });
    let config = bia::testing::config("auth");
    let app = echo::builder(&config).layer(auth).build().unwrap();
    let running = bia::testing::start(app).await.unwrap();
    let mut client = echo::client(&running).await;
    let denied = client.say(say("hi")).await.unwrap_err();
    assert_eq!(denied.code(), Code::Unauthenticated);
    let status = support::health(&running, "echo.v1.Echo")
        .await
        .expect("health checks need no token");
    assert_eq!(status, 1, "SERVING");
    // The rejection is still a counted call.
    let metrics = running.metrics_text().await;
    assert!(
        metrics.contains("rpc_response_status_code=\"UNAUTHENTICATED\""),
        "{metrics}"
    );
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_custom_server_stack_replaces_the_default_one() {
    let log: Log = Arc::default();
    let config = bia::testing::config("custom");
    let inside = recorder("inside trace", &log);
    let app = echo::builder(&config)
        .server_stack(move |defaults| {
            tower::ServiceBuilder::new()
                .layer(defaults.recovery)
                .layer(defaults.trace)
                .layer(inside)
                .layer(defaults.metrics)
                .layer(defaults.deadline)
                .layer(defaults.limit)
        })
        .build()
        .unwrap();
    let running = bia::testing::start(app).await.unwrap();
    let mut client = echo::client(&running).await;
    client.say(say("hi")).await.unwrap();
    let panicked = client.say(say("panic")).await.unwrap_err();
    assert_eq!(
        panicked.code(),
        Code::Internal,
        "recovery is still in the stack"
    );
    let seen = log.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(
        seen[0].in_span,
        "the custom layer runs inside the span: {seen:?}"
    );
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_layers_wrap_the_channel_outermost_last() {
    let running = echo::start("client-order", "").await;
    let log: Log = Arc::default();
    let (channel, _telemetry) = support::echo_channel("caller", &running.client_toml("echo", ""));
    let channel = channel
        .layer(recorder("first", &log))
        .layer(recorder("second", &log));
    let mut client = EchoClient::new(channel);
    client.say(say("hi")).await.unwrap();
    let seen = log.lock().unwrap().clone();
    let layers: Vec<_> = seen.iter().map(|s| s.layer).collect();
    assert_eq!(
        layers,
        ["second", "first"],
        "the last added is outermost: {seen:?}"
    );
    // Both run before Bia's trace layer, which adds traceparent.
    assert!(seen.iter().all(|s| !s.traceparent), "{seen:?}");
    running.stop().await.unwrap();
}

/// A user layer whose readiness holds state (tower's concurrency limit acquires a permit in
/// `poll_ready`) gets each call its own readied clone: calls queue for the permit and every one
/// is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_layer_that_waits_for_readiness_serves_every_call() {
    let config = bia::testing::config("limited");
    let app = echo::builder(&config)
        .layer(tower::limit::ConcurrencyLimitLayer::new(1))
        .build()
        .unwrap();
    let running = bia::testing::start(app).await.unwrap();
    let client = echo::client(&running).await;
    let calls: Vec<_> = (0..6)
        .map(|_| {
            let mut client = client.clone();
            tokio::spawn(async move { client.say(say("slow:50")).await })
        })
        .collect();
    let answered = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        let mut answered = Vec::new();
        for call in calls {
            answered.push(call.await.unwrap());
        }
        answered
    })
    .await
    .expect("every call is answered, one at a time");
    for answer in answered {
        answer.expect("the call succeeds");
    }
    running.stop().await.unwrap();
}
