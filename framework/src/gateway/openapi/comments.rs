//! The comments written above (or beside) messages, fields, enums, services and methods, read
//! from the descriptors' source info, so that they become the document's descriptions.

use std::collections::HashMap;

use prost_reflect::DescriptorPool;

/// Every element's comment, by file and source path (the `path` prost-reflect reports).
#[derive(Debug, Default)]
pub(super) struct Comments {
    by_file: HashMap<String, HashMap<Vec<i32>, String>>,
}

impl Comments {
    /// Indexes the comments of every file of `pool` that kept its source info.
    pub(super) fn of(pool: &DescriptorPool) -> Self {
        let mut by_file = HashMap::new();
        for file in pool.files() {
            let Some(info) = &file.file_descriptor_proto().source_code_info else {
                continue;
            };
            let by_path: &mut HashMap<_, _> = by_file.entry(file.name().to_owned()).or_default();
            for location in &info.location {
                // A comment above an element is its documentation; one after it on the same
                // line stands in when there is none above.
                let raw = location
                    .leading_comments
                    .as_deref()
                    .or(location.trailing_comments.as_deref());
                if let Some(text) = raw.map(clean).filter(|text| !text.is_empty()) {
                    by_path.insert(location.path.clone(), text);
                }
            }
        }
        Self { by_file }
    }

    /// The comment of the element at `path` in `file`.
    pub(super) fn get(&self, file: &str, path: &[i32]) -> Option<&str> {
        self.by_file.get(file)?.get(path).map(String::as_str)
    }
}

/// Trims the space that `//` comments leave at the start of each line, and blank edges.
fn clean(raw: &str) -> String {
    let lines: Vec<&str> = raw
        .lines()
        .map(|line| line.strip_prefix(' ').unwrap_or(line))
        .collect();
    lines.join("\n").trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::testing::pool;

    #[test]
    fn leading_comments_win_and_trailing_ones_stand_in() {
        let pool = pool(
            "demo.proto",
            r#"syntax = "proto3";
package demo;
// A user of the shop.
//
//  Indented second paragraph.
message User {
  // Their id.
  string id = 1;
  string name = 2; // Shown to others.
  string note = 3;
}
"#,
        );
        let comments = Comments::of(&pool);
        let user = pool.get_message_by_name("demo.User").unwrap();
        let doc = |path: &[i32]| comments.get("demo.proto", path);
        assert_eq!(
            doc(user.path()),
            Some("A user of the shop.\n\n Indented second paragraph.")
        );
        let field = |name: &str| user.get_field_by_name(name).unwrap();
        assert_eq!(doc(field("id").path()), Some("Their id."));
        assert_eq!(doc(field("name").path()), Some("Shown to others."));
        assert_eq!(doc(field("note").path()), None);
    }
}
