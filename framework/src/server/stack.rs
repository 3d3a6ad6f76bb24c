//! The server's layers: Bia's defaults as a value, the user's own around and inside them, and
//! the split that keeps Bia's own services (health, reflection) out of the user's layers.
//!
//! A call goes through, outermost first:
//!
//! ```text
//! call info -> drain cut -> { health and reflection: Bia's default stack -> router
//!                           { every other method:   front layers -> server stack -> inner layers -> router
//! ```
//!
//! The server stack is [`DefaultLayers::into_stack`] unless the App is given another with
//! [`AppBuilder::server_stack`](crate::AppBuilder::server_stack).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::Either;
use pin_project_lite::pin_project;
use tonic::body::Body as GrpcBody;
use tower::ServiceBuilder;
use tower::layer::util::{Identity, Stack};
use tower::util::BoxCloneSyncService;
use tower_layer::Layer;
use tower_service::Service;

use crate::config::GrpcServerConfig;
use crate::error::BoxError;
use crate::middleware::access_log::AccessLogger;
use crate::middleware::call_info::method_of;
use crate::middleware::method::MethodTable;
use crate::middleware::metrics::ServerCallMetrics;
use crate::middleware::trace::ServerTracer;
use crate::middleware::{
    AccessLogLayer, DeadlineLayer, LimitLayer, MetricsLayer, ObserveLayer, RecoveryLayer,
    TraceLayer,
};
use crate::telemetry::Telemetry;

/// A type-erased gRPC service: what user layers added with
/// [`AppBuilder::layer`](crate::AppBuilder::layer) wrap.
pub type BoxGrpcService =
    BoxCloneSyncService<http::Request<GrpcBody>, http::Response<GrpcBody>, Infallible>;

/// A gRPC service over HTTP that Bia can stack and box: what user layers must make.
///
/// Implemented for every tower service of `http::Request<tonic::body::Body>` whose response
/// body yields `Bytes` and whose errors convert into [`BoxError`] (a layer's error is answered as
/// a gRPC status, not a failed connection). Never implement it yourself: the blanket impl does.
pub trait GrpcHttpService:
    Service<
        http::Request<GrpcBody>,
        Response = http::Response<Self::ResponseBody>,
        Error = Self::CallError,
        Future = Self::CallFuture,
    > + Clone
    + Send
    + Sync
    + 'static
{
    /// The response body.
    type ResponseBody: http_body::Body<Data = Bytes, Error = Self::BodyError> + Send + 'static;
    /// The response body's error.
    type BodyError: Into<BoxError>;
    /// The service's error.
    type CallError: Into<BoxError> + Send;
    /// The service's future.
    type CallFuture: Future<Output = Result<http::Response<Self::ResponseBody>, Self::CallError>>
        + Send
        + 'static;
}

impl<S, ResBody> GrpcHttpService for S
where
    S: Service<http::Request<GrpcBody>, Response = http::Response<ResBody>>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError> + Send,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type ResponseBody = ResBody;
    type BodyError = ResBody::Error;
    type CallError = S::Error;
    type CallFuture = S::Future;
}

/// Bia's server layers, made for one App; each field is an ordinary public tower layer.
///
/// [`into_stack`](Self::into_stack) stacks them in the default order; to reorder, drop or add
/// to them, build a stack of your own and give it to
/// [`AppBuilder::server_stack`](crate::AppBuilder::server_stack).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct DefaultLayers {
    /// Panics answer `INTERNAL`.
    pub recovery: RecoveryLayer,
    /// The SERVER span and the call's `rpc` log span.
    pub trace: TraceLayer,
    /// Call durations, active calls, stream messages.
    pub metrics: MetricsLayer,
    /// One log line per call.
    pub access_log: AccessLogLayer,
    /// The call's deadline.
    pub deadline: DeadlineLayer,
    /// Message size and concurrency limits.
    pub limit: LimitLayer,
}

/// The layers of [`DefaultLayers::into_stack`], outermost last in the type.
pub type DefaultStack = Stack<
    LimitLayer,
    Stack<DeadlineLayer, Stack<ObserveLayer<ServerObservers, RecoveryLayer>, Identity>>,
>;

/// Trace, metrics and the access log, observed in one layer of the default stack (in that
/// order, outermost first, as three layers would).
pub type ServerObservers = (ServerTracer, (ServerCallMetrics, AccessLogger));

