//! Greeting counts in memory; swap it for a database when the service needs one.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::biz::GreetingRepo;

/// Counts greetings per name, in memory.
#[derive(Debug, Default)]
pub struct GreetingStore {
    counts: Mutex<HashMap<String, u64>>,
}

impl GreetingRepo for GreetingStore {
    fn record(&self, name: &str) -> u64 {
        let mut counts = self
            .counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = counts.entry(name.to_owned()).or_default();
        *count += 1;
        *count
    }
}
