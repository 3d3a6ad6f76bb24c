//! The echo service as `bia call`'s tests serve it.

use std::time::Duration;

use tonic::{Request, Response, Status, Streaming};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

use crate::support::echo::{
    self, CountRequest, Echo, EchoServer, EchoService, SayRequest, SayResponse,
};

/// The echo service, plus what `bia call` needs to show: metadata read back, rich details.
#[derive(Clone, Default)]
pub(crate) struct CallEcho;

#[tonic::async_trait]
impl Echo for CallEcho {
    async fn say(&self, request: Request<SayRequest>) -> Result<Response<SayResponse>, Status> {
        match request.get_ref().message.as_str() {
            // Reads the caller's metadata back.
            "whoami" => {
                let header = |key: &str| {
                    request
                        .metadata()
                        .get_all(key)
                        .iter()
                        .map(|v| v.to_str().unwrap().to_owned())
                        .collect::<Vec<_>>()
                        .join(",")
                };
                let binary = request
                    .metadata()
                    .get_bin("x-blob-bin")
                    .map(|v| v.to_bytes().unwrap().to_vec())
                    .unwrap_or_default();
                Ok(Response::new(SayResponse {
                    message: format!("tenant={} blob={binary:?}", header("x-tenant")),
                }))
            }
            "invalid" => {
                let mut details = ErrorDetails::with_bad_request(vec![FieldViolation::new(
                    "message",
                    "must not be `invalid`",
                )]);
                details.set_error_info(
                    "MESSAGE_INVALID",
                    "echo.v1",
                    [("hint".to_owned(), "try hello".to_owned())],
                );
                details.set_retry_info(Some(Duration::from_millis(1500)));
                Err(Status::with_error_details(
                    tonic::Code::InvalidArgument,
                    "the message is invalid",
                    details,
                ))
            }
            _ => EchoService.say(request).await,
        }
    }

    type CountStream = <EchoService as Echo>::CountStream;

    async fn count(
        &self,
        request: Request<CountRequest>,
    ) -> Result<Response<Self::CountStream>, Status> {
        EchoService.count(request).await
    }

    async fn collect(
        &self,
        request: Request<Streaming<SayRequest>>,
    ) -> Result<Response<SayResponse>, Status> {
        EchoService.collect(request).await
    }

    type ChatStream = <EchoService as Echo>::ChatStream;

    async fn chat(
        &self,
        request: Request<Streaming<SayRequest>>,
    ) -> Result<Response<Self::ChatStream>, Status> {
        EchoService.chat(request).await
    }
}

/// The Bia echo app on loopback, with reflection of its descriptors, configured by `toml`.
pub(crate) async fn start(toml: &str) -> bia::RunningApp {
    let config = bia::testing::config_with("call", toml);
    let app = bia::App::builder(&config)
        .file_descriptor_set(echo::pb::FILE_DESCRIPTOR_SET)
        .add_service(EchoServer::new(CallEcho))
        .build()
        .expect("the app builds");
    bia::testing::start(app).await.expect("the app starts")
}

pub(crate) fn addr(running: &bia::RunningApp) -> String {
    running.grpc_addr().to_string()
}
