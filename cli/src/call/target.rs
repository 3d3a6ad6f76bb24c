//! The server address as typed (`127.0.0.1:9000`, `http://…`, `https://…`) and whether the
//! connection uses TLS.

use tonic::transport::Uri;

use super::error::{CallError, Result};

/// Where to connect, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// `http://host:port` or `https://host:port`: the scheme says whether TLS is used.
    pub(crate) uri: Uri,
    /// The host, for TLS server name verification when no `--authority` is given.
    pub(crate) host: String,
}

impl Target {
    /// Whether the connection uses TLS.
    pub(crate) fn tls(&self) -> bool {
        self.uri.scheme_str() == Some("https")
    }
}

/// Parses `addr`. A bare `host:port` is plaintext unless `want_tls` (any TLS option given);
/// `plaintext` and `https://` (or `want_tls` and `http://`) contradict each other.
pub(crate) fn parse(addr: &str, plaintext: bool, want_tls: bool) -> Result<Target> {
    if plaintext && want_tls {
        return Err(CallError::usage(
            "--plaintext contradicts the TLS options (--tls, --cacert, --cert, --key, --insecure); \
             drop one or the other",
        ));
    }
    let (tls, rest) = if let Some(rest) = addr.strip_prefix("https://") {
        if plaintext {
            return Err(CallError::usage(format!(
                "`{addr}` asks for TLS but --plaintext was given; use http:// for plaintext"
            )));
        }
        (true, rest)
    } else if let Some(rest) = addr.strip_prefix("http://") {
        if want_tls {
            return Err(CallError::usage(format!(
                "`{addr}` is plaintext but TLS options were given; use https:// for TLS"
            )));
        }
        (false, rest)
    } else if addr.contains("://") {
        return Err(CallError::usage(format!(
            "unsupported scheme in `{addr}`: use host:port, http://host:port or https://host:port"
        )));
    } else {
        (want_tls, addr)
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.is_empty() || authority.contains('/') {
        return Err(CallError::usage(format!(
            "invalid address `{addr}`: expected host:port (e.g. 127.0.0.1:9000), with no path"
        )));
    }
    let scheme = if tls { "https" } else { "http" };
    let uri: Uri = format!("{scheme}://{authority}")
        .parse()
        .map_err(|e| CallError::usage(format!("invalid address `{addr}`: {e}")))?;
    let parsed = uri.authority().expect("an absolute URI has an authority");
    if parsed.port_u16().is_none() {
        return Err(CallError::usage(format!(
            "address `{addr}` has no port: write it as host:port, e.g. 127.0.0.1:9000"
        )));
    }
    let host = parsed.host().trim_start_matches('[').trim_end_matches(']');
    Ok(Target {
        host: host.to_owned(),
        uri,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(addr: &str, plaintext: bool, tls: bool) -> (String, bool, String) {
        let target = parse(addr, plaintext, tls).unwrap();
        (target.uri.to_string(), target.tls(), target.host)
    }

    fn err(addr: &str, plaintext: bool, tls: bool) -> String {
        parse(addr, plaintext, tls).unwrap_err().to_string()
    }

    #[test]
    fn bare_addresses_are_plaintext_unless_tls_is_asked_for() {
        assert_eq!(
            ok("127.0.0.1:9000", false, false),
            ("http://127.0.0.1:9000/".into(), false, "127.0.0.1".into())
        );
        assert!(ok("localhost:9000", false, true).1);
        assert!(!ok("localhost:9000", true, false).1);
    }

    #[test]
    fn schemes_decide_and_contradictions_are_refused() {
        assert!(ok("https://example.com:443/", false, false).1);
        assert!(!ok("http://[::1]:9000", false, false).1);
        assert_eq!(ok("http://[::1]:9000", false, false).2, "::1");
        assert!(err("https://a:1", true, false).contains("--plaintext"));
        assert!(err("http://a:1", false, true).contains("https://"));
        assert!(err("a:1", true, true).contains("contradicts"));
    }

    #[test]
    fn malformed_addresses_say_what_is_expected() {
        assert!(err("127.0.0.1", false, false).contains("no port"));
        assert!(err("http://a:1/pkg", false, false).contains("no path"));
        assert!(err("unix:///tmp/s", false, false).contains("unsupported scheme"));
        assert!(err("", false, false).contains("host:port"));
    }
}