impl DefaultLayers {
    pub(crate) fn new(
        config: &GrpcServerConfig,
        telemetry: &Telemetry,
        table: &MethodTable,
    ) -> Self {
        Self {
            recovery: RecoveryLayer::with_metrics(telemetry.metrics().clone()),
            trace: TraceLayer::new(ServerTracer::new(telemetry.clone())),
            metrics: MetricsLayer::new(ServerCallMetrics::new(telemetry.metrics(), table)),
            access_log: AccessLogLayer::new(AccessLogger),
            deadline: DeadlineLayer::from_config(config, table),
            limit: LimitLayer::from_config(config, telemetry.metrics(), table),
        }
    }

    /// The default stack.
    ///
    /// # Order
    ///
    /// recovery -> trace -> metrics -> access_log -> deadline -> limit (first is outermost): a
    /// panic anywhere inside is answered `INTERNAL`, the span covers everything the server does,
    /// metrics see the final status (including `DEADLINE_EXCEEDED` and shed calls).
    ///
    /// Recovery, trace, metrics and the access log share one [`ObserveLayer`] (one future and
    /// one body wrapper per call instead of four); they behave as the four layers stacked in
    /// that order.
    pub fn into_stack(self) -> ServiceBuilder<DefaultStack> {
        let observers = (
            self.trace.starter(),
            (self.metrics.starter(), self.access_log.starter()),
        );
        ServiceBuilder::new()
            .layer(ObserveLayer::new(observers).recovering(self.recovery))
            .layer(self.deadline)
            .layer(self.limit)
    }
}

type LayerFn = Arc<dyn Fn(BoxGrpcService) -> BoxGrpcService + Send + Sync>;

/// The user's layers of one place in the stack, first added = outermost.
#[derive(Clone, Default)]
pub(crate) struct UserLayers(Vec<LayerFn>);

impl UserLayers {
    pub(crate) fn push<L, S>(&mut self, layer: L)
    where
        L: Layer<BoxGrpcService, Service = S> + Send + Sync + 'static,
        S: GrpcHttpService,
    {
        self.0.push(Arc::new(move |inner: BoxGrpcService| {
            box_grpc(layer.layer(inner))
        }));
    }

    /// Adds `layer` outside the ones added so far.
    pub(crate) fn push_outermost<L, S>(&mut self, layer: L)
    where
        L: Layer<BoxGrpcService, Service = S> + Send + Sync + 'static,
        S: GrpcHttpService,
    {
        self.push(layer);
        self.0.rotate_right(1);
    }
}

impl<S> Layer<S> for UserLayers
where
    S: GrpcHttpService,
{
    type Service = Layered<S>;

    fn layer(&self, inner: S) -> Layered<S> {
        if self.0.is_empty() {
            return Layered::Plain(inner);
        }
        let mut service = box_grpc(inner);
        // Wrap from the innermost (last added) outwards, so the first added is outermost.
        for layer in self.0.iter().rev() {
            service = layer(service);
        }
        Layered::Boxed(service)
    }
}

/// Boxes `service` as a [`BoxGrpcService`]: its errors become gRPC statuses (rather than failed
/// connections) and its response body is boxed.
pub(crate) fn box_grpc<S>(service: S) -> BoxGrpcService
where
    S: GrpcHttpService,
{
    BoxCloneSyncService::new(ErrorToStatus(service))
}

#[derive(Clone)]
struct ErrorToStatus<S>(S);

impl<S, ResBody> Service<http::Request<GrpcBody>> for ErrorToStatus<S>
where
    S: Service<http::Request<GrpcBody>, Response = http::Response<ResBody>>,
    S::Error: Into<BoxError>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = http::Response<GrpcBody>;
    type Error = Infallible;
    type Future = ErrorToStatusFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        // A layer that cannot become ready is reported per call below.
        match self.0.poll_ready(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(_) => Poll::Ready(Ok(())),
        }
    }

    fn call(&mut self, request: http::Request<GrpcBody>) -> Self::Future {
        ErrorToStatusFuture {
            inner: self.0.call(request),
        }
    }
}

pin_project! {
    struct ErrorToStatusFuture<F> {
        #[pin]
        inner: F,
    }
}

impl<F, ResBody, E> Future for ErrorToStatusFuture<F>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
    E: Into<BoxError>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Output = Result<http::Response<GrpcBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().inner.poll(cx).map(|result| {
            Ok(match result {
                Ok(response) => response.map(GrpcBody::new),
                Err(e) => tonic::Status::from_error(e.into()).into_http(),
            })
        })
    }
}

/// A service wrapped in the user's layers of one place, when there are any.
#[derive(Clone)]
pub enum Layered<S> {
    /// No user layers here: the service as it is.
    Plain(S),
    /// The service inside the user's layers.
    Boxed(BoxGrpcService),
}

