//! Load harness: the same echo service on bare tonic and on Bia, measured side by side in one run.
//!
//! ```text
//! cargo run --release -p bia --example loadtest -- [--seconds 5] [--concurrency 64] [--markdown]
//! ```
//!
//! Each server runs on its own single-threaded Tokio runtime (one core), the load generator on
//! another; the machine's other core is shared by the generator. Unary: `concurrency` calls in
//! flight on 4 HTTP/2 connections, counting completed calls and their latency. Streaming: one
//! server-streaming call of many small messages at a time per connection. Bia runs with its whole
//! default stack (recovery, trace with a span per call, metrics, access log at its default
//! level: off here since no log subscriber is installed, deadline, limit); spans are sampled but
//! not exported, as with no OTLP endpoint configured.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

#[allow(unreachable_pub)] // generated code
mod pb {
    tonic::include_proto!("echo.v1");
    pub(crate) const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/echo_descriptor.bin"));
}

use pb::echo_client::EchoClient;
use pb::echo_server::{Echo, EchoServer};
use pb::{CountRequest, SayRequest, SayResponse};

#[derive(Clone, Copy)]
struct Fast;

type Replies = Pin<Box<dyn Stream<Item = Result<SayResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Echo for Fast {
    async fn say(&self, request: Request<SayRequest>) -> Result<Response<SayResponse>, Status> {
        Ok(Response::new(SayResponse {
            message: request.into_inner().message,
        }))
    }

    type CountStream = Replies;

    async fn count(&self, request: Request<CountRequest>) -> Result<Response<Replies>, Status> {
        let CountRequest { message, count, .. } = request.into_inner();
        let reply = SayResponse { message };
        Ok(Response::new(Box::pin(tokio_stream::iter(
            (0..count).map(move |_| Ok(reply.clone())),
        ))))
    }

    async fn collect(
        &self,
        _: Request<Streaming<SayRequest>>,
    ) -> Result<Response<SayResponse>, Status> {
        Err(Status::unimplemented("not measured"))
    }

    type ChatStream = Replies;

    async fn chat(&self, _: Request<Streaming<SayRequest>>) -> Result<Response<Replies>, Status> {
        Err(Status::unimplemented("not measured"))
    }
}

struct Options {
    seconds: u64,
    concurrency: usize,
    rounds: usize,
    markdown: bool,
}

fn options() -> Options {
    let mut options = Options {
        seconds: 5,
        concurrency: 64,
        rounds: 3,
        markdown: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                options.seconds = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--seconds N")
            }
            "--concurrency" => {
                options.concurrency = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--concurrency N")
            }
            "--rounds" => {
                options.rounds = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--rounds N")
            }
            "--markdown" => options.markdown = true,
            other => panic!(
                "unknown argument {other}: use --seconds N, --concurrency N, --rounds N, --markdown"
            ),
        }
    }
    options
}

/// Starts a server on its own one-thread runtime; returns its address and the runtime.
fn serve_bare() -> (std::net::SocketAddr, tokio::runtime::Runtime) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    runtime.spawn(async move {
        tonic::transport::Server::builder()
            .add_service(EchoServer::new(Fast))
            .serve_with_incoming(
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
            )
            .await
            .unwrap();
    });
    (addr, runtime)
}

fn serve_bia() -> (
    std::net::SocketAddr,
    tokio::runtime::Runtime,
    bia::RunningApp,
) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = bia::testing::config("loadtest");
    let running = runtime.block_on(async {
        let app = bia::App::builder(&config)
            .file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .add_service(EchoServer::new(Fast))
            .build()
            .unwrap();
        bia::testing::start(app).await.unwrap()
    });
    (running.grpc_addr(), runtime, running)
}

/// Runs each current-thread server runtime on a thread of its own.
fn drive(runtime: tokio::runtime::Runtime, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        runtime.block_on(async move {
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        runtime.shutdown_background();
    })
}

/// One round: bare and Bia unary figures, bare and Bia streaming messages/s, then unary
/// through Bia's client against the Bia server.
type Round = (Unary, Unary, f64, f64, Unary);

struct Unary {
    calls_per_sec: f64,
    p50_us: u64,
    p99_us: u64,
}

async fn unary(addr: std::net::SocketAddr, options: &Options) -> Unary {
    let mut clients = Vec::new();
    for _ in 0..4 {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .tcp_nodelay(true)
            .connect()
            .await
            .unwrap();
        clients.push(EchoClient::new(channel));
    }
    unary_with(clients, options).await
}

/// Unary load through Bia's client stack (trace, metrics, deadline, retry, breaker, balancer),
/// one `bia::client::Channel` per connection, as the stock client above uses.
async fn unary_bia_client(addr: std::net::SocketAddr, options: &Options) -> Unary {
    let config = bia::testing::config_with(
        "loadtest-client",
        &format!("[clients.echo]\ntarget = \"http://{addr}\"\ntimeout = \"10s\"\n"),
    );
    let telemetry = bia::Telemetry::new(&config).unwrap();
    let clients = (0..4)
        .map(|_| {
            EchoClient::new(bia::client::Channel::from_config(&config, "echo", &telemetry).unwrap())
        })
        .collect();
    unary_with(clients, options).await
}

