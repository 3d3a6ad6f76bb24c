//! An echo service whose `Say` runs through user code instrumented with `tracing`, optionally
//! relaying the message to a downstream echo service through `bia::client`.

use tonic::Status;

use super::echo::pb;
use super::echo::pb::echo_client::EchoClient;
use super::echo::pb::echo_server::EchoServer;
use super::say_only::{Reply, SayOnly};

/// `Say` calls [`lookup`]; the streaming methods are not served.
#[derive(Clone, Default)]
pub struct TracedEcho {
    pub downstream: Option<bia::client::Channel>,
}

impl Reply for TracedEcho {
    async fn reply(&self, message: String) -> Result<String, Status> {
        lookup(&message, self.downstream.clone()).await
    }
}

/// User code: a span with a field set at the start and one recorded later, events, a nested
/// span, and (with a downstream) a call through `bia::client`. `panic` panics.
#[tracing::instrument(skip(downstream), fields(echo.length = message.len(), relayed))]
pub async fn lookup(
    message: &str,
    downstream: Option<bia::client::Channel>,
) -> Result<String, Status> {
    tracing::info!(step = "start", "looking up");
    if message == "panic" {
        panic!("asked to panic");
    }
    let reply = match downstream {
        Some(channel) => {
            let reply = EchoClient::new(channel)
                .say(super::echo::say(message))
                .await?
                .into_inner()
                .message;
            tracing::Span::current().record("relayed", true);
            reply
        }
        None => inner_step(message).await,
    };
    if message == "fail" {
        tracing::error!("lookup failed");
    }
    Ok(reply)
}

#[tracing::instrument]
async fn inner_step(message: &str) -> String {
    tracing::info!("inner step");
    message.to_owned()
}

/// An App serving [`TracedEcho`] with `telemetry` (or its own from `config`).
pub fn app(
    config: &bia::Config,
    telemetry: Option<bia::Telemetry>,
    downstream: Option<bia::client::Channel>,
) -> bia::App {
    let mut builder = bia::App::builder(config)
        .file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .add_service(EchoServer::new(SayOnly(TracedEcho { downstream })));
    if let Some(telemetry) = telemetry {
        builder = builder.telemetry(telemetry);
    }
    builder.build().expect("the traced echo app builds")
}

/// Starts [`app`] on loopback.
pub async fn start(
    config: &bia::Config,
    telemetry: Option<bia::Telemetry>,
    downstream: Option<bia::client::Channel>,
) -> bia::RunningApp {
    bia::testing::start(app(config, telemetry, downstream))
        .await
        .expect("the traced echo app starts")
}
