//! Domain rules of the user directory, free of gRPC handlers and SQL (its error reasons are the
//! API's, declared in the proto).
//!
//! Handlers in [`crate::service`] call [`Users`]; it reaches storage through the [`UserRepo`]
//! trait, which [`crate::data::UserStore`] implements, so the rules can be tested without either.

mod error;
mod page;
mod user;

pub use error::{DOMAIN, Error};
pub use page::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, PageToken, page_size};
pub use user::{MAX_EMAIL_BYTES, MAX_NAME_CHARS, UpdateMask, User, UserChanges, UserRepo, Users};

use crate::conf::ServiceConfig;
use crate::data::{Data, UserStore};

/// Every use case of the service, built once by `crate::app` and handed to each handler's `new`.
#[derive(Debug, Clone)]
pub struct UseCases {
    /// The user directory.
    pub users: Users<UserStore>,
}

impl UseCases {
    /// The use cases over the storage in `data`: where `data`'s implementations meet the traits
    /// of `biz`.
    pub fn new(_conf: &ServiceConfig, data: Data) -> Self {
        Self {
            users: Users::new(UserStore::new(&data.database)),
        }
    }
}
