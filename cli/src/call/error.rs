//! What can make `bia call` fail, each with a message that says what to do about it.

use std::path::PathBuf;

/// A failed `bia call`.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The command line is wrong (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// The server could not be reached.
    #[error("cannot connect to {target}: {reason}\nhint: {hint}")]
    Connect {
        /// The address tried.
        target: String,
        /// What the transport said, with its causes.
        reason: String,
        /// What to check.
        hint: &'static str,
    },
    /// Reflection is missing or answered something unusable.
    #[error("{0}")]
    Reflection(String),
    /// A symbol, service or method that the descriptors do not have.
    #[error("{0}")]
    NotFound(String),
    /// The descriptors could not be built or a message could not be decoded.
    #[error("{0}")]
    Descriptor(String),
    /// The request JSON does not fit the method's input message.
    #[error("{0}")]
    Input(String),
    /// A file given on the command line could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The call ended with a status other than OK; `rendered` holds its code, message and
    /// decoded details.
    #[error("{rendered}")]
    Status {
        /// The status code.
        code: tonic::Code,
        /// The status as printed.
        rendered: String,
    },
}

impl CallError {
    /// The exit code: 2 for a wrong command line, 64 + the gRPC code for an error status (as
    /// grpcurl does, so scripts can tell NOT_FOUND from UNAVAILABLE), 1 for anything else.
    pub fn exit_code(&self) -> u8 {
        match self {
            CallError::Usage(_) => 2,
            CallError::Status { code, .. } => 64 + *code as u8,
            _ => 1,
        }
    }

    pub(crate) fn usage(message: impl Into<String>) -> Self {
        CallError::Usage(message.into())
    }
}

/// The result type of `bia call`.
pub(crate) type Result<T, E = CallError> = std::result::Result<T, E>;
