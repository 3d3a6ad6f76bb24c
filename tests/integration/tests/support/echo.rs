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

#[allow(unused_imports)]
pub use pb::echo_client::EchoClient;
pub use pb::echo_server::{Echo, EchoServer};
pub use pb::{CountRequest, SayRequest, SayResponse};

#[derive(Clone, Default)]
pub struct EchoService;

type ResponseStream = Pin<Box<dyn Stream<Item = Result<SayResponse, Status>> + Send>>;

static FLAKY: std::sync::Mutex<std::collections::BTreeMap<String, u32>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

async fn react(message: &str) -> Result<(), Status> {
    if message == "panic" {
        panic!("asked to panic");
    }
    if message == "missing" {
        return Err(bia::Error::not_found("THING_NOT_FOUND", "no such thing").into());
    }
    if message == "unavailable" {
        return Err(Status::unavailable("asked to be unavailable"));
    }
    // "flaky:<key>:<n>": the first n calls with this key answer UNAVAILABLE.
    if let Some(rest) = message.strip_prefix("flaky:") {
        let (key, n) = rest
            .rsplit_once(':')
            .ok_or_else(|| Status::invalid_argument("flaky:<key>:<n>"))?;
        let n: u32 = n
            .parse()
            .map_err(|_| Status::invalid_argument("flaky:<key>:<n>"))?;
        let mut seen = FLAKY.lock().unwrap();
        let count = seen.entry(key.to_owned()).or_default();
        *count += 1;
        if *count <= n {
            return Err(Status::unavailable(format!("flaky call {count} of {n}")));
        }
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
        let served_by = request
            .extensions()
            .get::<bia::CallInfo>()
            .and_then(|call| call.local)
            .map(|addr| addr.to_string());
        let message = request.into_inner().message;
        tracing::info!(%message, "saying");
        react(&message).await?;
        let mut response = Response::new(SayResponse { message });
        if let Some(addr) = served_by {
            response
                .metadata_mut()
                .insert("x-served-by", addr.parse().unwrap());
        }
        Ok(response)
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

/// A `Say` request for `message`, without padding.
pub fn say(message: impl Into<String>) -> SayRequest {
    SayRequest {
        message: message.into(),
        padding: Vec::new(),
    }
}

/// A `Count` request: `count` replies of `message`, `delay_ms` apart.
pub fn count(message: &str, count: u32, delay_ms: u32) -> CountRequest {
    CountRequest {
        message: message.into(),
        count,
        delay_ms,
    }
}

/// Starts [`app`] on loopback as service `name`, configured by `toml` (on the test defaults).
pub async fn start(name: &str, toml: &str) -> bia::RunningApp {
    bia::testing::start(app(&bia::testing::config_with(name, toml)))
        .await
        .expect("the echo app starts")
}

/// A tonic echo client of `running`.
pub async fn client(running: &bia::RunningApp) -> EchoClient<tonic::transport::Channel> {
    EchoClient::new(running.channel().await.expect("the echo app is reachable"))
}

/// The messages of a stream of answers, asserting that each one is OK.
pub async fn replies(stream: Streaming<SayResponse>) -> Vec<String> {
    stream.map(|r| r.unwrap().message).collect().await
}

/// The first answer of `stream`, asserted OK, and the code of the error that must follow it.
pub async fn one_then_error(mut stream: Streaming<SayResponse>) -> (String, tonic::Code) {
    let first = stream
        .next()
        .await
        .expect("an answer")
        .expect("an OK answer");
    let err = stream
        .next()
        .await
        .expect("a second item")
        .expect_err("an error after the first answer");
    (first.message, err.code())
}

/// An App builder serving the echo service (and its descriptors), for more layers or hooks.
pub fn builder(config: &bia::Config) -> bia::AppBuilder {
    bia::App::builder(config)
        .file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .add_service(EchoServer::new(EchoService))
}

/// An App serving the echo service, with its own telemetry from `config`.
pub fn app(config: &bia::Config) -> bia::App {
    builder(config).build().expect("the echo app builds")
}
