//! The outermost layer of a Bia server: typed call information, and the cut at the drain's end.
//!
//! tonic's graceful shutdown waits for every connection without a time limit, and its connection
//! tasks outlive the server future. So each call is tied to a cancellation token: when the drain
//! time is up the App cuts every call still running, unary calls answer `UNAVAILABLE` and streams
//! end with `UNAVAILABLE` trailers, and the connections can close. Health `Watch` streams, which
//! never end on their own, are cut as soon as draining begins (after they have seen `NOT_SERVING`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use pin_project_lite::pin_project;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tonic::transport::server::TcpConnectInfo;
use tower_layer::Layer;
use tower_service::Service;

use crate::middleware::cutoff::CutoffBody;
use crate::middleware::method::{CallInfo, MethodTable, RpcKind};

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

#[derive(Clone, Debug)]
pub(crate) struct GuardLayer {
    table: Arc<MethodTable>,
    cut: Cut,
}

impl GuardLayer {
    pub(crate) fn new(table: Arc<MethodTable>, cut: Cut) -> Self {
        Self { table, cut }
    }
}

impl<S> Layer<S> for GuardLayer {
    type Service = Guard<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Guard {
            inner,
            table: self.table.clone(),
            cut: self.cut.clone(),
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Guard<S> {
    inner: S,
    table: Arc<MethodTable>,
    cut: Cut,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Guard<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<GuardBody<ResBody>>;
    type Error = S::Error;
    type Future = GuardFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        let method = self.table.lookup(request.uri().path());
        let connection = request.extensions().get::<TcpConnectInfo>();
        let info = CallInfo {
            method,
            peer: connection.and_then(TcpConnectInfo::remote_addr),
            local: connection.and_then(TcpConnectInfo::local_addr),
            start: Instant::now(),
        };
        request.extensions_mut().insert(info);
        let token = if method.name == HEALTH_WATCH {
            &self.cut.watches
        } else {
            &self.cut.all
        };
        GuardFuture {
            inner: Some(self.inner.call(request)),
            // A unary response is complete when its handler returns: only streams need the cut.
            token: (method.kind != RpcKind::Unary).then(|| token.clone()),
            cut: Some(token.clone().cancelled_owned()),
        }
    }
}

fn cut_status() -> tonic::Status {
    tonic::Status::unavailable("the server is shutting down; retry on another instance")
}

pin_project! {
    pub(crate) struct GuardFuture<F> {
        #[pin]
        inner: Option<F>,
        token: Option<CancellationToken>,
        #[pin]
        cut: Option<WaitForCancellationFutureOwned>,
    }
}

impl<F, B, E> Future for GuardFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
{
    type Output = Result<http::Response<GuardBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let inner = this
            .inner
            .as_mut()
            .as_pin_mut()
            .expect("polled after completion");
        if let Poll::Ready(result) = inner.poll(cx) {
            this.inner.set(None);
            let cut = this.token.take();
            this.cut.set(None);
            return Poll::Ready(result.map(|response| {
                response.map(|body| {
                    GuardBody::new(
                        body,
                        cut.map(CancellationToken::cancelled_owned),
                        cut_status,
                    )
                })
            }));
        }
        if let Some(cut) = this.cut.as_mut().as_pin_mut()
            && cut.poll(cx).is_ready()
        {
            this.cut.set(None);
            crate::middleware::body::drop_as(tonic::Code::Unavailable, || this.inner.set(None));
            return Poll::Ready(Ok(cut_status()
                .into_http::<()>()
                .map(|()| GuardBody::empty(cut_status))));
        }
        Poll::Pending
    }
}

/// A response body that ends with `UNAVAILABLE` trailers when the server cuts it.
pub(crate) type GuardBody<B> = CutoffBody<B, WaitForCancellationFutureOwned>;
