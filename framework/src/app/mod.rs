//! The App: one service's lifecycle, in Kratos' order.
//!
//! ```text
//! before_start hooks -> bind and start the gRPC and admin servers -> register the instance
//! -> after_start hooks -> ready ... SIGINT/SIGTERM or a ShutdownHandle ...
//! -> health NOT_SERVING and /readyz 503 -> before_stop hooks -> deregister -> pre-stop delay
//! -> stop accepting (GOAWAY) and end health Watch streams -> drain in-flight calls for up to
//! app.shutdown_timeout, then cut what is left with UNAVAILABLE -> after_stop hooks
//! -> flush telemetry
//! ```
//!
//! Every hook's error is reported, not only the last.

mod builder;
mod error;
mod hooks;
mod main;
mod running;
mod start;
mod stop;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

pub use builder::AppBuilder;
pub use error::{AppError, LifecycleError};
pub use main::main;
pub use running::{RunningApp, ShutdownHandle};

use crate::config::Config;
use crate::registry::Registrar;
use crate::server::grpc::{GrpcParts, ServeFn};
use crate::server::tls::Tls;
use crate::telemetry::Telemetry;
use hooks::Hooks;

/// A service ready to run: its config, servers, telemetry and hooks.
///
/// ```no_run
/// # async fn demo() -> Result<(), bia::BoxError> {
/// let config = bia::Config::load(env!("CARGO_PKG_NAME"))?;
/// let app = bia::App::builder(&config)
///     // .add_service(GreeterServer::new(MyGreeter))
///     // .file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
///     .build()?;
/// app.run().await?; // until SIGINT or SIGTERM
/// # Ok(()) }
/// ```
pub struct App {
    config: Config,
    telemetry: Telemetry,
    grpc: Option<(GrpcParts, ServeFn)>,
    admin_tls: Option<Arc<Tls>>,
    /// The OpenAPI document the admin server serves (its `servers` added at start).
    openapi: Option<serde_json::Value>,
    health: HealthReporter,
    services: Vec<&'static str>,
    registrar: Arc<dyn Registrar>,
    hooks: Hooks,
    shutdown: CancellationToken,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        fmt_app(f, "App", &self.config, &self.services)
    }
}

/// The Debug form of an App and of its builder: its name and services (the rest is closures,
/// stacks and sockets).
fn fmt_app(
    f: &mut std::fmt::Formatter<'_>,
    type_name: &str,
    config: &Config,
    services: &[&'static str],
) -> std::fmt::Result {
    f.debug_struct(type_name)
        .field("name", &config.app.name)
        .field("services", &services)
        .finish_non_exhaustive()
}

impl App {
    /// Starts building an App from its configuration.
    pub fn builder(config: &Config) -> AppBuilder {
        AppBuilder::new(config)
    }

    /// The App's telemetry (to build clients that share its metrics and tracer).
    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    /// The App's configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A handle that stops the App from elsewhere (a test, an admin action).
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(self.shutdown.clone())
    }

    /// Runs the App until SIGINT or SIGTERM (or a [`ShutdownHandle`]), then stops it in order.
    /// A second signal during the drain cuts the remaining calls at once.
    pub async fn run(self) -> Result<(), AppError> {
        let handle = self.shutdown_handle();
        let running = self.start().await?;
        let signalled = tokio::select! {
            () = wait_for_signal() => true,
            () = handle.0.cancelled() => false,
        };
        if signalled {
            tracing::info!("shutdown signal received; draining (a second signal cuts the drain)");
            let cut = running.cut_handle();
            tokio::spawn(async move {
                wait_for_signal().await;
                tracing::warn!("second signal: cutting in-flight calls now");
                cut.cancel();
            });
        }
        running.stop().await
    }
}

/// Sets the overall status and every served service's.
async fn set_health(health: &HealthReporter, services: &[&'static str], status: ServingStatus) {
    health.set_service_status("", status).await;
    for name in services {
        health.set_service_status(*name, status).await;
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
