//! Business errors that cross the wire as rich gRPC statuses.
//!
//! A [`Error`] carries what Kratos' errors carry (a code, a machine-readable reason, a message for
//! humans and metadata), with the gRPC code primary. Converting it into a [`tonic::Status`] attaches
//! a `google.rpc.ErrorInfo` (and a `google.rpc.BadRequest` when there are field violations), so any
//! gRPC client in any language can read the reason; converting a status back recovers them.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use tonic::Code;
use tonic_types::{ErrorDetails, StatusExt};

/// A boxed error for the edges of a program (`main`, hooks, builders).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An error and its causes on one line, `error: cause: cause`.
pub(crate) struct Chain<'a>(pub(crate) &'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

/// A business error: gRPC code, reason, message and metadata.
///
/// ```
/// let err = bia::Error::not_found("USER_NOT_FOUND", "user 42 does not exist")
///     .with_metadata("id", "42");
/// let status: tonic::Status = err.into();
/// assert_eq!(status.code(), tonic::Code::NotFound);
///
/// let back = bia::Error::from(status);
/// assert_eq!(back.reason(), "USER_NOT_FOUND");
/// assert_eq!(back.metadata().get("id").map(String::as_str), Some("42"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error(Box<Inner>);

/// Boxed, as tonic boxes `Status`, so `Result<T, bia::Error>` stays small.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Inner {
    code: Code,
    reason: String,
    message: String,
    domain: String,
    metadata: BTreeMap<String, String>,
    field_violations: Vec<FieldViolation>,
}

/// One invalid request field, sent as part of a `google.rpc.BadRequest`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldViolation {
    /// The path of the field, e.g. `email` or `user.address.city`.
    pub field: String,
    /// What is wrong with it and how to fix it.
    pub description: String,
}

impl FieldViolation {
    /// A violation of `field` (its path, e.g. `user.email`), with what is wrong and how to fix it.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

macro_rules! constructors {
    ($($(#[$doc:meta])* $name:ident => $code:ident;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(reason: impl Into<String>, message: impl Into<String>) -> Self {
                Self::new(Code::$code, reason, message)
            }
        )*
    };
}

impl Error {
    /// An error with the given gRPC code, reason (`UPPER_SNAKE_CASE`) and message.
    pub fn new(code: Code, reason: impl Into<String>, message: impl Into<String>) -> Self {
        Self(Box::new(Inner {
            code,
            reason: reason.into(),
            message: message.into(),
            domain: String::new(),
            metadata: BTreeMap::new(),
            field_violations: Vec::new(),
        }))
    }

    constructors! {
        /// `INVALID_ARGUMENT`: the request is wrong whatever the state of the system.
        invalid_argument => InvalidArgument;
        /// `NOT_FOUND`: the requested entity does not exist.
        not_found => NotFound;
        /// `ALREADY_EXISTS`: the entity a client tried to create exists already.
        already_exists => AlreadyExists;
        /// `FAILED_PRECONDITION`: the system is not in the state the operation needs.
        failed_precondition => FailedPrecondition;
        /// `PERMISSION_DENIED`: the caller may not do this.
        permission_denied => PermissionDenied;
        /// `UNAUTHENTICATED`: the caller did not prove who it is.
        unauthenticated => Unauthenticated;
        /// `RESOURCE_EXHAUSTED`: a quota or limit was reached.
        resource_exhausted => ResourceExhausted;
        /// `UNAVAILABLE`: try again later.
        unavailable => Unavailable;
        /// `INTERNAL`: a bug or a broken invariant.
        internal => Internal;
        /// `DEADLINE_EXCEEDED`: the operation did not finish in time.
        deadline_exceeded => DeadlineExceeded;
        /// `ABORTED`: a concurrency conflict (a failed transaction, a lost compare-and-set): retry
        /// the whole read-modify-write.
        aborted => Aborted;
        /// `UNIMPLEMENTED`: the operation is not supported (yet).
        unimplemented => Unimplemented;
        /// `CANCELLED`: the operation was cancelled, usually by the caller.
        cancelled => Cancelled;
        /// `DATA_LOSS`: unrecoverable data loss or corruption.
        data_loss => DataLoss;
        /// `OUT_OF_RANGE`: past the valid range (reading past the end, a page past the last).
        out_of_range => OutOfRange;
    }

    /// Adds one metadata entry (sent in the `ErrorInfo`).
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.0.metadata.insert(key.into(), value.into());
        self
    }

    /// Sets the `ErrorInfo` domain (usually the service's name).
    pub fn with_domain(mut self, domain: impl Into<String>) -> Self {
        self.0.domain = domain.into();
        self
    }

    /// Adds field violations (sent as `google.rpc.BadRequest`), e.g. all that a validation found.
    ///
    /// ```
    /// use bia::error::FieldViolation;
    ///
    /// let violations = [("email", "must contain @"), ("name", "must not be empty")]
    ///     .map(|(field, description)| FieldViolation::new(field, description));
    /// let err = bia::Error::invalid_argument("INVALID_USER", "the user is invalid")
    ///     .with_field_violations(violations);
    /// assert_eq!(err.field_violations().len(), 2);
    /// ```
    pub fn with_field_violations(
        mut self,
        violations: impl IntoIterator<Item = FieldViolation>,
    ) -> Self {
        self.0.field_violations.extend(violations);
        self
    }

