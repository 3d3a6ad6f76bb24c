//! What can go wrong, and how each failure crosses the wire.

use bia::error::FieldViolation;

/// The `google.rpc.ErrorInfo` domain of this service's errors.
pub const DOMAIN: &str = "recommendation-service";

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

    /// The machine-readable reason sent in `google.rpc.ErrorInfo`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "INVALID_RECOMMENDATION_REQUEST",
            Self::UserNotFound(_) => "USER_NOT_FOUND",
            Self::UserServiceUnavailable(_) => "USER_SERVICE_UNAVAILABLE",
        }
    }
}

impl From<Error> for bia::Error {
    fn from(err: Error) -> Self {
        let reason = err.reason();
        let message = err.to_string();
        let converted = match err {
            Error::Invalid(violations) => {
                bia::Error::invalid_argument(reason, message).with_field_violations(violations)
            }
            Error::UserNotFound(id) => {
                bia::Error::not_found(reason, message).with_metadata("user_id", id)
            }
            Error::UserServiceUnavailable(_) => bia::Error::unavailable(reason, message),
        };
        converted.with_domain(DOMAIN)
    }
}

impl From<Error> for tonic::Status {
    fn from(err: Error) -> Self {
        bia::Error::from(err).into()
    }
}
