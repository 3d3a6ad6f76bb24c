//! Storage and other services: the embedded catalogue, the [`EventStore`] that implements
//! [`crate::biz::EventRepo`], and the [`UserClient`] that implements
//! [`crate::biz::UserDirectory`] over the user service.

mod catalogue;
mod events;
mod users;

pub use catalogue::catalogue;
pub use events::EventStore;
pub use users::UserClient;
