use std::sync::Arc;

use tower_layer::Layer;

use super::{Metrics, ServerMetrics};
use crate::middleware::method::MethodTable;
use crate::telemetry::MetricsRegistry;

/// Applies [`Metrics`], recording on an App's registry for the methods of `table`.
#[derive(Clone)]
pub struct MetricsLayer {
    metrics: Arc<ServerMetrics>,
}

impl std::fmt::Debug for MetricsLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsLayer").finish_non_exhaustive()
    }
}

impl MetricsLayer {
    /// Instruments for every method in `table`, registered on `registry` now.
    pub fn new(registry: &MetricsRegistry, table: &MethodTable) -> Self {
        Self {
            metrics: Arc::new(ServerMetrics::new(registry, table)),
        }
    }
}

impl<S> Layer<S> for MetricsLayer {
    type Service = Metrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Metrics {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}
