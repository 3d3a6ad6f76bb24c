//! The greeting use case.

use std::sync::Arc;

use crate::conf::GreetingConfig;
use crate::pb::greeter::v1::ErrorReason;

/// Where greetings are counted; `data::GreetingStore` implements it.
pub trait GreetingRepo: std::fmt::Debug + Send + Sync + 'static {
    /// Records one more greeting of `name` and returns how many there have been.
    fn record(&self, name: &str) -> u64;
}

/// One greeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Greeting {
    /// The text, e.g. `Hello, Ada!`.
    pub message: String,
    /// How many times this name has been greeted, this one included.
    pub count: u64,
}

/// Greets people by name.
#[derive(Debug, Clone)]
pub struct Greeter {
    repo: Arc<dyn GreetingRepo>,
    config: GreetingConfig,
}

impl Greeter {
    /// A greeter counting in `repo`, with the words and limits of `config`.
    pub fn new(repo: impl GreetingRepo, config: GreetingConfig) -> Self {
        Self {
            repo: Arc::new(repo),
            config,
        }
    }

    /// Greets `name`, which must not be blank.
    #[tracing::instrument(skip(self))]
    pub fn greet(&self, name: &str) -> Result<Greeting, bia::Error> {
        let name = name.trim();
        if name.is_empty() {
            // The code, reason and domain are the proto's (`ErrorReason` in greeter.proto).
            return Err(ErrorReason::NameRequired
                .error("a name is required")
                .with_field_violation("name", "must not be blank"));
        }
        let count = self.repo.record(name);
        Ok(Greeting {
            message: format!("{}, {name}!", self.config.greeting),
            count,
        })
    }

    /// Greets `name` `count` times (3 when 0, at most `max_greetings` of the configuration).
    #[tracing::instrument(skip(self))]
    pub fn greet_many(&self, name: &str, count: u32) -> Result<Vec<Greeting>, bia::Error> {
        let count = if count == 0 {
            3
        } else {
            count.min(self.config.max_greetings)
        };
        (0..count).map(|_| self.greet(name)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::GreetingStore;

    #[test]
    fn greets_and_counts() {
        let greeter = Greeter::new(GreetingStore::default(), GreetingConfig::default());
        assert_eq!(greeter.greet(" Ada ").unwrap().message, "Hello, Ada!");
        assert_eq!(greeter.greet("Ada").unwrap().count, 2);
        assert!(greeter.greet("  ").is_err());
        let counts: Vec<u64> = greeter
            .greet_many("Bob", 0)
            .unwrap()
            .iter()
            .map(|g| g.count)
            .collect();
        assert_eq!(counts, [1, 2, 3]);
    }

    #[test]
    fn the_configuration_changes_the_words_and_the_limit() {
        let config = GreetingConfig {
            greeting: "Hi".to_owned(),
            max_greetings: 2,
        };
        let greeter = Greeter::new(GreetingStore::default(), config);
        assert_eq!(greeter.greet("Ada").unwrap().message, "Hi, Ada!");
        assert_eq!(greeter.greet_many("Bob", 10).unwrap().len(), 2);
    }
}
