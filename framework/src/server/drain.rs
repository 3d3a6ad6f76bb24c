//! The drain cut: what still runs when the drain time is up is ended with `UNAVAILABLE`.
//!
//! tonic's graceful shutdown waits for every connection without a time limit, and its connection
//! tasks outlive the server future. So each call is raced against a cancellation token: when the
//! drain time is up the App cuts every call still running, unary calls answer `UNAVAILABLE` and
//! streams end with `UNAVAILABLE` trailers, and the connections can close. Health `Watch` streams,
//! which never end on their own, are cut as soon as draining begins (after they have seen
//! `NOT_SERVING`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tower_layer::Layer;
use tower_service::Service;

use crate::middleware::call_info::method_of;
use crate::middleware::cutoff::{CutoffBody, CutoffFuture};
use crate::middleware::method::RpcKind;

const HEALTH_WATCH: &str = "grpc.health.v1.Health/Watch";

/// Tokens that end calls: `all` at the drain's end, `watches` when draining begins.
#[derive(Clone, Debug)]
pub(crate) struct Cut {
    pub(crate) all: CancellationToken,
    pub(crate) watches: CancellationToken,
}

impl Cut {
    pub(crate) fn new() -> Self {
        let all = CancellationToken::new();
        let watches = all.child_token();
        Self { all, watches }
    }
}

impl<S> Layer<S> for Cut {
    type Service = Drain<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Drain {
            inner,
            all: Arc::new(self.all.clone()),
            watches: Arc::new(self.watches.clone()),
        }
    }
}

/// Races each call against the drain's end; see the [module docs](self).
#[derive(Clone, Debug)]
pub(crate) struct Drain<S> {
    inner: S,
    // In an `Arc`: a call takes its handle with one atomic increment, where cloning the token
    // itself locks the token's tree.
    all: Arc<CancellationToken>,
    watches: Arc<CancellationToken>,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Drain<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<DrainBody<ResBody>>;
    type Error = S::Error;
    type Future = CutoffFuture<S::Future, Cancelled, Cancelled>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let method = method_of(&request);
        let token = if method.name == HEALTH_WATCH {
            &self.watches
        } else {
            &self.all
        };
        // A unary response is complete when its handler returns: only streams need the body cut.
        let body_trigger = (method.kind != RpcKind::Unary).then(|| Cancelled::new(token.clone()));
        CutoffFuture::new(
            self.inner.call(request),
            Some(Cancelled::new(token.clone())),
            body_trigger,
            cut_status,
        )
    }
}

pin_project! {
    /// A token's cancellation as a trigger, which waits on the token only from its first poll:
    /// a call that answers in its first poll never has the trigger polled, so it never pays for
    /// a waiter on the token (two locks of the token's tree and a `Notified`).
    pub(crate) struct Cancelled {
        token: Arc<CancellationToken>,
        #[pin]
        waiting: Option<WaitForCancellationFutureOwned>,
    }
}

impl Cancelled {
    fn new(token: Arc<CancellationToken>) -> Self {
        Self {
            token,
            waiting: None,
        }
    }
}

impl Future for Cancelled {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        if this.waiting.is_none() {
            let token = CancellationToken::clone(this.token);
            this.waiting.set(Some(token.cancelled_owned()));
        }
        match this.waiting.as_pin_mut() {
            Some(waiting) => waiting.poll(cx),
            None => Poll::Pending,
        }
    }
}

fn cut_status() -> tonic::Status {
    tonic::Status::unavailable("the server is shutting down; retry on another instance")
}

/// A response body that ends with `UNAVAILABLE` trailers when the server cuts it.
pub(crate) type DrainBody<B> = CutoffBody<B, Cancelled>;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_trigger_fires_on_cancel_whether_armed_before_or_after() {
        let token = Arc::new(CancellationToken::new());
        let mut armed_before = Box::pin(Cancelled::new(token.clone()));
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert!(armed_before.as_mut().poll(&mut cx).is_pending());
        token.cancel();
        assert!(armed_before.as_mut().poll(&mut cx).is_ready());
        let mut armed_after = Box::pin(Cancelled::new(token));
        assert!(armed_after.as_mut().poll(&mut cx).is_ready());
    }
}
