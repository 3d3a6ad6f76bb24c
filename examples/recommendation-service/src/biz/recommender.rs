//! Scoring the catalogue for a user, recording events, and checking users.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;

use bia::error::FieldViolation;

use super::{Catalogue, Error};

/// Recommendations sent when a request asks for 0.
pub const DEFAULT_LIMIT: u32 = 10;
/// The most recommendations one request may ask for.
pub const MAX_LIMIT: u32 = 100;
/// Recommendations answered to each event of a live stream.
pub const LIVE_BATCH: usize = 5;

/// How much of the score comes from the user's own interest in an item's category; the rest comes
/// from the item's popularity.
const INTEREST_SHARE: f64 = 0.6;
/// How much one point of recorded interest adds to an item's popularity (base 1 to 100).
const EVENT_POPULARITY: f64 = 2.0;

/// What a user did with an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// Looked at it.
    View,
    /// Liked it.
    Like,
    /// Bought it: never recommended to that user again.
    Purchase,
}

impl EventKind {
    /// How much interest the event shows.
    pub fn weight(self) -> u32 {
        match self {
            Self::View => 1,
            Self::Like => 3,
            Self::Purchase => 5,
        }
    }
}

/// An event as received; [`Session::record`] validates it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The user.
    pub user_id: String,
    /// The catalogue item.
    pub item_id: String,
    /// What happened; `None` when the client did not say (or said something unknown).
    pub kind: Option<EventKind>,
}

/// One recommended item.
#[derive(Clone, Debug, PartialEq)]
pub struct Recommendation {
    /// The catalogue item.
    pub item_id: String,
    /// Its title.
    pub title: String,
    /// Higher is better: between 0 and 1.
    pub score: f64,
}

/// What is known about one user.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    /// Recorded interest per item (the sum of its events' weights).
    pub interest: HashMap<String, u32>,
    /// Items the user bought.
    pub purchased: HashSet<String>,
}

/// Where events are kept; [`crate::data::EventStore`] keeps them in memory.
pub trait EventRepo: Send + Sync + 'static {
    /// Records that `user_id` did `kind` with `item_id`.
    fn record(&self, user_id: &str, item_id: &str, kind: EventKind);
    /// What is known about `user_id` (empty for a user with no events).
    fn profile(&self, user_id: &str) -> Profile;
    /// Recorded interest per item, over all users.
    fn popularity(&self) -> HashMap<String, u64>;
}

/// Who the users are; [`crate::data::UserClient`] asks the user service.
pub trait UserDirectory: Send + Sync + 'static {
    /// Whether the user exists: `Ok(false)` when it does not, an error when that cannot be told.
    fn exists(&self, user_id: &str) -> impl Future<Output = Result<bool, Error>> + Send;
}

/// Recommends catalogue items to users from their events; cheap to clone.
///
/// The scores are deterministic: the same catalogue and the same recorded events give the same
/// recommendations, in the same order (ties go to the lower item id).
pub struct Recommender<U> {
    catalogue: Arc<Catalogue>,
    events: Arc<dyn EventRepo>,
    users: Arc<U>,
}

impl<U> Clone for Recommender<U> {
    fn clone(&self) -> Self {
        Self {
            catalogue: self.catalogue.clone(),
            events: self.events.clone(),
            users: self.users.clone(),
        }
    }
}

impl<U> std::fmt::Debug for Recommender<U> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recommender")
            .field("items", &self.catalogue.len())
            .finish_non_exhaustive()
    }
}

impl<U: UserDirectory> Recommender<U> {
    /// A recommender over `catalogue`, keeping events in `events` and checking users in `users`.
    pub fn new(catalogue: Catalogue, events: impl EventRepo, users: U) -> Self {
        Self {
            catalogue: Arc::new(catalogue),
            events: Arc::new(events),
            users: Arc::new(users),
        }
    }

    /// The catalogue.
    pub fn catalogue(&self) -> &Catalogue {
        &self.catalogue
    }

    /// The `limit` best items for an existing user (0 means [`DEFAULT_LIMIT`], more than
    /// [`MAX_LIMIT`] is invalid), best first, none the user bought. Fewer only if the user has
    /// bought nearly the whole catalogue.
    pub async fn recommend(&self, user_id: &str, limit: u32) -> Result<Vec<Recommendation>, Error> {
        let mut violations = Vec::new();
        if user_id.is_empty() {
            violations.push(FieldViolation::new("user_id", "is required"));
        }
        if limit > MAX_LIMIT {
            violations.push(FieldViolation::new(
                "limit",
                format!("must be at most {MAX_LIMIT} (0 means {DEFAULT_LIMIT})"),
            ));
        }
        if !violations.is_empty() {
            return Err(Error::Invalid(violations));
        }
        self.check_user(user_id).await?;
        let limit = if limit == 0 { DEFAULT_LIMIT } else { limit };
        Ok(self.top(user_id, limit as usize))
    }

