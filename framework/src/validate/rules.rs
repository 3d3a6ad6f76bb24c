//! Small run-time pieces that the code bia-build generates calls into.
//!
//! Not meant to be called by hand, but public so generated code in other crates can reach
//! them; their signatures change with bia-build.

use std::time::{SystemTime, UNIX_EPOCH};

pub use regex;

/// The number of Unicode code points, which is what protovalidate's string lengths count.
pub fn char_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

/// Whether no two items are equal. Quadratic for short lists (no allocation), hashed beyond.
pub fn unique<T: Eq + std::hash::Hash>(items: &[T]) -> bool {
    if items.len() <= 16 {
        return unique_by_eq(items);
    }
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    items.iter().all(|item| seen.insert(item))
}

/// Whether no two items are equal, for types without `Hash` (floats).
pub fn unique_by_eq<T: PartialEq>(items: &[T]) -> bool {
    items
        .iter()
        .enumerate()
        .all(|(i, a)| items[i + 1..].iter().all(|b| a != b))
}

/// Whether `needle` occurs in `haystack` (bytes' `contains`).
pub fn bytes_contain(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// A `Timestamp` or `Duration` as `(seconds, nanos)`, which orders as the instant or span does
/// for normalized values.
pub fn seconds_nanos(seconds: i64, nanos: i32) -> (i64, i32) {
    (seconds, nanos)
}

/// Now, as `(seconds, nanos)` since the Unix epoch (for `lt_now`, `gt_now`, `within`).
pub fn now() -> (i64, i32) {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs() as i64, d.subsec_nanos() as i32),
        Err(e) => {
            let d = e.duration();
            let (s, n) = (d.as_secs() as i64, d.subsec_nanos() as i32);
            if n == 0 {
                (-s, 0)
            } else {
                (-s - 1, 1_000_000_000 - n)
            }
        }
    }
}

/// `a + b` and `a - b` for `(seconds, nanos)` pairs, normalized; the bounds of `within`.
pub fn add_sub(a: (i64, i32), b: (i64, i32)) -> ((i64, i32), (i64, i32)) {
    let to_nanos = |(s, n): (i64, i32)| i128::from(s) * 1_000_000_000 + i128::from(n);
    let from_nanos = |t: i128| {
        let s = t.div_euclid(1_000_000_000);
        let n = t.rem_euclid(1_000_000_000);
        (s.clamp(i64::MIN.into(), i64::MAX.into()) as i64, n as i32)
    };
    let (a, b) = (to_nanos(a), to_nanos(b));
    (from_nanos(a + b), from_nanos(a - b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_count_code_points() {
        assert_eq!(char_len("abc"), 3);
        assert_eq!(char_len("héllo"), 5);
        assert_eq!(char_len("日本"), 2);
    }

    #[test]
    fn uniqueness() {
        assert!(unique(&[1, 2, 3]) && !unique(&[1, 2, 1]));
        let long: Vec<u32> = (0..100).collect();
        assert!(unique(&long));
        let mut dup = long.clone();
        dup.push(42);
        assert!(!unique(&dup));
        assert!(unique_by_eq(&[1.0, 2.0]) && !unique_by_eq(&[1.5, 1.5]));
        assert!(unique(&["a", "b"]) && !unique(&["a", "a"]));
    }

    #[test]
    fn bytes_and_time() {
        assert!(bytes_contain(b"hello", b"ll") && !bytes_contain(b"hello", b"lo!"));
        assert!(bytes_contain(b"", b""));
        let (s, _) = now();
        assert!(s > 1_700_000_000);
        assert_eq!(
            add_sub((10, 500_000_000), (0, 600_000_000)),
            ((11, 100_000_000), (9, 900_000_000))
        );
    }
}
