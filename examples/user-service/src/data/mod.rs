//! Storage: the SQLite database and the [`UserStore`] that implements [`crate::biz::UserRepo`].

mod database;
mod users;

pub use database::{Database, DatabaseConfig, OpenError};
pub use users::UserStore;
