//! The address attributes of a server span, as text made once per address rather than per call.
//!
//! A connection's calls share their peer and server address, so each thread keeps the text of
//! the last address it wrote: a call from the same address clones a shared string instead of
//! formatting and allocating one.

use std::cell::RefCell;
use std::net::IpAddr;
use std::sync::Arc;

use opentelemetry::StringValue;

thread_local! {
    static PEER: RefCell<Option<(IpAddr, StringValue)>> = const { RefCell::new(None) };
    static SERVER: RefCell<Option<(IpAddr, StringValue)>> = const { RefCell::new(None) };
    static HOST: RefCell<Option<StringValue>> = const { RefCell::new(None) };
}

/// `network.peer.address`.
pub(super) fn peer(ip: IpAddr) -> StringValue {
    ip_text(&PEER, ip)
}

/// `server.address`, from the local address.
pub(super) fn server(ip: IpAddr) -> StringValue {
    ip_text(&SERVER, ip)
}

/// `server.address`, from `:authority`.
pub(super) fn host(host: &str) -> StringValue {
    HOST.with_borrow_mut(|last| match last {
        Some(text) if text.as_str() == host => text.clone(),
        _ => last
            .insert(StringValue::from(Arc::<str>::from(host)))
            .clone(),
    })
}

fn ip_text(
    cache: &'static std::thread::LocalKey<RefCell<Option<(IpAddr, StringValue)>>>,
    ip: IpAddr,
) -> StringValue {
    cache.with_borrow_mut(|last| match last {
        Some((cached, text)) if *cached == ip => text.clone(),
        _ => {
            let text = StringValue::from(Arc::<str>::from(ip.to_string()));
            *last = Some((ip, text.clone()));
            text
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_follows_the_address() {
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "::1".parse().unwrap();
        assert_eq!(peer(a).as_str(), "127.0.0.1");
        assert_eq!(peer(a).as_str(), "127.0.0.1");
        assert_eq!(peer(b).as_str(), "::1");
        assert_eq!(server(a).as_str(), "127.0.0.1");
        assert_eq!(host("example.com").as_str(), "example.com");
        assert_eq!(host("example.com").as_str(), "example.com");
        assert_eq!(host("other").as_str(), "other");
    }
}
