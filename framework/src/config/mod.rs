//! Configuration: built-in defaults <- `config/config.toml` (or `--config PATH`) <- environment.
//!
//! Environment variables are `BIA_<SECTION>__<KEY>` (for example
//! `BIA_SERVER__GRPC__ADDR=127.0.0.1:9000`, lists as `BIA_REGISTRY__ETCD__ENDPOINTS='["http://127.0.0.1:2379"]'`).
//! The standard OpenTelemetry variables `OTEL_SERVICE_NAME`, `OTEL_EXPORTER_OTLP_ENDPOINT`,
//! `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG` win over the file, as with every other OTel SDK.
//!
//! ```
//! let config = bia::Config::builder("my-service")
//!     .toml("[server.grpc]\naddr = \"127.0.0.1:7000\"")
//!     .env(false)
//!     .build()
//!     .unwrap();
//! assert_eq!(config.app.name, "my-service");
//! assert_eq!(config.server.grpc.addr.port(), 7000);
//! ```

mod error;
mod otel_env;
mod sections;

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::de::DeserializeOwned;

pub use error::ConfigError;
pub use sections::{
    AdminServerConfig, AppConfig, BreakerConfig, ClientConfig, ClientTlsConfig, CorsConfig,
    EtcdConfig, GatewayConfig, GrpcServerConfig, LogConfig, LogFormat, OtlpConfig, RateLimitConfig,
    RegistryConfig, RetryConfig, ServerConfig, ServerTlsConfig, SheddingConfig, Target,
    TelemetryConfig,
};

/// The file read when no `--config PATH` is given (relative to the working directory).
pub const DEFAULT_CONFIG_FILE: &str = "config/config.toml";

/// A service's whole configuration: the typed framework sections plus the merged sources, from
/// which a service extracts its own sections.
#[derive(Clone, Debug)]
pub struct Config {
    /// `[app]`.
    pub app: AppConfig,
    /// `[server]`.
    pub server: ServerConfig,
    /// `[telemetry]`.
    pub telemetry: TelemetryConfig,
    /// `[log]`.
    pub log: LogConfig,
    /// `[registry]`.
    pub registry: RegistryConfig,
    figment: Figment,
}

impl Config {
    /// Loads the configuration of a binary: defaults, then the file named by `--config PATH` (or
    /// `--config=PATH`) on the command line or else `config/config.toml` if it exists, then the
    /// environment. `default_name` is the service name unless configured: pass
    /// `env!("CARGO_PKG_NAME")`.
    pub fn load(default_name: &str) -> Result<Self, ConfigError> {
        Self::load_with_defaults(default_name, "", "")
    }

    /// [`Config::load`] with the service's version (`app.version` unless configured: pass
    /// `env!("CARGO_PKG_VERSION")`) and its own defaults (TOML, usually
    /// `include_str!("../config/config.toml")`) between the built-in defaults and the file, so
    /// the binary runs with its own ports from any working directory.
    pub fn load_with_defaults(
        default_name: &str,
        default_version: &str,
        defaults_toml: &str,
    ) -> Result<Self, ConfigError> {
        let mut builder = Self::builder(default_name)
            .default_version(default_version)
            .defaults(defaults_toml);
        match config_path_from_args(std::env::args())? {
            Some(path) => builder = builder.file(path),
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => {
                builder = builder.file(DEFAULT_CONFIG_FILE)
            }
            None => {}
        }
        builder.build()
    }

    /// A builder to choose the sources by hand (tests, tools).
    pub fn builder(default_name: &str) -> ConfigBuilder {
        ConfigBuilder {
            default_name: default_name.to_owned(),
            default_version: String::new(),
            files: Vec::new(),
            figment: Figment::new(),
            env: true,
        }
    }

    /// Extracts a service's own section, e.g. `config.section::<DatabaseConfig>("database")`.
    /// A missing section gives `T::default()`; a bad value names the key and its source.
    pub fn section<T: DeserializeOwned + Default>(&self, key: &str) -> Result<T, ConfigError> {
        if self.figment.find_value(key).is_err() {
            return Ok(T::default());
        }
        self.figment
            .extract_inner(key)
            .map_err(|e| ConfigError::from_figment(e, &self.figment, key))
    }

    /// The configuration of the downstream called `name` (`[clients.<name>]`).
    pub fn client(&self, name: &str) -> Result<ClientConfig, ConfigError> {
        let config: ClientConfig = self.section(&format!("clients.{name}"))?;
        if config.target == Target::Unset {
            return Err(ConfigError::message(format!(
                "no target for client `{name}`: set clients.{name}.target in the config file \
                 or BIA_CLIENTS__{}__TARGET, e.g. \"http://127.0.0.1:9000\"",
                name.to_ascii_uppercase()
            )));
        }
        Ok(config)
    }