    /// Adds a field violation (sent as `google.rpc.BadRequest`).
    pub fn with_field_violation(
        mut self,
        field: impl Into<String>,
        description: impl Into<String>,
    ) -> Self {
        self.0
            .field_violations
            .push(FieldViolation::new(field, description));
        self
    }

    /// The gRPC code.
    pub fn code(&self) -> Code {
        self.0.code
    }

    /// The machine-readable reason, e.g. `USER_NOT_FOUND`.
    pub fn reason(&self) -> &str {
        &self.0.reason
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// The `ErrorInfo` domain.
    pub fn domain(&self) -> &str {
        &self.0.domain
    }

    /// The metadata entries.
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.0.metadata
    }

    /// The field violations.
    pub fn field_violations(&self) -> &[FieldViolation] {
        &self.0.field_violations
    }

    /// Whether this error has the given reason, as Kratos' generated `IsXxx` helpers ask.
    pub fn is(&self, reason: &str) -> bool {
        self.0.reason == reason
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0.code)?;
        if !self.0.reason.is_empty() {
            write!(f, " ({})", self.0.reason)?;
        }
        write!(f, ": {}", self.0.message)
    }
}

impl std::error::Error for Error {}

impl From<Error> for tonic::Status {
    fn from(err: Error) -> Self {
        let err = *err.0;
        let mut details = ErrorDetails::new();
        if !err.reason.is_empty() {
            let metadata: std::collections::HashMap<String, String> =
                err.metadata.into_iter().collect();
            details.set_error_info(err.reason, err.domain, metadata);
        }
        for violation in err.field_violations {
            details.add_bad_request_violation(violation.field, violation.description);
        }
        tonic::Status::with_error_details(err.code, err.message, details)
    }
}

impl From<tonic::Status> for Error {
    fn from(status: tonic::Status) -> Self {
        let details = status.get_error_details();
        let mut err = Error::new(status.code(), "", status.message());
        if let Some(info) = details.error_info() {
            err.0.reason = info.reason.clone();
            err.0.domain = info.domain.clone();
            err.0.metadata = info
                .metadata
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
        }
        if let Some(bad_request) = details.bad_request() {
            err.0.field_violations = bad_request
                .field_violations
                .iter()
                .map(|v| FieldViolation::new(v.field.clone(), v.description.clone()))
                .collect();
        }
        err
    }
}

/// Something that may carry a `google.rpc.ErrorInfo`: a [`tonic::Status`] from a call, or an
/// [`Error`]. The error helpers that `bia-build` generates from a proto's error reason enum
/// (`is_user_not_found(&status)`, `ErrorReason::from_status(&status)`) take either.
pub trait ReasonSource {
    /// The `ErrorInfo` reason, if there is one and its domain is `domain`.
    fn reason_in(&self, domain: &str) -> Option<Cow<'_, str>>;
}

impl ReasonSource for tonic::Status {
    fn reason_in(&self, domain: &str) -> Option<Cow<'_, str>> {
        // Only the ErrorInfo is decoded, and only for statuses that have details.
        if self.details().is_empty() {
            return None;
        }
        let info = self.get_details_error_info()?;
        (info.domain == domain && !info.reason.is_empty()).then_some(Cow::Owned(info.reason))
    }
}

impl ReasonSource for Error {
    fn reason_in(&self, domain: &str) -> Option<Cow<'_, str>> {
        (self.0.domain == domain && !self.0.reason.is_empty())
            .then_some(Cow::Borrowed(self.0.reason.as_str()))
    }
}

/// Whether `err` carries the reason `reason` of the domain `domain` in its `google.rpc.ErrorInfo`.
///
/// ```
/// use bia::error::has_reason;
///
/// let status: tonic::Status = bia::Error::not_found("USER_NOT_FOUND", "no user 42")
///     .with_domain("user-service")
///     .into();
/// assert!(has_reason(&status, "user-service", "USER_NOT_FOUND"));
/// // The same reason from another service is another error.
/// assert!(!has_reason(&status, "recommendation-service", "USER_NOT_FOUND"));
/// ```
pub fn has_reason(err: &(impl ReasonSource + ?Sized), domain: &str, reason: &str) -> bool {
    err.reason_in(domain).is_some_and(|found| found == reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_status_with_details() {
        let err = Error::invalid_argument("INVALID_USER", "the user is invalid")
            .with_domain("user-service")
            .with_field_violation("email", "must contain @");
        let status = tonic::Status::from(err.clone());
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(status.message(), "the user is invalid");
        assert_eq!(Error::from(status), err);
    }

    #[test]
    fn a_plain_status_has_no_reason() {
        let err = Error::from(tonic::Status::unavailable("down"));
        assert_eq!(err.code(), Code::Unavailable);
        assert_eq!(err.reason(), "");
        assert_eq!(err.to_string(), "Unavailable: down");
    }

    #[test]
    fn reasons_are_found_only_in_their_domain() {
        let err = Error::not_found("USER_NOT_FOUND", "no user").with_domain("users");
        let status = tonic::Status::from(err.clone());
        for source in [&err as &dyn ReasonSource, &status] {
            assert_eq!(source.reason_in("users").as_deref(), Some("USER_NOT_FOUND"));
            assert_eq!(source.reason_in("orders"), None);
        }
        assert!(has_reason(&status, "users", "USER_NOT_FOUND"));
        assert!(!has_reason(&status, "users", "EMAIL_ALREADY_EXISTS"));
        assert!(!has_reason(&tonic::Status::not_found("plain"), "", ""));
        assert!(!has_reason(&Error::not_found("", "no reason"), "", ""));
    }
}
