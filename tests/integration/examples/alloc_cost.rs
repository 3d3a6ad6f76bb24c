//! Allocations per unary call, counted by a global allocator: sequential calls over loopback,
//! server and client in this process, with one of these set-ups:
//!
//! - `bare`: tonic's own server, no layers, and the stock tonic client (the baseline);
//! - `warn`: a Bia App with `log.level = "warn"` under `init_logging`, the stock tonic client;
//! - `scaffolded`: a Bia App as `bia new` runs it (`info`, pretty, the access log on, to
//!   standard output: redirect it to a file or `/dev/null`), the stock tonic client;
//! - `bia-client`: the bare server again, called through `bia::client::Channel`.
//!
//! ```text
//! cargo build --release -p bia-integration-tests --example alloc_cost
//! target/release/examples/alloc_cost scaffolded > /tmp/access.log
//! ```
//!
//! After 300 calls of warm-up it counts the allocations of 1000 calls and then of 3000, and
//! prints (A(3000) - A(1000)) / 2000: what one more call allocates, with whatever a batch costs
//! once cancelled out. The count covers every thread, so the client's share is in each figure:
//! compare a server set-up with `bare` (same client) and `bia-client` with `bare` (same server).

#[path = "../tests/support/mod.rs"]
mod support;

use std::alloc::System;

use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use support::echo::{EchoClient, EchoServer, say};
use support::say_only::{self, Reply, SayOnly};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Answers every message with itself.
struct Fast;

impl Reply for Fast {
    async fn reply(&self, message: String) -> Result<String, tonic::Status> {
        Ok(message)
    }
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_else(|| "bare".into());
    let level = match mode.as_str() {
        "warn" => Some("warn"),
        "scaffolded" => Some("info"),
        "bare" | "bia-client" => None,
        other => panic!("unknown set-up {other}: use bare, warn, scaffolded or bia-client"),
    };
    let config = bia::testing::config_with(
        "alloc-cost",
        &format!("[log]\nlevel = \"{}\"\n", level.unwrap_or("warn")),
    );
    // The binary's global subscriber, as a scaffolded main installs it.
    let _logging = level.map(|_| bia::telemetry::init_logging(&config).unwrap());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (addr, running) = if level.is_some() {
            let running = bia::testing::start(say_only::app(&config, Fast))
                .await
                .unwrap();
            (running.grpc_addr(), Some(running))
        } else {
            (serve_bare().await, None)
        };
        let uri = format!("http://{addr}");
        let per_call = if mode == "bia-client" {
            let telemetry = bia::Telemetry::new(&config).unwrap();
            let target = bia::config::ClientConfig {
                target: bia::config::Target::One(uri),
                ..bia::config::ClientConfig::default()
            };
            let channel = bia::client::Channel::new(&target, None, &telemetry).unwrap();
            count(EchoClient::new(channel)).await
        } else {
            let channel = tonic::transport::Endpoint::from_shared(uri)
                .unwrap()
                .connect()
                .await
                .unwrap();
            count(EchoClient::new(channel)).await
        };
        eprintln!("{mode}: {per_call:.2} allocations per unary call");
        if let Some(running) = running {
            running.stop().await.unwrap();
        }
    });
}

/// tonic's own server with the same service, on a loopback port of its own.
async fn serve_bare() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(EchoServer::new(SayOnly(Fast)))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    addr
}

/// Allocations of one more call: (A(3000) - A(1000)) / 2000, after a warm-up.
async fn count<T>(mut echo: EchoClient<T>) -> f64
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<bia::BoxError>,
    T::ResponseBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    <T::ResponseBody as http_body::Body>::Error: Into<bia::BoxError> + Send,
{
    let mut calls = async |n: usize| {
        let region = Region::new(GLOBAL);
        for _ in 0..n {
            echo.say(say("ping")).await.unwrap();
        }
        region.change().allocations
    };
    calls(300).await;
    let few = calls(1000).await;
    let many = calls(3000).await;
    (many as f64 - few as f64) / 2000.0
}
