//! Handlers of `greeter.v1.Greeter` (proto/greeter/v1/greeter.proto).

use tonic::{Request, Response, Status};

use crate::biz::{Greeter, Greeting, UseCases};
use crate::pb::greeter::v1 as pb;

/// The stream a server-streaming handler answers with.
type BoxStream<T> =
    std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<T, Status>> + Send + 'static>>;

/// Implements `greeter.v1.Greeter` over the greeting use case in `biz`.
#[derive(Debug, Clone)]
pub struct GreeterService {
    greeter: Greeter,
}

impl GreeterService {
    /// Handlers over the greeter of `use_cases`.
    pub fn new(use_cases: &UseCases) -> Self {
        Self {
            greeter: use_cases.greeter.clone(),
        }
    }
}

fn reply(greeting: Greeting) -> pb::SayHelloResponse {
    pb::SayHelloResponse {
        message: greeting.message,
        count: greeting.count,
    }
}

#[tonic::async_trait]
impl pb::greeter_server::Greeter for GreeterService {
    type StreamGreetingsStream = BoxStream<pb::SayHelloResponse>;

    /// Greets one person.
    async fn say_hello(
        &self,
        request: Request<pb::SayHelloRequest>,
    ) -> Result<Response<pb::SayHelloResponse>, Status> {
        // A `bia::Error` from `biz` becomes a status with google.rpc.ErrorInfo.
        let greeting = self.greeter.greet(&request.into_inner().name)?;
        Ok(Response::new(reply(greeting)))
    }

    /// Streams `count` greetings.
    async fn stream_greetings(
        &self,
        request: Request<pb::StreamGreetingsRequest>,
    ) -> Result<Response<Self::StreamGreetingsStream>, Status> {
        let request = request.into_inner();
        let greetings = self.greeter.greet_many(&request.name, request.count)?;
        let replies = greetings.into_iter().map(|greeting| Ok(reply(greeting)));
        Ok(Response::new(Box::pin(tokio_stream::iter(replies))))
    }
}
