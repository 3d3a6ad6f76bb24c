//! Decimal digits without `fmt`, for text made on the request path (a peer's address in the
//! access log, a client's `grpc-timeout`).

/// The decimal digits of `n`, written into the end of `buf`.
pub(crate) fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &buf[at..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_digits_of_every_size() {
        let mut buf = [0; 20];
        assert_eq!(decimal(0, &mut buf), b"0");
        assert_eq!(decimal(4317, &mut buf), b"4317");
        assert_eq!(decimal(u64::MAX, &mut buf), b"18446744073709551615");
    }
}