impl<S: std::fmt::Debug> std::fmt::Debug for Layered<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Layered::Plain(inner) => f.debug_tuple("Plain").field(inner).finish(),
            Layered::Boxed(_) => f.write_str("Boxed"),
        }
    }
}

/// The router inside the user's inner layers: what the server stack wraps.
pub type Handlers = Layered<super::router::Router>;

impl<S, B, ResBody> Service<http::Request<B>> for Layered<S>
where
    S: Service<http::Request<B>, Response = http::Response<ResBody>>,
    S::Error: Into<BoxError>,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = http::Response<Either<ResBody, GrpcBody>>;
    type Error = BoxError;
    type Future = LayeredFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        match self {
            Layered::Plain(inner) => inner.poll_ready(cx).map_err(Into::into),
            Layered::Boxed(service) => service.poll_ready(cx).map_err(|never| match never {}),
        }
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        match self {
            Layered::Plain(inner) => LayeredFuture {
                state: LayeredState::Plain {
                    future: inner.call(request),
                },
            },
            Layered::Boxed(service) => LayeredFuture {
                state: LayeredState::Boxed {
                    future: service.call(request.map(GrpcBody::new)),
                },
            },
        }
    }
}

pin_project! {
    /// The future of [`Layered`]. Not boxed: the plain service is the common, hot case.
    pub struct LayeredFuture<F> {
        #[pin]
        state: LayeredState<F>,
    }
}

pin_project! {
    #[project = LayeredProj]
    enum LayeredState<F> {
        Plain { #[pin] future: F },
        Boxed { #[pin] future: <BoxGrpcService as Service<http::Request<GrpcBody>>>::Future },
    }
}

impl<F, ResBody, E> Future for LayeredFuture<F>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
    E: Into<BoxError>,
{
    type Output = Result<http::Response<Either<ResBody, GrpcBody>>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            LayeredProj::Plain { future } => future.poll(cx).map(|r| {
                r.map(|response| response.map(Either::Left))
                    .map_err(Into::into)
            }),
            LayeredProj::Boxed { future } => future.poll(cx).map(|r| match r {
                Ok(response) => Ok(response.map(Either::Right)),
                Err(never) => match never {},
            }),
        }
    }
}

/// Sends Bia's own services' calls one way and every other call another.
#[derive(Clone, Debug)]
pub(crate) struct Split<I, U> {
    pub(crate) builtin: I,
    pub(crate) user: U,
    /// Whether health and reflection go through the user's layers too.
    pub(crate) builtin_through_user: bool,
}

impl<I, U, B, IB, UB> Service<http::Request<B>> for Split<I, U>
where
    I: Service<http::Request<B>, Response = http::Response<IB>>,
    U: Service<http::Request<B>, Response = http::Response<UB>>,
    I::Error: Into<BoxError>,
    U::Error: Into<BoxError>,
{
    type Response = http::Response<Either<IB, UB>>;
    type Error = BoxError;
    type Future = SplitFuture<I::Future, U::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // Both sides wrap the same router; neither applies backpressure of its own.
        match self.builtin.poll_ready(cx).map_err(Into::into)? {
            Poll::Ready(()) => self.user.poll_ready(cx).map_err(Into::into),
            Poll::Pending => Poll::Pending,
        }
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if method_of(&request).builtin && !self.builtin_through_user {
            SplitFuture::Builtin {
                future: self.builtin.call(request),
            }
        } else {
            SplitFuture::User {
                future: self.user.call(request),
            }
        }
    }
}

pin_project! {
    /// The future of [`Split`].
    #[project = SplitProj]
    pub(crate) enum SplitFuture<I, U> {
        Builtin { #[pin] future: I },
        User { #[pin] future: U },
    }
}

impl<I, U, IB, UB, IE, UE> Future for SplitFuture<I, U>
where
    I: Future<Output = Result<http::Response<IB>, IE>>,
    U: Future<Output = Result<http::Response<UB>, UE>>,
    IE: Into<BoxError>,
    UE: Into<BoxError>,
{
    type Output = Result<http::Response<Either<IB, UB>>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            SplitProj::Builtin { future } => future.poll(cx).map(|r| {
                r.map(|response| response.map(Either::Left))
                    .map_err(Into::into)
            }),
            SplitProj::User { future } => future.poll(cx).map(|r| {
                r.map(|response| response.map(Either::Right))
                    .map_err(Into::into)
            }),
        }
    }
}
