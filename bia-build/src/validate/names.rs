//! The Rust names prost-build gives to messages, fields, oneofs and their modules, so the
//! generated impls name exactly what prost generated.

use heck::{ToSnakeCase, ToUpperCamelCase};
use prost_reflect::{MessageDescriptor, OneofDescriptor};

/// A name made safe as prost makes it: raw identifiers for keywords, a `_` after those that
/// cannot be raw, and before a leading digit.
fn sanitize(ident: String) -> String {
    match ident.as_str() {
        "as" | "break" | "const" | "continue" | "else" | "enum" | "false" | "fn" | "for" | "if"
        | "impl" | "in" | "let" | "loop" | "match" | "mod" | "move" | "mut" | "pub" | "ref"
        | "return" | "static" | "struct" | "trait" | "true" | "type" | "unsafe" | "use"
        | "where" | "while" | "dyn" | "abstract" | "become" | "box" | "do" | "final" | "macro"
        | "override" | "priv" | "typeof" | "unsized" | "virtual" | "yield" | "async" | "await"
        | "try" | "gen" => format!("r#{ident}"),
        "_" | "super" | "self" | "Self" | "extern" | "crate" => format!("{ident}_"),
        s if s.starts_with(|c: char| c.is_numeric()) => format!("_{ident}"),
        _ => ident,
    }
}

/// A field or module name: `user_id`.
pub(super) fn snake(name: &str) -> String {
    sanitize(name.to_snake_case())
}

/// A type or variant name: `UserId`.
pub(super) fn camel(name: &str) -> String {
    sanitize(name.to_upper_camel_case())
}

/// The modules prost nests `msg`'s own types in, relative to the package module
/// (`outer::inner` for `pkg.Outer.Inner`).
fn modules(msg: &MessageDescriptor) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = Some(msg.clone());
    while let Some(m) = current {
        parts.push(snake(m.name()));
        current = m.parent_message();
    }
    parts.reverse();
    parts
}

/// The path of `msg`'s struct from its package module: `Outer`, `outer::Inner`.
pub(super) fn message_type(msg: &MessageDescriptor) -> String {
    let mut parts = modules(msg);
    parts.pop();
    parts.push(camel(msg.name()));
    parts.join("::")
}

/// The path of a oneof's enum from the package module: `outer::Kind`. prost appends `OneOf`
/// when a nested message or enum of the same name takes the plain one.
pub(super) fn oneof_type(msg: &MessageDescriptor, oneof: &OneofDescriptor) -> String {
    let mut name = camel(oneof.name());
    let taken = msg
        .child_messages()
        .map(|m| camel(m.name()))
        .chain(msg.child_enums().map(|e| camel(e.name())))
        .any(|n| n == name);
    if taken {
        name.push_str("OneOf");
    }
    let mut parts = modules(msg);
    parts.push(name);
    parts.join("::")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_prost() {
        assert_eq!(snake("userId"), "user_id");
        assert_eq!(snake("type"), "r#type");
        assert_eq!(snake("self"), "self_");
        assert_eq!(camel("http_rule"), "HttpRule");
        assert_eq!(camel("Self"), "Self_");
    }
}
