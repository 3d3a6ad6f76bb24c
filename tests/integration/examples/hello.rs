//! The smallest Bia service: the echo service from the framework's test proto.
//!
//! ```text
//! cargo run -p bia-integration-tests --example hello
//! grpcurl -plaintext 127.0.0.1:9000 list
//! grpcurl -plaintext -d '{"message":"hi"}' 127.0.0.1:9000 echo.v1.Echo/Say
//! curl 127.0.0.1:8000/metrics
//! ```
//!
//! Defaults bind 0.0.0.0:9000 (gRPC) and 0.0.0.0:8000 (admin); override with
//! `BIA_SERVER__GRPC__ADDR` / `BIA_SERVER__ADMIN__ADDR` or `--config PATH`.

use std::pin::Pin;

use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

#[allow(unreachable_pub)] // generated code
mod pb {
    tonic::include_proto!("echo.v1");
    pub(crate) const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/echo_descriptor.bin"));
}

use pb::echo_server::{Echo, EchoServer};
use pb::{CountRequest, SayRequest, SayResponse};

struct Hello;

type Replies = Pin<Box<dyn Stream<Item = Result<SayResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Echo for Hello {
    async fn say(&self, request: Request<SayRequest>) -> Result<Response<SayResponse>, Status> {
        let message = request.into_inner().message;
        if message.is_empty() {
            return Err(
                bia::Error::invalid_argument("EMPTY_MESSAGE", "say something")
                    .with_field_violation("message", "must not be empty")
                    .into(),
            );
        }
        tracing::info!(%message, "saying hello");
        Ok(Response::new(SayResponse {
            message: format!("hello, {message}"),
        }))
    }

    type CountStream = Replies;

    async fn count(&self, request: Request<CountRequest>) -> Result<Response<Replies>, Status> {
        let CountRequest {
            message,
            count,
            delay_ms,
        } = request.into_inner();
        let delay = std::time::Duration::from_millis(u64::from(delay_ms));
        let stream = tokio_stream::iter(0..count.min(1000)).then(move |i| {
            let message = message.clone();
            async move {
                tokio::time::sleep(delay).await;
                Ok(SayResponse {
                    message: format!("{message} {i}"),
                })
            }
        });
        Ok(Response::new(Box::pin(stream)))
    }

    async fn collect(
        &self,
        request: Request<Streaming<SayRequest>>,
    ) -> Result<Response<SayResponse>, Status> {
        let mut parts = Vec::new();
        let mut stream = request.into_inner();
        while let Some(message) = stream.next().await {
            parts.push(message?.message);
        }
        Ok(Response::new(SayResponse {
            message: parts.join(" "),
        }))
    }

    type ChatStream = Replies;

    async fn chat(
        &self,
        request: Request<Streaming<SayRequest>>,
    ) -> Result<Response<Replies>, Status> {
        let replies = request
            .into_inner()
            .map(|m| m.map(|m| SayResponse { message: m.message }));
        Ok(Response::new(Box::pin(replies)))
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    bia::exit(run().await)
}

async fn run() -> Result<(), bia::BoxError> {
    let config = bia::Config::load("hello")?;
    let _logging = bia::telemetry::init_logging(&config)?;
    bia::App::builder(&config)
        .file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .add_service(EchoServer::new(Hello))
        .build()?
        .run()
        .await?;
    Ok(())
}
