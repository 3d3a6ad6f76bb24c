//! The echo service: all four RPC kinds, with messages that panic, fail or dawdle on request.

use std::pin::Pin;
use std::time::Duration;

use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

pub mod pb {
    tonic::include_proto!("echo.v1");
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/echo_descriptor.bin"));
}

pub use pb::echo_client::EchoClient;
pub use pb::echo_server::{Echo, EchoServer};
pub use pb::{CountRequest, SayRequest, SayResponse};

#[derive(Clone, Default)]
pub struct EchoService;

type ResponseStream = Pin<Box<dyn Stream<Item = Result<SayResponse, Status>> + Send>>;

async fn react(message: &str) -> Result<(), Status> {
    if message == "panic" {
        panic!("asked to panic");
    }
    if message == "missing" {
        return Err(bia::Error::not_found("THING_NOT_FOUND", "no such thing").into());
    }
    if let Some(ms) = message.strip_prefix("slow:") {
        let ms: u64 = ms
            .parse()
            .map_err(|_| Status::invalid_argument("slow:<ms>"))?;
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    Ok(())
}

#[tonic::async_trait]
impl Echo for EchoService {
    async fn say(&self, request: Request<SayRequest>) -> Result<Response<SayResponse>, Status> {
        let message = request.into_inner().message;
        tracing::info!(%message, "saying");
        react(&message).await?;
        Ok(Response::new(SayResponse { message }))
    }

    type CountStream = ResponseStream;

    async fn count(
        &self,
        request: Request<CountRequest>,
    ) -> Result<Response<Self::CountStream>, Status> {
        let CountRequest {
            message,
            count,
            delay_ms,
        } = request.into_inner();
        if message == "missing" {
            return Err(Status::not_found("no such thing"));
        }
        let stream = async_stream(count, delay_ms, message);
        Ok(Response::new(Box::pin(stream)))
    }

    async fn collect(
        &self,
        request: Request<Streaming<SayRequest>>,
    ) -> Result<Response<SayResponse>, Status> {
        let mut stream = request.into_inner();
        let mut parts = Vec::new();
        while let Some(message) = stream.next().await {
            let message = message?.message;
            react(&message).await?;
            parts.push(message);
        }
        Ok(Response::new(SayResponse {
            message: parts.join(" "),
        }))
    }

    type ChatStream = ResponseStream;

    async fn chat(
        &self,
        request: Request<Streaming<SayRequest>>,
    ) -> Result<Response<Self::ChatStream>, Status> {
        let stream = request.into_inner().then(|message| async move {
            let message = message?.message;
            react(&message).await?;
            Ok(SayResponse { message })
        });
        Ok(Response::new(Box::pin(stream)))
    }
}

fn async_stream(
    count: u32,
    delay_ms: u32,
    message: String,
) -> impl Stream<Item = Result<SayResponse, Status>> + Send {
    tokio_stream::iter(0..count).then(move |i| {
        let message = message.clone();
        async move {
            if delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(u64::from(delay_ms))).await;
            }
            if message == "panic" && i == 1 {
                panic!("asked to panic mid-stream");
            }
            Ok(SayResponse {
                message: format!("{message} {i}"),
            })
        }
    })
}

/// An App serving the echo service, with its own telemetry from `config`.
pub fn app(config: &bia::Config) -> bia::App {
    bia::App::builder(config)
        .file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .add_service(EchoServer::new(EchoService))
        .build()
        .expect("the echo app builds")
}
