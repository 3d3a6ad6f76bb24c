//! Storage: implementations of the repository traits that `biz` defines (a database, a cache,
//! another service through `bia::client`).

use crate::conf::ServiceConfig;

/// The service's storage, opened once at start by `crate::app`: add its connections and stores
/// here.
#[derive(Debug)]
pub struct Data {}

impl Data {
    /// Opens the storage that `conf` describes.
    pub fn new(_conf: &ServiceConfig) -> Result<Self, bia::BoxError> {
        Ok(Self {})
    }
}
