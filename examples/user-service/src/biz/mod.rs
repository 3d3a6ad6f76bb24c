//! Domain rules of the user directory, free of gRPC and SQL.
//!
//! Handlers in [`crate::service`] call [`Users`]; it reaches storage through the [`UserRepo`]
//! trait, which [`crate::data::UserStore`] implements, so the rules can be tested without either.

mod error;
mod page;
mod user;

pub use error::{DOMAIN, Error, FieldViolation};
pub use page::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, PageToken, page_size};
pub use user::{MAX_EMAIL_BYTES, MAX_NAME_CHARS, User, UserChanges, UserRepo, Users};
