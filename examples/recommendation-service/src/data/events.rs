//! Recorded events, in memory: a real deployment would keep them in a database or a stream.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use crate::biz::{EventKind, EventRepo, Profile};

/// Every user's profile and every item's recorded interest, in memory.
#[derive(Debug, Default)]
pub struct EventStore {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    profiles: HashMap<String, Profile>,
    popularity: HashMap<String, u64>,
}

impl EventStore {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere cannot leave the maps half-updated: every update is a single insert.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl EventRepo for EventStore {
    fn record(&self, user_id: &str, item_id: &str, kind: EventKind) {
        let mut state = self.state();
        let profile = state.profiles.entry(user_id.to_owned()).or_default();
        *profile.interest.entry(item_id.to_owned()).or_default() += kind.weight();
        if kind == EventKind::Purchase {
            profile.purchased.insert(item_id.to_owned());
        }
        *state.popularity.entry(item_id.to_owned()).or_default() += u64::from(kind.weight());
    }

    fn profile(&self, user_id: &str) -> Profile {
        self.state()
            .profiles
            .get(user_id)
            .cloned()
            .unwrap_or_default()
    }

    fn popularity(&self) -> HashMap<String, u64> {
        self.state().popularity.clone()
    }
}
