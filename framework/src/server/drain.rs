//! The drain cut: what still runs when the drain time is up is ended with `UNAVAILABLE`.
//!
//! tonic's graceful shutdown waits for every connection without a time limit, and its connection
//! tasks outlive the server future. So each call is raced against a cancellation token: when the
//! drain time is up the App cuts every call still running, unary calls answer `UNAVAILABLE` and
//! streams end with `UNAVAILABLE` trailers, and the connections can close. Health `Watch` streams,
//! which never end on their own, are cut as soon as draining begins (after they have seen
//! `NOT_SERVING`).

use std::task::{Context, Poll};

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
            cut: self.clone(),
        }
    }
}

/// Races each call against the drain's end; see the [module docs](self).
#[derive(Clone, Debug)]
pub(crate) struct Drain<S> {
    inner: S,
    cut: Cut,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Drain<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<DrainBody<ResBody>>;
    type Error = S::Error;
    type Future =
        CutoffFuture<S::Future, WaitForCancellationFutureOwned, WaitForCancellationFutureOwned>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let method = method_of(&request);
        let token = if method.name == HEALTH_WATCH {
            &self.cut.watches
        } else {
            &self.cut.all
        };
        // A unary response is complete when its handler returns: only streams need the body cut.
        let body_trigger = (method.kind != RpcKind::Unary).then(|| token.clone().cancelled_owned());
        CutoffFuture::new(
            self.inner.call(request),
            Some(token.clone().cancelled_owned()),
            body_trigger,
            cut_status,
        )
    }
}

fn cut_status() -> tonic::Status {
    tonic::Status::unavailable("the server is shutting down; retry on another instance")
}

/// A response body that ends with `UNAVAILABLE` trailers when the server cuts it.
pub(crate) type DrainBody<B> = CutoffBody<B, WaitForCancellationFutureOwned>;
