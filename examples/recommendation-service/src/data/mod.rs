//! Storage and other services: the embedded catalogue, the [`EventStore`] that implements
//! [`crate::biz::EventRepo`], and the [`UserClient`] that implements
//! [`crate::biz::UserDirectory`] over the user service.

mod catalogue;
mod events;
mod users;

pub use catalogue::catalogue;
pub use events::EventStore;
pub use users::UserClient;

use crate::biz::Catalogue;
use crate::conf::ServiceConfig;

/// What the service reads, keeps and calls, set up once at start by `crate::app`.
#[derive(Debug)]
pub struct Data {
    /// The embedded catalogue.
    pub catalogue: Catalogue,
    /// Recorded events.
    pub events: EventStore,
    /// The user service.
    pub users: UserClient,
}

impl Data {
    /// The catalogue, an empty event store, and a client of the user service through the
    /// `[clients.<conf.user_client>]` entry of `config`. Unlike the scaffold's, it needs the
    /// framework's configuration and the app's telemetry, which the client shares.
    pub fn new(
        config: &bia::Config,
        conf: &ServiceConfig,
        telemetry: &bia::Telemetry,
    ) -> Result<Self, bia::BoxError> {
        let channel = bia::client::Channel::from_config(config, &conf.user_client, telemetry)?;
        Ok(Self {
            catalogue: catalogue(),
            events: EventStore::default(),
            users: UserClient::new(channel),
        })
    }
}
