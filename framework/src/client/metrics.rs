//! Client metrics: `rpc_client_call_duration_seconds` and `rpc_client_active_calls`, recorded
//! by the same observer as the server's.

use tower_layer::Layer;

use crate::middleware::metrics::MetricsObserver;
use crate::middleware::observe::{Observe, ObserveCall};
use crate::telemetry::MetricsRegistry;

/// The client metrics middleware.
pub type ClientMetrics<S> = Observe<S, ClientCallMetrics>;

/// Starts the metrics of each outgoing call; instruments are registered per method path on
/// first use.
#[derive(Clone, Debug)]
pub struct ClientCallMetrics {
    registry: MetricsRegistry,
}

impl<B> ObserveCall<B> for ClientCallMetrics {
    type Body = B;
    type Observer = MetricsObserver;

    fn start(&self, request: http::Request<B>) -> (http::Request<B>, MetricsObserver) {
        let call = self.registry.client_call(request.uri().path());
        // A client does not know a method's kind, so it counts no stream messages.
        (
            request,
            MetricsObserver::start(call, false, std::time::Instant::now()),
        )
    }
}

/// Applies [`ClientMetrics`], recording on an App's registry.
#[derive(Clone, Debug)]
pub struct ClientMetricsLayer {
    start: ClientCallMetrics,
}

impl ClientMetricsLayer {
    /// Records calls on `registry`.
    pub fn new(registry: MetricsRegistry) -> Self {
        Self {
            start: ClientCallMetrics { registry },
        }
    }
}

impl<S> Layer<S> for ClientMetricsLayer {
    type Service = ClientMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Observe::new(inner, self.start.clone())
    }
}
