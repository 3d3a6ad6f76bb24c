//! The gRPC server: tonic with Bia's layers, health and reflection, over a bound listener.

use std::sync::Arc;

use futures_util::future::BoxFuture;
use tokio::net::TcpListener;
use tower_layer::Layer;

pub(crate) use super::connection::Load;
use super::drain::Cut;
use super::router::Router;
use super::stack::{DefaultLayers, GrpcHttpService, Handlers, Split, UserLayers};
use super::tls::Tls;
use crate::config::GrpcServerConfig;
use crate::gateway::bridge::Bridge;
use crate::gateway::{Gateway, GatewaySetup};
use crate::middleware::CallInfoLayer;
use crate::middleware::method::MethodTable;
use crate::telemetry::Telemetry;

/// Everything the gRPC server serves, and the user's layers around it.
pub(crate) struct GrpcParts {
    pub(crate) routes: Router,
    pub(crate) table: Arc<MethodTable>,
    /// Outside the server stack (`AppBuilder::layer_front`).
    pub(crate) front: UserLayers,
    /// Inside the server stack (`AppBuilder::layer`).
    pub(crate) inner: UserLayers,
    pub(crate) builtin_through_user: bool,
    /// `server.grpc.tls`, when set.
    pub(crate) tls: Option<Arc<Tls>>,
    /// What the HTTP gateway serves; `None` when `server.gateway.enabled` is false.
    pub(crate) gateway: Option<Arc<GatewaySetup>>,
}

/// What the server needs to run, handed to the [`ServeFn`] at start.
pub(crate) struct ServeArgs {
    pub(crate) listener: TcpListener,
    pub(crate) config: GrpcServerConfig,
    pub(crate) telemetry: Telemetry,
    pub(crate) parts: GrpcParts,
    pub(crate) cut: Cut,
    pub(crate) stop: BoxFuture<'static, ()>,
    pub(crate) load: Arc<Load>,
}

/// Runs the server with one server stack; the stack's type is erased here, once per server,
/// not per call.
pub(crate) type ServeFn = Box<dyn FnOnce(ServeArgs) -> BoxFuture<'static, ()> + Send>;

/// A [`ServeFn`] that builds the user's server stack from Bia's default layers with `stack`.
pub(crate) fn serve_fn<F, L, S>(stack: F) -> ServeFn
where
    F: FnOnce(DefaultLayers) -> L + Send + 'static,
    L: Layer<Handlers, Service = S> + Clone + Send + Sync + 'static,
    S: GrpcHttpService,
{
    Box::new(move |args: ServeArgs| {
        let defaults = DefaultLayers::new(&args.config, &args.telemetry, &args.parts.table);
        let user_stack = stack(defaults.clone());
        Box::pin(serve(args, defaults, user_stack))
    })
}

/// Serves until `stop` resolves, then stops accepting (GOAWAY) and returns once every
/// connection has closed. The caller bounds that wait and cuts what is left through `cut`.
async fn serve<L, S>(args: ServeArgs, defaults: DefaultLayers, user_stack: L)
where
    L: Layer<Handlers, Service = S> + Clone + Send + Sync + 'static,
    S: GrpcHttpService,
{
    let ServeArgs {
        listener,
        config,
        parts,
        cut,
        stop,
        load,
        telemetry,
    } = args;
    let cut_all = cut.all.clone();
    let split = SplitLayer {
        builtin: defaults.into_stack(),
        front: parts.front,
        user: user_stack,
        inner: parts.inner,
        builtin_through_user: parts.builtin_through_user,
    };
    let service = tower::ServiceBuilder::new()
        .layer(CallInfoLayer::new(parts.table.clone()))
        .layer(cut)
        .layer(split)
        .service(parts.routes);
    // The gateway calls the very service gRPC requests reach, boxed once here; gRPC requests
    // keep calling the unboxed one.
    let gateway = parts.gateway.map(|setup| {
        let bridge = Bridge::new(super::box_grpc(service.clone()));
        Arc::new(Gateway::new(setup, bridge))
    });
    let connections = super::connection::Shared {
        tls: parts.tls,
        gateway,
        cuts: super::slow_readers::SlowReaderCuts::new(telemetry.metrics()),
    };
    super::connection::serve(listener, service, &config, stop, cut_all, load, connections).await;
}

/// Builds both ways through the server over the router; see [`Split`].
#[derive(Clone)]
struct SplitLayer<B, L> {
    builtin: B,
    front: UserLayers,
    user: L,
    inner: UserLayers,
    builtin_through_user: bool,
}

impl<B, L, S> Layer<Router> for SplitLayer<B, L>
where
    B: Layer<Router>,
    L: Layer<Handlers, Service = S>,
    S: GrpcHttpService,
{
    type Service = Split<B::Service, super::stack::Layered<S>>;

    fn layer(&self, routes: Router) -> Self::Service {
        let handlers = self.inner.layer(routes.clone());
        Split {
            builtin: self.builtin.layer(routes),
            user: self.front.layer(self.user.layer(handlers)),
            builtin_through_user: self.builtin_through_user,
        }
    }
}