    /// A session that records a stream of events, asking about each user once.
    pub fn session(&self) -> Session<U> {
        Session {
            recommender: self.clone(),
            known_users: HashSet::new(),
        }
    }

    async fn check_user(&self, user_id: &str) -> Result<(), Error> {
        if self.users.exists(user_id).await? {
            Ok(())
        } else {
            Err(Error::UserNotFound(user_id.to_owned()))
        }
    }

    /// The `n` best items for `user_id` now, without checking the user.
    pub fn top(&self, user_id: &str, n: usize) -> Vec<Recommendation> {
        let profile = self.events.profile(user_id);
        let recorded = self.events.popularity();

        // The user's interest per category, from the items they interacted with.
        let mut by_category: HashMap<&str, f64> = HashMap::new();
        for (item_id, weight) in &profile.interest {
            if let Some(item) = self.catalogue.get(item_id) {
                *by_category.entry(item.category.as_str()).or_default() += f64::from(*weight);
            }
        }
        let max_interest = by_category.values().copied().fold(0.0, f64::max);

        let popularity = |id: &str, base: u32| {
            let events = recorded.get(id).copied().unwrap_or(0) as f64;
            f64::from(base) + EVENT_POPULARITY * events
        };
        let max_popularity = self
            .catalogue
            .items()
            .iter()
            .map(|item| popularity(&item.id, item.popularity))
            .fold(0.0, f64::max);

        let mut scored: Vec<Recommendation> = self
            .catalogue
            .items()
            .iter()
            .filter(|item| !profile.purchased.contains(&item.id))
            .map(|item| {
                let interest = match by_category.get(item.category.as_str()) {
                    Some(v) if max_interest > 0.0 => v / max_interest,
                    _ => 0.0,
                };
                let popular = if max_popularity > 0.0 {
                    popularity(&item.id, item.popularity) / max_popularity
                } else {
                    0.0
                };
                Recommendation {
                    item_id: item.id.clone(),
                    title: item.title.clone(),
                    score: INTEREST_SHARE * interest + (1.0 - INTEREST_SHARE) * popular,
                }
            })
            .collect();
        scored.sort_by(|a, b| {
            b.score
                .partial_cmp(&a.score)
                .unwrap_or(Ordering::Equal)
                .then_with(|| a.item_id.cmp(&b.item_id))
        });
        scored.truncate(n);
        scored
    }
}

/// Records the events of one stream; each user is checked with the user service once.
#[derive(Debug)]
pub struct Session<U> {
    recommender: Recommender<U>,
    known_users: HashSet<String>,
}

impl<U: UserDirectory> Session<U> {
    /// Validates and records `event`: INVALID_ARGUMENT for a missing user id, an unspecified kind
    /// or an item not in the catalogue, NOT_FOUND for an unknown user. Returns its user id.
    pub async fn record(&mut self, event: Event) -> Result<String, Error> {
        let mut violations = Vec::new();
        if event.user_id.is_empty() {
            violations.push(FieldViolation::new("user_id", "is required"));
        }
        if event.item_id.is_empty() {
            violations.push(FieldViolation::new("item_id", "is required"));
        } else if self.recommender.catalogue.get(&event.item_id).is_none() {
            violations.push(FieldViolation::new(
                "item_id",
                format!("{:?} is not in the catalogue", event.item_id),
            ));
        }
        let Some(kind) = event.kind else {
            violations.push(FieldViolation::new(
                "kind",
                "must be EVENT_KIND_VIEW, EVENT_KIND_LIKE or EVENT_KIND_PURCHASE",
            ));
            return Err(Error::Invalid(violations));
        };
        if !violations.is_empty() {
            return Err(Error::Invalid(violations));
        }
        if !self.known_users.contains(&event.user_id) {
            self.recommender.check_user(&event.user_id).await?;
            self.known_users.insert(event.user_id.clone());
        }
        self.recommender
            .events
            .record(&event.user_id, &event.item_id, kind);
        Ok(event.user_id)
    }

    /// The `n` best items for `user_id` now.
    pub fn top(&self, user_id: &str, n: usize) -> Vec<Recommendation> {
        self.recommender.top(user_id, n)
    }
}
