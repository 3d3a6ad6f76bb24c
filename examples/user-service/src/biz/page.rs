//! Paging through users (<https://google.aip.dev/158>): page sizes and opaque page tokens.

use bia::error::FieldViolation;

use super::Error;

/// The page size used when a request asks for 0.
pub const DEFAULT_PAGE_SIZE: u32 = 50;
/// The largest page; larger requests get this many.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// The number of users to return for a requested `page_size`: 0 means [`DEFAULT_PAGE_SIZE`],
/// above [`MAX_PAGE_SIZE`] is capped, negative is invalid.
pub fn page_size(requested: i32) -> Result<u32, Error> {
    match u32::try_from(requested) {
        Err(_) => Err(Error::Invalid(vec![FieldViolation::new(
            "page_size",
            "must not be negative",
        )])),
        Ok(0) => Ok(DEFAULT_PAGE_SIZE),
        Ok(size) => Ok(size.min(MAX_PAGE_SIZE)),
    }
}

/// Where the next page starts: after the user with this id (ids sort in creation order).
///
/// On the wire it is opaque: clients pass back what they were given and must not build their own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageToken {
    /// The id of the last user of the previous page.
    pub after_id: String,
}

const PREFIX: &str = "users/v1/after/";

impl PageToken {
    /// The token's text form.
    pub fn encode(&self) -> String {
        hex(format!("{PREFIX}{}", self.after_id).as_bytes())
    }

    /// Parses a token from [`PageToken::encode`]; an empty string means the first page.
    pub fn decode(token: &str) -> Result<Option<Self>, Error> {
        if token.is_empty() {
            return Ok(None);
        }
        let bytes = unhex(token).ok_or(Error::InvalidPageToken)?;
        let text = String::from_utf8(bytes).map_err(|_| Error::InvalidPageToken)?;
        match text.strip_prefix(PREFIX) {
            Some(after_id) if !after_id.is_empty() => Ok(Some(Self {
                after_id: after_id.to_owned(),
            })),
            _ => Err(Error::InvalidPageToken),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip() {
        let token = PageToken {
            after_id: "0190f1c2-7d2e-7000-8000-000000000001".into(),
        };
        assert_eq!(PageToken::decode(&token.encode()).unwrap(), Some(token));
        assert_eq!(PageToken::decode("").unwrap(), None);
    }

    #[test]
    fn foreign_tokens_are_rejected() {
        for bad in [
            "zz",
            "abc",
            "6869",
            "not a token",
            "ü1",
            &hex(PREFIX.as_bytes()),
        ] {
            assert!(
                matches!(PageToken::decode(bad), Err(Error::InvalidPageToken)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn page_sizes_default_and_cap() {
        assert_eq!(page_size(0).unwrap(), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(7).unwrap(), 7);
        assert_eq!(page_size(i32::MAX).unwrap(), MAX_PAGE_SIZE);
        assert!(matches!(page_size(-1), Err(Error::Invalid(_))));
    }
}
