//! URIs and URI references (RFC 3986), checked by a small recursive-descent reader.

use super::net::is_ip;

/// An absolute URI: `scheme:` followed by the rest of RFC 3986's grammar (`https://a.b/c?d#e`).
pub fn is_uri(s: &str) -> bool {
    let Some((scheme, rest)) = split_scheme(s) else {
        return false;
    };
    is_scheme(scheme) && is_relative_or_hier(rest)
}

/// A URI or a relative reference (`../a?b`, `//host/p`, `#frag`, the empty string).
pub fn is_uri_ref(s: &str) -> bool {
    if let Some((scheme, rest)) = split_scheme(s)
        && is_scheme(scheme)
    {
        return is_relative_or_hier(rest);
    }
    // A relative reference's first segment may not contain ':' (it would read as a scheme).
    let path_end = s.find(['/', '?', '#']).unwrap_or(s.len());
    !s[..path_end].contains(':') && is_relative_or_hier(s)
}

fn split_scheme(s: &str) -> Option<(&str, &str)> {
    let colon = s.find(':')?;
    let before = &s[..colon];
    if before.contains(['/', '?', '#']) {
        return None;
    }
    Some((before, &s[colon + 1..]))
}

fn is_scheme(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// `hier-part [ "?" query ] [ "#" fragment ]` (or `relative-part ...`): both share this shape.
fn is_relative_or_hier(s: &str) -> bool {
    let (s, fragment) = match s.split_once('#') {
        Some((s, f)) => (s, Some(f)),
        None => (s, None),
    };
    let (s, query) = match s.split_once('?') {
        Some((s, q)) => (s, Some(q)),
        None => (s, None),
    };
    let query_ok =
        |q: Option<&str>| q.is_none_or(|q| all_chars(q, |b| is_pchar(b) || b == b'/' || b == b'?'));
    if !query_ok(query) || !query_ok(fragment) {
        return false;
    }
    let path = match s.strip_prefix("//") {
        Some(rest) => {
            let end = rest.find('/').unwrap_or(rest.len());
            if !is_authority(&rest[..end]) {
                return false;
            }
            &rest[end..]
        }
        None => s,
    };
    all_chars(path, |b| is_pchar(b) || b == b'/')
}

fn is_authority(s: &str) -> bool {
    let (userinfo, hostport) = match s.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, s),
    };
    if let Some(userinfo) = userinfo
        && !all_chars(userinfo, |b| {
            is_unreserved(b) || is_sub_delim(b) || b == b':'
        })
    {
        return false;
    }
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let Some((literal, after)) = rest.split_once(']') else {
            return false;
        };
        if !is_ip_literal(literal) {
            return false;
        }
        match after.strip_prefix(':') {
            Some(port) => ("", port),
            None if after.is_empty() => ("", ""),
            None => return false,
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h, p),
            None => (hostport, ""),
        }
    };
    port.bytes().all(|b| b.is_ascii_digit())
        && all_chars(host, |b| is_unreserved(b) || is_sub_delim(b))
}

fn is_ip_literal(s: &str) -> bool {
    if let Some(future) = s.strip_prefix(['v', 'V']) {
        // IPvFuture: "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )
        let Some((version, rest)) = future.split_once('.') else {
            return false;
        };
        return !version.is_empty()
            && version.bytes().all(|b| b.is_ascii_hexdigit())
            && !rest.is_empty()
            && rest
                .bytes()
                .all(|b| is_unreserved(b) || is_sub_delim(b) || b == b':');
    }
    // RFC 6874 writes a zone as "%25" inside the brackets.
    match s.split_once("%25") {
        Some((addr, zone)) => !zone.is_empty() && is_ip(addr, 6) && all_chars(zone, is_unreserved),
        None => is_ip(s, 6) && !s.contains('%'),
    }
}

/// Every byte passes `ok`, or is part of a valid `%XX` escape.
fn all_chars(s: &str, ok: impl Fn(u8) -> bool) -> bool {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if i + 2 >= bytes.len() {
                return false;
            }
            if !(bytes[i + 1].is_ascii_hexdigit() && bytes[i + 2].is_ascii_hexdigit()) {
                return false;
            }
            i += 3;
        } else if ok(bytes[i]) {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn is_sub_delim(b: u8) -> bool {
    matches!(
        b,
        b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
    )
}

fn is_pchar(b: u8) -> bool {
    is_unreserved(b) || is_sub_delim(b) || b == b':' || b == b'@'
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        for ok in [
            "https://example.com",
            "https://user:pw@example.com:8080/a/b?c=d&e#f",
            "mailto:a@b.com",
            "urn:isbn:0451450523",
            "http://[::1]:80/",
            "http://[fe80::1%25eth0]/",
            "http://[v1.x]/",
            "file:///etc/hosts",
            "http://a/%20b",
        ] {
            assert!(is_uri(ok), "{ok}");
        }
        for bad in [
            "",
            "example.com",
            "/a/b",
            "1http://a",
            "http://a b",
            "http://a/%zz",
            "http://a/%2",
            "http://[::1/",
            "http://[1.2.3.4]/",
            "http://a:port/",
            "http://a/\u{e9}",
        ] {
            assert!(!is_uri(bad), "{bad}");
        }
    }

    #[test]
    fn uri_refs() {
        for ok in [
            "",
            "/a",
            "a/b",
            "../a?b#c",
            "//host/p",
            "#frag",
            "?q",
            "https://x",
        ] {
            assert!(is_uri_ref(ok), "{ok}");
        }
        for bad in ["a:b:c d", "a b", "%", "//a b", "#a#b"] {
            assert!(!is_uri_ref(bad), "{bad}");
        }
    }
}
