//! The handle of an App that runs.

use std::net::SocketAddr;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::error::{AppError, LifecycleError};
use crate::server::drain::Cut;
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
    pub(super) grpc_addr: SocketAddr,
    pub(super) admin_addr: Option<SocketAddr>,
    pub(super) telemetry: Telemetry,
    pub(super) shutdown: CancellationToken,
    pub(super) cut: Cut,
    pub(super) lifecycle: JoinHandle<Result<(), AppError>>,
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
            Err(e) => Err(LifecycleError::lifecycle(e).into()),
        }
    }
}