async fn unary_with<T>(clients: Vec<EchoClient<T>>, options: &Options) -> Unary
where
    T: tonic::client::GrpcService<tonic::body::Body> + Clone + Send + 'static,
    T::Future: Send,
    T::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    T::ResponseBody: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    <T::ResponseBody as http_body::Body>::Error:
        Into<Box<dyn std::error::Error + Send + Sync>> + Send,
{
    let deadline = Instant::now() + Duration::from_secs(options.seconds);
    let warmup = Instant::now() + Duration::from_millis(500);
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for i in 0..options.concurrency {
        let mut client = clients[i % clients.len()].clone();
        let done = done.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(100_000);
            while Instant::now() < deadline {
                let started = Instant::now();
                client
                    .say(SayRequest {
                        message: "ping".into(),
                        padding: Vec::new(),
                    })
                    .await
                    .unwrap();
                if started > warmup {
                    latencies.push(started.elapsed().as_micros() as u64);
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    latencies.sort_unstable();
    let measured = options.seconds as f64 - 0.5;
    Unary {
        calls_per_sec: done.load(Ordering::Relaxed) as f64 / measured,
        p50_us: latencies[latencies.len() / 2],
        p99_us: latencies[latencies.len() * 99 / 100],
    }
}

async fn streaming(addr: std::net::SocketAddr, options: &Options) -> f64 {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(options.seconds);
    let started = Instant::now();
    let mut messages = 0u64;
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let mut client = EchoClient::new(channel.clone());
            tokio::spawn(async move {
                let mut messages = 0u64;
                while Instant::now() < deadline {
                    let mut stream = client
                        .count(CountRequest {
                            message: "m".into(),
                            count: 10_000,
                            delay_ms: 0,
                        })
                        .await
                        .unwrap()
                        .into_inner();
                    while let Some(item) = stream.next().await {
                        item.unwrap();
                        messages += 1;
                    }
                }
                messages
            })
        })
        .collect();
    for task in tasks {
        messages += task.await.unwrap();
    }
    messages as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let options = options();
    let stop = Arc::new(AtomicBool::new(false));
    let (bare_addr, bare_runtime) = serve_bare();
    let (bia_addr, bia_runtime, _running) = serve_bia();
    let servers = [
        drive(bare_runtime, stop.clone()),
        drive(bia_runtime, stop.clone()),
    ];
    let client = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Alternate the two servers over several rounds and keep the median of each figure, so
    // drift on a shared machine does not favour whichever ran first.
    let rounds: Vec<_> = client.block_on(async {
        let mut rounds = Vec::new();
        for _ in 0..options.rounds.max(1) {
            let bare_unary = unary(bare_addr, &options).await;
            let bia_unary = unary(bia_addr, &options).await;
            let bare_stream = streaming(bare_addr, &options).await;
            let bia_stream = streaming(bia_addr, &options).await;
            let bia_client = unary_bia_client(bia_addr, &options).await;
            rounds.push((bare_unary, bia_unary, bare_stream, bia_stream, bia_client));
        }
        rounds
    });
    let median = |mut values: Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let summarize = |pick: &dyn Fn(&Round) -> &Unary| Unary {
        calls_per_sec: median(rounds.iter().map(|r| pick(r).calls_per_sec).collect()),
        p50_us: median(rounds.iter().map(|r| pick(r).p50_us as f64).collect()) as u64,
        p99_us: median(rounds.iter().map(|r| pick(r).p99_us as f64).collect()) as u64,
    };
    let results = (
        summarize(&|r| &r.0),
        summarize(&|r| &r.1),
        median(rounds.iter().map(|r| r.2).collect()),
        median(rounds.iter().map(|r| r.3).collect()),
        summarize(&|r| &r.4),
    );
    stop.store(true, Ordering::Relaxed);
    for server in servers {
        let _ = server.join();
    }
    let (bare, bia, bare_stream, bia_stream, bia_client) = results;
    let ratio = |a: f64, b: f64| 100.0 * b / a;
    if options.markdown {
        println!("| server | unary calls/s | p50 | p99 | server-streaming messages/s |");
        println!("|---|---:|---:|---:|---:|");
    }
    for (name, unary, stream) in [
        ("bare tonic", &bare, bare_stream),
        ("bia (full stack)", &bia, bia_stream),
    ] {
        if options.markdown {
            println!(
                "| {name} | {:.0} | {} µs | {} µs | {:.0} |",
                unary.calls_per_sec, unary.p50_us, unary.p99_us, stream
            );
        } else {
            println!(
                "{name:18} unary {:>9.0} calls/s  p50 {:>5} µs  p99 {:>5} µs  streaming {:>10.0} msgs/s",
                unary.calls_per_sec, unary.p50_us, unary.p99_us, stream
            );
        }
    }
    if options.markdown {
        println!(
            "| bia server, bia client (full client stack) | {:.0} | {} µs | {} µs | |",
            bia_client.calls_per_sec, bia_client.p50_us, bia_client.p99_us
        );
    } else {
        println!(
            "{:18} unary {:>9.0} calls/s  p50 {:>5} µs  p99 {:>5} µs",
            "bia + bia client", bia_client.calls_per_sec, bia_client.p50_us, bia_client.p99_us
        );
    }
    println!(
        "\nbia / bare tonic: unary throughput {:.0}%, streaming throughput {:.0}% (medians of {} rounds, {} s a scenario, {} calls in flight)",
        ratio(bare.calls_per_sec, bia.calls_per_sec),
        ratio(bare_stream, bia_stream),
        options.rounds,
        options.seconds,
        options.concurrency
    );
}
