//! Header lookups for the request path. A gRPC message's header maps hold a handful of
//! entries, and gRPC's names (`grpc-status`, `grpc-timeout`, `traceparent`) are not among HTTP's
//! standard ones, so `HeaderMap::get` hashes the name byte by byte (and checks the map's hashing
//! mode) on every call. Comparing the few names in place costs a fraction of that; maps larger
//! than [`WALK_AT_MOST`] are looked up as usual.

use http::{HeaderMap, HeaderName, HeaderValue};

/// Up to this many values, the functions here walk the map instead of looking names up.
const WALK_AT_MOST: usize = 12;

/// The first value of `name` in `headers`.
pub(crate) fn header_value<'a>(
    headers: &'a HeaderMap,
    name: &HeaderName,
) -> Option<&'a HeaderValue> {
    if headers.len() > WALK_AT_MOST {
        return headers.get(name);
    }
    headers
        .iter()
        .find_map(|(key, value)| (key == name).then_some(value))
}

/// Whether `headers` holds any of `names`.
pub(crate) fn holds_any(headers: &HeaderMap, names: &[&HeaderName]) -> bool {
    if headers.len() > WALK_AT_MOST {
        return names.iter().any(|name| headers.contains_key(*name));
    }
    headers.keys().any(|key| names.contains(&key))
}

#[cfg(test)]
mod tests {
    use super::*;

    static MESSAGE: HeaderName = HeaderName::from_static("grpc-message");
    static STATUS: HeaderName = HeaderName::from_static("grpc-status");

    #[test]
    fn a_header_is_found_by_walking_small_maps_and_by_lookup_in_large_ones() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/grpc"));
        headers.insert("grpc-messag", HeaderValue::from_static("a near miss"));
        assert_eq!(header_value(&headers, &MESSAGE), None);
        headers.append("grpc-message", HeaderValue::from_static("first"));
        headers.append("grpc-message", HeaderValue::from_static("second"));
        assert_eq!(header_value(&headers, &MESSAGE).unwrap(), "first");
        for i in 0..WALK_AT_MOST {
            headers.insert(
                HeaderName::try_from(format!("x-{i}")).unwrap(),
                HeaderValue::from_static("v"),
            );
        }
        assert!(headers.len() > WALK_AT_MOST);
        assert_eq!(header_value(&headers, &MESSAGE).unwrap(), "first");
        assert_eq!(header_value(&headers, &STATUS), None);
    }

    #[test]
    fn any_of_several_names_is_found_in_small_and_large_maps() {
        let mut headers = HeaderMap::new();
        headers.insert("content-type", HeaderValue::from_static("application/grpc"));
        assert!(!holds_any(&headers, &[&MESSAGE, &STATUS]));
        headers.insert("grpc-status", HeaderValue::from_static("0"));
        assert!(holds_any(&headers, &[&MESSAGE, &STATUS]));
        for i in 0..WALK_AT_MOST {
            headers.insert(
                HeaderName::try_from(format!("x-{i}")).unwrap(),
                HeaderValue::from_static("v"),
            );
        }
        assert!(holds_any(&headers, &[&MESSAGE, &STATUS]));
        assert!(!holds_any(&headers, &[&MESSAGE]));
    }
}
