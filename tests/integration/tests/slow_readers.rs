//! What the server does to a peer that does not read its responses is visible: counted in
//! `bia_server_slow_reader_cuts_total{reason}`, and a call refused for its connection's send
//! budget is RESOURCE_EXHAUSTED in the call metrics and the access log (not CANCELLED).

mod support;

use std::time::Duration;

use support::echo;
use support::h2raw::{grpc_frame, h2_client, send_call};

/// The value of the first `/metrics` line that starts with `name` and contains every one of
/// `labels`.
fn value(metrics: &str, name: &str, labels: &[&str]) -> Option<f64> {
    metrics
        .lines()
        .find(|l| l.starts_with(name) && labels.iter().all(|label| l.contains(label)))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

fn cuts(metrics: &str, reason: &str) -> Option<f64> {
    value(
        metrics,
        "bia_server_slow_reader_cuts_total",
        &[&format!("reason=\"{reason}\"")],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_and_reset_streams_of_a_reader_that_never_reads_are_counted() {
    let logs = support::json_logs();
    let running = echo::start(
        "slow-readers",
        "[server.grpc]\nsend_stall_timeout = \"1s\"\nmax_connection_send_buffer_bytes = 65536\n",
    )
    .await;
    let before = running.metrics_text().await;
    for reason in ["stream_stall", "connection_budget", "socket_stall"] {
        assert_eq!(
            cuts(&before, reason),
            Some(0.0),
            "{reason} at 0 from the start"
        );
    }

    // The default windows (64 KiB), never released; each answer is 128 KiB: the first call
    // holds the connection's 64 KiB budget alone, the others are refused, and the first is
    // reset once it has stalled for the timeout.
    let (mut client, _driver) = h2_client(running.grpc_addr()).await;
    let mut calls = tokio::task::JoinSet::<Result<String, String>>::new();
    for _ in 0..8 {
        let response = send_call(
            &mut client,
            "/echo.v1.Echo/Count",
            grpc_frame(&echo::count(&"x".repeat(128 * 1024), 3, 0)),
        );
        calls.spawn(async move {
            let response = response.await.map_err(|e| format!("{:?}", e.reason()))?;
            if let Some(status) = response.headers().get("grpc-status") {
                return Ok(status.to_str().unwrap().to_owned());
            }
            let mut body = response.into_body();
            while let Some(chunk) = body.data().await {
                chunk.map_err(|e| format!("{:?}", e.reason()))?;
            }
            let trailers = body
                .trailers()
                .await
                .map_err(|e| format!("{:?}", e.reason()))?;
            Ok(trailers.unwrap()["grpc-status"]
                .to_str()
                .unwrap()
                .to_owned())
        });
    }
    let (mut refused, mut reset) = (0.0, 0.0);
    while let Some(ended) = tokio::time::timeout(Duration::from_secs(10), calls.join_next())
        .await
        .expect("every call ends")
    {
        match ended.unwrap() {
            Ok(status) if status == "8" => refused += 1.0,
            Err(reason) if reason.contains("CANCEL") => reset += 1.0,
            other => panic!("unexpected end: {other:?}"),
        }
    }
    eprintln!("{refused} refused, {reset} reset");
    assert!(
        refused >= 1.0 && reset >= 1.0,
        "{refused} refused, {reset} reset"
    );

    let after = running.metrics_text().await;
    assert_eq!(cuts(&after, "connection_budget"), Some(refused), "{after}");
    assert_eq!(cuts(&after, "stream_stall"), Some(reset), "{after}");
    assert_eq!(cuts(&after, "socket_stall"), Some(0.0));
    let count = "rpc_server_call_duration_seconds_count";
    let method = "rpc_method=\"echo.v1.Echo/Count\"";
    let exhausted = "rpc_response_status_code=\"RESOURCE_EXHAUSTED\"";
    assert_eq!(
        value(&after, count, &[method, exhausted]),
        Some(refused),
        "refusals are RESOURCE_EXHAUSTED in the call metrics: {after}"
    );
    assert_eq!(
        value(&after, count, &[method, "\"CANCELLED\""]),
        Some(reset),
        "only the reset stream counts as cancelled: {after}"
    );
    running.stop().await.unwrap();

    let statuses: Vec<String> = logs
        .text()
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|l| l["target"] == "bia::access" && l["method"] == "echo.v1.Echo/Count")
        .map(|l| l["status"].as_str().unwrap_or_default().to_owned())
        .collect();
    let logged = |status: &str| statuses.iter().filter(|s| *s == status).count() as f64;
    assert_eq!(logged("RESOURCE_EXHAUSTED"), refused, "{statuses:?}");
    assert_eq!(logged("CANCELLED"), reset, "{statuses:?}");
}
