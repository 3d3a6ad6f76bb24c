//! Instructions per call, for `valgrind --tool=callgrind`: N sequential unary calls to an
//! in-process Bia server, through the stock tonic client or through `bia::client::Channel`.
//!
//! ```text
//! cargo build --release -p bia-integration-tests --example client_cost
//! valgrind --tool=callgrind target/release/examples/client_cost bia 2000
//! valgrind --tool=callgrind target/release/examples/client_cost bia 4000   # difference / 2000
//! ```
//!
//! Counting instructions, not seconds, makes two builds comparable on a busy machine.

#[path = "../tests/support/mod.rs"]
mod support;

use support::echo::{EchoClient, say};
use support::say_only::{self, Reply};

/// Answers every message with itself.
struct Fast;

impl Reply for Fast {
    async fn reply(&self, message: String) -> Result<String, tonic::Status> {
        Ok(message)
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let client = args.next().unwrap_or_else(|| "bia".into());
    let calls: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(2000);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let config = bia::testing::config_with(
            "client-cost",
            "[clients.echo]\ntarget = \"http://127.0.0.1:1\"\ntimeout = \"10s\"\n",
        );
        let running = bia::testing::start(say_only::app(&config, Fast))
            .await
            .unwrap();
        let request = || say("ping");
        match client.as_str() {
            "tonic" => {
                let mut echo = EchoClient::new(running.channel().await.unwrap());
                for _ in 0..calls {
                    echo.say(request()).await.unwrap();
                }
            }
            "bia" => {
                let target = bia::config::ClientConfig {
                    target: bia::config::Target::One(format!("http://{}", running.grpc_addr())),
                    ..bia::config::ClientConfig::default()
                };
                let channel =
                    bia::client::Channel::new(&target, None, running.telemetry()).unwrap();
                let mut echo = EchoClient::new(channel);
                for _ in 0..calls {
                    echo.say(request()).await.unwrap();
                }
            }
            other => panic!("unknown client {other}: use tonic or bia"),
        }
        running.stop().await.unwrap();
    });
}
