//! The user's own layers, between Bia's layers and the router.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use tonic::body::Body as GrpcBody;
use tonic::service::Routes;
use tower::util::BoxCloneSyncService;
use tower_layer::Layer;
use tower_service::Service;

use crate::error::BoxError;

/// A type-erased gRPC service: what user layers wrap.
pub type BoxGrpcService =
    BoxCloneSyncService<http::Request<GrpcBody>, http::Response<GrpcBody>, Infallible>;

type LayerFn = Arc<dyn Fn(BoxGrpcService) -> BoxGrpcService + Send + Sync>;

/// The user's layers, first added = outermost.
#[derive(Clone, Default)]
pub(crate) struct UserLayers(Vec<LayerFn>);

impl UserLayers {
    pub(crate) fn push<L, S, ResBody>(&mut self, layer: L)
    where
        L: Layer<BoxGrpcService, Service = S> + Send + Sync + 'static,
        S: Service<http::Request<GrpcBody>, Response = http::Response<ResBody>>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        ResBody: http_body::Body<Data = Bytes> + Send + 'static,
        ResBody::Error: Into<BoxError>,
    {
        self.0.push(Arc::new(move |inner: BoxGrpcService| {
            let service = layer.layer(inner);
            BoxCloneSyncService::new(ErrorToStatus(service))
        }));
    }
}

impl Layer<Routes> for UserLayers {
    type Service = Router;

    fn layer(&self, routes: Routes) -> Router {
        if self.0.is_empty() {
            return Router::Plain(routes);
        }
        let mut service = BoxCloneSyncService::new(routes);
        // Wrap from the innermost (last added) outwards, so the first added is outermost.
        for layer in self.0.iter().rev() {
            service = layer(service);
        }
        Router::Layered(service)
    }
}

/// Answers a layer's error as a gRPC status instead of failing the connection.
#[derive(Clone)]
struct ErrorToStatus<S>(S);

impl<S, ResBody> Service<http::Request<GrpcBody>> for ErrorToStatus<S>
where
    S: Service<http::Request<GrpcBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = http::Response<GrpcBody>;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // A layer that cannot become ready is reported per call below.
        match self.0.poll_ready(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(_) => Poll::Ready(Ok(())),
        }
    }

    fn call(&mut self, request: http::Request<GrpcBody>) -> Self::Future {
        let future = self.0.call(request);
        Box::pin(async move {
            Ok(match future.await {
                Ok(response) => response.map(GrpcBody::new),
                Err(e) => tonic::Status::from_error(e.into()).into_http(),
            })
        })
    }
}

/// The innermost service: the router, wrapped in the user's layers when there are any.
#[derive(Clone)]
pub(crate) enum Router {
    Plain(Routes),
    Layered(BoxGrpcService),
}

impl<B> Service<http::Request<B>> for Router
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = http::Response<GrpcBody>;
    type Error = Infallible;
    type Future = RouterFuture<B>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        match self {
            Router::Plain(routes) => Service::<http::Request<B>>::poll_ready(routes, cx),
            Router::Layered(service) => service.poll_ready(cx),
        }
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        match self {
            Router::Plain(routes) => RouterFuture::Plain(routes.call(request)),
            Router::Layered(service) => {
                RouterFuture::Layered(service.call(request.map(GrpcBody::new)))
            }
        }
    }
}

/// The future of [`Router`]. Not boxed: the plain router is the common, hot case.
#[allow(clippy::large_enum_variant)]
pub(crate) enum RouterFuture<B>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    Plain(<Routes as Service<http::Request<B>>>::Future),
    Layered(<BoxGrpcService as Service<http::Request<GrpcBody>>>::Future),
}

impl<B> Future for RouterFuture<B>
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Output = Result<http::Response<GrpcBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Both variants are Unpin (a tonic future wrapping a boxed one, and a boxed future).
        match self.get_mut() {
            RouterFuture::Plain(future) => Pin::new(future).poll(cx),
            RouterFuture::Layered(future) => Pin::new(future).poll(cx),
        }
    }
}
