//! This service's own configuration (what Kratos keeps in `internal/conf`): the `[service]`
//! section of `config/config.toml`, read through the same sources as the framework's keys, so
//! `BIA_SERVICE__GREETER__GREETING=Hi` overrides it too.
//!
//! Add a field to [`ServiceConfig`] for each setting the service needs; `crate::app` reads the
//! section once and hands it to `data` and `biz`.

use serde::Deserialize;

/// The key of this service's section in the configuration.
pub const SECTION: &str = "service";

/// The `[service]` section. A missing section or key takes its default; an unknown key is an
/// error that names it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceConfig {
    /// `[service.greeter]`.
    pub greeter: GreetingConfig,
}

impl ServiceConfig {
    /// Reads the section from `config`; a bad value names the key and where it came from.
    pub fn load(config: &bia::Config) -> Result<Self, bia::config::ConfigError> {
        config.section(SECTION)
    }
}

/// How the greeter greets.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GreetingConfig {
    /// The word before the name (`"Hello"` gives `Hello, Ada!`).
    pub greeting: String,
    /// The most greetings one call streams.
    pub max_greetings: u32,
}

impl Default for GreetingConfig {
    fn default() -> Self {
        Self {
            greeting: "Hello".to_owned(),
            max_greetings: 100,
        }
    }
}
