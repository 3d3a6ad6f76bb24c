use tower_layer::Layer;

use super::Trace;
use crate::telemetry::Telemetry;

/// Applies [`Trace`] with an App's telemetry.
#[derive(Clone, Debug)]
pub struct TraceLayer {
    telemetry: Telemetry,
}

impl TraceLayer {
    /// Spans go to `telemetry`'s tracer provider.
    pub fn new(telemetry: Telemetry) -> Self {
        Self { telemetry }
    }
}

impl<S> Layer<S> for TraceLayer {
    type Service = Trace<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Trace::new(inner, self.telemetry.clone())
    }
}
