//! Assembling an App: services, descriptors, layers, hooks, registry.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use tonic::body::Body as GrpcBody;
use tonic::server::NamedService;
use tower::util::BoxCloneSyncService;
use tower_layer::Layer;
use tower_service::Service;

use super::App;
use super::hooks::{Hooks, hook};
use crate::build_error::BuildError;
use crate::config::Config;
use crate::error::BoxError;
use crate::middleware::method::{BUILTIN_SERVICES, MethodTable};
use crate::registry::{NoRegistry, Registrar};
use crate::server::grpc::{GrpcParts, ServeFn, serve_fn};
use crate::server::tls::Tls;
use crate::server::{
    BoxGrpcService, DefaultLayers, GrpcHttpService, Handlers, RouterBuilder, UserLayers,
};
use crate::telemetry::Telemetry;

const INVALID_DESCRIPTORS: &str = "a file descriptor set given to AppBuilder::file_descriptor_set \
     is not valid (pass tonic::include_file_descriptor_set!(\"descriptor\") as written by bia-build)";

/// Builds an [`App`]; see [`App::builder`].
pub struct AppBuilder {
    pub(super) config: Config,
    pub(super) telemetry: Option<Telemetry>,
    pub(super) routes: RouterBuilder,
    pub(super) services: Vec<&'static str>,
    pub(super) descriptor_sets: Vec<&'static [u8]>,
    pub(super) front: UserLayers,
    pub(super) inner: UserLayers,
    pub(super) serve: Option<ServeFn>,
    pub(super) builtin_through_user: bool,
    pub(super) registrar: Option<Arc<dyn Registrar>>,
    pub(super) hooks: Hooks,
}

impl std::fmt::Debug for AppBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        super::fmt_app(f, "AppBuilder", &self.config, &self.services)
    }
}

