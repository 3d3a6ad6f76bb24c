//! This service's own configuration (what Kratos keeps in `internal/conf`), read through the
//! same sources as the framework's keys: the `[database]` section of `config/config.toml`,
//! overridden with `BIA_DATABASE__<KEY>`.

use std::time::Duration;

use serde::Deserialize;

/// The sections of this service's own configuration.
#[derive(Debug, Clone, Default)]
pub struct ServiceConfig {
    /// `[database]`.
    pub database: DatabaseConfig,
}

impl ServiceConfig {
    /// Reads the sections from `config`; a bad value names the key and where it came from.
    pub fn load(config: &bia::Config) -> Result<Self, bia::config::ConfigError> {
        Ok(Self {
            database: config.section("database")?,
        })
    }
}

/// `[database]`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// A SQLite URL, e.g. `sqlite://data/users.db?mode=rwc` (relative to the working directory);
    /// with `mode=rwc` the file and its folder are created when missing.
    pub url: String,
    /// The most connections the pool opens.
    pub max_connections: u32,
    /// How long a statement waits for another connection's (or process's) write lock.
    #[serde(with = "humantime_serde")]
    pub busy_timeout: Duration,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://data/users.db?mode=rwc".to_owned(),
            max_connections: 8,
            busy_timeout: Duration::from_secs(5),
        }
    }
}
