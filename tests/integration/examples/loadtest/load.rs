//! The load: unary calls with a fixed number in flight, and server-streaming calls, counted
//! over a window that starts after a warm-up. The server's and this process's CPU time are read
//! at both ends of the window.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio_stream::StreamExt;

use crate::child::{Server, foreign_since, machine_cpu, own_cpu};
use crate::pb::echo_client::EchoClient;
use crate::pb::{CountRequest, SayRequest};

/// Excluded from every measurement: connection set-up, the first allocations, TCP ramp-up.
const WARMUP: Duration = Duration::from_millis(500);

/// One measured window.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Sample {
    /// Calls completed per second (unary) or messages received per second (streaming).
    pub(crate) rate: f64,
    /// Latency of unary calls, microseconds; 0 for streaming.
    pub(crate) p50_us: u64,
    pub(crate) p99_us: u64,
    /// The server's CPU time per call (or message), microseconds.
    pub(crate) server_us: f64,
    /// Share of one core the server used during the window.
    pub(crate) server_busy: f64,
    /// This process's (the load generator's) CPU time per call, microseconds.
    pub(crate) client_us: f64,
    /// Share of one core this process used.
    pub(crate) client_busy: f64,
    /// Calls (or streams) made over the whole run, warm-up included.
    pub(crate) calls: u64,
    /// Share of a core that other processes (compilers, other people's tests) used during the
    /// window.
    pub(crate) foreign: f64,
}

/// Which client makes the unary calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum ClientKind {
    /// A raw HTTP/2 client (the `h2` crate) sending one pre-encoded request: the cheapest
    /// client there is, so that the one-core server, not the generator, limits the rate.
    RawH2,
    /// tonic's generated client over a `tonic::transport::Channel`.
    Tonic,
    /// The same generated client over `bia::client::Channel` (trace, metrics, deadline, retry,
    /// breaker, balancer).
    Bia,
}

/// One connection's way of making a call.
#[derive(Clone)]
enum Caller {
    RawH2(h2::client::SendRequest<Bytes>, http::Uri),
    Tonic(EchoClient<tonic::transport::Channel>),
    Bia(EchoClient<bia::client::Channel>),
}

/// `SayRequest { message: "ping" }` as a gRPC message: uncompressed flag, length, protobuf.
const SAY_PING: &[u8] = &[0, 0, 0, 0, 6, 0x0a, 4, b'p', b'i', b'n', b'g'];

impl Caller {
    async fn connect(kind: ClientKind, server: &Server, connections: usize) -> Vec<Caller> {
        let addr = server.addr;
        let mut callers = Vec::new();
        match kind {
            ClientKind::RawH2 => {
                for _ in 0..connections {
                    let tcp = tokio::net::TcpStream::connect(addr)
                        .await
                        .expect("connects to the server");
                    tcp.set_nodelay(true).expect("sets TCP_NODELAY");
                    let (send, connection) =
                        h2::client::handshake(tcp).await.expect("HTTP/2 handshake");
                    tokio::spawn(async move {
                        let _ = connection.await;
                    });
                    let uri: http::Uri = format!("http://{addr}/echo.v1.Echo/Say")
                        .parse()
                        .expect("a valid URI");
                    callers.push(Caller::RawH2(send, uri));
                }
            }
            ClientKind::Tonic => {
                for _ in 0..connections {
                    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
                        .expect("a valid URI")
                        .tcp_nodelay(true)
                        .connect()
                        .await
                        .expect("connects to the server");
                    callers.push(Caller::Tonic(EchoClient::new(channel)));
                }
            }
            ClientKind::Bia => {
                let config = bia::testing::config_with(
                    "loadtest-client",
                    &format!("[clients.echo]\ntarget = \"http://{addr}\"\ntimeout = \"10s\"\n"),
                );
                let telemetry = bia::Telemetry::new(&config).expect("client telemetry");
                for _ in 0..connections {
                    let channel = bia::client::Channel::from_config(&config, "echo", &telemetry)
                        .expect("builds a bia channel");
                    callers.push(Caller::Bia(EchoClient::new(channel)));
                }
            }
        }
        callers
    }

    /// One `Say("ping")` call; panics unless it answers OK.
    async fn say(&mut self) {
        let ping = || SayRequest {
            message: "ping".into(),
            padding: Vec::new(),
        };
        match self {
            Caller::Tonic(client) => {
                client.say(ping()).await.expect("the call succeeds");
            }
            Caller::Bia(client) => {
                client.say(ping()).await.expect("the call succeeds");
            }
            Caller::RawH2(send, uri) => {
                let request = http::Request::post(uri.clone())
                    .header("content-type", "application/grpc")
                    .header("te", "trailers")
                    .body(())
                    .expect("a valid request");
                let mut send = send.clone().ready().await.expect("the connection is open");
                let (response, mut body) =
                    send.send_request(request, false).expect("opens a stream");
                body.send_data(Bytes::from_static(SAY_PING), true)
                    .expect("sends the request");
                let response = response.await.expect("the server answers");
                assert_eq!(response.status(), 200);
                let mut status = response.headers().get("grpc-status").cloned();
                let mut body = response.into_body();
                while let Some(chunk) = body.data().await {
                    let chunk = chunk.expect("reads the answer");
                    let _ = body.flow_control().release_capacity(chunk.len());
                }
                if let Some(trailers) = body.trailers().await.expect("reads the trailers") {
                    status = trailers.get("grpc-status").cloned().or(status);
                }
                assert_eq!(
                    status.as_ref().map(|s| s.as_bytes()),
                    Some(&b"0"[..]),
                    "the call succeeds"
                );
            }
        }
    }
}

