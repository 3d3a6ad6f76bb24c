//! An echo service whose `Say` runs through user code instrumented with `tracing`, optionally
//! relaying the message to a downstream echo service through `bia::client`.

use tonic::{Request, Response, Status, Streaming};

use super::echo::pb::echo_client::EchoClient;
use super::echo::pb::echo_server::{Echo, EchoServer};
use super::echo::pb::{self, CountRequest, SayRequest, SayResponse};

/// `Say` calls [`lookup`]; the streaming methods are not served.
#[derive(Clone, Default)]
pub struct TracedEcho {
    pub downstream: Option<bia::client::Channel>,
}

type ResponseStream =
    std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<SayResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Echo for TracedEcho {
    async fn say(&self, request: Request<SayRequest>) -> Result<Response<SayResponse>, Status> {
        let message = request.into_inner().message;
        let reply = lookup(&message, self.downstream.clone()).await?;
        Ok(Response::new(SayResponse { message: reply }))
    }

    type CountStream = ResponseStream;

    async fn count(&self, _: Request<CountRequest>) -> Result<Response<ResponseStream>, Status> {
        Err(Status::unimplemented("count"))
    }

    async fn collect(
        &self,
        _: Request<Streaming<SayRequest>>,
    ) -> Result<Response<SayResponse>, Status> {
        Err(Status::unimplemented("collect"))
    }

    type ChatStream = ResponseStream;

    async fn chat(
        &self,
        _: Request<Streaming<SayRequest>>,
    ) -> Result<Response<ResponseStream>, Status> {
        Err(Status::unimplemented("chat"))
    }
}

/// User code: a span with a field set at the start and one recorded later, events, a nested
/// span, and (with a downstream) a call through `bia::client`.
#[tracing::instrument(skip(downstream), fields(echo.length = message.len(), relayed))]
pub async fn lookup(
    message: &str,
    downstream: Option<bia::client::Channel>,
) -> Result<String, Status> {
    tracing::info!(step = "start", "looking up");
    let reply = match downstream {
        Some(channel) => {
            let reply = EchoClient::new(channel)
                .say(SayRequest {
                    message: message.to_owned(),
                    padding: Vec::new(),
                })
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
        .add_service(EchoServer::new(TracedEcho { downstream }));
    if let Some(telemetry) = telemetry {
        builder = builder.telemetry(telemetry);
    }
    builder.build().expect("the traced echo app builds")
}
