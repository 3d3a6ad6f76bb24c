//! What can go wrong in an App's start and stop, each error with its cause kept.

use std::fmt;
use std::net::SocketAddr;

use crate::error::BoxError;

/// One thing that went wrong in an App's start or stop; its cause is its [`source`].
///
/// [`source`]: std::error::Error::source
#[derive(Debug, thiserror::Error)]
#[error("{kind}")]
pub struct LifecycleError {
    kind: Kind,
    #[source]
    source: Option<BoxError>,
}

#[derive(Debug)]
enum Kind {
    Hook {
        stage: &'static str,
        index: usize,
    },
    Bind {
        what: &'static str,
        addr: SocketAddr,
        key: &'static str,
    },
    LocalAddr,
    Register {
        instance: String,
    },
    Deregister {
        instance: String,
    },
    ServerTask,
    LingeringConnections,
    Lifecycle,
    StoppedDuringStart,
    Flush,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Hook { stage, index } => write!(f, "{stage} hook #{index} failed"),
            Kind::Bind { what, addr, key } => write!(
                f,
                "cannot listen for {what} on {addr}; choose another address with {key} (env BIA_{})",
                key.to_ascii_uppercase().replace('.', "__")
            ),
            Kind::LocalAddr => f.write_str("cannot read the gRPC server's bound address"),
            Kind::Register { instance } => write!(f, "registering {instance} failed"),
            Kind::Deregister { instance } => write!(f, "deregistering {instance} failed"),
            Kind::ServerTask => f.write_str("the gRPC server task failed"),
            Kind::LingeringConnections => {
                f.write_str("connections stayed open after their calls were cut")
            }
            Kind::Lifecycle => f.write_str("the App's lifecycle task failed"),
            Kind::StoppedDuringStart => f.write_str("the App stopped during its start"),
            Kind::Flush => f.write_str("flushing telemetry failed"),
        }
    }
}

impl LifecycleError {
    fn new(kind: Kind, source: Option<BoxError>) -> Self {
        Self { kind, source }
    }

    pub(crate) fn hook(stage: &'static str, index: usize, source: BoxError) -> Self {
        Self::new(Kind::Hook { stage, index }, Some(source))
    }

    pub(crate) fn bind(
        what: &'static str,
        addr: SocketAddr,
        key: &'static str,
        source: std::io::Error,
    ) -> Self {
        Self::new(Kind::Bind { what, addr, key }, Some(source.into()))
    }

    pub(crate) fn local_addr(source: std::io::Error) -> Self {
        Self::new(Kind::LocalAddr, Some(source.into()))
    }

    pub(crate) fn register(instance: &str, source: BoxError) -> Self {
        let instance = instance.to_owned();
        Self::new(Kind::Register { instance }, Some(source))
    }

    pub(crate) fn deregister(instance: &str, source: BoxError) -> Self {
        let instance = instance.to_owned();
        Self::new(Kind::Deregister { instance }, Some(source))
    }

    pub(crate) fn server_task(source: tokio::task::JoinError) -> Self {
        Self::new(Kind::ServerTask, Some(source.into()))
    }

    pub(crate) fn lingering_connections() -> Self {
        Self::new(Kind::LingeringConnections, None)
    }

    pub(crate) fn lifecycle(source: tokio::task::JoinError) -> Self {
        Self::new(Kind::Lifecycle, Some(source.into()))
    }

    pub(crate) fn stopped_during_start() -> Self {
        Self::new(Kind::StoppedDuringStart, None)
    }

    pub(crate) fn flush(source: BoxError) -> Self {
        Self::new(Kind::Flush, Some(source))
    }

    /// Whether this is a lifecycle hook's error.
    pub fn is_hook(&self) -> bool {
        matches!(self.kind, Kind::Hook { .. })
    }
}

/// Everything that went wrong in an App's start or stop, not only the last thing.
#[derive(Debug, Default)]
pub struct AppError {
    errors: Vec<LifecycleError>,
}

impl AppError {
    pub(crate) fn push(&mut self, error: LifecycleError) {
        self.errors.push(error);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub(crate) fn into_result(self) -> Result<(), AppError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }

    /// Each error, in the order they happened.
    pub fn errors(&self) -> &[LifecycleError] {
        &self.errors
    }
}

impl From<LifecycleError> for AppError {
    fn from(error: LifecycleError) -> Self {
        Self {
            errors: vec![error],
        }
    }
}

/// One error with its causes, `error: cause: cause`.
fn write_chain(f: &mut fmt::Formatter<'_>, error: &LifecycleError) -> fmt::Result {
    write!(f, "{}", crate::error::Chain(error))
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errors.as_slice() {
            [one] => write_chain(f, one),
            many => {
                write!(f, "{} errors:", many.len())?;
                for error in many {
                    f.write_str("\n  - ")?;
                    write_chain(f, error)?;
                }
                Ok(())
            }
        }
    }
}

// Display already tells every error with its causes, so no `source` here: `bia::exit` would
// print the first cause twice.
impl std::error::Error for AppError {}
