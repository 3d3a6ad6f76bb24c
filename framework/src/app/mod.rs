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
mod hooks;
mod running;

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tonic::service::Routes;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

pub use builder::AppBuilder;
pub use hooks::AppError;
pub use running::{RunningApp, ShutdownHandle};

use crate::config::Config;
use crate::error::BoxError;
use crate::middleware::method::MethodTable;
use crate::registry::{NoRegistry, Registrar};
use crate::server::UserLayers;
use crate::telemetry::Telemetry;
use hooks::Hook;

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
    routes: Routes,
    table: Arc<MethodTable>,
    layers: UserLayers,
    health: HealthReporter,
    services: Vec<&'static str>,
    registrar: Arc<dyn Registrar>,
    hooks: Hooks,
    shutdown: CancellationToken,
}

#[derive(Default)]
struct Hooks {
    before_start: Vec<Hook>,
    after_start: Vec<Hook>,
    before_stop: Vec<Hook>,
    after_stop: Vec<Hook>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("name", &self.config.app.name)
            .field("services", &self.services)
            .finish_non_exhaustive()
    }
}

impl App {
    /// Starts building an App from its configuration.
    pub fn builder(config: &Config) -> AppBuilder {
        AppBuilder::new(config)
    }

    fn from_builder(mut builder: AppBuilder) -> Result<Self, BoxError> {
        let telemetry = match builder.telemetry.take() {
            Some(telemetry) => telemetry,
            None => Telemetry::new(&builder.config)?,
        };
        let (health, health_service) = tonic_health::server::health_reporter();
        let mut routes = builder.routes;
        let mut sets = builder.descriptor_sets.clone();
        sets.push(tonic_health::pb::FILE_DESCRIPTOR_SET);
        let mut names: Vec<&'static str> = builder.services.clone();
        names.push("grpc.health.v1.Health");
        names.push("grpc.reflection.v1.ServerReflection");
        names.push("grpc.reflection.v1alpha.ServerReflection");
        let reflection = || {
            let mut reflection = tonic_reflection::server::Builder::configure()
                .include_reflection_service(true)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET);
            for set in &builder.descriptor_sets {
                reflection = reflection.register_encoded_file_descriptor_set(set);
            }
            for name in &names {
                reflection = reflection.with_service_name(*name);
            }
            reflection
        };
        let reflection_v1 = reflection()
            .build_v1()
            .map_err(|e| format!("invalid file descriptor set for reflection: {e}"))?;
        let reflection_v1alpha = reflection()
            .build_v1alpha()
            .map_err(|e| format!("invalid file descriptor set for reflection: {e}"))?;
        routes
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha);
        sets.push(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET);
        sets.push(tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET);
        let table = MethodTable::new(&sets, names.iter().copied())
            .map_err(|e| format!("invalid file descriptor set: {e}"))?;
        let registrar = match builder.registrar {
            Some(registrar) => registrar,
            None => match crate::registry::configured(&builder.config)? {
                Some(registry) => registry.registrar,
                None => Arc::new(NoRegistry),
            },
        };
        Ok(Self {
            config: builder.config,
            telemetry,
            routes: routes.routes(),
            table: Arc::new(table),
            layers: builder.layers,
            health,
            services: builder.services,
            registrar,
            hooks: Hooks {
                before_start: builder.before_start,
                after_start: builder.after_start,
                before_stop: builder.before_stop,
                after_stop: builder.after_stop,
            },
            shutdown: CancellationToken::new(),
        })
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
