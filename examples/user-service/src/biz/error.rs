//! What can go wrong, and how each failure crosses the wire.

use bia::error::FieldViolation;

/// The `google.rpc.ErrorInfo` domain of this service's errors.
pub const DOMAIN: &str = "user-service";

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

    /// The machine-readable reason sent in `google.rpc.ErrorInfo`.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "INVALID_USER_REQUEST",
            Self::EmailTaken(_) => "EMAIL_ALREADY_EXISTS",
            Self::NotFound(_) => "USER_NOT_FOUND",
            Self::InvalidPageToken => "INVALID_PAGE_TOKEN",
            Self::Storage(_) => "STORAGE_FAILURE",
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
            Error::EmailTaken(email) => {
                bia::Error::already_exists(reason, message).with_metadata("email", shown(&email))
            }
            Error::NotFound(id) => {
                bia::Error::not_found(reason, message).with_metadata("id", shown(&id))
            }
            Error::InvalidPageToken => bia::Error::invalid_argument(reason, message)
                .with_field_violation("page_token", "not a token this service issued"),
            Error::Storage(source) => {
                // The cause stays in the log (with the call's trace_id); the client learns only
                // that the call failed.
                tracing::error!(error = %source, "the user store failed");
                bia::Error::internal(reason, message)
            }
        };
        converted.with_domain(DOMAIN)
    }
}

impl From<Error> for tonic::Status {
    fn from(err: Error) -> Self {
        bia::Error::from(err).into()
    }
}

/// At most the first 64 characters of a client's input, marked when cut: an error names what the
/// client sent without sending a huge input back (the framework bounds trailers too).
fn shown(input: &str) -> std::borrow::Cow<'_, str> {
    const MAX: usize = 64;
    match input.char_indices().nth(MAX) {
        None => input.into(),
        Some((end, _)) => format!("{}... ({} bytes)", &input[..end], input.len()).into(),
    }
}