impl AppBuilder {
    pub(super) fn new(config: &Config) -> Self {
        Self {
            config: config.clone(),
            telemetry: None,
            routes: RouterBuilder::default(),
            services: Vec::new(),
            descriptor_sets: Vec::new(),
            front: UserLayers::default(),
            inner: UserLayers::default(),
            serve: None,
            builtin_through_user: false,
            registrar: None,
            hooks: Hooks::default(),
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
        self.routes.add(S::NAME, BoxCloneSyncService::new(service));
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

    /// Adds a tower layer inside the server stack, just outside the handlers: it sees each call's
    /// [`CallInfo`](crate::CallInfo) and deadline, runs inside its span, and its rejections are
    /// counted in the metrics (an auth layer belongs here).
    ///
    /// # Order
    ///
    /// ```text
    /// call info -> layer_front layers -> recovery -> trace -> metrics -> access_log
    ///   -> deadline -> limit -> layer layers -> router -> handler
    /// ```
    ///
    /// First added is outermost. Bia's own health and reflection services do not go through
    /// these layers (so an auth layer cannot reject `grpc.health.v1.Health/Check`) unless
    /// [`user_layers_on_builtin_services`](Self::user_layers_on_builtin_services) says so.
    ///
    /// ```
    /// use bia::middleware::{from_fn, Next};
    ///
    /// let config = bia::Config::builder("demo").env(false).build().unwrap();
    /// let app = bia::App::builder(&config)
    ///     .layer(from_fn(|request: http::Request<tonic::body::Body>, next: Next| async move {
    ///         if request.headers().get("x-api-key").is_none() {
    ///             return Err(tonic::Status::unauthenticated("send an x-api-key header"));
    ///         }
    ///         Ok(next.run(request).await)
    ///     }))
    ///     .build()
    ///     .unwrap();
    /// # let _ = app;
    /// ```
    pub fn layer<L, S>(mut self, layer: L) -> Self
    where
        L: Layer<BoxGrpcService, Service = S> + Send + Sync + 'static,
        S: GrpcHttpService,
    {
        self.inner.push(layer);
        self
    }

    /// Adds a tower layer outside the server stack, before recovery and the span: it sees every
    /// call first (with its [`CallInfo`](crate::CallInfo)) and may answer without it being
    /// traced or counted. See [`layer`](Self::layer) for the whole order.
    pub fn layer_front<L, S>(mut self, layer: L) -> Self
    where
        L: Layer<BoxGrpcService, Service = S> + Send + Sync + 'static,
        S: GrpcHttpService,
    {
        self.front.push(layer);
        self
    }

    /// Replaces the server stack: `stack` gets Bia's [`DefaultLayers`] and returns any tower
    /// layer (a [`tower::ServiceBuilder`] of them, reordered, trimmed or extended).
    ///
    /// # Order
    ///
    /// The stack goes where the default one would, between the [`layer_front`](Self::layer_front)
    /// and the [`layer`](Self::layer) layers. Bia's health and reflection services keep the
    /// default stack.
    ///
    /// ```
    /// let config = bia::Config::builder("demo").env(false).build().unwrap();
    /// let app = bia::App::builder(&config)
    ///     .server_stack(|defaults| {
    ///         // The default order without the access log.
    ///         tower::ServiceBuilder::new()
    ///             .layer(defaults.recovery)
    ///             .layer(defaults.trace)
    ///             .layer(defaults.metrics)
    ///             .layer(defaults.deadline)
    ///             .layer(defaults.limit)
    ///     })
    ///     .build()
    ///     .unwrap();
    /// # let _ = app;
    /// ```
    pub fn server_stack<F, L, S>(mut self, stack: F) -> Self
    where
        F: FnOnce(DefaultLayers) -> L + Send + 'static,
        L: Layer<Handlers, Service = S> + Clone + Send + Sync + 'static,
        S: GrpcHttpService,
    {
        self.serve = Some(serve_fn(stack));
        self
    }

    /// Sends Bia's own health and reflection calls through the user's layers too (off by
    /// default, so that an auth layer does not lock out health checks).
    pub fn user_layers_on_builtin_services(mut self, on: bool) -> Self {
        self.builtin_through_user = on;
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
        self.hooks.before_start.push(hook(f));
        self
    }

    /// Runs once the servers serve and the instance is registered.
    pub fn after_start<F, Fut>(mut self, f: F) -> Self
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.hooks.after_start.push(hook(f));
        self
    }

    /// Runs when shutdown begins, after health turns NOT_SERVING and before deregistering.
    pub fn before_stop<F, Fut>(mut self, f: F) -> Self
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.hooks.before_stop.push(hook(f));
        self
    }

    /// Runs after the servers have stopped, before telemetry is flushed.
    pub fn after_stop<F, Fut>(mut self, f: F) -> Self
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(), BoxError>> + Send + 'static,
    {
        self.hooks.after_stop.push(hook(f));
        self
    }

