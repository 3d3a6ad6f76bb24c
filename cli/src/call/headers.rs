//! `-H 'key: value'`: request metadata, checked once and copied onto every request.

use base64::Engine as _;
use tonic::metadata::{
    AsciiMetadataKey, AsciiMetadataValue, BinaryMetadataKey, BinaryMetadataValue, MetadataMap,
};

use super::error::{CallError, Result};

/// Parses each `key: value`; keys ending in `-bin` take base64 values (padded or not).
pub(crate) fn parse(headers: &[String]) -> Result<MetadataMap> {
    let mut map = MetadataMap::new();
    for header in headers {
        let (key, value) = header.split_once(':').ok_or_else(|| {
            CallError::usage(format!(
                "-H `{header}` has no colon: write it as 'key: value', e.g. -H 'authorization: Bearer TOKEN'"
            ))
        })?;
        let (key, value) = (key.trim().to_ascii_lowercase(), value.trim());
        let bad = |what: &str| CallError::usage(format!("-H `{header}`: {what}"));
        if key.ends_with("-bin") {
            let key = BinaryMetadataKey::from_bytes(key.as_bytes())
                .map_err(|_| bad("invalid key (letters, digits, `-`, `_` and `.` only)"))?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(value)
                .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(value))
                .map_err(|_| bad("a key ending in -bin takes a base64 value"))?;
            map.append_bin(key, BinaryMetadataValue::from_bytes(&bytes));
        } else {
            let key = AsciiMetadataKey::from_bytes(key.as_bytes())
                .map_err(|_| bad("invalid key (letters, digits, `-`, `_` and `.` only)"))?;
            let value = AsciiMetadataValue::try_from(value)
                .map_err(|_| bad("the value must be printable ASCII; use a -bin key for bytes"))?;
            map.append(key, value);
        }
    }
    Ok(map)
}

/// Copies `headers` into `target` (a request's metadata).
pub(crate) fn apply(headers: &MetadataMap, target: &mut MetadataMap) {
    for entry in headers.iter() {
        match entry {
            tonic::metadata::KeyAndValueRef::Ascii(key, value) => {
                target.append(key.clone(), value.clone());
            }
            tonic::metadata::KeyAndValueRef::Binary(key, value) => {
                target.append_bin(key.clone(), value.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ascii_and_binary_headers_are_parsed_and_repeated_keys_kept() {
        let map = parse(&strings(&["X-Tenant: a", "x-tenant:b", "trace-bin: AAEC"])).unwrap();
        let tenants: Vec<_> = map
            .get_all("x-tenant")
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(tenants, ["a", "b"]);
        assert_eq!(
            map.get_bin("trace-bin")
                .unwrap()
                .to_bytes()
                .unwrap()
                .as_ref(),
            [0, 1, 2]
        );
    }

    #[test]
    fn malformed_headers_say_how_to_write_them() {
        let err = |h: &str| parse(&strings(&[h])).unwrap_err().to_string();
        assert!(err("authorization Bearer x").contains("'key: value'"));
        assert!(err("bad key: x").contains("invalid key"));
        assert!(err("x-bin: !!!").contains("base64"));
        assert!(err("x: a\u{7}b").contains("printable ASCII"));
    }
}
