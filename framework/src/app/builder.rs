//! Assembling an App: services, descriptors, layers, hooks, registry.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use tonic::body::Body as GrpcBody;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tower_layer::Layer;
use tower_service::Service;

use super::App;
use super::hooks::{Hook, hook};
use crate::config::Config;
use crate::error::BoxError;
use crate::registry::Registrar;
use crate::server::{BoxGrpcService, UserLayers};
use crate::telemetry::Telemetry;

/// Builds an [`App`]; see [`App::builder`].
pub struct AppBuilder {
    pub(super) config: Config,
    pub(super) telemetry: Option<Telemetry>,
    pub(super) routes: RoutesBuilder,
    pub(super) services: Vec<&'static str>,
    pub(super) descriptor_sets: Vec<&'static [u8]>,
    pub(super) layers: UserLayers,
    pub(super) registrar: Option<Arc<dyn Registrar>>,
    pub(super) before_start: Vec<Hook>,
    pub(super) after_start: Vec<Hook>,
    pub(super) before_stop: Vec<Hook>,
    pub(super) after_stop: Vec<Hook>,
}

impl std::fmt::Debug for AppBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppBuilder")
            .field("name", &self.config.app.name)
            .field("services", &self.services)
            .finish_non_exhaustive()
    }
}

impl AppBuilder {
    pub(super) fn new(config: &Config) -> Self {
        Self {
            config: config.clone(),
            telemetry: None,
            routes: RoutesBuilder::default(),
            services: Vec::new(),
            descriptor_sets: Vec::new(),
            layers: UserLayers::default(),
            registrar: None,
            before_start: Vec::new(),
            after_start: Vec::new(),
            before_stop: Vec::new(),
            after_stop: Vec::new(),
        }
    }

    /// Serves a tonic-generated service (`FooServer::new(handler)`).
    pub fn add_service<S>(mut self, service: S) -> Self
    where
        S: Service<
                http::Request<GrpcBody>,
                Response = http::Response<GrpcBody>,
                Error = Infallible,
            > + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.services.push(S::NAME);
        self.routes.add_service(service);
        self
    }

    /// Registers an encoded `FileDescriptorSet` (from `tonic::include_file_descriptor_set!`):
    /// reflection serves it, and the server learns its methods' names and kinds for metrics.
    pub fn file_descriptor_set(mut self, set: &'static [u8]) -> Self {
        self.descriptor_sets.push(set);
        self
    }

    /// Uses telemetry built beforehand (to share it with clients the service calls); by default
    /// the App builds its own from the config.
    pub fn telemetry(mut self, telemetry: Telemetry) -> Self {
        self.telemetry = Some(telemetry);
        self
    }

    /// Adds a tower layer inside Bia's own (after `limit`, before the router). First added is
    /// outermost; see [`crate::middleware`] for the whole order.
    pub fn layer<L, S, ResBody>(mut self, layer: L) -> Self
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
        self.layers.push(layer);
        self
    }

    /// Publishes the instance through `registrar` after start and removes it before draining.
    pub fn registrar(mut self, registrar: impl Registrar) -> Self {
        self.registrar = Some(Arc::new(registrar));
        self
    }

    /// Runs before the servers bind; an error stops the start.
    pub fn before_start<F, Fut>(mut self, f: F) -> Self
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.before_start.push(hook(f));
        self
    }

    /// Runs once the servers serve and the instance is registered.
    pub fn after_start<F, Fut>(mut self, f: F) -> Self
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.after_start.push(hook(f));
        self
    }

    /// Runs when shutdown begins, after health turns NOT_SERVING and before deregistering.
    pub fn before_stop<F, Fut>(mut self, f: F) -> Self
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.before_stop.push(hook(f));
        self
    }

    /// Runs after the servers have stopped, before telemetry is flushed.
    pub fn after_stop<F, Fut>(mut self, f: F) -> Self
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.after_stop.push(hook(f));
        self
    }

    /// Finishes the App. Fails if the telemetry cannot be built or a descriptor set is not valid.
    pub fn build(self) -> Result<App, BoxError> {
        App::from_builder(self)
    }
}
