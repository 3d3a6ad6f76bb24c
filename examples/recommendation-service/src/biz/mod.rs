//! The recommender: domain rules free of gRPC and storage.
//!
//! Handlers in [`crate::service`] call [`Recommender`]; it reads the [`Catalogue`], keeps events
//! through the [`EventRepo`] trait and asks a [`UserDirectory`] whether users exist, which
//! [`crate::data`] implements (in memory, and with the user service's gRPC client).

mod catalogue;
mod error;
mod recommender;

pub use catalogue::{Catalogue, Item};
pub use error::{DOMAIN, Error, FieldViolation};
pub use recommender::{
    DEFAULT_LIMIT, Event, EventKind, EventRepo, LIVE_BATCH, MAX_LIMIT, Profile, Recommendation,
    Recommender, Session, UserDirectory,
};
