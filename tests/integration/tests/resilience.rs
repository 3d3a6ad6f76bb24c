//! Panics, deadlines, oversized messages and shutdown, over loopback.

mod support;

use std::time::{Duration, Instant};

use support::echo::{self, EchoClient, SayRequest, count, say};
use tokio_stream::StreamExt;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_answers_internal_and_the_server_keeps_serving() {
    let running = echo::start("panics", "").await;
    let mut client = echo::client(&running).await;
    let err = client.say(say("panic")).await.unwrap_err();
    assert_eq!(err.code(), Code::Internal);
    assert_eq!(
        client.say(say("after")).await.unwrap().into_inner().message,
        "after"
    );

    // A panic in the middle of a stream ends it with INTERNAL trailers.
    let stream = client
        .count(count("panic", 3, 30))
        .await
        .unwrap()
        .into_inner();
    let (first, code) = echo::one_then_error(stream).await;
    assert_eq!((first.as_str(), code), ("panic 0", Code::Internal));
    assert_eq!(
        client.say(say("still")).await.unwrap().into_inner().message,
        "still"
    );

    support::assert_metrics(
        &running,
        &[
            "bia_server_panics_total{rpc_method=\"echo.v1.Echo/Say\"} 1",
            "bia_server_panics_total{rpc_method=\"echo.v1.Echo/Count\"} 1",
            "rpc_method=\"echo.v1.Echo/Say\",rpc_response_status_code=\"INTERNAL\"} 1",
        ],
    )
    .await;
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_past_their_deadline_get_deadline_exceeded() {
    let running = echo::start("deadlines", "[server.grpc]\ndefault_timeout = \"300ms\"\n").await;
    let mut client = echo::client(&running).await;

    // The client's own deadline, from Bia's client. (A stock tonic client runs a timer of its
    // own from the moment it sends and answers CANCELLED when that wins the race against the
    // server's, which it does whenever the trip takes longer than our 3 ms margin.)
    let timeout = "timeout = \"100ms\"\n";
    let (channel, _telemetry) =
        support::echo_channel("deadline-caller", &running.client_toml("echo", timeout));
    let mut bia_client = EchoClient::new(channel);
    let started = Instant::now();
    let err = bia_client.say(say("slow:2000")).await.unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded, "{err:?}");
    assert!(started.elapsed() < Duration::from_millis(1500));

    // No grpc-timeout: the server's default caps the call.
    let err = client.say(say("slow:2000")).await.unwrap_err();
    assert_eq!(err.code(), Code::DeadlineExceeded);

    // A stream that outlives its (client's) deadline ends with DEADLINE_EXCEEDED trailers.
    let mut request = tonic::Request::new(count("tick", 100, 50));
    request.set_timeout(Duration::from_millis(300));
    let mut stream = client.count(request).await.unwrap().into_inner();
    let mut last = None;
    while let Some(item) = stream.next().await {
        last = Some(item);
    }
    assert_eq!(last.unwrap().unwrap_err().code(), Code::DeadlineExceeded);

    // The server's own cap (the call without grpc-timeout) at least; the first call is the
    // server's too unless Bia's client gave up first.
    support::assert_metrics(
        &running,
        &[
            "rpc_method=\"echo.v1.Echo/Say\",rpc_response_status_code=\"DEADLINE_EXCEEDED\"}",
            "rpc_method=\"echo.v1.Echo/Count\",rpc_response_status_code=\"DEADLINE_EXCEEDED\"} 1",
        ],
    )
    .await;
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_message_answers_resource_exhausted_and_the_server_keeps_serving() {
    let running = echo::start("limits", "[server.grpc]\nmax_message_bytes = 1024\n").await;
    let mut client = echo::client(&running).await;
    let big = SayRequest {
        message: "big".into(),
        padding: vec![7; 4096],
    };
    let err = client.say(big.clone()).await.unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert!(err.message().contains("max_message_bytes"), "{err:?}");
    let err = client
        .collect(tokio_stream::iter(vec![say("small"), big]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    assert_eq!(
        client.say(say("small")).await.unwrap().into_inner().message,
        "small"
    );
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reflection_and_health_are_served() {
    let running = echo::start("reflect", "").await;
    let channel = running.channel().await.unwrap();
    let mut health = HealthClient::new(channel.clone());
    for service in ["", "echo.v1.Echo"] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        assert_eq!(status, ServingStatus::Serving as i32, "{service:?}");
    }
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    let mut reflection = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    let Some(MessageResponse::ListServicesResponse(list)) =
        responses.next().await.unwrap().unwrap().message_response
    else {
        panic!("expected a service list");
    };
    let names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
    assert!(names.contains(&"echo.v1.Echo".to_owned()), "{names:?}");
    assert!(
        names.contains(&"grpc.health.v1.Health".to_owned()),
        "{names:?}"
    );
    let (status, _) = bia::testing::get(&running.admin_url("/healthz"))
        .await
        .unwrap();
    assert_eq!(status, 200);
    let (status, _) = bia::testing::get(&running.admin_url("/readyz"))
        .await
        .unwrap();
    assert_eq!(status, 200);
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_drains_in_flight_calls_refuses_new_ones_and_ends_watches() {
    let running = echo::start(
        "drain",
        "[app]\nshutdown_timeout = \"3s\"\npre_stop_delay = \"200ms\"\n",
    )
    .await;
    let channel = running.channel().await.unwrap();
    let admin = running.admin_url("/readyz");
    let grpc_addr = running.grpc_addr();

    let mut health = HealthClient::new(channel.clone());
    let mut watch = health
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        watch.next().await.unwrap().unwrap().status,
        ServingStatus::Serving as i32
    );

    // A slow unary call and an open stream, both in flight when shutdown begins.
    let mut slow_client = EchoClient::new(channel.clone());
    let slow = tokio::spawn(async move { slow_client.say(say("slow:800")).await });
    let mut stream_client = EchoClient::new(channel.clone());
    let stream = tokio::spawn(async move {
        let stream = stream_client.count(count("s", 5, 150)).await?.into_inner();
        Ok::<_, tonic::Status>(stream.collect::<Vec<_>>().await)
    });
    tokio::time::sleep(Duration::from_millis(100)).await;

    let stopping = tokio::spawn(running.stop());

    // Health flips to NOT_SERVING for the Watch opened before, and the watch then ends.
    let update = watch.next().await.unwrap().unwrap();
    assert_eq!(update.status, ServingStatus::NotServing as i32);
    let (status, _) = bia::testing::get(&admin).await.unwrap();
    assert_eq!(status, 503);
    let ended = tokio::time::timeout(Duration::from_secs(2), async {
        while let Some(item) = watch.next().await {
            if item.is_err() {
                break;
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the health watch ended during the drain");

    // In-flight work finishes within the drain time.
    assert_eq!(
        slow.await.unwrap().unwrap().into_inner().message,
        "slow:800"
    );
    let items = stream.await.unwrap().unwrap();
    assert_eq!(items.len(), 5);
    assert!(items.iter().all(Result::is_ok));

    stopping.await.unwrap().unwrap();
    // New calls find nobody: UNAVAILABLE.
    let fresh = tonic::transport::Endpoint::from_shared(format!("http://{grpc_addr}"))
        .unwrap()
        .connect_lazy();
    let err = EchoClient::new(fresh).say(say("late")).await.unwrap_err();
    assert_eq!(err.code(), Code::Unavailable);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_outliving_the_drain_time_is_cut_and_the_app_exits() {
    let running = echo::start("cut", "[app]\nshutdown_timeout = \"300ms\"\n").await;
    let telemetry = running.telemetry().clone();
    let mut client = echo::client(&running).await;
    let long = tokio::spawn(async move { client.say(say("slow:10000")).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    running.stop().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "stopped in {:?}",
        started.elapsed()
    );
    let err = long.await.unwrap().unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    let metrics = telemetry.metrics().render();
    assert!(
        metrics.contains(
            "rpc_method=\"echo.v1.Echo/Say\",rpc_response_status_code=\"UNAVAILABLE\"} 1"
        ),
        "a cut call is recorded as UNAVAILABLE:\n{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hook_error_is_reported_and_hooks_run_in_order() {
    use std::sync::{Arc, Mutex};
    let order = Arc::new(Mutex::new(Vec::new()));
    let log = |name: &'static str, fail: bool| {
        let order = order.clone();
        move || async move {
            order.lock().unwrap().push(name);
            if fail {
                Err(format!("{name} broke").into())
            } else {
                Ok(())
            }
        }
    };
    let config = bia::testing::config("hooks");
    let app = echo::builder(&config)
        .before_start(log("before_start", false))
        .after_start(log("after_start", false))
        .before_stop(log("before_stop", false))
        .after_stop(log("after_stop 1", true))
        .after_stop(log("after_stop 2", true))
        .build()
        .unwrap();
    let running = app.start().await.unwrap();
    let err = running.stop().await.unwrap_err();
    assert_eq!(err.errors().len(), 2, "{err}");
    assert!(err.to_string().contains("after_stop 1 broke"), "{err}");
    assert!(err.to_string().contains("after_stop 2 broke"), "{err}");
    assert_eq!(
        *order.lock().unwrap(),
        [
            "before_start",
            "after_start",
            "before_stop",
            "after_stop 1",
            "after_stop 2"
        ]
    );
}
