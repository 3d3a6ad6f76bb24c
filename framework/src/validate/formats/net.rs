//! Host names, addresses and e-mail addresses, as protovalidate defines them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A host name (RFC 1034 as protovalidate reads it): dot-separated labels of ASCII letters,
/// digits and hyphens, each 1 to 63 long and not starting or ending with a hyphen, at most 253
/// characters in all, one trailing dot allowed, and the last label not all digits.
pub fn is_hostname(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.is_empty() || s.len() > 253 {
        return false;
    }
    let mut last_all_digits = false;
    for label in s.split('.') {
        let bytes = label.as_bytes();
        if bytes.is_empty()
            || bytes.len() > 63
            || bytes[0] == b'-'
            || bytes[bytes.len() - 1] == b'-'
            || !bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-')
        {
            return false;
        }
        last_all_digits = bytes.iter().all(u8::is_ascii_digit);
    }
    !last_all_digits
}

/// An e-mail address as the HTML living standard defines a valid one (what protovalidate
/// checks): a local part of letters, digits and ``.!#$%&'*+/=?^_`{|}~-``, one `@`, and a host
/// name.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b))
        && !domain.ends_with('.')
        && is_hostname(domain)
}

/// An IP address of `version` 4 or 6, or either when `version` is 0. IPv6 may carry a zone
/// (`fe80::1%eth0`).
pub fn is_ip(s: &str, version: u8) -> bool {
    match version {
        4 => s.parse::<Ipv4Addr>().is_ok(),
        6 => parse_ipv6(s).is_some(),
        _ => s.parse::<Ipv4Addr>().is_ok() || parse_ipv6(s).is_some(),
    }
}

fn parse_ipv6(s: &str) -> Option<Ipv6Addr> {
    match s.split_once('%') {
        Some((addr, zone)) if !zone.is_empty() => addr.parse().ok(),
        Some(_) => None,
        None => s.parse().ok(),
    }
}

/// An address with a prefix length (`192.168.0.0/16`, `2001:db8::/32`) of `version` 4, 6 or
/// either (0). With `strict`, the bits after the prefix must be zero (a network, not a host in
/// it).
pub fn is_ip_prefix(s: &str, version: u8, strict: bool) -> bool {
    let Some((addr, len)) = s.split_once('/') else {
        return false;
    };
    if len.is_empty() || len.len() > 3 || !len.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    if len.len() > 1 && len.starts_with('0') {
        return false;
    }
    let Ok(len) = len.parse::<u32>() else {
        return false;
    };
    let (bits, width) = match addr.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) if version != 6 => (u128::from(u32::from(v4)) << 96, 32),
        Ok(IpAddr::V6(v6)) if version != 4 => (u128::from(v6), 128),
        _ => return false,
    };
    if len > width {
        return false;
    }
    !strict || len == 128 || bits << len == 0
}

/// `host:port` with a host name or IPv4 address, or `[ipv6]:port`; the port a decimal number
/// up to 65535 without leading zeros. Without `port_required` the `:port` may be left out.
pub fn is_host_and_port(s: &str, port_required: bool) -> bool {
    if let Some(rest) = s.strip_prefix('[') {
        let Some((host, after)) = rest.split_once(']') else {
            return false;
        };
        if !is_ip(host, 6) {
            return false;
        }
        return match after.strip_prefix(':') {
            Some(port) => is_port(port),
            None => after.is_empty() && !port_required,
        };
    }
    match s.rsplit_once(':') {
        Some((host, port)) => (is_hostname(host) || is_ip(host, 4)) && is_port(port),
        None => !port_required && (is_hostname(s) || is_ip(s, 4)),
    }
}

fn is_port(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 5
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s == "0" || !s.starts_with('0'))
        && s.parse::<u32>().is_ok_and(|p| p <= 65535)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostnames() {
        for ok in [
            "example.com",
            "a",
            "a-b.c1",
            "example.com.",
            "xn--bcher-kva.de",
        ] {
            assert!(is_hostname(ok), "{ok}");
        }
        let long_label = "a".repeat(64);
        for bad in [
            "",
            ".",
            "-a.com",
            "a-.com",
            "a..b",
            "a_b.com",
            "1.2.3",
            &long_label,
            "é.com",
        ] {
            assert!(!is_hostname(bad), "{bad}");
        }
    }

    #[test]
    fn emails() {
        for ok in ["a@b.co", "first.last+tag@example.com", "x@localhost"] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in [
            "",
            "a",
            "@b.com",
            "a@",
            "a@b@c.com",
            "a b@c.com",
            "a@b.com.",
            "<a@b.com>",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn ips_and_prefixes() {
        assert!(is_ip("127.0.0.1", 0) && is_ip("127.0.0.1", 4) && !is_ip("127.0.0.1", 6));
        assert!(is_ip("::1", 6) && is_ip("fe80::1%eth0", 6) && !is_ip("::1", 4));
        assert!(!is_ip("256.0.0.1", 0) && !is_ip("1.2.3", 0) && !is_ip("fe80::1%", 6));
        assert!(is_ip_prefix("10.0.0.0/8", 4, true));
        assert!(!is_ip_prefix("10.0.0.1/8", 4, true) && is_ip_prefix("10.0.0.1/8", 4, false));
        assert!(
            is_ip_prefix("2001:db8::/32", 6, true) && !is_ip_prefix("2001:db8::/129", 6, false)
        );
        assert!(!is_ip_prefix("10.0.0.0", 0, false) && !is_ip_prefix("10.0.0.0/08", 0, false));
        assert!(is_ip_prefix("0.0.0.0/0", 0, true) && is_ip_prefix("::1/128", 6, true));
    }

    #[test]
    fn hosts_and_ports() {
        for ok in ["example.com:80", "127.0.0.1:0", "[::1]:65535"] {
            assert!(is_host_and_port(ok, true), "{ok}");
        }
        for bad in [
            "example.com",
            "a:",
            "a:65536",
            "a:080",
            "[::1]",
            "::1:80",
            "[x]:1",
            "1.2.3:4",
        ] {
            assert!(!is_host_and_port(bad, true), "{bad}");
        }
        assert!(is_host_and_port("example.com", false) && is_host_and_port("[::1]", false));
    }
}
