//! # Bia
//!
//! A Kratos-style gRPC microservice framework on tonic: one crate gives every service the same
//! production-grade bootstrap.
//!
//! - [`App`]: the lifecycle (start servers, register, wait for SIGINT/SIGTERM, deregister, drain,
//!   stop), with a gRPC server (health, reflection) and an admin HTTP endpoint
//!   (`/metrics`, `/healthz`, `/readyz`).
//! - [`Config`]: defaults <- `config/config.toml` <- `BIA_*` and `OTEL_*` environment variables.
//! - [`middleware`]: recovery, trace, metrics, access log, deadline and limits as tower layers, for
//!   unary and streaming calls alike.
//! - [`Telemetry`]: OpenTelemetry traces over OTLP (what Jaeger ingests) and Prometheus metrics,
//!   owned by each App.
//! - [`client`]: channels to other services with the matching client layers.
//! - [`Error`]: business errors as rich gRPC statuses.
//! - `testing` (feature `testing`): start an App on loopback in tests, with an OTLP collector.
//!
//! A service's `main`:
//!
//! ```no_run
//! #[tokio::main]
//! async fn main() -> std::process::ExitCode {
//!     bia::exit(run().await)
//! }
//!
//! async fn run() -> Result<(), bia::BoxError> {
//!     let config = bia::Config::load(env!("CARGO_PKG_NAME"))?;
//!     let _logging = bia::telemetry::init_logging(&config)?;
//!     let app = bia::App::builder(&config)
//!         // .add_service(GreeterServer::new(MyGreeter))
//!         // .file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
//!         .build()?;
//!     app.run().await?;
//!     Ok(())
//! }
//! ```
#![warn(missing_docs)]

pub mod app;
mod build_error;
pub mod client;
pub mod config;
pub mod error;
pub mod gateway;
pub mod middleware;
pub mod registry;
pub mod server;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;

pub use app::{App, AppBuilder, AppError, RunningApp, ShutdownHandle};
pub use build_error::BuildError;
pub use config::Config;
pub use error::{BoxError, Error};
pub use middleware::{CallDeadline, CallInfo};
pub use telemetry::Telemetry;

/// Turns `main`'s result into an exit code, printing the error and its causes to stderr.
pub fn exit(result: Result<(), BoxError>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            let mut source = error.source();
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            std::process::ExitCode::FAILURE
        }
    }
}
