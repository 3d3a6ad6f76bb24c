//! Service registration and discovery: small traits, backends beside them.
//!
//! An App registers itself through a [`Registrar`] after its servers start and deregisters before
//! it drains; clients watch a service's endpoints through a [`Discovery`].

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};

use crate::error::BoxError;

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
