//! Storage: the SQLite database and the [`UserStore`] that implements [`crate::biz::UserRepo`].

mod database;
mod users;

pub use database::{Database, OpenError};
pub use users::UserStore;

use crate::conf::ServiceConfig;

/// The service's storage, opened once at start by `crate::app`.
#[derive(Debug, Clone)]
pub struct Data {
    /// The database, open and migrated.
    pub database: Database,
}

impl Data {
    /// Opens (and migrates) the database that `conf` names.
    pub async fn new(conf: &ServiceConfig) -> Result<Self, OpenError> {
        Ok(Self {
            database: Database::connect(&conf.database).await?,
        })
    }
}
