//! What can go wrong, and how each failure crosses the wire.
//!
//! The reasons are the proto's `ErrorReason` (proto/recommendation/v1/recommendation.proto), whose
//! generated `error(message)` sets the code, the reason and the domain.

use bia::error::FieldViolation;

use crate::pb::recommendation::v1::ErrorReason;

/// The `google.rpc.ErrorInfo` domain of this service's errors, as the proto declares it.
pub const DOMAIN: &str = ErrorReason::DOMAIN;

/// A failure of a recommendation operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request or an event is invalid: INVALID_ARGUMENT with a `google.rpc.BadRequest`.
    #[error("invalid request: {}", .0.iter().map(|v| format!("{} {}", v.field, v.description)).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldViolation>),
    /// The user service knows no such user: NOT_FOUND with reason `USER_NOT_FOUND`.
    #[error("user {0:?} not found")]
    UserNotFound(String),
    /// The user service could not answer: UNAVAILABLE, worth retrying later.
    #[error("cannot check the user: the user service failed ({0})")]
    UserServiceUnavailable(String),
}

impl Error {
    /// An invalid request with one violation.
    pub fn invalid(field: &'static str, description: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldViolation::new(field, description)])
    }

    /// The reason sent in `google.rpc.ErrorInfo`.
    pub fn reason(&self) -> ErrorReason {
        match self {
            Self::Invalid(_) => ErrorReason::InvalidRecommendationRequest,
            Self::UserNotFound(_) => ErrorReason::UserNotFound,
            Self::UserServiceUnavailable(_) => ErrorReason::UserServiceUnavailable,
        }
    }
}

impl From<Error> for bia::Error {
    fn from(err: Error) -> Self {
        // The code, the reason and the domain come from the proto's ErrorReason.
        let converted = err.reason().error(err.to_string());
        match err {
            Error::Invalid(violations) => converted.with_field_violations(violations),
            Error::UserNotFound(id) => converted.with_metadata("user_id", id),
            Error::UserServiceUnavailable(_) => converted,
        }
    }
}

impl From<Error> for tonic::Status {
    fn from(err: Error) -> Self {
        bia::Error::from(err).into()
    }
}
