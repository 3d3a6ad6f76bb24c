//! Deadlines: honour the client's `grpc-timeout`, capped by the server's limits.
//!
//! A unary call whose client sends no `grpc-timeout`, or a longer one than
//! `server.grpc.default_timeout`, gets the default. A streaming call is bounded by its client's
//! `grpc-timeout` only, unless `server.grpc.stream_timeout` caps it; `server.grpc.timeouts`
//! sets a cap per method. When the deadline passes before the response, the call answers
//! `DEADLINE_EXCEEDED` and the handler is dropped; a stream still running at its deadline is
//! ended with `DEADLINE_EXCEEDED` trailers. Handlers read the deadline as
//! [`CallDeadline`] from the request's extensions.

mod layer;
mod parse;
pub(crate) mod scope;
mod timer;

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::Instant;
use tower_service::Service;

pub use layer::DeadlineLayer;
pub use parse::parse_grpc_timeout;
pub(crate) use parse::requested_timeout;
pub use scope::current_deadline;
pub use timer::DeadlineTimer;

use super::call_info::{CallDeadline, CallInfo, method_of};
use super::method::RpcKind;
use crate::impls::wraps_inner;

/// The deadline middleware; see the [module docs](self).
#[derive(Clone, Debug)]
pub struct Deadline<S> {
    inner: S,
    /// The cap of each method, by table index (`None`: no cap).
    caps: Arc<[Option<Duration>]>,
    /// The cap of a method the table does not know.
    fallback: Option<Duration>,
}

wraps_inner!(Deadline<S>);

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
        let requested = requested_timeout(request.headers());
        let method = method_of(&request);
        let cap = self
            .caps
            .get(method.index)
            .copied()
            .unwrap_or(self.fallback);
        let timeout = match (requested, cap) {
            (Some(requested), Some(cap)) => requested.min(cap),
            (Some(only), None) | (None, Some(only)) => only,
            (None, None) => {
                return DeadlineFuture::new(self.inner.call(request), None, None, exceeded);
            }
        };
        // Counted from the call's arrival, not from when this layer runs.
        let now = request
            .extensions()
            .get::<CallInfo>()
            .map_or_else(Instant::now, |call| Instant::from_std(call.start));
        let deadline = now + timeout;
        // Unary responses are complete when the handler returns; only streams need a body timer.
        let stream_deadline = (method.kind != RpcKind::Unary).then_some(deadline);
        request
            .extensions_mut()
            .insert(CallDeadline(deadline.into_std()));
        let std_deadline = deadline.into_std();
        let inner = &mut self.inner;
        let future = scope::scoped(Some(std_deadline), || inner.call(request));
        DeadlineFuture::new(
            future,
            Some(DeadlineTimer::new(deadline)),
            stream_deadline.map(DeadlineTimer::new),
            exceeded,
        )
        .with_deadline_scope(std_deadline)
    }
}

/// The response future of [`Deadline`]: `DEADLINE_EXCEEDED` if the deadline passes first.
pub type DeadlineFuture<F> =
    crate::middleware::cutoff::CutoffFuture<F, DeadlineTimer, DeadlineTimer>;

/// A response body that ends a stream with `DEADLINE_EXCEEDED` at its deadline.
pub type DeadlineBody<B> = crate::middleware::cutoff::CutoffBody<B, DeadlineTimer>;

/// The status a call past its deadline answers with.
pub(crate) fn exceeded() -> tonic::Status {
    tonic::Status::deadline_exceeded("the call's deadline passed before it completed")
}
