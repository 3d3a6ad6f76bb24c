//! The deadline contract: caps for unary calls, client deadlines for streams, per-method caps,
//! and a server call's deadline carried into the calls it makes.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bia::middleware::{Next, from_fn};
use support::echo::{self, CountRequest, EchoClient, say};
use tokio_stream::StreamExt;
use tonic::Code;
use tonic::body::Body;

/// A stream of `count` messages `delay_ms` apart, with the client's deadline `timeout`.
fn ticks(count: u32, delay_ms: u32, timeout: Option<Duration>) -> tonic::Request<CountRequest> {
    let mut request = tonic::Request::new(CountRequest {
        message: "tick".into(),
        count,
        delay_ms,
    });
    if let Some(timeout) = timeout {
        request.set_timeout(timeout);
    }
    request
}

async fn drain(
    client: &mut EchoClient<tonic::transport::Channel>,
    request: tonic::Request<CountRequest>,
) -> (usize, Code) {
    let mut stream = client.count(request).await.unwrap().into_inner();
    let mut received = 0;
    loop {
        match stream.next().await {
            Some(Ok(_)) => received += 1,
            Some(Err(status)) => return (received, status.code()),
            None => return (received, Code::Ok),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_outlive_the_unary_default_and_unary_calls_do_not() {
    let running = echo::start("streams", "[server.grpc]\ndefault_timeout = \"200ms\"\n").await;
    let mut client = echo::client(&running).await;

    // 12 ticks 50 ms apart: 600 ms, three times the unary default, within the client's 60 s.
    let (received, code) = drain(&mut client, ticks(12, 50, Some(Duration::from_secs(60)))).await;
    assert_eq!((received, code), (12, Code::Ok));
    // With no client deadline at all, a stream is not bounded either.
    let (received, code) = drain(&mut client, ticks(12, 50, None)).await;
    assert_eq!((received, code), (12, Code::Ok));
    // The client's own deadline still ends a stream.
    let (received, code) = drain(
        &mut client,
        ticks(100, 50, Some(Duration::from_millis(300))),
    )
    .await;
    assert_eq!(code, Code::DeadlineExceeded);
    assert!(received < 100, "{received}");
    // Unary calls keep the 200 ms cap.
    let err = client.say(say("slow:1000")).await.unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded);
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_timeout_and_per_method_caps_apply() {
    let running = echo::start(
        "caps",
        "[server.grpc]\ndefault_timeout = \"5s\"\nstream_timeout = \"250ms\"\n\
         [server.grpc.timeouts]\n\"echo.v1.Echo/Say\" = \"150ms\"\n",
    )
    .await;
    let mut client = echo::client(&running).await;
    let (received, code) = drain(&mut client, ticks(100, 50, Some(Duration::from_secs(60)))).await;
    assert_eq!(
        code,
        Code::DeadlineExceeded,
        "stream_timeout caps the stream"
    );
    assert!((1..100).contains(&received), "{received}");
    let err = client.say(say("slow:1000")).await.unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "the per-method cap");
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_method_in_timeouts_fails_the_build() {
    let config = bia::testing::config_with(
        "typo",
        "[server.grpc.timeouts]\n\"echo.v1.Echo/Sya\" = \"1s\"\n",
    );
    let err = echo::builder(&config).build().unwrap_err().to_string();
    assert!(
        err.contains("server.grpc.timeouts.\"echo.v1.Echo/Sya\""),
        "{err}"
    );
    assert!(
        err.contains("echo.v1.Echo/Say"),
        "names the served methods: {err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_calls_deadline_caps_its_downstream_calls() {
    // The downstream records the grpc-timeout it is sent.
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let record = {
        let seen = seen.clone();
        from_fn(move |request: http::Request<Body>, next: Next| {
            let seen = seen.clone();
            async move {
                let timeout = request
                    .headers()
                    .get("grpc-timeout")
                    .map(|v| v.to_str().unwrap().to_owned())
                    .unwrap_or_default();
                seen.lock().unwrap().push(timeout);
                Ok(next.run(request).await)
            }
        })
    };
    let downstream_config = bia::testing::config("downstream");
    let downstream = echo::builder(&downstream_config)
        .layer(record)
        .build()
        .unwrap();
    let downstream = bia::testing::start(downstream).await.unwrap();

    // The front service forwards every call downstream through bia::client, from inside its
    // own call (an inner layer runs within the call's deadline, as a handler does).
    let front_config = bia::testing::config_with(
        "front",
        &downstream.client_toml("echo", "timeout = \"10s\"\n"),
    );
    let (channel, telemetry) = bia::testing::client_channel(&front_config, "echo");
    let forward = from_fn(move |request: http::Request<Body>, _next: Next| {
        let mut channel = channel.clone();
        async move {
            let response = tower::Service::call(&mut channel, request)
                .await
                .map_err(tonic::Status::from_error)?;
            Ok(response.map(Body::new))
        }
    });
    let front = echo::builder(&front_config)
        .telemetry(telemetry)
        .layer(forward)
        .build()
        .unwrap();
    let front = bia::testing::start(front).await.unwrap();

    let mut client = echo::client(&front).await;
    let mut request = tonic::Request::new(say("hi"));
    request.set_timeout(Duration::from_millis(800));
    client.say(request).await.unwrap();
    client
        .say(say("no deadline from the caller"))
        .await
        .unwrap();

    let seen = seen.lock().unwrap().clone();
    let millis: Vec<u64> = seen
        .iter()
        .map(|v| v.trim_end_matches('m').parse().unwrap())
        .collect();
    assert!(
        millis[0] <= 800 && millis[0] > 500,
        "capped by the caller's 800 ms: {seen:?}"
    );
    // Without a caller deadline the front's unary default (30 s) is left: the client's own 10 s
    // is shorter and wins.
    assert_eq!(millis[1], 10_000, "{seen:?}");
    front.stop().await.unwrap();
    downstream.stop().await.unwrap();
}
