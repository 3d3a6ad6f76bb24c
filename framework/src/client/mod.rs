//! Calling other services: a channel with Bia's client layers that any tonic client can use.
//!
//! # Order
//!
//! The first layer is the outermost:
//!
//! ```text
//! your layers (Channel::layer, last added outermost)
//!   -> trace (CLIENT span, inject traceparent) -> metrics -> deadline (grpc-timeout)
//!   -> retry (opt-in, idempotent methods) -> breaker (adaptive throttling)
//!   -> balancer (p2c by in-flight calls; failed connections ejected, the call sent elsewhere)
//! ```
//!
//! Each of Bia's client layers is public ([`ClientTraceLayer`], [`ClientMetricsLayer`],
//! [`ClientDeadlineLayer`], [`RetryLayer`], [`BreakerLayer`]), so a stack of your own can use
//! them over a [`Balancer`] or any tonic channel.
//!
//! Targets: `http://host:port`, a list of them, or `discovery:///<service>` (instances found in
//! the registry configured under `[registry]`).
//!
//! ```no_run
//! # async fn demo(config: bia::Config) -> Result<(), bia::BoxError> {
//! let telemetry = bia::Telemetry::new(&config)?;
//! let channel = bia::client::Channel::from_config(&config, "user", &telemetry)?;
//! // let mut users = UserServiceClient::new(channel);
//! # Ok(()) }
//! ```

mod auth;
mod balance;
mod breaker;
mod deadline;
mod link;
mod metrics;
mod replay;
mod retry;
mod tls;
mod trace;

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use tonic::body::Body as GrpcBody;
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;
use tower_layer::Layer;
use tower_service::Service;

pub use auth::{Bearer, BearerLayer, BearerToken};
pub use balance::{Balancer, GuardedBody};
pub use breaker::{Breaker, BreakerLayer, BreakerObserver};
pub use deadline::{ClientDeadline, ClientDeadlineBody, ClientDeadlineFuture, ClientDeadlineLayer};
pub use metrics::{ClientCallMetrics, ClientMetrics, ClientMetricsLayer};
pub use retry::{Retry, RetryLayer};
pub use tls::ClientTls;
pub use trace::{ClientTrace, ClientTraceLayer, ClientTracer};

use crate::build_error::BuildError;
use crate::config::{ClientConfig, Config, Target};
use crate::error::BoxError;
use crate::middleware::metrics::MetricsObserver;
use crate::middleware::observe::{Observe, ObserveLayer, ObservedBody};
use crate::middleware::trace::SpanObserver;
use crate::registry::Discovery;
use crate::server::GrpcHttpService;
use crate::telemetry::Telemetry;

/// Trace and metrics, observed in one layer (one future and one body wrapper per call instead of
/// two), as the two layers stacked in that order would.
type ClientObservers = (ClientTracer, ClientCallMetrics);

type Stack = Observe<ClientDeadline<Retry<Breaker<Balancer>>>, ClientObservers>;
type StackFuture = <Stack as Service<http::Request<GrpcBody>>>::Future;

/// The response body of a call through Bia's client layers.
pub type StackBody = ObservedBody<
    ClientDeadlineBody<ObservedBody<GuardedBody, BreakerObserver>>,
    (Option<SpanObserver>, MetricsObserver),
>;

/// The response body of a [`Channel`].
pub type ChannelBody = http_body_util::Either<StackBody, GrpcBody>;

/// A type-erased client service: what [`Channel::layer`] wraps.
pub type BoxClientService =
    BoxCloneSyncService<http::Request<GrpcBody>, http::Response<GrpcBody>, BoxError>;

/// A channel to a downstream service with Bia's client layers; cheap to clone, connects lazily.
#[derive(Clone)]
pub struct Channel {
    inner: ChannelStack,
}

#[derive(Clone)]
enum ChannelStack {
    /// Bia's layers alone: no boxing on the way.
    Default(Stack),
    /// With the user's layers outside them.
    Layered(BoxClientService),
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.inner {
            ChannelStack::Default(stack) => f.debug_tuple("Channel").field(stack).finish(),
            ChannelStack::Layered(_) => f.debug_tuple("Channel").field(&"layered").finish(),
        }
    }
}

impl Channel {
    /// The channel for `clients.<name>` in `config`, recording on `telemetry`. A
    /// `discovery:///` target uses the registry configured under `[registry]`. Call it inside a
    /// Tokio runtime.
    pub fn from_config(
        config: &Config,
        name: &str,
        telemetry: &Telemetry,
    ) -> Result<Self, BuildError> {
        let client = config.client(name)?;
        let discovery = match &client.target {
            Target::One(uri) if uri.starts_with(DISCOVERY_SCHEME) => {
                Some(registry_discovery(config).map_err(|e| e.of(&format!("clients.{name}")))?)
            }
            _ => None,
        };
        Self::new(&client, discovery, telemetry).map_err(|e| e.of(&format!("clients.{name}")))
    }