    /// Finishes the App. Fails if the telemetry cannot be built, a descriptor set is not
    /// valid, or the configured registry cannot be set up.
    pub fn build(mut self) -> Result<App, BuildError> {
        let telemetry = match self.telemetry.take() {
            Some(telemetry) => telemetry,
            None => Telemetry::new(&self.config)?,
        };
        let (health, health_service) = tonic_health::server::health_reporter();
        let mut names: Vec<&'static str> = self.services.clone();
        names.extend(BUILTIN_SERVICES);
        let reflection = || {
            let mut reflection = tonic_reflection::server::Builder::configure()
                .include_reflection_service(true)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET);
            for set in &self.descriptor_sets {
                reflection = reflection.register_encoded_file_descriptor_set(set);
            }
            for name in &names {
                reflection = reflection.with_service_name(*name);
            }
            reflection
        };
        let reflection_v1 = reflection()
            .build_v1()
            .map_err(|e| BuildError::caused_by(INVALID_DESCRIPTORS, e))?;
        let reflection_v1alpha = reflection()
            .build_v1alpha()
            .map_err(|e| BuildError::caused_by(INVALID_DESCRIPTORS, e))?;
        let mut routes = self.routes;
        routes
            .add(
                name_of(&health_service),
                BoxCloneSyncService::new(health_service),
            )
            .add(
                name_of(&reflection_v1),
                BoxCloneSyncService::new(reflection_v1),
            )
            .add(
                name_of(&reflection_v1alpha),
                BoxCloneSyncService::new(reflection_v1alpha),
            );
        let mut sets = self.descriptor_sets;
        sets.extend([
            tonic_health::pb::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
        ]);
        let table = Arc::new(
            MethodTable::with_quiet_methods(
                &sets,
                names.iter().copied(),
                &self.config.telemetry.exclude_methods,
            )
            .map_err(|e| BuildError::caused_by(INVALID_DESCRIPTORS, e))?,
        );
        check_timeouts(&self.config, &table)?;
        check_auth_methods(&self.config, &table)?;
        let gateway = crate::gateway::GatewaySetup::new(&self.config, &sets, &table)?;
        let openapi =
            crate::gateway::openapi::for_app(&self.config, gateway.as_deref(), &self.services)?;
        let registrar = match self.registrar {
            Some(registrar) => registrar,
            None => match crate::registry::configured(&self.config)? {
                Some(registry) => registry.registrar,
                None => Arc::new(NoRegistry),
            },
        };
        // JWT auth, when [auth.jwt] has a key source: first of the inner layers, so it runs
        // after limit and before the user's own (DESIGN.md: limit -> auth -> router).
        let mut inner = self.inner;
        if let Some(auth) = crate::middleware::JwtLayer::from_config(&self.config)? {
            inner.push_outermost(auth);
        }
        let parts = GrpcParts {
            routes: routes.build(),
            table: table.clone(),
            front: self.front,
            inner,
            builtin_through_user: self.builtin_through_user,
            tls: Tls::from_config(&self.config.server.grpc.tls, "server.grpc")?,
            gateway,
        };
        let admin_tls = Tls::from_config(&self.config.server.admin.tls, "server.admin")?;
        let serve = self
            .serve
            .unwrap_or_else(|| serve_fn(DefaultLayers::into_stack));
        Ok(App {
            config: self.config,
            telemetry,
            grpc: Some((parts, serve)),
            admin_tls,
            openapi,
            health,
            services: self.services,
            registrar,
            hooks: self.hooks,
            shutdown: tokio_util::sync::CancellationToken::new(),
        })
    }
}

/// Every method `server.grpc.timeouts` names must be one the App serves: a typo would silently
/// leave the method without its cap.
fn check_timeouts(config: &Config, table: &MethodTable) -> Result<(), BuildError> {
    for name in config.server.grpc.timeouts.keys() {
        if !table.methods().iter().any(|m| m.name == name.as_str()) {
            return Err(BuildError::new(format!(
                "server.grpc.timeouts.\"{name}\": the App serves no such method; name one of \
                 its methods as package.Service/Method: {}",
                served(table, false).join(", ")
            )));
        }
    }
    Ok(())
}

/// Every method `[auth.jwt]` names (public or with scopes) must be one the App serves, health
/// and reflection included (they are always public, so naming them is harmless).
fn check_auth_methods(config: &Config, table: &MethodTable) -> Result<(), BuildError> {
    let jwt: crate::middleware::auth::JwtConfig = config.section("auth.jwt")?;
    // Without a key source there is no auth layer, and building it says so.
    if !jwt.is_enabled() || (jwt.public_methods.is_empty() && jwt.scopes.is_empty()) {
        return Ok(());
    }
    crate::middleware::auth::Rules::check_served(&jwt, &served(table, true))
}

/// The `pkg.Service/Method` names of the methods the App serves; with `builtin`, health's and
/// reflection's too.
fn served(table: &MethodTable, builtin: bool) -> Vec<&'static str> {
    table
        .methods()
        .iter()
        .filter(|m| (builtin || !m.builtin) && m.kind != crate::middleware::RpcKind::Unknown)
        .map(|m| m.name)
        .collect()
}

/// The name a tonic service is served under.
fn name_of<S: NamedService>(_service: &S) -> &'static str {
    S::NAME
}
