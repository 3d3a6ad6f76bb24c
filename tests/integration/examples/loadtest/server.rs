//! The server side: what the harness runs as a child process (`loadtest --serve bare|bia`).
//!
//! `bia` is the `main` that `bia new` writes (templates/service/src/main.rs.tmpl), with this echo
//! service in place of the scaffolded one: `Config::load_with_defaults`, `init_logging` (the
//! global subscriber: info, pretty, access log on, to standard output, which the harness
//! redirects to a file), then `App::run` until SIGTERM. The harness varies it only through the
//! environment, as a user would (`BIA_LOG__LEVEL`, `OTEL_EXPORTER_OTLP_ENDPOINT`, the addresses).
//! `bare` is tonic's own `Server` with the same service and no layers.

use std::pin::Pin;

use tokio_stream::Stream;
use tonic::{Request, Response, Status, Streaming};

use crate::pb;
use pb::echo_server::{Echo, EchoServer};
use pb::{CountRequest, SayRequest, SayResponse};

/// The echo service both servers serve: `Say` echoes, `Count` streams `count` copies.
#[derive(Clone, Copy)]
pub(crate) struct Fast;

type Replies = Pin<Box<dyn Stream<Item = Result<SayResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Echo for Fast {
    async fn say(&self, request: Request<SayRequest>) -> Result<Response<SayResponse>, Status> {
        Ok(Response::new(SayResponse {
            message: request.into_inner().message,
        }))
    }

    type CountStream = Replies;

    async fn count(&self, request: Request<CountRequest>) -> Result<Response<Replies>, Status> {
        let CountRequest { message, count, .. } = request.into_inner();
        let reply = SayResponse { message };
        Ok(Response::new(Box::pin(tokio_stream::iter(
            (0..count).map(move |_| Ok(reply.clone())),
        ))))
    }

    async fn collect(
        &self,
        _: Request<Streaming<SayRequest>>,
    ) -> Result<Response<SayResponse>, Status> {
        Err(Status::unimplemented("not measured"))
    }

    type ChatStream = Replies;

    async fn chat(&self, _: Request<Streaming<SayRequest>>) -> Result<Response<Replies>, Status> {
        Err(Status::unimplemented("not measured"))
    }
}

/// Runs the server `kind` (`bare` or `bia`) until SIGTERM. The bare server listens on `addr`;
/// Bia reads its address from `BIA_SERVER__GRPC__ADDR` like any scaffolded service.
pub(crate) fn serve(kind: &str, addr: Option<std::net::SocketAddr>) -> std::process::ExitCode {
    // What `#[tokio::main]` builds: a multi-thread runtime with a worker per available core
    // (one, under `taskset -c 0`).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("builds the runtime");
    match kind {
        "bare" => {
            let addr = addr.expect("--serve bare needs --addr HOST:PORT");
            runtime.block_on(async move {
                tonic::transport::Server::builder()
                    .add_service(EchoServer::new(Fast))
                    .serve_with_shutdown(addr, terminated())
                    .await
                    .expect("the bare tonic server serves");
            });
            std::process::ExitCode::SUCCESS
        }
        "bia" => bia::exit(runtime.block_on(run())),
        other => panic!("--serve {other}: use bare or bia"),
    }
}

/// The scaffolded `run`, line for line, with the echo service as the app. The template's
/// `config/config.toml` has every key commented out, so its compiled-in defaults are empty.
async fn run() -> Result<(), bia::BoxError> {
    let config = bia::Config::load_with_defaults("loadtest-server", env!("CARGO_PKG_VERSION"), "")?;
    let _logging = bia::telemetry::init_logging(&config)?;
    bia::App::builder(&config)
        .file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .add_service(EchoServer::new(Fast))
        .build()?
        .run()
        .await?;
    Ok(())
}

async fn terminated() {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("listens for SIGTERM");
    tokio::select! {
        _ = terminate.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
