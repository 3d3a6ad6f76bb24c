//! REST unary through the gateway against the same call over gRPC, side by side in one run.
//!
//! ```text
//! cargo run --release -p bia-integration-tests --example gateway_cost -- [--seconds 3] [--rounds 3]
//! ```
//!
//! One Bia App (logs off) serves `gateway.v1.Library/GetFile` on a current-thread runtime of its
//! own thread; the load comes from another thread with one HTTP/2 connection and 64 calls in
//! flight, through the same hyper client for both protocols, so the difference is the server's:
//! `GET /v1/files/docs/a.txt` answered as JSON, against `POST /gateway.v1.Library/GetFile` with
//! a protobuf message answered with trailers. Rounds alternate gRPC and REST; each ratio is the
//! median of the per-round ratios. The server thread's CPU time per call (from /proc) is the
//! fairer figure: with both protocols near the client's own limit, throughput says little.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use prost::Message;

#[path = "../tests/support/mod.rs"]
mod support;

#[path = "../tests/library/mod.rs"]
mod library;

use library::pb;

const IN_FLIGHT: usize = 64;

#[derive(Clone, Copy, Debug)]
enum Protocol {
    Grpc,
    Rest,
}

fn request(protocol: Protocol, addr: std::net::SocketAddr) -> http::Request<Full<Bytes>> {
    match protocol {
        Protocol::Rest => http::Request::get(format!("http://{addr}/v1/files/docs/a.txt"))
            .body(Full::new(Bytes::new()))
            .unwrap(),
        Protocol::Grpc => {
            let message = pb::GetFileRequest {
                path: "docs/a.txt".into(),
                ..Default::default()
            }
            .encode_to_vec();
            let mut framed = vec![0];
            framed.extend_from_slice(&(message.len() as u32).to_be_bytes());
            framed.extend_from_slice(&message);
            http::Request::post(format!("http://{addr}/gateway.v1.Library/GetFile"))
                .header("content-type", "application/grpc")
                .header("te", "trailers")
                .body(Full::new(Bytes::from(framed)))
                .unwrap()
        }
    }
}

const SERVER_THREAD: &str = "bia-server";

/// CPU seconds the server's thread has used (utime + stime from /proc, in clock ticks of
/// 10 ms).
fn server_cpu() -> f64 {
    let tasks = std::fs::read_dir("/proc/self/task").expect("/proc is mounted");
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim() == SERVER_THREAD {
            let stat = std::fs::read_to_string(task.path().join("stat")).unwrap();
            // Fields after the command name, which is in parentheses: utime is the 12th, stime
            // the 13th.
            let fields: Vec<&str> = stat
                .rsplit_once(')')
                .unwrap()
                .1
                .split_whitespace()
                .collect();
            let ticks: f64 =
                fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
            return ticks / 100.0;
        }
    }
    panic!("no thread named {SERVER_THREAD}");
}

/// Calls per second over `seconds`, `IN_FLIGHT` at once on one HTTP/2 connection, and the
/// server's CPU microseconds per call.
async fn measure(
    client: &Client<HttpConnector, Full<Bytes>>,
    protocol: Protocol,
    addr: std::net::SocketAddr,
    seconds: u64,
) -> (f64, f64) {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..IN_FLIGHT {
        let (client, done, stop) = (client.clone(), done.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let response = client.request(request(protocol, addr)).await.unwrap();
                assert_eq!(response.status(), 200, "{protocol:?}");
                let collected = response.into_body().collect().await.unwrap();
                if let Protocol::Grpc = protocol {
                    let trailers = collected.trailers().expect("gRPC trailers");
                    assert_eq!(trailers["grpc-status"], "0");
                }
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    // Warm up, then count.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let start = (Instant::now(), done.load(Ordering::Relaxed), server_cpu());
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let calls = done.load(Ordering::Relaxed) - start.1;
    let rate = calls as f64 / start.0.elapsed().as_secs_f64();
    let cpu_per_call = (server_cpu() - start.2) / calls as f64 * 1e6;
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.unwrap();
    }
    (rate, cpu_per_call)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let option = |name: &str, default: u64| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .map_or(default, |v| v.parse().expect("a number"))
    };
    let (seconds, rounds) = (option("--seconds", 3), option("--rounds", 3));

    let config = bia::testing::config("gateway-cost");
    let app = bia::App::builder(&config)
        .file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .add_service(pb::library_server::LibraryServer::new(library::Shelf))
        .build()
        .unwrap();
    let addr = support::serve_on_thread(SERVER_THREAD, app);
    let runtime = support::one_worker();
    runtime.block_on(async move {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .http2_only(true)
            .build(connector);
        let mut rows: [Vec<f64>; 4] = Default::default();
        for round in 1..=rounds {
            let (g, g_cpu) = measure(&client, Protocol::Grpc, addr, seconds).await;
            let (r, r_cpu) = measure(&client, Protocol::Rest, addr, seconds).await;
            println!(
                "round {round}: gRPC {g:.0} calls/s ({g_cpu:.1} us server CPU per call), \
                 REST {r:.0} calls/s ({r_cpu:.1} us); REST/gRPC throughput {:.2}, CPU {:.2}",
                r / g,
                r_cpu / g_cpu
            );
            for (row, value) in rows.iter_mut().zip([g, r, r / g, r_cpu / g_cpu]) {
                row.push(value);
            }
        }
        let [grpc, rest, ratio, cpu] = rows.map(median);
        println!(
            "median: gRPC {grpc:.0} calls/s, REST through the gateway {rest:.0} calls/s; \
             REST/gRPC throughput {ratio:.2}, server CPU per call {cpu:.2}"
        );
    });
}
