//! Field paths that cost nothing until a violation needs one written out.

use std::fmt::{self, Write as _};

/// Where a value sits inside the message being validated: `user.emails[2]`, `labels["k"]`.
///
/// A path is a chain of borrowed links on the stack, one per nesting level, so walking into
/// fields, list items and map entries allocates nothing; the text is built only for a
/// violation (see [`Violations::add`](super::Violations::add)).
///
/// ```
/// use bia::validate::{Key, Path};
///
/// let user = Path::ROOT.field("user");
/// let emails = user.field("emails");
/// assert_eq!(emails.index(2).to_string(), "user.emails[2]");
/// assert_eq!(Path::ROOT.field("labels").key(Key::Str("k")).to_string(), r#"labels["k"]"#);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    segment: Segment<'a>,
}

#[derive(Clone, Copy, Debug)]
enum Segment<'a> {
    Root,
    Field(&'static str),
    Index(usize),
    Key(Key<'a>),
}

/// A map key in a [`Path`], written as protovalidate writes it: strings quoted, numbers and
/// booleans bare.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key<'a> {
    /// A `string` key.
    Str(&'a str),
    /// A signed integer key.
    Int(i64),
    /// An unsigned integer key.
    Uint(u64),
    /// A `bool` key.
    Bool(bool),
}

impl Path<'static> {
    /// The message itself; its violations (message-level rules) have an empty path.
    pub const ROOT: Path<'static> = Path {
        parent: None,
        segment: Segment::Root,
    };
}

impl<'a> Path<'a> {
    /// The field `name` (its name in the proto) of the message at this path.
    pub fn field(&'a self, name: &'static str) -> Path<'a> {
        self.child(Segment::Field(name))
    }

    /// Item `index` of the list at this path.
    pub fn index(&'a self, index: usize) -> Path<'a> {
        self.child(Segment::Index(index))
    }

    /// The entry with `key` of the map at this path.
    pub fn key(&'a self, key: Key<'a>) -> Path<'a> {
        self.child(Segment::Key(key))
    }

    /// Whether this is [`Path::ROOT`].
    pub fn is_root(&self) -> bool {
        matches!(self.segment, Segment::Root)
    }

    fn child(&'a self, segment: Segment<'a>) -> Path<'a> {
        Path {
            parent: Some(self),
            segment,
        }
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Written root first: the parents are visited by recursion, at most one frame per level.
        if let Some(parent) = self.parent {
            parent.fmt(f)?;
        }
        match self.segment {
            Segment::Root => Ok(()),
            Segment::Field(name) => {
                if self.parent.is_some_and(|p| !p.is_root()) {
                    f.write_char('.')?;
                }
                f.write_str(name)
            }
            Segment::Index(index) => write!(f, "[{index}]"),
            Segment::Key(Key::Str(key)) => {
                f.write_str("[\"")?;
                for c in key.chars() {
                    if c == '"' || c == '\\' {
                        f.write_char('\\')?;
                    }
                    f.write_char(c)?;
                }
                f.write_str("\"]")
            }
            Segment::Key(Key::Int(key)) => write!(f, "[{key}]"),
            Segment::Key(Key::Uint(key)) => write!(f, "[{key}]"),
            Segment::Key(Key::Bool(key)) => write!(f, "[{key}]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_written_as_protovalidate_writes_them() {
        assert_eq!(Path::ROOT.to_string(), "");
        let a = Path::ROOT.field("a");
        let b = a.field("b");
        assert_eq!(b.to_string(), "a.b");
        let items = b.index(0);
        assert_eq!(items.field("c").to_string(), "a.b[0].c");
        let m = Path::ROOT.field("m");
        assert_eq!(m.key(Key::Int(-3)).to_string(), "m[-3]");
        assert_eq!(m.key(Key::Uint(7)).to_string(), "m[7]");
        assert_eq!(m.key(Key::Bool(true)).to_string(), "m[true]");
        assert_eq!(m.key(Key::Str(r#"a"b\c"#)).to_string(), r#"m["a\"b\\c"]"#);
    }
}
