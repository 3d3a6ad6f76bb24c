//! Test support shared by the integration tests (and the cost examples): the echo services,
//! captured logs, a bia client of an echo server, polling (the OTLP collector is
//! bia::testing::otlp).
#![allow(dead_code, unreachable_pub)]

pub mod echo;
#[cfg(feature = "etcd")]
pub mod etcd;
pub mod h2raw;
pub mod say_only;
pub mod traced;

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

/// A runtime with one worker thread: a load generator's, or a server's on a thread of its own.
pub fn one_worker() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a Tokio runtime starts")
}

/// Serves `app` on a thread of its own named `name`, in a single-threaded runtime (so on one
/// core, and the thread's CPU time is the server's), and returns its gRPC address once it
/// serves. The server lives until the process ends.
pub fn serve_on_thread(name: &str, app: bia::App) -> std::net::SocketAddr {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a Tokio runtime starts");
            runtime.block_on(async {
                let running = bia::testing::start(app).await.expect("the app starts");
                addr_tx.send(running.grpc_addr()).unwrap();
                std::future::pending::<()>().await;
            });
        })
        .expect("a thread starts");
    addr_rx
        .recv()
        .expect("the server thread reports its address")
}

/// A log writer into memory: a subscriber's output, read back with [`Captured::text`].
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// All that has been written so far.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Asserts that `text` contains every one of `needles`, naming the first one missing.
#[track_caller]
pub fn assert_contains(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

/// Asserts that the `/metrics` text of `running` contains every one of `lines`.
pub async fn assert_metrics(running: &bia::RunningApp, lines: &[&str]) {
    assert_contains(&running.metrics_text().await, lines);
}

/// Health's `Check` of `service` (`""`: the whole server) on `running`: the serving status.
pub async fn health(running: &bia::RunningApp, service: &str) -> Result<i32, tonic::Status> {
    let channel = running.channel().await.expect("the app is reachable");
    tonic_health::pb::health_client::HealthClient::new(channel)
        .check(tonic_health::pb::HealthCheckRequest {
            service: service.into(),
        })
        .await
        .map(|response| response.into_inner().status)
}

/// The `echo` client's channel of a caller named `caller` configured by `toml`, with the
/// caller's telemetry.
pub fn echo_channel(caller: &str, toml: &str) -> (bia::client::Channel, bia::Telemetry) {
    bia::testing::client_channel(&bia::testing::config_with(caller, toml), "echo")
}

/// Polls `check` until it returns `Some`, for up to five seconds.
pub async fn eventually<T>(mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Awaits `check` until it returns true, for up to `limit`.
pub async fn eventually_async<F, Fut>(limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "condition not met within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The test binary's JSON log output, made the global subscriber on first use and shared by
/// every test of the binary (a process has one global subscriber).
pub fn json_logs() -> &'static Captured {
    static LOGS: OnceLock<(Captured, bia::telemetry::LoggingGuard)> = OnceLock::new();
    &LOGS
        .get_or_init(|| {
            let captured = Captured::default();
            let config = bia::testing::config_with("logs", "[log]\nformat = \"json\"\n");
            let (subscriber, guard) = bia::telemetry::Logging::new(&config)
                .unwrap()
                .writer(captured.clone())
                .subscriber();
            tracing::subscriber::set_global_default(subscriber).unwrap();
            (captured, guard)
        })
        .0
}
