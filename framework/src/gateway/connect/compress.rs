//! Message compression: identity and gzip, the encodings every Connect client knows.
//!
//! Decompression is bounded by the server's message limit, so a small gzip bomb cannot make
//! the server inflate gigabytes.

use std::io::{Read, Write};

use bytes::Bytes;
use flate2::Compression as Level;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

/// An encoding of message bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Compression {
    Identity,
    Gzip,
}

/// What went wrong inflating a message.
#[derive(Debug, thiserror::Error)]
pub(crate) enum InflateError {
    /// More than the server takes once inflated.
    #[error("the message inflates to more than the limit of {max} bytes")]
    TooLarge { max: usize },
    /// Not gzip.
    #[error("the message is not valid gzip: {0}")]
    Corrupt(std::io::Error),
}

/// The encodings this server sends and takes, for `accept-encoding` answers.
pub(crate) const SUPPORTED: &str = "gzip";

impl Compression {
    /// The encoding a `content-encoding` (or `connect-content-encoding`, `compression=`) names;
    /// `None` for one this server does not know. No value is identity.
    pub(crate) fn from_name(name: Option<&[u8]>) -> Option<Self> {
        match name.map(<[u8]>::trim_ascii) {
            None | Some(b"" | b"identity") => Some(Self::Identity),
            Some(name) if name.eq_ignore_ascii_case(b"gzip") => Some(Self::Gzip),
            Some(_) => None,
        }
    }

    /// The encoding to answer with, from an `accept-encoding` list: gzip when it is there
    /// (with no `q=0`), else identity.
    pub(crate) fn negotiate(accept: Option<&[u8]>) -> Self {
        let Some(accept) = accept else {
            return Self::Identity;
        };
        let gzip = accept.split(|&b| b == b',').any(|item| {
            let mut parts = item.split(|&b| b == b';');
            let name = parts.next().unwrap_or_default().trim_ascii();
            name.eq_ignore_ascii_case(b"gzip")
                && !parts
                    .any(|p| matches!(p.trim_ascii(), b"q=0" | b"q=0.0" | b"q=0.00" | b"q=0.000"))
        });
        if gzip { Self::Gzip } else { Self::Identity }
    }

    /// The name in headers; `None` for identity, which is never named.
    pub(crate) fn header_name(self) -> Option<&'static str> {
        match self {
            Self::Identity => None,
            Self::Gzip => Some("gzip"),
        }
    }

    /// `data` inflated, at most `max` bytes of it.
    pub(crate) fn decompress(self, data: Bytes, max: usize) -> Result<Bytes, InflateError> {
        match self {
            Self::Identity => Ok(data),
            Self::Gzip => {
                let mut out = Vec::with_capacity(data.len().saturating_mul(2).min(max));
                let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
                GzDecoder::new(&data[..])
                    .take(limit)
                    .read_to_end(&mut out)
                    .map_err(InflateError::Corrupt)?;
                if out.len() > max {
                    return Err(InflateError::TooLarge { max });
                }
                Ok(out.into())
            }
        }
    }

    /// `data` deflated with this encoding.
    pub(crate) fn compress(self, data: Bytes) -> Bytes {
        match self {
            Self::Identity => data,
            Self::Gzip => {
                let mut encoder =
                    GzEncoder::new(Vec::with_capacity(data.len() / 2 + 32), Level::fast());
                // Writing into a Vec cannot fail.
                encoder.write_all(&data).expect("gzip into memory");
                encoder.finish().expect("gzip into memory").into()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_round_trips_and_identity_is_untouched() {
        let data = Bytes::from(vec![b'a'; 1000]);
        let packed = Compression::Gzip.compress(data.clone());
        assert!(packed.len() < 100);
        assert_eq!(Compression::Gzip.decompress(packed, 1000).unwrap(), data);
        assert_eq!(Compression::Identity.compress(data.clone()), data);
    }

    #[test]
    fn inflating_past_the_limit_stops_at_the_limit() {
        let packed = Compression::Gzip.compress(Bytes::from(vec![0; 1 << 20]));
        let err = Compression::Gzip.decompress(packed, 1024).unwrap_err();
        assert!(matches!(err, InflateError::TooLarge { max: 1024 }), "{err}");
        let err = Compression::Gzip
            .decompress(Bytes::from_static(b"not gzip"), 1024)
            .unwrap_err();
        assert!(matches!(err, InflateError::Corrupt(_)), "{err}");
    }

    #[test]
    fn names_and_negotiation() {
        assert_eq!(Compression::from_name(None), Some(Compression::Identity));
        assert_eq!(
            Compression::from_name(Some(b"GZIP")),
            Some(Compression::Gzip)
        );
        assert_eq!(Compression::from_name(Some(b"br")), None);
        assert_eq!(Compression::negotiate(Some(b"br, gzip")), Compression::Gzip);
        assert_eq!(
            Compression::negotiate(Some(b"gzip;q=0, br")),
            Compression::Identity
        );
        assert_eq!(
            Compression::negotiate(Some(b"identity")),
            Compression::Identity
        );
        assert_eq!(Compression::negotiate(None), Compression::Identity);
    }
}
