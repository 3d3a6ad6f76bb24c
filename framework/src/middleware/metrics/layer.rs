//! The layer of [`Metrics`](super::Metrics).

use tower_layer::Layer;

use super::{Metrics, ServerCallMetrics};
use crate::middleware::method::MethodTable;
use crate::middleware::observe::Observe;
use crate::telemetry::MetricsRegistry;

/// Applies [`Metrics`], recording on an App's registry for the methods of a table.
#[derive(Clone, Debug)]
pub struct MetricsLayer {
    start: ServerCallMetrics,
}

impl MetricsLayer {
    /// Instruments for every method in `table`, registered on `registry` now (so every family
    /// is on `/metrics` from the start).
    pub fn new(registry: &MetricsRegistry, table: &MethodTable) -> Self {
        Self {
            start: ServerCallMetrics::new(registry, table),
        }
    }

    /// What starts each call's metrics, to observe it with others in one [`ObserveLayer`].
    ///
    /// [`ObserveLayer`]: crate::middleware::ObserveLayer
    pub fn starter(&self) -> ServerCallMetrics {
        self.start.clone()
    }
}

impl<S> Layer<S> for MetricsLayer {
    type Service = Metrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Observe::new(inner, self.start.clone())
    }
}
