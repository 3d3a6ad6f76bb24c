//! This service's own configuration (what Kratos keeps in `internal/conf`): the `[service]`
//! section of `config/config.toml`, read through the same sources as the framework's keys, so
//! `BIA_SERVICE__<KEY>` overrides it too.

use serde::Deserialize;

/// The key of this service's section in the configuration.
pub const SECTION: &str = "service";

/// The `[service]` section. A missing section or key takes its default; an unknown key is an
/// error that names it.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceConfig {
    /// The `[clients.<name>]` entry to reach user-service with (`"user"`).
    pub user_client: String,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            user_client: "user".to_owned(),
        }
    }
}

impl ServiceConfig {
    /// Reads the section from `config`; a bad value names the key and where it came from.
    pub fn load(config: &bia::Config) -> Result<Self, bia::config::ConfigError> {
        config.section(SECTION)
    }
}
