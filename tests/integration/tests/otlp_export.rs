//! OTLP export when the collector is down or never answers: calls go on at full speed, and the
//! failures are reported by one warning naming the endpoint, not a line per span or batch.
//!
//! Own test binary: the exporter logs from the batch processor's thread, so the capture must
//! be the process's global subscriber.

mod support;

use std::time::{Duration, Instant};

use support::echo::{self, say};

/// The warnings about failed exports to `endpoint` so far.
fn warnings_about(endpoint: &str) -> usize {
    support::json_logs()
        .text()
        .lines()
        .filter(|line| line.contains("OTLP span export to") && line.contains(endpoint))
        .count()
}

/// 1,500 calls (three batches' worth of spans) against an App exporting to `endpoint`, which
/// fails: all answer, in far less time than the failing exports take, and one warning says so.
async fn calls_go_on_and_one_warning_names(endpoint: &str) {
    support::json_logs();
    let running = echo::start(
        "echo-otlp-down",
        &format!("[telemetry.otlp]\nendpoint = \"{endpoint}\"\ntimeout = \"2s\"\n"),
    )
    .await;
    let mut client = echo::client(&running).await;
    let started = Instant::now();
    for _ in 0..1500 {
        client.say(say("hi")).await.unwrap();
    }
    // Generous: a debug build on a busy machine; an export waiting on the collector would
    // take 2 s per batch.
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    support::eventually(|| (warnings_about(endpoint) > 0).then_some(())).await;
    // Let the batches queued behind the first failure fail too.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        warnings_about(endpoint),
        1,
        "one warning for every failure within 30 s:\n{}",
        support::json_logs().text()
    );
    // The stop's flush fails too, and says where to.
    if let Err(e) = running.stop().await {
        assert!(format!("{e:?}").contains(endpoint), "{e:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_that_is_down_costs_the_calls_nothing() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    calls_go_on_and_one_warning_names(&format!("http://127.0.0.1:{port}")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_collector_that_never_answers_costs_the_calls_nothing() {
    // Accepts connections and holds them without a byte of HTTP/2.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    calls_go_on_and_one_warning_names(&endpoint).await;
}
