//! The peer's address as text, without `fmt`: `Ipv4Addr`'s `Display` costs more than the rest
//! of the access-log line.

use std::fmt::Write as _;
use std::net::SocketAddr;

/// Room for the longest `SocketAddr` text: `[ffff:...:ffff%4294967295]:65535` is 54 bytes.
const CAPACITY: usize = 64;

/// A socket address written out, as `SocketAddr`'s `Display` writes it.
pub(super) struct PeerText {
    bytes: [u8; CAPACITY],
    len: usize,
}

impl PeerText {
    pub(super) fn new(peer: SocketAddr) -> Self {
        let mut text = Self {
            bytes: [0; CAPACITY],
            len: 0,
        };
        match peer {
            SocketAddr::V4(v4) => {
                for (i, octet) in v4.ip().octets().into_iter().enumerate() {
                    if i > 0 {
                        text.push(b'.');
                    }
                    text.decimal(u32::from(octet));
                }
                text.push(b':');
                text.decimal(u32::from(v4.port()));
            }
            // Rare enough on a server's hot path, and its rules (zero runs, scope ids) are many.
            SocketAddr::V6(v6) => {
                let _ = write!(text, "{v6}");
            }
        }
        text
    }

    pub(super) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }

    fn push(&mut self, byte: u8) {
        if self.len < CAPACITY {
            self.bytes[self.len] = byte;
            self.len += 1;
        }
    }

    /// `n` (an octet or a port, so at most five digits) in decimal.
    fn decimal(&mut self, mut n: u32) {
        let mut digits = [0; 5];
        let mut start = digits.len();
        loop {
            start -= 1;
            digits[start] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 || start == 0 {
                break;
            }
        }
        let digits = &digits[start..];
        if let Some(out) = self.bytes.get_mut(self.len..self.len + digits.len()) {
            out.copy_from_slice(digits);
            self.len += digits.len();
        }
    }
}

impl std::fmt::Write for PeerText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        if self.len + s.len() > CAPACITY {
            return Err(std::fmt::Error);
        }
        self.bytes[self.len..self.len + s.len()].copy_from_slice(s.as_bytes());
        self.len += s.len();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_what_display_writes() {
        for peer in [
            "127.0.0.1:50498",
            "0.0.0.0:0",
            "255.255.255.255:65535",
            "10.20.3.4:9",
            "[::1]:8080",
            "[2001:db8::ff00:42:8329]:443",
            "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535",
        ] {
            let addr: SocketAddr = peer.parse().unwrap();
            assert_eq!(PeerText::new(addr).as_str(), addr.to_string(), "{peer}");
        }
        let scoped = SocketAddr::V6(std::net::SocketAddrV6::new(
            std::net::Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1),
            1,
            0,
            u32::MAX,
        ));
        assert_eq!(PeerText::new(scoped).as_str(), scoped.to_string());
    }
}
