//! The observer that records one call's metrics, on the server and on the client.

use std::sync::Arc;
use std::time::Instant;

use tonic::Code;

use crate::middleware::frame::FrameScanner;
use crate::middleware::observe::CallObserver;
use crate::telemetry::metrics::CallMetrics;

/// Records a call's end: its duration under its status, and leaves the active-calls gauge;
/// counts the messages a stream sends.
pub struct MetricsObserver {
    call: Arc<CallMetrics>,
    start: Instant,
    scanner: Option<FrameScanner>,
}

impl std::fmt::Debug for MetricsObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsObserver").finish_non_exhaustive()
    }
}

impl MetricsObserver {
    /// A call that began at `start` is seen: it enters the active-calls gauge.
    pub(crate) fn start(call: Arc<CallMetrics>, count_messages: bool, start: Instant) -> Self {
        call.active.increment(1.0);
        Self {
            call,
            start,
            scanner: count_messages.then(FrameScanner::default),
        }
    }
}

impl CallObserver for MetricsObserver {
    fn on_data(&mut self, chunk: &[u8]) {
        if let Some(scanner) = &mut self.scanner {
            // A chunk of a stream carries many messages: one increment for all of them.
            let mut messages = 0;
            let _ = scanner.feed(chunk, |_| {
                messages += 1;
                Ok::<_, ()>(())
            });
            if messages > 0 {
                self.call.sent.increment(messages);
            }
        }
    }

    fn finish(self, code: Code) {
        self.call.active.decrement(1.0);
        self.call.record(code, self.start.elapsed().as_secs_f64());
    }
}
