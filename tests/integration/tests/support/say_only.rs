//! An echo service that serves `Say` alone, through one [`Reply`] function; the streaming
//! methods answer UNIMPLEMENTED. For measurements and for services whose whole point is `Say`.

use std::future::Future;

use tonic::{Request, Response, Status, Streaming};

use super::echo::pb::echo_server::Echo;
use super::echo::pb::{CountRequest, SayRequest, SayResponse};

/// What `Say` answers for a message.
pub trait Reply: Send + Sync + 'static {
    fn reply(&self, message: String) -> impl Future<Output = Result<String, Status>> + Send;
}

/// An [`Echo`] whose `Say` is `R`'s [`Reply`].
#[derive(Clone, Default)]
pub struct SayOnly<R>(pub R);

type Replies =
    std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<SayResponse, Status>> + Send>>;

#[tonic::async_trait]
impl<R: Reply> Echo for SayOnly<R> {
    async fn say(&self, request: Request<SayRequest>) -> Result<Response<SayResponse>, Status> {
        let message = self.0.reply(request.into_inner().message).await?;
        Ok(Response::new(SayResponse { message }))
    }

    type CountStream = Replies;

    async fn count(&self, _: Request<CountRequest>) -> Result<Response<Replies>, Status> {
        Err(Status::unimplemented("count"))
    }

    async fn collect(
        &self,
        _: Request<Streaming<SayRequest>>,
    ) -> Result<Response<SayResponse>, Status> {
        Err(Status::unimplemented("collect"))
    }

    type ChatStream = Replies;

    async fn chat(&self, _: Request<Streaming<SayRequest>>) -> Result<Response<Replies>, Status> {
        Err(Status::unimplemented("chat"))
    }
}

/// An App serving `SayOnly(reply)` and the echo descriptors, with its own telemetry from `config`.
pub fn app<R: Reply>(config: &bia::Config, reply: R) -> bia::App {
    bia::App::builder(config)
        .file_descriptor_set(super::echo::pb::FILE_DESCRIPTOR_SET)
        .add_service(super::echo::pb::echo_server::EchoServer::new(SayOnly(
            reply,
        )))
        .build()
        .expect("the say-only app builds")
}
