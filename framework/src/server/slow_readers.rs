//! What the server did to peers that do not read their responses, counted in
//! `bia_server_slow_reader_cuts_total{reason}`: `stream_stall` (a stream reset after
//! `send_stall_timeout`), `connection_budget` (a call ended `RESOURCE_EXHAUSTED` for
//! `max_connection_send_buffer_bytes`) and `socket_stall` (a connection closed because its socket
//! took no byte for `send_stall_timeout`). Each is registered at 0 when the server starts, so
//! the family is on `/metrics` before the first cut.

use metrics::Counter;

use crate::telemetry::MetricsRegistry;

/// The counter family's name.
pub(crate) const NAME: &str = "bia_server_slow_reader_cuts_total";

/// One counter per reason, shared by every connection of a server.
#[derive(Clone, Debug)]
pub(crate) struct SlowReaderCuts {
    pub(crate) stream_stall: Counter,
    pub(crate) connection_budget: Counter,
    pub(crate) socket_stall: Counter,
}

impl SlowReaderCuts {
    /// Registers the counters in `metrics`, at 0.
    pub(crate) fn new(metrics: &MetricsRegistry) -> Self {
        let counter = |reason| {
            let counter = metrics.counter(NAME, &[("reason", reason)]);
            counter.increment(0);
            counter
        };
        Self {
            stream_stall: counter("stream_stall"),
            connection_budget: counter("connection_budget"),
            socket_stall: counter("socket_stall"),
        }
    }
}
