//! Calling other services: a channel with Bia's client layers that any tonic client can use.
//!
//! # Order
//!
//! ```text
//! trace (CLIENT span, inject traceparent) -> metrics -> deadline (grpc-timeout) -> tonic channel
//! ```
//!
//! ```no_run
//! # async fn demo(config: bia::Config) -> Result<(), bia::BoxError> {
//! let telemetry = bia::Telemetry::new(&config)?;
//! let channel = bia::client::Channel::from_config(&config, "user", &telemetry)?;
//! // let mut users = UserServiceClient::new(channel);
//! # Ok(()) }
//! ```

mod deadline;
mod metrics;
mod trace;

use std::task::{Context, Poll};
use std::time::Duration;

use tonic::body::Body as GrpcBody;
use tonic::transport::Endpoint;
use tower_service::Service;

pub use deadline::ClientDeadline;
pub use metrics::ClientMetrics;
pub use trace::ClientTrace;

use crate::config::{ClientConfig, Config, Target};
use crate::error::BoxError;
use crate::telemetry::Telemetry;

type Stack = ClientTrace<ClientMetrics<ClientDeadline<tonic::transport::Channel>>>;

/// A channel to a downstream service with Bia's client layers; cheap to clone, connects lazily.
#[derive(Clone, Debug)]
pub struct Channel {
    inner: Stack,
}

impl Channel {
    /// The channel for `clients.<name>` in `config`, recording on `telemetry`.
    pub fn from_config(
        config: &Config,
        name: &str,
        telemetry: &Telemetry,
    ) -> Result<Self, BoxError> {
        let client = config.client(name)?;
        Self::new(&client, telemetry).map_err(|e| format!("clients.{name}: {e}").into())
    }

    /// A channel for one downstream's settings.
    pub fn new(config: &ClientConfig, telemetry: &Telemetry) -> Result<Self, BoxError> {
        let channel = match &config.target {
            Target::Unset => return Err("no target configured".into()),
            Target::One(uri) => endpoint(uri)?.connect_lazy(),
            Target::Many(uris) => {
                let endpoints = uris
                    .iter()
                    .map(|u| endpoint(u))
                    .collect::<Result<Vec<_>, _>>()?;
                tonic::transport::Channel::balance_list(endpoints.into_iter())
            }
        };
        Ok(Self::over(channel, config.timeout, telemetry))
    }

    /// Wraps an existing tonic channel in Bia's client layers.
    pub fn over(
        channel: tonic::transport::Channel,
        timeout: Duration,
        telemetry: &Telemetry,
    ) -> Self {
        let deadline = ClientDeadline::new(channel, timeout);
        let metrics = ClientMetrics::new(deadline, telemetry.metrics().clone());
        Self {
            inner: ClientTrace::new(metrics, telemetry.clone()),
        }
    }
}

fn endpoint(uri: &str) -> Result<Endpoint, BoxError> {
    if uri.starts_with("discovery:///") {
        return Err(format!(
            "target {uri:?} needs service discovery: build with the `etcd` feature and set \
             registry.etcd.endpoints"
        )
        .into());
    }
    Endpoint::from_shared(uri.to_owned())
        .map(|e| e.tcp_nodelay(true))
        .map_err(|e| {
            format!("target {uri:?} is not a valid URI (expected http://host:port): {e}").into()
        })
}

impl Service<http::Request<GrpcBody>> for Channel {
    type Response = <Stack as Service<http::Request<GrpcBody>>>::Response;
    type Error = BoxError;
    type Future = <Stack as Service<http::Request<GrpcBody>>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<GrpcBody>) -> Self::Future {
        self.inner.call(request)
    }
}
