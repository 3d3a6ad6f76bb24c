//! The gRPC server: tonic with Bia's layers, health and reflection, over a bound listener.

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;

use super::guard::{Cut, GuardLayer};
use super::stack::UserLayers;
use crate::config::GrpcServerConfig;
use crate::middleware::method::MethodTable;
use crate::middleware::{
    AccessLogLayer, DeadlineLayer, LimitLayer, MetricsLayer, RecoveryLayer, TraceLayer,
};
use crate::telemetry::Telemetry;

/// Everything the gRPC server serves.
pub(crate) struct GrpcParts {
    pub(crate) routes: Routes,
    pub(crate) table: Arc<MethodTable>,
    pub(crate) layers: UserLayers,
}

/// Serves until `stop` resolves, then stops accepting (GOAWAY) and returns once every
/// connection has closed. The caller bounds that wait and cuts what is left through `cut`.
pub(crate) async fn serve(
    listener: TcpListener,
    config: &GrpcServerConfig,
    telemetry: &Telemetry,
    parts: GrpcParts,
    cut: Cut,
    stop: impl Future<Output = ()> + Send,
) -> Result<(), tonic::transport::Error> {
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(config.tcp_nodelay));
    let layers = tower::ServiceBuilder::new()
        .layer(GuardLayer::new(parts.table.clone(), cut))
        .layer(RecoveryLayer::with_metrics(telemetry.metrics().clone()))
        .layer(TraceLayer::new(telemetry.clone()))
        .layer(MetricsLayer::new(telemetry.metrics(), &parts.table))
        .layer(AccessLogLayer::new())
        .layer(DeadlineLayer::new(config.default_timeout))
        .layer(LimitLayer::new(
            config.max_message_bytes,
            config.max_concurrent_calls,
        ))
        .layer(parts.layers)
        .into_inner();
    Server::builder()
        .http2_keepalive_interval(config.keepalive_interval)
        .http2_keepalive_timeout(Some(config.keepalive_timeout))
        .max_concurrent_streams(config.max_concurrent_streams)
        .layer(layers)
        .add_routes(parts.routes)
        .serve_with_incoming_shutdown(incoming, stop)
        .await
}
