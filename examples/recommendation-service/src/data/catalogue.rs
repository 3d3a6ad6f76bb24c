//! The catalogue compiled into the binary from `catalogue.tsv`.

use crate::biz::{Catalogue, Item};

const CATALOGUE: &str = include_str!("catalogue.tsv");

/// The embedded catalogue (160 items in 8 categories).
pub fn catalogue() -> Catalogue {
    Catalogue::new(CATALOGUE.lines().filter_map(parse))
}

/// One `id<TAB>category<TAB>popularity<TAB>title` line; comments and blank lines give `None`.
fn parse(line: &str) -> Option<Item> {
    if line.trim().is_empty() || line.starts_with('#') {
        return None;
    }
    let mut fields = line.splitn(4, '\t');
    let (Some(id), Some(category), Some(popularity), Some(title)) =
        (fields.next(), fields.next(), fields.next(), fields.next())
    else {
        panic!("catalogue.tsv: malformed line {line:?}");
    };
    Some(Item {
        id: id.to_owned(),
        title: title.to_owned(),
        category: category.to_owned(),
        popularity: popularity
            .parse()
            .unwrap_or_else(|_| panic!("catalogue.tsv: bad popularity in {line:?}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_catalogue_is_well_formed() {
        let catalogue = catalogue();
        let lines = CATALOGUE
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .count();
        assert_eq!(catalogue.len(), lines, "ids are unique");
        assert!(catalogue.len() >= 100);
        for item in catalogue.items() {
            assert!((1..=100).contains(&item.popularity), "{item:?}");
            assert!(
                !item.title.is_empty() && !item.category.is_empty(),
                "{item:?}"
            );
        }
        assert_eq!(catalogue.get("item-001").unwrap().title, "Quiet Harbor");
    }
}
