//! What can go wrong, and how each failure crosses the wire.
//!
//! The reasons are the proto's `ErrorReason` (proto/user/v1/user.proto): bia-build generates
//! `ErrorReason::X.error(message)`, which sets the code, the reason and the domain that the
//! proto declares, and the `is_x(&status)` checks that clients use.

use bia::error::FieldViolation;

use crate::pb::user::v1::ErrorReason;

/// The `google.rpc.ErrorInfo` domain of this service's errors, as the proto declares it.
pub const DOMAIN: &str = ErrorReason::DOMAIN;

/// A failure of a user operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is invalid: INVALID_ARGUMENT with a `google.rpc.BadRequest`.
    #[error("invalid request: {}", .0.iter().map(|v| format!("{} {}", v.field, v.description)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldViolation>),
    /// Another user has this email: ALREADY_EXISTS.
    #[error("a user with email {:?} already exists", shown(.0))]
    EmailTaken(String),
    /// No user has this id: NOT_FOUND with reason `USER_NOT_FOUND`.
    #[error("user {:?} not found", shown(.0))]
    NotFound(String),
    /// The page token is not one this service issued: INVALID_ARGUMENT.
    #[error("the page token is not valid: pass the next_page_token of a previous ListUsers answer")]
    InvalidPageToken,
    /// The storage failed: INTERNAL (details are logged, not sent).
    #[error("the user store failed")]
    Storage(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    /// A storage failure.
    pub fn storage(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Storage(source.into())
    }

    /// The reason sent in `google.rpc.ErrorInfo`.
    pub fn reason(&self) -> ErrorReason {
        match self {
            Self::Invalid(_) => ErrorReason::InvalidUserRequest,
            Self::EmailTaken(_) => ErrorReason::EmailAlreadyExists,
            Self::NotFound(_) => ErrorReason::UserNotFound,
            Self::InvalidPageToken => ErrorReason::InvalidPageToken,
            Self::Storage(_) => ErrorReason::StorageFailure,
        }
    }
}

impl From<Error> for bia::Error {
    fn from(err: Error) -> Self {
        // The code, the reason and the domain come from the proto's ErrorReason.
        let converted = err.reason().error(err.to_string());
        match err {
            Error::Invalid(violations) => converted.with_field_violations(violations),
            Error::EmailTaken(email) => converted.with_metadata("email", shown(&email)),
            Error::NotFound(id) => converted.with_metadata("id", shown(&id)),
            Error::InvalidPageToken => {
                converted.with_field_violation("page_token", "not a token this service issued")
            }
            Error::Storage(source) => {
                // The cause stays in the log (with the call's trace_id); the client learns only
                // that the call failed.
                tracing::error!(error = %source, "the user store failed");
                converted
            }
        }
    }
}

impl From<Error> for tonic::Status {
    fn from(err: Error) -> Self {
        bia::Error::from(err).into()
    }
}

/// At most the first 64 characters of a client's input, marked when cut: an error names what the
/// client sent without sending a huge input back (the framework bounds trailers too).
pub(super) fn shown(input: &str) -> std::borrow::Cow<'_, str> {
    const MAX: usize = 64;
    match input.char_indices().nth(MAX) {
        None => input.into(),
        Some((end, _)) => format!("{}... ({} bytes)", &input[..end], input.len()).into(),
    }
}
