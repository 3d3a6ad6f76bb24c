//! Client metrics: `rpc_client_call_duration_seconds` and `rpc_client_active_calls`, recorded
//! by the same observer as the server's.

use std::sync::{Arc, OnceLock};

use crate::middleware::metrics::MetricsObserver;
use crate::middleware::observe::{Observe, ObserveCall, ObserveLayer};
use crate::telemetry::MetricsRegistry;
use crate::telemetry::metrics::CallMetrics;

/// The client metrics middleware.
pub type ClientMetrics<S> = Observe<S, ClientCallMetrics>;

/// How many methods a client layer remembers without asking the registry (whose map is behind a
/// lock and a hash): a channel usually calls a handful of methods of one service.
const REMEMBERED: usize = 8;

/// One remembered method: its path and its instruments.
type Remembered = OnceLock<(Box<str>, Arc<CallMetrics>)>;

/// Starts the metrics of each outgoing call; instruments are registered per method path on
/// first use, and the first few methods' instruments are kept at hand.
#[derive(Clone)]
pub struct ClientCallMetrics {
    registry: MetricsRegistry,
    /// Filled in order of first use and never changed, so a lookup needs no lock.
    remembered: Arc<[Remembered; REMEMBERED]>,
}

impl std::fmt::Debug for ClientCallMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCallMetrics").finish_non_exhaustive()
    }
}

impl ClientCallMetrics {
    /// Records calls on `registry`.
    pub fn new(registry: MetricsRegistry) -> Self {
        Self {
            registry,
            remembered: Arc::new(std::array::from_fn(|_| OnceLock::new())),
        }
    }

    /// The instruments of `path`: remembered, or from the registry (and then remembered while
    /// there is room).
    fn instruments(&self, path: &str) -> Arc<CallMetrics> {
        for slot in self.remembered.iter() {
            match slot.get() {
                Some((known, call)) if &**known == path => return call.clone(),
                Some(_) => continue,
                None => {
                    let call = self.registry.client_call(path);
                    // Another call may have filled this slot meanwhile: then it stays theirs.
                    let _ = slot.set((path.into(), call.clone()));
                    return call;
                }
            }
        }
        self.registry.client_call(path)
    }
}

impl<B> ObserveCall<B> for ClientCallMetrics {
    type Body = B;
    type Observer = MetricsObserver;

    fn start(&self, request: http::Request<B>) -> (http::Request<B>, MetricsObserver) {
        let call = self.instruments(request.uri().path());
        // A client does not know a method's kind, so it counts no stream messages.
        (
            request,
            MetricsObserver::start(call, false, std::time::Instant::now()),
        )
    }
}

/// Applies [`ClientMetrics`]: `ClientMetricsLayer::new(ClientCallMetrics::new(registry))`.
pub type ClientMetricsLayer = ObserveLayer<ClientCallMetrics>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_methods_share_the_registrys_instruments() {
        let config = crate::Config::builder("client-metrics")
            .env(false)
            .build()
            .unwrap();
        let registry = crate::Telemetry::new(&config).unwrap().metrics().clone();
        let metrics = ClientCallMetrics::new(registry.clone());
        let paths: Vec<String> = (0..REMEMBERED + 2).map(|i| format!("/p.S/M{i}")).collect();
        for path in &paths {
            let first = metrics.instruments(path);
            assert!(Arc::ptr_eq(&first, &metrics.instruments(path)));
            assert!(Arc::ptr_eq(&first, &registry.client_call(path)));
        }
        assert!(metrics.remembered.iter().all(|slot| slot.get().is_some()));
    }
}
