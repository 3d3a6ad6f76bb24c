//! The start half of the lifecycle: before_start hooks, bind, serve, register, after_start hooks.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic_health::ServingStatus;

use super::error::{AppError, LifecycleError};
use super::hooks::run_all;
use super::running::RunningApp;
use super::stop::Serving;
use super::{App, set_health};
use crate::registry::ServiceInstance;
use crate::server::admin::{self, Readiness};
use crate::server::drain::Cut;
use crate::server::grpc::{Load, ServeArgs};

impl App {
    /// Runs the start half of the lifecycle and returns once the App serves. A failed
    /// registration or after_start hook still stops the App in order before the error returns.
    pub async fn start(mut self) -> Result<RunningApp, AppError> {
        let mut errors = AppError::default();
        let hooks = std::mem::take(&mut self.hooks.before_start);
        run_all("before_start", hooks, &mut errors).await;
        errors.into_result()?;
        let mut errors = AppError::default();

        let grpc_listener = bind("gRPC", self.config.server.grpc.addr, "server.grpc.addr").await?;
        let grpc_addr = grpc_listener
            .local_addr()
            .map_err(LifecycleError::local_addr)?;
        let admin_listener = match self.config.server.admin.enabled {
            true => Some(bind("admin", self.config.server.admin.addr, "server.admin.addr").await?),
            false => None,
        };
        let admin_addr = admin_listener.as_ref().and_then(|l| l.local_addr().ok());

        set_health(&self.health, &self.services, ServingStatus::Serving).await;
        let cut = Cut::new();
        let stop_grpc = CancellationToken::new();
        let (parts, serve) = self.grpc.take().expect("an App starts once");
        let grpc_tls = parts.tls.clone();
        let tls_watches: Vec<_> = [&grpc_tls, &self.admin_tls]
            .into_iter()
            .flatten()
            .map(|tls| tls.watch())
            .collect();
        let load = Arc::new(Load::default());
        let grpc = tokio::spawn(serve(ServeArgs {
            listener: grpc_listener,
            config: self.config.server.grpc.clone(),
            telemetry: self.telemetry.clone(),
            parts,
            cut: cut.clone(),
            stop: Box::pin(stop_grpc.clone().cancelled_owned()),
            load: load.clone(),
        }));
        let instance = self.instance(grpc_addr, grpc_tls.is_some());
        let readiness = Readiness::default();
        let stop_admin = CancellationToken::new();
        let admin = admin_listener.map(|listener| {
            tokio::spawn(admin::serve(
                listener,
                self.telemetry.metrics().clone(),
                readiness.clone(),
                admin::OpenApi::new(self.openapi.take(), &instance.endpoints[0]),
                self.admin_tls.clone(),
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

        if let Err(e) = self.registrar.register(&instance).await {
            errors.push(LifecycleError::register(&instance.id, e));
        }
        let hooks = std::mem::take(&mut self.hooks.after_start);
        run_all("after_start", hooks, &mut errors).await;
        let failed_start = !errors.is_empty();
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
        let serving = Serving {
            app: self,
            instance,
            readiness,
            cut: cut.clone(),
            stop_grpc,
            grpc,
            load,
            stop_admin,
            admin,
            upkeep,
            tls_watches,
        };
        let lifecycle = tokio::spawn(serving.stop_when_asked(errors));
        if failed_start {
            // Report why the start failed, with anything the orderly stop reported too.
            return match lifecycle.await {
                Ok(Err(errors)) => Err(errors),
                Ok(Ok(())) => Err(LifecycleError::stopped_during_start().into()),
                Err(e) => Err(LifecycleError::lifecycle(e).into()),
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

    fn instance(&self, bound: SocketAddr, tls: bool) -> ServiceInstance {
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
            endpoints: vec![format!(
                "{}://{advertised}",
                if tls { "https" } else { "http" }
            )],
            metadata: self.config.app.metadata.clone(),
        }
    }
}

async fn bind(
    what: &'static str,
    addr: SocketAddr,
    key: &'static str,
) -> Result<TcpListener, LifecycleError> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| LifecycleError::bind(what, addr, key, e))
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
