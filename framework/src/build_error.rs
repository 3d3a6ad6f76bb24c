//! Why an App, its telemetry or a client could not be built from its configuration.

use crate::config::ConfigError;
use crate::error::BoxError;

/// An App, its telemetry or a client could not be built; the message says what and how to fix
/// it, and the cause, when there is one, is its [`source`](std::error::Error::source).
///
/// ```
/// let config = bia::Config::builder("demo")
///     .env(false)
///     .toml("[clients.user]\ntarget = \"discovery:///\"\n")
///     .build()
///     .unwrap();
/// let telemetry = bia::Telemetry::new(&config).unwrap();
/// let err = bia::client::Channel::from_config(&config, "user", &telemetry).unwrap_err();
/// assert!(err.to_string().starts_with("clients.user:"), "{err}");
/// ```
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct BuildError(Repr);

#[derive(Debug, thiserror::Error)]
enum Repr {
    #[error(transparent)]
    Config(ConfigError),
    #[error("{message}")]
    Other {
        message: String,
        #[source]
        source: Option<BoxError>,
    },
}

impl BuildError {
    /// An error with nothing underneath.
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self(Repr::Other {
            message: message.into(),
            source: None,
        })
    }

    /// An error caused by `source`.
    pub(crate) fn caused_by(message: impl Into<String>, source: impl Into<BoxError>) -> Self {
        Self(Repr::Other {
            message: message.into(),
            source: Some(source.into()),
        })
    }

    /// The same error, said of `what` (e.g. `clients.user`).
    pub(crate) fn of(self, what: &str) -> Self {
        match self.0 {
            Repr::Config(error) => Self::caused_by(format!("{what}: {error}"), error),
            Repr::Other { message, source } => Self(Repr::Other {
                message: format!("{what}: {message}"),
                source,
            }),
        }
    }

    /// The configuration error behind this one, if that is what it is.
    pub fn config_error(&self) -> Option<&ConfigError> {
        match &self.0 {
            Repr::Config(error) => Some(error),
            Repr::Other { .. } => None,
        }
    }
}

impl From<ConfigError> for BuildError {
    fn from(error: ConfigError) -> Self {
        Self(Repr::Config(error))
    }
}
