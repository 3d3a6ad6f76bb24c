//! The items that can be recommended.

use std::collections::HashMap;

/// A catalogue item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// Unique id, e.g. `item-042`.
    pub id: String,
    /// What a person reads.
    pub title: String,
    /// The item's category; a user's interest in one item extends to its category.
    pub category: String,
    /// Popularity before any recorded event, 1 to 100.
    pub popularity: u32,
}

/// Every item, in a fixed order, with a lookup by id.
#[derive(Clone, Debug, Default)]
pub struct Catalogue {
    items: Vec<Item>,
    by_id: HashMap<String, usize>,
}

impl Catalogue {
    /// A catalogue of `items`; a later item with the same id as an earlier one is ignored.
    pub fn new(items: impl IntoIterator<Item = Item>) -> Self {
        let mut catalogue = Self::default();
        for item in items {
            if !catalogue.by_id.contains_key(&item.id) {
                catalogue
                    .by_id
                    .insert(item.id.clone(), catalogue.items.len());
                catalogue.items.push(item);
            }
        }
        catalogue
    }

    /// The item with `id`.
    pub fn get(&self, id: &str) -> Option<&Item> {
        self.by_id.get(id).map(|&i| &self.items[i])
    }

    /// Every item.
    pub fn items(&self) -> &[Item] {
        &self.items
    }

    /// How many items there are.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}
