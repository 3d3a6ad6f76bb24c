//! Metrics: call durations, active calls and stream messages, in Prometheus.
//!
//! `rpc_server_call_duration_seconds` (a histogram by `rpc_system_name`, `rpc_method`,
//! `rpc_response_status_code`) is recorded when the call ends: when a stream's trailers go out,
//! at once for a trailers-only answer, and as `CANCELLED` when the client goes away first.
//! `rpc_server_active_calls` counts calls in progress, and streaming methods count their
//! messages in `rpc_server_stream_messages_{sent,received}_total`. The client's metrics layer
//! records the same with [`MetricsObserver`].

mod observer;
mod request_body;

use std::sync::Arc;
use std::time::Instant;

pub use observer::MetricsObserver;
pub use request_body::CountedBody;

use super::call_info::CallInfo;
use super::method::{MethodTable, other_method};
use super::observe::{Observe, ObserveCall, ObserveLayer};
use crate::telemetry::MetricsRegistry;
use crate::telemetry::metrics::CallMetrics;

/// The metrics middleware; see the [module docs](self).
pub type Metrics<S> = Observe<S, ServerCallMetrics>;

/// Applies [`Metrics`]: `MetricsLayer::new(ServerCallMetrics::new(registry, table))`.
pub type MetricsLayer = ObserveLayer<ServerCallMetrics>;

/// Starts the metrics of each served call: one set of instruments per method the server serves
/// (index = the method's table index), registered up front.
#[derive(Clone)]
pub struct ServerCallMetrics {
    methods: Arc<[Arc<CallMetrics>]>,
}

impl std::fmt::Debug for ServerCallMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerCallMetrics").finish_non_exhaustive()
    }
}

impl ServerCallMetrics {
    /// Instruments for every method in `table`, registered on `registry` now (so every family
    /// is on `/metrics` from the start).
    pub fn new(registry: &MetricsRegistry, table: &MethodTable) -> Self {
        for method in table.methods().iter().skip(1) {
            let _registered = registry.panics(method.name);
        }
        Self {
            methods: table
                .methods()
                .iter()
                .map(|m| Arc::new(registry.server_call(m.name, m.kind.is_streaming())))
                .collect(),
        }
    }
}

impl<B> ObserveCall<B> for ServerCallMetrics {
    type Body = CountedBody<B>;
    type Observer = MetricsObserver;

    fn start(&self, request: http::Request<B>) -> (http::Request<CountedBody<B>>, MetricsObserver) {
        let info = request.extensions().get::<CallInfo>();
        let method = info.map_or_else(other_method, |info| info.method);
        // Timed from the call's arrival: no clock read of its own.
        let start = info.map_or_else(Instant::now, |info| info.start);
        let index = method.index.min(self.methods.len().saturating_sub(1));
        let call = &self.methods[index];
        let streaming = method.kind.is_streaming();
        let request = if streaming {
            request.map(|body| CountedBody::counting(body, call.received.clone()))
        } else {
            request.map(CountedBody::passthrough)
        };
        (
            request,
            MetricsObserver::start(call.clone(), streaming, start),
        )
    }
}
