//! Rust identifiers the way prost-build and tonic-build make them from proto names
//! (prost-build 0.14 `ident.rs`, tonic-build 0.14 `naive_snake_case`), so stubs match the
//! generated traits exactly.

use heck::{ToSnakeCase, ToUpperCamelCase};

/// prost-build's `sanitize_identifier`: raw identifiers for keywords, a `_` suffix for the
/// keywords that cannot be raw, a `_` prefix for names that start with a digit.
pub(crate) fn sanitize(ident: &str) -> String {
    match ident {
        "as" | "break" | "const" | "continue" | "else" | "enum" | "false" | "fn" | "for" | "if"
        | "impl" | "in" | "let" | "loop" | "match" | "mod" | "move" | "mut" | "pub" | "ref"
        | "return" | "static" | "struct" | "trait" | "true" | "type" | "unsafe" | "use"
        | "where" | "while" | "dyn" | "abstract" | "become" | "box" | "do" | "final" | "macro"
        | "override" | "priv" | "typeof" | "unsized" | "virtual" | "yield" | "async" | "await"
        | "try" | "gen" => format!("r#{ident}"),
        "_" | "super" | "self" | "Self" | "extern" | "crate" => format!("{ident}_"),
        s if s.starts_with(|c: char| c.is_numeric()) => format!("_{ident}"),
        _ => ident.to_owned(),
    }
}

/// prost-build's `to_snake`: field, method and module names.
pub(crate) fn to_snake(s: &str) -> String {
    sanitize(&s.to_snake_case())
}

/// prost-build's `to_upper_camel`: type names.
pub(crate) fn to_upper_camel(s: &str) -> String {
    sanitize(&s.to_upper_camel_case())
}

/// tonic-build's `naive_snake_case`, used for the `<service>_server` and `<service>_client`
/// modules: lower-cases and puts `_` before every upper-case letter.
pub(crate) fn naive_snake_case(name: &str) -> String {
    let mut s = String::new();
    let mut it = name.chars().peekable();
    while let Some(x) = it.next() {
        s.push(x.to_ascii_lowercase());
        if let Some(y) = it.peek()
            && y.is_uppercase()
        {
            s.push('_');
        }
    }
    s
}

/// Whether `s` is a valid proto identifier (`[A-Za-z_][A-Za-z0-9_]*`).
pub(crate) fn is_proto_ident(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirrors_prost_and_tonic() {
        assert_eq!(to_snake("Move"), "r#move");
        assert_eq!(to_snake("SayHello"), "say_hello");
        assert_eq!(to_snake("Self"), "self_");
        assert_eq!(to_upper_camel("hello_request"), "HelloRequest");
        assert_eq!(naive_snake_case("HTTPService"), "h_t_t_p_service");
        assert_eq!(naive_snake_case("UserService"), "user_service");
        assert!(is_proto_ident("user_service"));
        assert!(!is_proto_ident("1x"));
    }
}
