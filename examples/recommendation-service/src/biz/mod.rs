//! The recommender: domain rules free of gRPC and storage.
//!
//! Handlers in [`crate::service`] call [`Recommender`]; it reads the [`Catalogue`], keeps events
//! through the [`EventRepo`] trait and asks a [`UserDirectory`] whether users exist, which
//! [`crate::data`] implements (in memory, and with the user service's gRPC client).

mod catalogue;
mod error;
mod recommender;

pub use catalogue::{Catalogue, Item};
pub use error::{DOMAIN, Error};
pub use recommender::{
    DEFAULT_LIMIT, Event, EventKind, EventRepo, LIVE_BATCH, MAX_LIMIT, Profile, Recommendation,
    Recommender, Session, UserDirectory,
};

use crate::conf::ServiceConfig;
use crate::data::{Data, UserClient};

/// Every use case of the service, built once by `crate::app` and handed to each handler's `new`.
#[derive(Debug, Clone)]
pub struct UseCases {
    /// The recommender, which asks user-service whether users exist.
    pub recommender: Recommender<UserClient>,
}

impl UseCases {
    /// The use cases over what `data` holds: where `data`'s implementations meet the traits of
    /// `biz`.
    pub fn new(_conf: &ServiceConfig, data: Data) -> Self {
        Self {
            recommender: Recommender::new(data.catalogue, data.events, data.users),
        }
    }
}
