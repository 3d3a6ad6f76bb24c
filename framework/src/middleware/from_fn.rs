//! Middleware written as an async function, for a server or a client.
//!
//! [`from_fn`] makes a layer that wraps any gRPC service (a server's stack, a
//! [`Channel`](crate::client::Channel)): the function gets the request and [`Next`], the rest of
//! the stack, and answers with a response or a [`tonic::Status`].
//!
//! ```
//! use bia::middleware::{from_fn, Next};
//!
//! // Rejects calls without an `x-api-key` before they reach the handler.
//! let api_key = from_fn(|request: http::Request<tonic::body::Body>, next: Next| async move {
//!     if request.headers().get("x-api-key").is_none() {
//!         return Err(tonic::Status::unauthenticated("send an x-api-key header"));
//!     }
//!     Ok(next.run(request).await)
//! });
//! # let _ = api_key;
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use tonic::body::Body as GrpcBody;
use tower::ServiceExt;
use tower_layer::Layer;
use tower_service::Service;

use crate::server::{BoxGrpcService, GrpcHttpService, box_grpc};

/// Makes a layer from an async function of the request and the rest of the stack.
pub fn from_fn<F, Fut>(f: F) -> FromFnLayer<F>
where
    F: Fn(http::Request<GrpcBody>, Next) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<http::Response<GrpcBody>, tonic::Status>> + Send + 'static,
{
    FromFnLayer { f }
}

/// The layer [`from_fn`] makes; add it with [`AppBuilder::layer`](crate::AppBuilder::layer),
/// [`AppBuilder::layer_front`](crate::AppBuilder::layer_front) or
/// [`Channel::layer`](crate::client::Channel::layer), or to any tower stack of gRPC services.
#[derive(Clone, Debug)]
pub struct FromFnLayer<F> {
    f: F,
}

impl<F, S> Layer<S> for FromFnLayer<F>
where
    F: Clone,
    S: GrpcHttpService,
{
    type Service = FromFn<F>;

    fn layer(&self, inner: S) -> Self::Service {
        FromFn {
            f: self.f.clone(),
            inner: box_grpc(inner),
        }
    }
}

/// The rest of the stack, for a [`from_fn`] middleware to call.
pub struct Next {
    inner: BoxGrpcService,
}

impl std::fmt::Debug for Next {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Next").finish_non_exhaustive()
    }
}

impl Next {
    /// Passes the request on and returns the response.
    pub async fn run(self, request: http::Request<GrpcBody>) -> http::Response<GrpcBody> {
        match self.inner.oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }
}

/// The service [`FromFnLayer`] makes.
#[derive(Clone)]
pub struct FromFn<F> {
    f: F,
    inner: BoxGrpcService,
}

impl<F, Fut> Service<http::Request<GrpcBody>> for FromFn<F>
where
    F: Fn(http::Request<GrpcBody>, Next) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<http::Response<GrpcBody>, tonic::Status>> + Send + 'static,
{
    type Response = http::Response<GrpcBody>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<GrpcBody>) -> Self::Future {
        let next = Next {
            inner: self.inner.clone(),
        };
        let future = (self.f)(request, next);
        Box::pin(async move {
            Ok(match future.await {
                Ok(response) => response,
                Err(status) => status.into_http(),
            })
        })
    }
}
