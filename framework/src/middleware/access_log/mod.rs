//! Access log: one line per call with method, status, duration and peer.
//!
//! Never the payload, never metadata (credentials live there). Successful calls log at `INFO`,
//! failed ones at `WARN`, under the target `bia::access`, so `RUST_LOG=bia::access=off` mutes it.
//! Bia's own health and reflection calls are not logged, nor are the methods listed in
//! `telemetry.exclude_methods`.

mod peer;

use std::net::SocketAddr;
use std::time::Instant;

use tonic::Code;

use super::call_info::CallInfo;
use super::observe::{CallObserver, Observe, ObserveCall, ObserveLayer};
use super::status::code_name;
use crate::telemetry::access_line::{AccessLine, TARGET};

/// The access-log middleware; see the [module docs](self).
pub type AccessLog<S> = Observe<S, AccessLogger>;

/// Applies [`AccessLog`]: `AccessLogLayer::new(AccessLogger)`.
pub type AccessLogLayer = ObserveLayer<AccessLogger>;

/// Starts each call's log line.
#[derive(Clone, Copy, Debug, Default)]
pub struct AccessLogger;

impl<B> ObserveCall<B> for AccessLogger {
    type Body = B;
    type Observer = Option<AccessLogObserver>;

    fn start(&self, request: http::Request<B>) -> (http::Request<B>, Self::Observer) {
        // Failed calls log at WARN, so WARN off means no line at all: then skip the bookkeeping.
        let line = match request.extensions().get::<CallInfo>() {
            Some(call) if call.method.quiet => None,
            call => tracing::enabled!(target: TARGET, tracing::Level::WARN).then(|| {
                AccessLogObserver {
                    method: call.map_or(super::method::OTHER_METHOD, |c| c.method.name),
                    peer: call.and_then(|c| c.peer),
                    // From the call's arrival, as the metrics count it.
                    start: call.map_or_else(Instant::now, |c| c.start),
                    span: tracing::Span::current(),
                    cx: opentelemetry::Context::current(),
                }
            }),
        };
        (request, line)
    }
}

/// Writes the call's line when it ends.
#[derive(Debug)]
pub struct AccessLogObserver {
    method: &'static str,
    peer: Option<SocketAddr>,
    start: Instant,
    span: tracing::Span,
    /// The call's context, which gives the line its ids: a cancelled call's body is dropped
    /// outside the trace layer's scope.
    cx: opentelemetry::Context,
}

impl CallObserver for AccessLogObserver {
    fn finish(self, code: Code) {
        // At `warn`, a successful call writes nothing: then nothing is prepared for it either.
        if code == Code::Ok && !tracing::enabled!(target: TARGET, tracing::Level::INFO) {
            return;
        }
        // Whole microseconds as milliseconds: `0.379`, not the binary noise of a product of
        // floats (`0.37898899999999996`), and the shortest form prints with no rounding code.
        let duration_ms = self.start.elapsed().as_micros() as f64 / 1000.0;
        let peer = self.peer.map(peer::PeerText::new);
        let line = AccessLine {
            level: if code == Code::Ok {
                tracing::Level::INFO
            } else {
                tracing::Level::WARN
            },
            method: self.method,
            status: code_name(code),
            duration_ms,
            peer: peer.as_ref().map(peer::PeerText::as_str),
        };
        // With no span current at the call's start, the line's ids are the call's: Bia's own
        // subscriber can take it without an event.
        if self.span.is_none() && line.write_direct(&self.cx) {
            return;
        }
        let _attached = self.cx.attach();
        let _entered = self.span.enter();
        line.log_event();
    }
}
