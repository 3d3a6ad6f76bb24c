//! What logging costs per call, for valgrind: N sequential unary calls to an in-process Bia
//! server (access log on, at `info`) with one of these log set-ups, writing to standard output:
//!
//! - `none`: no subscriber at all (the baseline);
//! - `fmt-pretty`, `fmt-json`: tracing-subscriber's own fmt layer, synchronous, as Bia's
//!   `init_logging` used to install it (compact with ANSI codes; JSON with the current span);
//! - `pretty`, `json`: [`bia::telemetry::Logging`] as `init_logging` installs it now;
//! - `json-span`: `json`, with a handler that runs an `#[instrument]` function which logs a line.
//!
//! ```text
//! cargo build --release -p bia-integration-tests --example log_cost
//! valgrind --tool=callgrind target/release/examples/log_cost json 1000 > /dev/null
//! valgrind --tool=callgrind target/release/examples/log_cost json 3000 > /dev/null  # difference / 2000
//! valgrind --tool=dhat target/release/examples/log_cost json 1000 > /dev/null       # allocations
//! ```
//!
//! `log_cost MODE N rate` instead serves on one core (a current-thread runtime) and drives it
//! for N seconds with 64 calls in flight over 4 connections, printing calls per second; compare
//! modes in one sitting (`> FILE` to log into a file, as in production).

#[path = "../tests/support/mod.rs"]
mod support;

use support::echo::{EchoClient, EchoServer, pb, say};
use support::say_only::{Reply, SayOnly};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::util::SubscriberInitExt as _;

struct Handler {
    user_span: bool,
}

#[tracing::instrument(skip_all, fields(length = message.len()))]
fn user_code(message: String) -> String {
    tracing::info!("user code ran");
    message
}

impl Reply for Handler {
    async fn reply(&self, message: String) -> Result<String, tonic::Status> {
        Ok(if self.user_span {
            user_code(message)
        } else {
            message
        })
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "json".into());
    let calls: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(1000);
    let rate = args.next().is_some_and(|a| a == "rate");
    let format = if mode.contains("json") {
        "json"
    } else {
        "pretty"
    };
    let config = bia::testing::config_with("log-cost", &format!("[log]\nformat = \"{format}\"\n"));
    let _guard = match mode.as_str() {
        "none" => None,
        "fmt-pretty" => {
            tracing_subscriber::fmt()
                .with_env_filter(EnvFilter::new("info"))
                .with_ansi(true)
                .compact()
                .finish()
                .init();
            None
        }
        "fmt-json" => {
            tracing_subscriber::fmt()
                .with_env_filter(EnvFilter::new("info"))
                .json()
                .with_current_span(true)
                .with_span_list(false)
                .flatten_event(true)
                .finish()
                .init();
            None
        }
        "pretty" | "json" | "json-span" => Some(bia::telemetry::init_logging(&config).unwrap()),
        other => panic!("unknown mode {other}"),
    };
    let app = || {
        bia::App::builder(&config)
            .file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .add_service(EchoServer::new(SayOnly(Handler {
                user_span: mode == "json-span",
            })))
            .build()
            .unwrap()
    };
    if rate {
        let (app, seconds) = (app(), calls as u64);
        let calls_per_second = drive(app, std::time::Duration::from_secs(seconds));
        eprintln!("{mode}: {calls_per_second:.0} calls/s");
        return;
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let running = bia::testing::start(app()).await.unwrap();
        let mut echo = EchoClient::new(running.channel().await.unwrap());
        for _ in 0..calls {
            echo.say(say("ping")).await.unwrap();
        }
        running.stop().await.unwrap();
    });
}

/// Serves `app` on a thread of its own (one core) and counts the calls 64 callers complete in
/// `length`.
fn drive(app: bia::App, length: std::time::Duration) -> f64 {
    let addr = support::serve_on_thread("bia-server", app);
    let client = support::one_worker();
    client.block_on(async move {
        let done = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let start = std::time::Instant::now();
        let mut tasks = Vec::new();
        for connection in 0..4 {
            let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
                .unwrap()
                .connect()
                .await
                .unwrap();
            for _ in 0..16 {
                let (mut echo, done) = (EchoClient::new(channel.clone()), done.clone());
                tasks.push(tokio::spawn(async move {
                    while start.elapsed() < length {
                        let message = format!("ping {connection}");
                        echo.say(say(message)).await.unwrap();
                        done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }));
            }
        }
        for task in tasks {
            task.await.unwrap();
        }
        done.load(std::sync::atomic::Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
    })
}