    /// The merged sources, for anything the typed accessors do not cover.
    pub fn figment(&self) -> &Figment {
        &self.figment
    }
}

/// Chooses the sources of a [`Config`].
#[derive(Debug)]
pub struct ConfigBuilder {
    default_name: String,
    default_version: String,
    files: Vec<PathBuf>,
    figment: Figment,
    env: bool,
}

impl ConfigBuilder {
    /// The service version unless configured (`app.version`), e.g. `env!("CARGO_PKG_VERSION")`.
    pub fn default_version(mut self, version: &str) -> Self {
        self.default_version = version.to_owned();
        self
    }

    /// Adds embedded TOML defaults (a service's own `config/config.toml`, compiled in).
    pub fn defaults(mut self, toml: &str) -> Self {
        if !toml.trim().is_empty() {
            self.figment = self.figment.merge(Toml::string(toml));
        }
        self
    }

    /// Adds a TOML file; it must exist.
    pub fn file(mut self, path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        self.figment = self.figment.merge(Toml::file_exact(&path));
        self.files.push(path);
        self
    }

    /// Adds TOML text (later sources win).
    pub fn toml(mut self, text: &str) -> Self {
        self.figment = self.figment.merge(Toml::string(text));
        self
    }

    /// Sets one key, e.g. `.set("server.grpc.addr", "127.0.0.1:0")`.
    pub fn set(mut self, key: &str, value: impl serde::Serialize) -> Self {
        self.figment = self.figment.merge(Serialized::default(key, value));
        self
    }

    /// Whether `BIA_*` and `OTEL_*` environment variables are read (default: yes).
    pub fn env(mut self, read: bool) -> Self {
        self.env = read;
        self
    }

    /// Merges the sources and checks every framework section.
    pub fn build(self) -> Result<Config, ConfigError> {
        for file in &self.files {
            if !file.exists() {
                return Err(ConfigError::message(format!(
                    "config file {} does not exist: pass an existing file with --config PATH \
                     or create it",
                    file.display()
                )));
            }
        }
        let defaults = Figment::new()
            .merge(Serialized::default("app", AppConfig::default()))
            .merge(Serialized::default("app.name", &self.default_name))
            .merge(Serialized::default("app.version", &self.default_version))
            .merge(Serialized::default("server", ServerConfig::default()))
            .merge(Serialized::default("telemetry", TelemetryConfig::default()))
            .merge(Serialized::default("log", LogConfig::default()))
            .merge(Serialized::default("registry", RegistryConfig::default()));
        let mut figment = defaults.merge(self.figment);
        if self.env {
            figment = figment
                .merge(Env::prefixed("BIA_").split("__"))
                .merge(otel_env::OtelEnv::from_process());
        }
        fn extract<T: DeserializeOwned>(figment: &Figment, key: &str) -> Result<T, ConfigError> {
            figment
                .extract_inner(key)
                .map_err(|e| ConfigError::from_figment(e, figment, key))
        }
        let config = Config {
            app: extract(&figment, "app")?,
            server: extract(&figment, "server")?,
            telemetry: extract(&figment, "telemetry")?,
            log: extract(&figment, "log")?,
            registry: extract(&figment, "registry")?,
            figment: figment.clone(),
        };
        config.validate()?;
        Ok(config)
    }
}

impl Config {
    fn validate(&self) -> Result<(), ConfigError> {
        let ratio = self.telemetry.sampler_ratio;
        if !(0.0..=1.0).contains(&ratio) {
            return Err(ConfigError::invalid(
                &self.figment,
                "telemetry.sampler_ratio",
                "must be between 0.0 and 1.0",
            ));
        }
        if self.app.name.trim().is_empty() {
            return Err(ConfigError::invalid(
                &self.figment,
                "app.name",
                "must not be empty",
            ));
        }
        if self.server.grpc.max_message_bytes == 0 {
            return Err(ConfigError::invalid(
                &self.figment,
                "server.grpc.max_message_bytes",
                "must be greater than 0",
            ));
        }
        Ok(())
    }
}

/// Finds `--config PATH` or `--config=PATH` among the arguments.
fn config_path_from_args(
    args: impl IntoIterator<Item = String>,
) -> Result<Option<PathBuf>, ConfigError> {
    let mut args = args.into_iter().skip(1);
    while let Some(arg) = args.next() {
        if let Some(path) = arg.strip_prefix("--config=") {
            return Ok(Some(PathBuf::from(path)));
        }
        if arg == "--config" {
            return match args.next() {
                Some(path) => Ok(Some(PathBuf::from(path))),
                None => Err(ConfigError::message(
                    "--config needs a path, e.g. --config config/config.toml".to_owned(),
                )),
            };
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests;
