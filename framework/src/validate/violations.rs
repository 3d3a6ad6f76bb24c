//! The violations one validation found, and the INVALID_ARGUMENT status they become.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use tonic::Code;
use tonic_types::{ErrorDetails, FieldViolation, StatusExt};

use super::Path;

/// One broken rule: where, which rule (its protovalidate id) and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The field path, e.g. `user.emails[2]`; empty for a message-level rule.
    pub field: String,
    /// The rule's id as protovalidate names it: `string.min_len`, `required`, `message.oneof`.
    pub rule: Cow<'static, str>,
    /// What is wrong, for humans: `must be at least 3 characters`.
    pub message: Cow<'static, str>,
}

/// Every violation that one validation found, in the order the rules were checked.
///
/// Empty (and without an allocation) until a rule fails.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Violations {
    list: Vec<Violation>,
}

impl Violations {
    /// No violations yet.
    pub const fn new() -> Self {
        Self { list: Vec::new() }
    }

    /// Records that `rule` failed at `at`, with a fixed message (the generated code bakes the
    /// rule's values into it at build time).
    pub fn add(&mut self, at: &Path<'_>, rule: &'static str, message: &'static str) {
        self.push(at, Cow::Borrowed(rule), Cow::Borrowed(message));
    }

    /// Records a violation whose rule id or message is made at run time.
    pub fn push(
        &mut self,
        at: &Path<'_>,
        rule: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) {
        self.list.push(Violation {
            field: at.to_string(),
            rule: rule.into(),
            message: message.into(),
        });
    }

    /// Whether no rule failed.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// How many rules failed.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// The violations, in the order they were found.
    pub fn iter(&self) -> std::slice::Iter<'_, Violation> {
        self.list.iter()
    }

    /// The violations that a validating server reported in `status` (INVALID_ARGUMENT with a
    /// `google.rpc.BadRequest`), as a client reads them; `None` for any other status.
    ///
    /// ```
    /// # use bia::validate::{Path, Violations};
    /// let mut sent = Violations::new();
    /// sent.add(&Path::ROOT.field("name"), "string.min_len", "must be at least 3 characters");
    /// let status = tonic::Status::from(sent.clone());
    /// assert_eq!(Violations::from_status(&status), Some(sent));
    /// assert_eq!(Violations::from_status(&tonic::Status::not_found("x")), None);
    /// ```
    pub fn from_status(status: &tonic::Status) -> Option<Violations> {
        if status.code() != Code::InvalidArgument {
            return None;
        }
        let bad_request = status.get_details_bad_request()?;
        let list = bad_request
            .field_violations
            .into_iter()
            .map(|v| Violation {
                field: v.field,
                rule: Cow::Owned(v.reason),
                message: Cow::Owned(v.description),
            })
            .collect();
        Some(Violations { list })
    }

    /// `Ok` when empty, else `Err(self)`.
    pub fn into_result(self) -> Result<(), Violations> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl IntoIterator for Violations {
    type Item = Violation;
    type IntoIter = std::vec::IntoIter<Violation>;

    fn into_iter(self) -> Self::IntoIter {
        self.list.into_iter()
    }
}

impl<'a> IntoIterator for &'a Violations {
    type Item = &'a Violation;
    type IntoIter = std::slice::Iter<'a, Violation>;

    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}

/// `invalid request: name: must be at least 3 characters [string.min_len]; ...`
impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid request")?;
        for (i, v) in self.list.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { "; " })?;
            if !v.field.is_empty() {
                write!(f, "{}: ", v.field)?;
            }
            write!(f, "{} [{}]", v.message, v.rule)?;
        }
        Ok(())
    }
}

impl std::error::Error for Violations {}

/// INVALID_ARGUMENT with a `google.rpc.BadRequest` that lists every violation: `field` is the
/// path, `description` the message and `reason` the rule id.
impl From<Violations> for tonic::Status {
    fn from(violations: Violations) -> Self {
        let mut message = String::new();
        let _ = write!(message, "{violations}");
        let field_violations = violations
            .list
            .into_iter()
            .map(|v| FieldViolation {
                field: v.field,
                description: v.message.into_owned(),
                reason: v.rule.into_owned(),
                localized_message: None,
            })
            .collect::<Vec<_>>();
        tonic::Status::with_error_details(
            Code::InvalidArgument,
            message,
            ErrorDetails::with_bad_request(field_violations),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_lists_every_violation_with_its_rule() {
        let mut v = Violations::new();
        assert!(v.is_empty());
        let name = Path::ROOT.field("name");
        v.add(&name, "string.min_len", "must be at least 3 characters");
        v.add(&Path::ROOT, "message.oneof", "one of a, b must be set");
        let status = tonic::Status::from(v);
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(
            status.message(),
            "invalid request: name: must be at least 3 characters [string.min_len]; \
             one of a, b must be set [message.oneof]"
        );
        let details = status.get_error_details();
        let bad = details.bad_request().expect("a BadRequest");
        let got: Vec<_> = bad
            .field_violations
            .iter()
            .map(|v| (v.field.as_str(), v.reason.as_str(), v.description.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("name", "string.min_len", "must be at least 3 characters"),
                ("", "message.oneof", "one of a, b must be set"),
            ]
        );
    }
}