/// `concurrency` unary calls in flight, spread over `connections` HTTP/2 connections, for
/// `length` after the warm-up.
pub(crate) async fn unary(
    server: &Server,
    client: ClientKind,
    connections: usize,
    concurrency: usize,
    length: Duration,
) -> Sample {
    let callers = Caller::connect(client, server, connections).await;
    let stop = Arc::new(AtomicBool::new(false));
    let measuring = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for i in 0..concurrency {
        let mut caller = callers[i % callers.len()].clone();
        let (stop, measuring, done) = (stop.clone(), measuring.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(64 * 1024);
            while !stop.load(Ordering::Relaxed) {
                let counted = measuring.load(Ordering::Relaxed);
                let started = Instant::now();
                caller.say().await;
                done.fetch_add(1, Ordering::Relaxed);
                // Calls that started inside the window and ended before its end.
                if counted && !stop.load(Ordering::Relaxed) {
                    latencies.push(started.elapsed().as_micros() as u64);
                }
            }
            latencies
        }));
    }
    tokio::time::sleep(WARMUP).await;
    let window = Window::open(server, &done);
    measuring.store(true, Ordering::Relaxed);
    tokio::time::sleep(length).await;
    let mut sample = window.close(server, &done);
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.expect("a load task ends"));
    }
    latencies.sort_unstable();
    if !latencies.is_empty() {
        sample.p50_us = latencies[latencies.len() / 2];
        sample.p99_us = latencies[latencies.len() * 99 / 100];
    }
    sample.calls = done.load(Ordering::Relaxed);
    sample
}

/// `streams` server-streaming calls of `messages` small messages each at a time, on one
/// connection, for `length` after the warm-up; the rate is messages received per second.
pub(crate) async fn streaming(
    server: &Server,
    streams: usize,
    messages: u32,
    length: Duration,
) -> Sample {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", server.addr))
        .expect("a valid URI")
        .tcp_nodelay(true)
        .connect()
        .await
        .expect("connects to the server");
    let stop = Arc::new(AtomicBool::new(false));
    let received = Arc::new(AtomicU64::new(0));
    let calls = Arc::new(AtomicU64::new(0));
    let tasks: Vec<_> = (0..streams)
        .map(|_| {
            let mut client = EchoClient::new(channel.clone());
            let (stop, received, calls) = (stop.clone(), received.clone(), calls.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    calls.fetch_add(1, Ordering::Relaxed);
                    let mut stream = client
                        .count(CountRequest {
                            message: "m".into(),
                            count: messages,
                            delay_ms: 0,
                        })
                        .await
                        .expect("the stream starts")
                        .into_inner();
                    while let Some(item) = stream.next().await {
                        item.expect("a message arrives");
                        received.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(WARMUP).await;
    let window = Window::open(server, &received);
    tokio::time::sleep(length).await;
    let mut sample = window.close(server, &received);
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.expect("a stream task ends");
    }
    sample.calls = calls.load(Ordering::Relaxed);
    sample
}

/// The counters at the start of a measured window.
struct Window {
    at: Instant,
    count: u64,
    server_cpu: Duration,
    own_cpu: Duration,
    machine_cpu: Duration,
}

impl Window {
    fn open(server: &Server, counter: &AtomicU64) -> Window {
        Window {
            at: Instant::now(),
            count: counter.load(Ordering::Relaxed),
            server_cpu: server.cpu(),
            own_cpu: own_cpu(),
            machine_cpu: machine_cpu(),
        }
    }

    fn close(self, server: &Server, counter: &AtomicU64) -> Sample {
        let foreign = foreign_since(
            self.machine_cpu,
            self.own_cpu,
            self.server_cpu,
            server,
            self.at,
        );
        let elapsed = self.at.elapsed().as_secs_f64();
        let count = (counter.load(Ordering::Relaxed) - self.count).max(1) as f64;
        let server_cpu = (server.cpu() - self.server_cpu).as_secs_f64();
        let client_cpu = (own_cpu() - self.own_cpu).as_secs_f64();
        Sample {
            rate: count / elapsed,
            server_us: server_cpu * 1e6 / count,
            server_busy: server_cpu / elapsed,
            client_us: client_cpu * 1e6 / count,
            client_busy: client_cpu / elapsed,
            foreign,
            ..Sample::default()
        }
    }
}
