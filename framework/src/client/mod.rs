//! Calling other services: a channel with Bia's client layers that any tonic client can use.
//!
//! # Order
//!
//! ```text
//! trace (CLIENT span, inject traceparent) -> metrics -> deadline (grpc-timeout)
//!   -> retry (opt-in, idempotent methods) -> breaker (adaptive throttling)
//!   -> balancer (p2c by in-flight calls; failed connections ejected, the call sent elsewhere)
//! ```
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

mod balance;
mod breaker;
mod deadline;
mod metrics;
mod replay;
mod retry;
mod trace;

use std::task::{Context, Poll};

use std::sync::Arc;

use tonic::body::Body as GrpcBody;
use tower_service::Service;

pub use balance::{Balancer, GuardedBody};
pub use breaker::Breaker;
pub use deadline::ClientDeadline;
pub use metrics::ClientMetrics;
pub use retry::Retry;
pub use trace::ClientTrace;

use crate::config::{ClientConfig, Config, Target};
use crate::error::BoxError;
use crate::registry::Discovery;
use crate::telemetry::Telemetry;

type Stack = ClientTrace<ClientMetrics<ClientDeadline<Retry<Breaker<Balancer>>>>>;

/// A channel to a downstream service with Bia's client layers; cheap to clone, connects lazily.
#[derive(Clone, Debug)]
pub struct Channel {
    inner: Stack,
}

impl Channel {
    /// The channel for `clients.<name>` in `config`, recording on `telemetry`. A
    /// `discovery:///` target uses the registry configured under `[registry]`. Call it inside a
    /// Tokio runtime.
    pub fn from_config(
        config: &Config,
        name: &str,
        telemetry: &Telemetry,
    ) -> Result<Self, BoxError> {
        let client = config.client(name)?;
        let discovery = match &client.target {
            Target::One(uri) if uri.starts_with(DISCOVERY_SCHEME) => {
                Some(registry_discovery(config)?)
            }
            _ => None,
        };
        Self::new(&client, discovery, telemetry).map_err(|e| format!("clients.{name}: {e}").into())
    }

    /// A channel for one downstream's settings; `discovery` resolves `discovery:///` targets.
    pub fn new(
        config: &ClientConfig,
        discovery: Option<Arc<dyn Discovery>>,
        telemetry: &Telemetry,
    ) -> Result<Self, BoxError> {
        let balancer = match &config.target {
            Target::Unset => return Err("no target configured".into()),
            Target::One(uri) => match uri.strip_prefix(DISCOVERY_SCHEME) {
                Some(service) => {
                    let discovery = discovery.ok_or_else(|| {
                        format!("target {uri:?} needs a registry: set registry.etcd.endpoints")
                    })?;
                    if service.is_empty() {
                        return Err(format!(
                            "target {uri:?} names no service: use discovery:///<service>"
                        )
                        .into());
                    }
                    Balancer::discover(discovery, service)
                }
                None => Balancer::fixed(std::slice::from_ref(uri))?,
            },
            Target::Many(uris) => Balancer::fixed(uris)?,
        };
        let breaker = Breaker::new(balancer, config.breaker.clone());
        let retry = Retry::new(breaker, retry::RetryPolicy::new(&config.retry)?);
        let deadline = ClientDeadline::new(retry, config.timeout);
        let metrics = ClientMetrics::new(deadline, telemetry.metrics().clone());
        Ok(Self {
            inner: ClientTrace::new(metrics, telemetry.clone()),
        })
    }
}

const DISCOVERY_SCHEME: &str = "discovery:///";

/// The discovery of the registry in `config`.
fn registry_discovery(config: &Config) -> Result<Arc<dyn Discovery>, BoxError> {
    match crate::registry::configured(config)? {
        Some(registry) => Ok(registry.discovery),
        None => Err(
            "a discovery:/// target needs a registry: set registry.etcd.endpoints \
                     (env BIA_REGISTRY__ETCD__ENDPOINTS='[\"http://127.0.0.1:2379\"]')"
                .into(),
        ),
    }
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
