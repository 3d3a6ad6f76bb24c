//! Starting an App, and the handle of one that runs.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic_health::ServingStatus;

use super::hooks::run_all;
use super::{App, AppError};
use crate::registry::ServiceInstance;
use crate::server::admin::{self, Readiness};
use crate::server::grpc::{self, GrpcParts};
use crate::server::guard::Cut;
use crate::telemetry::Telemetry;

/// Stops a running App from anywhere; cloning is cheap.
#[derive(Clone, Debug)]
pub struct ShutdownHandle(pub(super) CancellationToken);

impl ShutdownHandle {
    /// Begins the App's shutdown (idempotent).
    pub fn shutdown(&self) {
        self.0.cancel();
    }
}

/// An App whose servers are serving.
#[derive(Debug)]
pub struct RunningApp {
    grpc_addr: SocketAddr,
    admin_addr: Option<SocketAddr>,
    telemetry: Telemetry,
    shutdown: CancellationToken,
    cut: Cut,
    lifecycle: JoinHandle<Result<(), AppError>>,
}

impl RunningApp {
    /// Where the gRPC server listens.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// Where the admin server listens, if enabled.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// The App's telemetry.
    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    /// A handle that begins the shutdown.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(self.shutdown.clone())
    }

    pub(super) fn cut_handle(&self) -> CancellationToken {
        self.cut.all.clone()
    }

    /// Begins the shutdown and waits for it to complete.
    pub async fn stop(self) -> Result<(), AppError> {
        self.shutdown.cancel();
        self.wait().await
    }

    /// Waits until the App has stopped (after a signal or a [`ShutdownHandle`]).
    pub async fn wait(self) -> Result<(), AppError> {
        match self.lifecycle.await {
            Ok(result) => result,
            Err(e) => Err(AppError::single(format!(
                "the App's lifecycle task failed: {e}"
            ))),
        }
    }
}

