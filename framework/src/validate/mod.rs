//! Request validation from `buf.validate` (protovalidate) rules, compiled at build time.
//!
//! bia-build reads the `(buf.validate.field)`, `(buf.validate.message)` and
//! `(buf.validate.oneof)` options of every message it generates and writes an implementation
//! of [`Validate`] for it in plain Rust: rule values become literals, regular expressions are
//! compiled once, nothing is parsed per call. Messages without rules get an implementation
//! too, which only walks into their message fields.
//!
//! The servers bia-build generates decode requests with [`ValidatingCodec`], so every request
//! message, unary or streamed, is checked before the handler sees it, and a bad one is
//! answered with INVALID_ARGUMENT and a `google.rpc.BadRequest` listing each violated field
//! path (`user.emails[2]`, `labels["k"]`) with the rule's protovalidate id (`string.email`) and
//! a message. Rules the generator does not implement (CEL expressions among them, for now) are
//! build errors, never silently skipped: see the book's validation chapter.
//!
//! ```
//! use bia::validate::{Path, Validate, Violations};
//!
//! // What bia-build writes for `string name = 1 [(buf.validate.field).string.min_len = 3];`
//! struct CreateUser { name: String }
//!
//! impl Validate for CreateUser {
//!     fn validate(&self, at: &Path<'_>, violations: &mut Violations) {
//!         let at = at.field("name");
//!         if bia::validate::rules::char_len(&self.name) < 3 {
//!             violations.add(&at, "string.min_len", "must be at least 3 characters");
//!         }
//!     }
//! }
//!
//! let err = CreateUser { name: "al".into() }.check().unwrap_err();
//! let status = tonic::Status::from(err);
//! assert_eq!(status.code(), tonic::Code::InvalidArgument);
//! assert!(CreateUser { name: "alice".into() }.check().is_ok());
//! ```

#[cfg(feature = "cel")]
pub mod cel;
mod codec;
pub mod formats;
mod path;
pub mod rules;
mod violations;
mod wkt;

pub use codec::{ValidatingCodec, ValidatingDecoder};
pub use path::{Key, Path};
pub use violations::{Violation, Violations};

/// A message that can check its `buf.validate` rules.
///
/// bia-build implements it for every message it generates; the framework implements it for
/// `()` and the `prost-types` well-known types (which have no rules of their own).
pub trait Validate {
    /// Checks the rules of this value, found at `at` inside the message being validated, and
    /// records each one broken in `violations`. Nested messages are checked too.
    fn validate(&self, at: &Path<'_>, violations: &mut Violations);

    /// Checks the whole message: `Ok` when every rule holds, else every violation found.
    fn check(&self) -> Result<(), Violations> {
        let mut violations = Violations::new();
        self.validate(&Path::ROOT, &mut violations);
        violations.into_result()
    }
}

impl<T: Validate + ?Sized> Validate for Box<T> {
    fn validate(&self, at: &Path<'_>, violations: &mut Violations) {
        (**self).validate(at, violations);
    }
}

/// Written by bia-build at the top of the validation code of a package with CEL rules: with
/// bia's `cel` feature off, the build stops here with what to change, not with unresolved
/// paths further down.
#[cfg(feature = "cel")]
#[doc(hidden)]
#[macro_export]
macro_rules! __require_cel {
    () => {};
}

/// Written by bia-build at the top of the validation code of a package with CEL rules: with
/// bia's `cel` feature off, the build stops here with what to change, not with unresolved
/// paths further down.
#[cfg(not(feature = "cel"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __require_cel {
    () => {
        compile_error!(
            "these protos have buf.validate CEL rules (`cel`, `cel_expression`), which need \
             bia's `cel` feature: enable it (it is on by default; keep `default-features` on, \
             or add `features = [\"cel\"]` to the `bia` dependency)"
        );
    };
}
