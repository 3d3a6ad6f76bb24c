//! Domain logic: the rules of this service, free of gRPC and storage details.
//!
//! Handlers in `service` call into this module; it reaches storage through traits it defines
//! (such as [`GreetingRepo`]), which `data` implements, so the rules can be tested without either.

mod greeter;

pub use greeter::{Greeter, Greeting, GreetingRepo};

use crate::conf::ServiceConfig;
use crate::data::Data;

/// Every use case of the service, built once by `crate::app` and handed to each handler's
/// `new`. Add a field for each use case, and build it in [`UseCases::new`].
#[derive(Debug, Clone)]
pub struct UseCases {
    /// Greets people.
    pub greeter: Greeter,
}

impl UseCases {
    /// The use cases over the storage in `data`: where `data`'s implementations meet the
    /// traits of `biz`.
    pub fn new(conf: &ServiceConfig, data: Data) -> Self {
        Self {
            greeter: Greeter::new(data.greetings, conf.greeter.clone()),
        }
    }
}
