//! What the telemetry unit tests share: a sampled span context to parent calls on, and an
//! output that keeps what a log writer writes.

use std::io::Write;
use std::sync::{Arc, Mutex};

use opentelemetry::trace::{SpanContext, SpanId, TraceFlags, TraceId, TraceState};

/// The trace id of [`sampled_span`], as it appears in headers and log lines.
pub(crate) const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

/// A sampled span context (the W3C Trace Context example's ids), from another process when
/// `remote`.
pub(crate) fn sampled_span(remote: bool) -> SpanContext {
    SpanContext::new(
        TraceId::from_hex(TRACE_ID).unwrap(),
        SpanId::from_hex("00f067aa0ba902b7").unwrap(),
        TraceFlags::SAMPLED,
        remote,
        TraceState::default(),
    )
}

/// A log output into memory, shared by its clones, read back with [`text`](Self::text).
#[derive(Clone, Default)]
pub(crate) struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// All that has been written so far.
    pub(crate) fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
