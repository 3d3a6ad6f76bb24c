//! The stop half of the lifecycle, in Kratos' order: not ready, before_stop hooks, deregister,
//! pre-stop delay, stop accepting, drain (then cut), after_stop hooks, flush telemetry.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic_health::ServingStatus;

use super::error::{AppError, LifecycleError};
use super::hooks::run_all;
use super::{App, set_health};
use crate::registry::ServiceInstance;
use crate::server::admin::Readiness;
use crate::server::drain::Cut;
use crate::server::grpc::Load;

/// How long connections may stay open after their calls were cut.
const AFTER_CUT: Duration = Duration::from_secs(2);

/// An App that serves, with the handles its stop needs.
pub(super) struct Serving {
    pub(super) app: App,
    pub(super) instance: ServiceInstance,
    pub(super) readiness: Readiness,
    pub(super) cut: Cut,
    pub(super) stop_grpc: CancellationToken,
    pub(super) grpc: JoinHandle<()>,
    pub(super) load: Arc<Load>,
    pub(super) stop_admin: CancellationToken,
    pub(super) admin: Option<JoinHandle<()>>,
    pub(super) upkeep: JoinHandle<()>,
}

impl Serving {
    /// Waits for the shutdown to be asked for, then stops in order; `errors` holds what the
    /// start reported.
    pub(super) async fn stop_when_asked(mut self, mut errors: AppError) -> Result<(), AppError> {
        self.app.shutdown.cancelled().await;
        self.readiness.set(false);
        set_health(
            &self.app.health,
            &self.app.services,
            ServingStatus::NotServing,
        )
        .await;
        let hooks = std::mem::take(&mut self.app.hooks.before_stop);
        run_all("before_stop", hooks, &mut errors).await;
        if let Err(e) = self.app.registrar.deregister(&self.instance).await {
            errors.push(LifecycleError::deregister(&self.instance.id, e));
        }
        let delay = self.app.config.app.pre_stop_delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        self.drain(&mut errors).await;
        self.stop_admin.cancel();
        if let Some(task) = self.admin {
            let _ = task.await;
        }
        self.upkeep.abort();
        let hooks = std::mem::take(&mut self.app.hooks.after_stop);
        run_all("after_stop", hooks, &mut errors).await;
        if let Err(e) = self.app.telemetry.flush(Duration::from_secs(5)).await {
            errors.push(LifecycleError::flush(e));
        }
        tracing::info!(service = %self.app.config.app.name, "stopped");
        errors.into_result()
    }

    /// Stops accepting, ends health Watch streams, waits for calls up to the drain time, then
    /// cuts what is left.
    async fn drain(&mut self, errors: &mut AppError) {
        self.stop_grpc.cancel();
        // Let health Watch streams deliver NOT_SERVING, then end them: they never end alone.
        tokio::task::yield_now().await;
        self.cut.watches.cancel();
        let drain = self.app.config.app.shutdown_timeout;
        let served = match tokio::time::timeout(drain, &mut self.grpc).await {
            Ok(result) => result,
            Err(_) => {
                let calls = self.load.calls();
                if calls > 0 {
                    tracing::warn!(
                        ?drain,
                        calls,
                        "calls still running after the drain time; cutting them"
                    );
                } else {
                    tracing::info!(
                        connections = self.load.connections(),
                        "closing connections their peers left open after the drain"
                    );
                }
                self.cut.all.cancel();
                match tokio::time::timeout(AFTER_CUT, &mut self.grpc).await {
                    Ok(result) => result,
                    Err(_) => {
                        self.grpc.abort();
                        errors.push(LifecycleError::lingering_connections());
                        Ok(())
                    }
                }
            }
        };
        if let Err(e) = served {
            errors.push(LifecycleError::server_task(e));
        }
    }
}