impl App {
    /// Runs the start half of the lifecycle and returns once the App serves.
    pub async fn start(mut self) -> Result<RunningApp, AppError> {
        let mut errors = AppError::default();
        run_all(
            "before_start",
            std::mem::take(&mut self.hooks.before_start),
            &mut errors,
        )
        .await;
        errors.into_result()?;
        let mut errors = AppError::default();

        let grpc_config = self.config.server.grpc.clone();
        let grpc_listener = bind("gRPC", grpc_config.addr, "server.grpc.addr").await?;
        let grpc_addr = grpc_listener
            .local_addr()
            .map_err(|e| AppError::single(format!("cannot read the gRPC address: {e}")))?;
        let admin_listener = if self.config.server.admin.enabled {
            Some(bind("admin", self.config.server.admin.addr, "server.admin.addr").await?)
        } else {
            None
        };
        let admin_addr = admin_listener.as_ref().and_then(|l| l.local_addr().ok());

        super::set_health(&self.health, &self.services, ServingStatus::Serving).await;
        let cut = Cut::new();
        let stop_grpc = CancellationToken::new();
        let parts = GrpcParts {
            routes: std::mem::take(&mut self.routes),
            table: self.table.clone(),
            layers: std::mem::take(&mut self.layers),
        };
        let grpc_task = {
            let telemetry = self.telemetry.clone();
            let cut = cut.clone();
            let stop = stop_grpc.clone();
            tokio::spawn(async move {
                grpc::serve(
                    grpc_listener,
                    &grpc_config,
                    &telemetry,
                    parts,
                    cut,
                    stop.cancelled_owned(),
                )
                .await
            })
        };
        let readiness = Readiness::default();
        let stop_admin = CancellationToken::new();
        let admin_task = admin_listener.map(|listener| {
            tokio::spawn(admin::serve(
                listener,
                self.telemetry.metrics().clone(),
                readiness.clone(),
                stop_admin.clone().cancelled_owned(),
            ))
        });
        let upkeep = {
            let metrics = self.telemetry.metrics().clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(5));
                loop {
                    tick.tick().await;
                    metrics.run_upkeep();
                }
            })
        };

        let instance = self.instance(grpc_addr);
        if let Err(e) = self.registrar.register(&instance).await {
            errors.push(format!("registering {} failed: {e}", instance.id));
        }
        run_all(
            "after_start",
            std::mem::take(&mut self.hooks.after_start),
            &mut errors,
        )
        .await;
        let failed_start = !errors.errors().is_empty();
        if failed_start {
            // A failed start still stops in order: nothing keeps serving half-started.
            self.shutdown.cancel();
        } else {
            readiness.set(true);
        }
        tracing::info!(
            service = %self.config.app.name,
            instance = %instance.id,
            grpc = %grpc_addr,
            admin = %admin_addr.map_or_else(|| "disabled".to_owned(), |a| a.to_string()),
            "serving"
        );

        let shutdown = self.shutdown.clone();
        let telemetry = self.telemetry.clone();
        let lifecycle_cut = cut.clone();
        let start_errors = errors;
        let lifecycle = tokio::spawn(async move {
            let mut errors = start_errors;
            self.shutdown.cancelled().await;
            readiness.set(false);
            super::set_health(&self.health, &self.services, ServingStatus::NotServing).await;
            run_all(
                "before_stop",
                std::mem::take(&mut self.hooks.before_stop),
                &mut errors,
            )
            .await;
            if let Err(e) = self.registrar.deregister(&instance).await {
                errors.push(format!("deregistering {} failed: {e}", instance.id));
            }
            if !self.config.app.pre_stop_delay.is_zero() {
                tokio::time::sleep(self.config.app.pre_stop_delay).await;
            }
            stop_grpc.cancel();
            // Let health Watch streams deliver NOT_SERVING, then end them: they never end alone.
            tokio::task::yield_now().await;
            lifecycle_cut.watches.cancel();
            let drain = self.config.app.shutdown_timeout;
            let mut grpc_task = grpc_task;
            let served = match tokio::time::timeout(drain, &mut grpc_task).await {
                Ok(result) => result,
                Err(_) => {
                    tracing::warn!(
                        ?drain,
                        "calls still running after the drain time; cutting them"
                    );
                    lifecycle_cut.all.cancel();
                    match tokio::time::timeout(Duration::from_secs(2), &mut grpc_task).await {
                        Ok(result) => result,
                        Err(_) => {
                            grpc_task.abort();
                            errors.push("connections stayed open after their calls were cut");
                            Ok(Ok(()))
                        }
                    }
                }
            };
            match served {
                Ok(Ok(())) => {}
                Ok(Err(e)) => errors.push(format!("the gRPC server failed: {e}")),
                Err(e) => errors.push(format!("the gRPC server task failed: {e}")),
            }
            stop_admin.cancel();
            if let Some(task) = admin_task {
                let _ = task.await;
            }
            upkeep.abort();
            run_all(
                "after_stop",
                std::mem::take(&mut self.hooks.after_stop),
                &mut errors,
            )
            .await;
            if let Err(e) = self.telemetry.flush(Duration::from_secs(5)).await {
                errors.push(e.to_string());
            }
            tracing::info!(service = %self.config.app.name, "stopped");
            errors.into_result()
        });

        if failed_start {
            // Report why the start failed, with anything the orderly stop reported too.
            return match lifecycle.await {
                Ok(Err(errors)) => Err(errors),
                Ok(Ok(())) => Err(AppError::single("the App stopped during its start")),
                Err(e) => Err(AppError::single(format!(
                    "the App's lifecycle task failed: {e}"
                ))),
            };
        }
        Ok(RunningApp {
            grpc_addr,
            admin_addr,
            telemetry,
            shutdown,
            cut,
            lifecycle,
        })
    }

    fn instance(&self, bound: SocketAddr) -> ServiceInstance {
        let advertised = self
            .config
            .server
            .grpc
            .advertise_addr
            .unwrap_or_else(|| advertise(bound));
        ServiceInstance {
            id: self.telemetry.instance_id().to_owned(),
            name: self.config.app.name.clone(),
            version: self.config.app.version.clone(),
            endpoints: vec![format!("http://{advertised}")],
            metadata: self.config.app.metadata.clone(),
        }
    }
}

async fn bind(what: &str, addr: SocketAddr, key: &str) -> Result<TcpListener, AppError> {
    TcpListener::bind(addr).await.map_err(|e| {
        AppError::single(format!(
            "cannot listen for {what} on {addr}: {e}; choose another address with {key} \
             (env BIA_{})",
            key.to_ascii_uppercase().replace('.', "__")
        ))
    })
}

/// The address others reach a server bound to `bound` at: for an unspecified IP, the host's first
/// non-loopback address.
fn advertise(bound: SocketAddr) -> SocketAddr {
    if !bound.ip().is_unspecified() {
        return bound;
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    let found = (host.as_str(), bound.port())
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.find(|a| a.is_ipv4() && !a.ip().is_loopback()));
    found.unwrap_or_else(|| SocketAddr::new(IpAddr::from([127, 0, 0, 1]), bound.port()))
}
