//! The layer of [`Trace`](super::Trace).

use tower_layer::Layer;

use super::{ServerTracer, Trace};
use crate::middleware::observe::Observe;
use crate::telemetry::Telemetry;

/// Applies [`Trace`] with an App's telemetry.
#[derive(Clone, Debug)]
pub struct TraceLayer {
    tracer: ServerTracer,
}

impl TraceLayer {
    /// Spans go to `telemetry`'s tracer provider.
    pub fn new(telemetry: Telemetry) -> Self {
        Self {
            tracer: ServerTracer::new(telemetry),
        }
    }

    /// What starts each call's span, to observe it with others in one [`ObserveLayer`].
    ///
    /// [`ObserveLayer`]: crate::middleware::ObserveLayer
    pub fn starter(&self) -> ServerTracer {
        self.tracer.clone()
    }
}

impl<S> Layer<S> for TraceLayer {
    type Service = Trace<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Observe::new(inner, self.tracer.clone())
    }
}
