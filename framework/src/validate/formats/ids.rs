//! Identifiers and header texts: UUIDs, ULIDs, protobuf names, HTTP header names and values.

/// A UUID in its 8-4-4-4-12 hex form, either case.
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// A "trimmed" UUID: 32 hex digits, no hyphens.
pub fn is_tuuid(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|c| c.is_ascii_hexdigit())
}

/// A ULID: 26 characters of Crockford's base32, the first at most `7` (128 bits).
pub fn is_ulid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 26
        && matches!(b[0], b'0'..=b'7')
        && b.iter().all(|c| {
            c.is_ascii_digit()
                || (c.is_ascii_alphabetic()
                    && !matches!(c.to_ascii_uppercase(), b'I' | b'L' | b'O' | b'U'))
        })
}

/// A fully-qualified protobuf name (`foo.bar.Baz`); with `leading_dot`, written `.foo.bar.Baz`.
pub fn is_protobuf_fqn(s: &str, leading_dot: bool) -> bool {
    let s = if leading_dot {
        match s.strip_prefix('.') {
            Some(s) => s,
            None => return false,
        }
    } else {
        s
    };
    !s.is_empty()
        && s.split('.').all(|part| {
            let mut b = part.bytes();
            b.next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
                && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
        })
}

/// An HTTP header name. `strict`: an RFC 7230 token, optionally after one `:` (HTTP/2 pseudo
/// headers); otherwise anything without NUL, CR or LF.
pub fn is_header_name(s: &str, strict: bool) -> bool {
    if !strict {
        return !s.is_empty() && !s.bytes().any(|b| matches!(b, 0 | b'\r' | b'\n'));
    }
    let token = s.strip_prefix(':').unwrap_or(s);
    !token.is_empty()
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// An HTTP header value. `strict`: no control characters except horizontal tab; otherwise no
/// NUL, CR or LF.
pub fn is_header_value(s: &str, strict: bool) -> bool {
    if strict {
        s.bytes().all(|b| b == b'\t' || !(b < 0x20 || b == 0x7f))
    } else {
        !s.bytes().any(|b| matches!(b, 0 | b'\r' | b'\n'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_and_ulids() {
        assert!(is_uuid("123e4567-e89b-12d3-A456-426614174000"));
        assert!(
            !is_uuid("123e4567e89b12d3a456426614174000")
                && !is_uuid("123e4567-e89b-12d3-a456-42661417400g")
        );
        assert!(is_tuuid("123e4567e89b12d3a456426614174000") && !is_tuuid("123e4567-e89b"));
        assert!(is_ulid("01ARZ3NDEKTSV4RRFFQ69G5FAV"));
        assert!(!is_ulid("81ARZ3NDEKTSV4RRFFQ69G5FAV") && !is_ulid("01ARZ3NDEKTSV4RRFFQ69G5FAI"));
    }

    #[test]
    fn names_and_headers() {
        assert!(
            is_protobuf_fqn("buf.validate.FieldRules", false) && is_protobuf_fqn(".a._b", true)
        );
        assert!(
            !is_protobuf_fqn("a..b", false)
                && !is_protobuf_fqn("a.1b", false)
                && !is_protobuf_fqn("a", true)
        );
        assert!(is_header_name("content-type", true) && is_header_name(":path", true));
        assert!(!is_header_name("bad header", true) && is_header_name("bad header", false));
        assert!(!is_header_name("a\r\nb", false) && !is_header_name("", true));
        assert!(is_header_value("text/plain; q=1\tx", true) && !is_header_value("a\u{1}", true));
        assert!(is_header_value("a\u{1}", false) && !is_header_value("a\nb", false));
    }
}
