//! The layer of [`Recovery`](super::Recovery).

use tower_layer::Layer;

use super::Recovery;
use crate::telemetry::MetricsRegistry;

/// Applies [`Recovery`]; add it first (outermost) so it also catches panics in other layers.
#[derive(Clone, Debug, Default)]
pub struct RecoveryLayer {
    metrics: Option<MetricsRegistry>,
}

impl RecoveryLayer {
    /// A layer that logs panics but does not count them.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also counts panics in `bia_server_panics_total` on `metrics`.
    pub fn with_metrics(metrics: MetricsRegistry) -> Self {
        Self {
            metrics: Some(metrics),
        }
    }
}

impl<S> Layer<S> for RecoveryLayer {
    type Service = Recovery<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Recovery::new(inner, self.metrics.clone())
    }
}
