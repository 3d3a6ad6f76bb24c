//! The observer that ends a call's span, on the server and on the client.

use opentelemetry::trace::{Status, TraceContextExt};
use opentelemetry::{Context, KeyValue};
use tonic::Code;

use crate::middleware::observe::CallObserver;
use crate::middleware::status::code_name;

/// Which end of a call a span stands for: they differ in which codes make the span an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SpanSide {
    Server,
    Client,
}

impl SpanSide {
    /// The OpenTelemetry gRPC conventions: a client span is an error for any code but OK; a
    /// server span only for the codes that say the server failed, not the caller.
    fn is_error(self, code: Code) -> bool {
        match self {
            SpanSide::Client => code != Code::Ok,
            SpanSide::Server => matches!(
                code,
                Code::Unknown
                    | Code::DeadlineExceeded
                    | Code::Unimplemented
                    | Code::Internal
                    | Code::Unavailable
                    | Code::DataLoss
            ),
        }
    }
}

/// Ends the call's span with its status when the call ends; on the server, also runs each poll
/// of the call inside the span's context (and its `rpc` log span, when there is one).
#[derive(Debug)]
pub struct SpanObserver {
    cx: Context,
    log_span: Option<tracing::Span>,
    semconv_dup: bool,
    side: SpanSide,
}

impl SpanObserver {
    pub(crate) fn new(
        cx: Context,
        log_span: Option<tracing::Span>,
        semconv_dup: bool,
        side: SpanSide,
    ) -> Self {
        Self {
            cx,
            log_span,
            semconv_dup,
            side,
        }
    }
}

impl CallObserver for SpanObserver {
    fn finish(self, code: Code) {
        let span = self.cx.span();
        if !span.is_recording() {
            // A span context only (nothing exported, or not sampled): nothing to end.
            return;
        }
        let name = code_name(code);
        // One lock of the span for all of them, not one per attribute.
        span.set_attributes(
            [
                Some(KeyValue::new("rpc.response.status_code", name)),
                self.semconv_dup
                    .then(|| KeyValue::new("rpc.grpc.status_code", code as i64)),
                (code != Code::Ok).then(|| KeyValue::new("error.type", name)),
            ]
            .into_iter()
            .flatten(),
        );
        if self.side.is_error(code) {
            span.set_status(Status::error(code_name(code)));
        }
        span.end();
    }

    fn scoped<R>(&self, poll: impl FnOnce() -> R) -> R {
        // Only a server call runs its handler inside the span; a client call's context is
        // already the caller's.
        if self.side == SpanSide::Client {
            return poll();
        }
        let _attached = self.cx.clone().attach();
        match &self.log_span {
            Some(span) => span.in_scope(poll),
            None => poll(),
        }
    }
}