    /// A channel for one downstream's settings; `discovery` resolves `discovery:///` targets.
    pub fn new(
        config: &ClientConfig,
        discovery: Option<Arc<dyn Discovery>>,
        telemetry: &Telemetry,
    ) -> Result<Self, BuildError> {
        let tls = ClientTls::from_config(&config.tls)?;
        let balancer = match &config.target {
            Target::Unset => return Err(BuildError::new("no target configured")),
            Target::One(uri) => match uri.strip_prefix(DISCOVERY_SCHEME) {
                Some(service) => {
                    if service.is_empty() {
                        return Err(BuildError::new(format!(
                            "target {uri:?} names no service: use discovery:///<service>"
                        )));
                    }
                    let discovery = discovery.ok_or_else(|| {
                        BuildError::new(format!(
                            "target {uri:?} needs a registry: set registry.etcd.endpoints"
                        ))
                    })?;
                    Balancer::discover(discovery, service, &tls)
                }
                None => Balancer::fixed(std::slice::from_ref(uri), &tls)?,
            },
            Target::Many(uris) => Balancer::fixed(uris, &tls)?,
        };
        let observers = (
            ClientTracer::new(telemetry.clone()),
            ClientCallMetrics::new(telemetry.metrics().clone()),
        );
        let stack = ServiceBuilder::new()
            .layer(ObserveLayer::new(observers))
            .layer(ClientDeadlineLayer::new(config.timeout))
            .layer(RetryLayer::new(&config.retry)?)
            .layer(
                BreakerLayer::new(config.breaker.clone())
                    .with_metrics(telemetry.metrics(), &breaker::target_label(&config.target)),
            )
            .service(balancer);
        Ok(Self {
            inner: ChannelStack::Default(stack),
        })
    }

    /// Wraps the channel in `layer`, outside every layer it has (the last added is outermost):
    /// a layer that attaches a token, say, or records what it sees.
    ///
    /// ```no_run
    /// # fn demo(channel: bia::client::Channel) {
    /// use bia::middleware::{from_fn, Next};
    ///
    /// let channel = channel.layer(from_fn(|mut request: http::Request<tonic::body::Body>, next: Next| async move {
    ///     request.headers_mut().insert("x-api-key", http::HeaderValue::from_static("secret"));
    ///     Ok(next.run(request).await)
    /// }));
    /// # let _ = channel; }
    /// ```
    pub fn layer<L, S>(self, layer: L) -> Self
    where
        L: Layer<Channel, Service = S>,
        S: GrpcHttpService,
    {
        let service = layer.layer(self);
        Self {
            inner: ChannelStack::Layered(BoxCloneSyncService::new(BoxedBody(service))),
        }
    }
}

/// Boxes a layered service's response body and error, so any layer can wrap a channel.
#[derive(Clone)]
struct BoxedBody<S>(S);

impl<S, ResBody> Service<http::Request<GrpcBody>> for BoxedBody<S>
where
    S: Service<http::Request<GrpcBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = http::Response<GrpcBody>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Self::Response, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.0.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: http::Request<GrpcBody>) -> Self::Future {
        let future = self.0.call(request);
        Box::pin(async move {
            let response = future.await.map_err(Into::into)?;
            Ok(response.map(GrpcBody::new))
        })
    }
}

const DISCOVERY_SCHEME: &str = "discovery:///";

/// The discovery of the registry in `config`.
fn registry_discovery(config: &Config) -> Result<Arc<dyn Discovery>, BuildError> {
    match crate::registry::configured(config)? {
        Some(registry) => Ok(registry.discovery),
        None => Err(BuildError::new(
            "a discovery:/// target needs a registry: set registry.etcd.endpoints \
             (env BIA_REGISTRY__ETCD__ENDPOINTS='[\"http://127.0.0.1:2379\"]')",
        )),
    }
}

impl Service<http::Request<GrpcBody>> for Channel {
    type Response = http::Response<ChannelBody>;
    type Error = BoxError;
    type Future = ChannelFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        match &mut self.inner {
            ChannelStack::Default(stack) => stack.poll_ready(cx),
            ChannelStack::Layered(service) => service.poll_ready(cx),
        }
    }

    fn call(&mut self, request: http::Request<GrpcBody>) -> Self::Future {
        match &mut self.inner {
            ChannelStack::Default(stack) => ChannelFuture {
                state: ChannelState::Default {
                    future: stack.call(request),
                },
            },
            ChannelStack::Layered(service) => ChannelFuture {
                state: ChannelState::Layered {
                    future: service.call(request),
                },
            },
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`Channel`].
    pub struct ChannelFuture {
        #[pin]
        state: ChannelState,
    }
}

pin_project_lite::pin_project! {
    #[project = ChannelProj]
    enum ChannelState {
        Default { #[pin] future: StackFuture },
        Layered { future: BoxFuture<'static, Result<http::Response<GrpcBody>, BoxError>> },
    }
}

impl std::future::Future for ChannelFuture {
    type Output = Result<http::Response<ChannelBody>, BoxError>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        use http_body_util::Either as Body;
        match self.project().state.project() {
            ChannelProj::Default { future } => {
                future.poll(cx).map_ok(|response| response.map(Body::Left))
            }
            ChannelProj::Layered { future } => {
                future.as_mut().poll(cx).map_ok(|r| r.map(Body::Right))
            }
        }
    }
}
