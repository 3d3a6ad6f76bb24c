//! Service registration and discovery: small traits, backends beside them.
//!
//! An App registers itself through a [`Registrar`] after its servers start and deregisters before
//! it drains; clients watch a service's endpoints through a [`Discovery`].

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use futures_util::StreamExt;
use futures_util::stream::BoxStream;

use serde::{Deserialize, Serialize};

use crate::error::BoxError;

#[cfg(feature = "etcd")]
pub mod etcd;

/// One running instance of a service, as a registry publishes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceInstance {
    /// Unique per process: two instances on one host are two entries.
    pub id: String,
    /// The service name (`app.name`).
    pub name: String,
    /// The service version.
    pub version: String,
    /// Where it is reached, e.g. `http://10.0.0.5:9000`.
    pub endpoints: Vec<String>,
    /// Free-form labels (`app.metadata`).
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
}

/// A boxed future, for object-safe async traits.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Publishes an instance so others can find it.
pub trait Registrar: Send + Sync + 'static {
    /// Makes `instance` visible (and keeps it visible until deregistered).
    fn register<'a>(&'a self, instance: &'a ServiceInstance)
    -> BoxFuture<'a, Result<(), BoxError>>;
    /// Removes `instance`.
    fn deregister<'a>(
        &'a self,
        instance: &'a ServiceInstance,
    ) -> BoxFuture<'a, Result<(), BoxError>>;
}

/// A registrar that publishes nothing: the default when no registry is configured.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoRegistry;

impl Registrar for NoRegistry {
    fn register<'a>(&'a self, _: &'a ServiceInstance) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async { Ok(()) })
    }

    fn deregister<'a>(&'a self, _: &'a ServiceInstance) -> BoxFuture<'a, Result<(), BoxError>> {
        Box::pin(async { Ok(()) })
    }
}

/// The instances of a service, as they change: each item is the whole current set.
pub type InstanceStream = BoxStream<'static, Result<Vec<ServiceInstance>, BoxError>>;

/// Finds the instances of a service and follows their changes.
///
/// An implementation keeps trying when its backend is unreachable: it may yield an error (the
/// client then keeps its last known instances) and carries on with fresh sets once it recovers.
pub trait Discovery: Send + Sync + 'static {
    /// Follows the instances of `service`.
    fn watch(&self, service: &str) -> InstanceStream;
}

/// Discovery over a fixed list of addresses (`http://host:port`).
#[derive(Clone, Debug, Default)]
pub struct StaticDiscovery {
    endpoints: Vec<String>,
}

impl StaticDiscovery {
    /// A discovery that always answers `endpoints`.
    pub fn new(endpoints: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            endpoints: endpoints.into_iter().map(Into::into).collect(),
        }
    }
}

impl Discovery for StaticDiscovery {
    fn watch(&self, service: &str) -> InstanceStream {
        let instances = self
            .endpoints
            .iter()
            .map(|endpoint| ServiceInstance {
                id: endpoint.clone(),
                name: service.to_owned(),
                version: String::new(),
                endpoints: vec![endpoint.clone()],
                metadata: BTreeMap::new(),
            })
            .collect();
        // One set, then no end: a static list never changes.
        Box::pin(
            futures_util::stream::once(async move { Ok(instances) })
                .chain(futures_util::stream::pending()),
        )
    }
}

/// The registry key of an instance: `/bia/services/<name>/<id>`.
pub fn instance_key(name: &str, id: &str) -> String {
    format!("{}{id}", service_prefix(name))
}

/// The registry prefix of a service's instances: `/bia/services/<name>/`.
pub fn service_prefix(name: &str) -> String {
    format!("/bia/services/{name}/")
}

/// The registry `[registry]` configures, as a registrar and a discovery (one backend serves both).
pub(crate) struct ConfiguredRegistry {
    pub(crate) registrar: std::sync::Arc<dyn Registrar>,
    pub(crate) discovery: std::sync::Arc<dyn Discovery>,
}

/// The backend `[registry]` asks for, or `None` when no registry is configured.
pub(crate) fn configured(
    config: &crate::config::Config,
) -> Result<Option<ConfiguredRegistry>, crate::BuildError> {
    match &config.registry.etcd {
        #[cfg(feature = "etcd")]
        Some(settings) => {
            let registry = std::sync::Arc::new(etcd::EtcdRegistry::new(settings.clone()));
            Ok(Some(ConfiguredRegistry {
                registrar: registry.clone(),
                discovery: registry,
            }))
        }
        #[cfg(not(feature = "etcd"))]
        Some(_) => Err(crate::BuildError::new(
            "registry.etcd is set, but bia was built without its `etcd` feature: \
             enable it with bia = { features = [\"etcd\"] }",
        )),
        None => Ok(None),
    }
}
