//! The gRPC port against peers that misbehave, with real sockets and raw HTTP/2 frames
//! (the h2 crate as the client).

mod support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use support::echo::{self, say};
use support::h2raw::{grpc_frame, grpc_request, h2_client, send_call};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

async fn app(extra: &str) -> bia::RunningApp {
    echo::start("hardened", extra).await
}

/// Opens a `Say` stream with `content_type` on `client`.
fn open_say(
    client: &mut h2::client::SendRequest<Bytes>,
    content_type: &str,
) -> (h2::client::ResponseFuture, h2::SendStream<Bytes>) {
    client
        .send_request(grpc_request("/echo.v1.Echo/Say", content_type), false)
        .unwrap()
}

/// One `Say("hi")` on `client`, as a gRPC client sends it; returns its grpc-status.
async fn say_hi(client: &mut h2::client::SendRequest<Bytes>) -> Option<String> {
    let (response, mut send) = open_say(client, "application/grpc");
    send.send_data(grpc_frame(&say("hi")), true).unwrap();
    grpc_status(response.await.unwrap()).await
}

/// The grpc-status of a response: from its headers (trailers-only) or its trailers.
async fn grpc_status(response: http::Response<h2::RecvStream>) -> Option<String> {
    if let Some(status) = response.headers().get("grpc-status") {
        return Some(status.to_str().unwrap().to_owned());
    }
    let mut body = response.into_body();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.unwrap();
        let _ = body.flow_control().release_capacity(chunk.len());
    }
    let trailers = match body.trailers().await {
        Ok(trailers) => trailers?,
        Err(e) => panic!("no trailers: {e:?}"),
    };
    Some(trailers.get("grpc-status")?.to_str().unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_connection_is_closed_after_the_handshake_timeout() {
    let running = app("[server.grpc]\nhandshake_timeout = \"300ms\"\n").await;
    let mut silent = TcpStream::connect(running.grpc_addr()).await.unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(5), silent.read(&mut buf))
        .await
        .expect("the server closes the connection");
    assert!(
        matches!(read, Ok(0) | Err(_)),
        "closed, not answered: {read:?}"
    );
    let waited = started.elapsed();
    eprintln!("silent connection closed after {waited:?} (handshake_timeout 300ms)");
    assert!(waited >= Duration::from_millis(250), "{waited:?}");
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_is_closed_after_the_idle_timeout() {
    let running = app("[server.grpc]\nidle_timeout = \"400ms\"\n").await;
    let (mut client, driver) = h2_client(running.grpc_addr()).await;
    assert_eq!(say_hi(&mut client).await.as_deref(), Some("0"));
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), driver)
        .await
        .expect("the server closes the idle connection")
        .unwrap();
    eprintln!(
        "idle connection closed {:?} after its last call",
        started.elapsed()
    );
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_advertises_its_stream_limit_and_outlasts_a_peer_that_stops_reading() {
    // The peer below never reads again, so it never finishes the close: the stop still ends
    // cleanly once the drain time is up.
    let running =
        app("[app]\nshutdown_timeout = \"500ms\"\n[server.grpc]\nmax_concurrent_streams = 7\n")
            .await;
    let tcp = TcpStream::connect(running.grpc_addr()).await.unwrap();
    let (client, mut connection) = h2::client::handshake(tcp).await.unwrap();
    // SETTINGS arrive once the connection is polled.
    let poll = tokio::time::timeout(Duration::from_millis(300), &mut connection).await;
    assert!(poll.is_err(), "the connection stays open");
    assert_eq!(connection.max_concurrent_send_streams(), 7);
    drop(client);
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_not_grpc_is_refused_and_two_unary_messages_are_an_error() {
    let running = app("").await;
    let (mut client, _driver) = h2_client(running.grpc_addr()).await;
    let (response, mut send) = open_say(&mut client, "text/plain");
    // The server may answer (and end the stream) before the body is sent.
    let _ = send.send_data(grpc_frame(&say("hi")), true);
    let response = response.await.unwrap();
    assert_eq!(response.status(), http::StatusCode::UNSUPPORTED_MEDIA_TYPE);

    let (response, mut send) = open_say(&mut client, "application/grpc+proto");
    let mut two = grpc_frame(&say("one")).to_vec();
    two.extend_from_slice(&grpc_frame(&say("two")));
    let _ = send.send_data(Bytes::from(two), true);
    let status = grpc_status(response.await.unwrap()).await;
    assert_eq!(status.as_deref(), Some("13"), "INTERNAL");
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_with_idle_and_silent_connections_open_is_quick_and_clean() {
    let running = app("[app]\nshutdown_timeout = \"5s\"\n").await;
    let _silent = TcpStream::connect(running.grpc_addr()).await.unwrap();
    let (mut client, _driver) = h2_client(running.grpc_addr()).await;
    assert_eq!(say_hi(&mut client).await.as_deref(), Some("0"));
    let started = Instant::now();
    running.stop().await.expect("a clean stop");
    let took = started.elapsed();
    eprintln!("stopped with an idle and a silent connection open in {took:?}");
    assert!(
        took < Duration::from_secs(3),
        "well within the 5 s drain: {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_that_echoes_a_huge_input_is_cut_to_safe_trailers() {
    use bia::middleware::{Next, from_fn};
    // A handler (here a layer standing in for one) that puts the client's whole input into its
    // error's message and ErrorInfo metadata, as the red team's 4 MiB id did.
    let echoing = from_fn(
        |request: http::Request<tonic::body::Body>, _next: Next| async move {
            let huge = "x".repeat(200_000);
            let _ = request;
            Err(
                bia::Error::not_found("THING_NOT_FOUND", format!("no thing {huge}"))
                    .with_metadata("id", huge)
                    .into(),
            )
        },
    );
    let config = bia::testing::config("trailers");
    let app = echo::builder(&config).layer(echoing).build().unwrap();
    let running = bia::testing::start(app).await.unwrap();
    let mut client = echo::EchoClient::new(running.channel().await.unwrap());
    let status = client.say(say("hi")).await.unwrap_err();
    assert_eq!(
        status.code(),
        tonic::Code::NotFound,
        "the status still goes through"
    );
    assert!(status.message().len() < 1_200, "{}", status.message().len());
    assert!(
        status.message().ends_with("too large)"),
        "{}",
        status.message()
    );
    assert!(
        status.details().is_empty(),
        "the oversized details were dropped"
    );
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_whose_peer_stops_reading_is_reset_and_its_connection_lives_on() {
    let running = app("[server.grpc]\nsend_stall_timeout = \"1s\"\n").await;
    // A large connection window, the default 64 KiB per stream: a stream whose reader stops
    // releasing what it read stalls alone.
    let tcp = TcpStream::connect(running.grpc_addr()).await.unwrap();
    let (mut client, connection) = h2::client::Builder::new()
        .initial_connection_window_size(8 * 1024 * 1024)
        .handshake(tcp)
        .await
        .unwrap();
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let response = send_call(
        &mut client,
        "/echo.v1.Echo/Count",
        grpc_frame(&echo::count(&"x".repeat(32 * 1024), 10_000, 0)),
    );
    let mut body = response.await.unwrap().into_body();
    let started = Instant::now();
    let (mut read, mut reason) = (0, None);
    let stalled = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(chunk) = body.data().await {
            match chunk {
                // Read, never released: the stream's window stays shut once it is used up.
                Ok(chunk) => read += chunk.len(),
                Err(e) => {
                    reason = e.reason();
                    break;
                }
            }
        }
    });
    stalled.await.expect("the server resets the stalled stream");
    let took = started.elapsed();
    eprintln!("stalled stream reset with {reason:?} after {took:?}, {read} bytes read");
    assert_eq!(reason, Some(h2::Reason::CANCEL));
    assert!(took >= Duration::from_millis(900), "{took:?}");
    assert!(read <= 64 * 1024, "no more than the window: {read}");
    // The connection is fine: the next call on it is served.
    assert_eq!(say_hi(&mut client).await.as_deref(), Some("0"));
    running.stop().await.unwrap();
}
