//! Deadlines: honour the client's `grpc-timeout`, capped by the server's default.
//!
//! A call whose client sends no `grpc-timeout`, or a longer one than `server.grpc.default_timeout`,
//! gets the default. When the deadline passes before the response, the call answers
//! `DEADLINE_EXCEEDED` and the handler is dropped; a stream still running at its deadline is ended
//! with `DEADLINE_EXCEEDED` trailers. Handlers read the deadline as [`Deadline`] from the
//! request's extensions.

mod layer;
mod parse;

use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep, sleep_until};
use tower_service::Service;

pub use layer::DeadlineLayer;
pub use parse::parse_grpc_timeout;

use super::call_info::{CallDeadline, method_of};
use super::method::RpcKind;

/// The deadline middleware; see the [module docs](self).
#[derive(Clone, Debug)]
pub struct Deadline<S> {
    inner: S,
    default_timeout: Duration,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Deadline<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<DeadlineBody<ResBody>>;
    type Error = S::Error;
    type Future = DeadlineFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        let requested = request
            .headers()
            .get("grpc-timeout")
            .and_then(|v| parse_grpc_timeout(v.as_bytes()));
        let timeout = requested.map_or(self.default_timeout, |t| t.min(self.default_timeout));
        let now = Instant::now();
        let deadline = now + timeout;
        // tonic's server runs its own grpc-timeout timer outside every layer and answers
        // CANCELLED when it fires; grpc says DEADLINE_EXCEEDED. Ours fires a little earlier so
        // the client gets the right code (tokio's timers tick in whole milliseconds).
        let fire_at = if requested.is_some() {
            now + timeout.saturating_sub(TONIC_TIMER_MARGIN.min(timeout / 2))
        } else {
            deadline
        };
        // Unary responses are complete when the handler returns; only streams need a body timer.
        let stream_deadline = (method_of(&request).kind != RpcKind::Unary).then_some(fire_at);
        request
            .extensions_mut()
            .insert(CallDeadline(deadline.into_std()));
        DeadlineFuture::new(
            self.inner.call(request),
            Some(sleep_until(fire_at)),
            stream_deadline.map(sleep_until),
            exceeded,
        )
    }
}

/// The response future of [`Deadline`]: `DEADLINE_EXCEEDED` if the deadline passes first.
pub type DeadlineFuture<F> = crate::middleware::cutoff::CutoffFuture<F, Sleep, Sleep>;

/// A response body that ends a stream with `DEADLINE_EXCEEDED` at its deadline.
pub type DeadlineBody<B> = crate::middleware::cutoff::CutoffBody<B, Sleep>;

/// How much earlier than tonic's own grpc-timeout timer ours fires.
const TONIC_TIMER_MARGIN: Duration = Duration::from_millis(3);

/// The status a call past its deadline answers with.
pub(crate) fn exceeded() -> tonic::Status {
    tonic::Status::deadline_exceeded("the call's deadline passed before it completed")
}
