//! Per-method rate limits: a token bucket kept as one atomic (GCRA).

use std::sync::atomic::{AtomicU64, Ordering};

/// A token bucket of `rate` calls a second and `burst` at once, as the generic cell rate
/// algorithm keeps it: one theoretical arrival time, moved with a compare-and-swap.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    /// Nanoseconds between calls at the steady rate.
    interval: u64,
    /// How far ahead of now the arrival time may run: `(burst - 1) * interval`.
    tolerance: u64,
    /// Nanoseconds since the layer's epoch at which the bucket is full again.
    tat: AtomicU64,
}

impl RateLimiter {
    /// `None` for a rate that admits nothing sensible (not a positive number).
    pub(crate) fn new(rate: f64, burst: Option<u32>) -> Option<Self> {
        if !(rate.is_finite() && rate > 0.0) {
            return None;
        }
        let interval = (1e9 / rate).max(1.0) as u64;
        let burst = burst.unwrap_or(rate.ceil() as u32).max(1);
        Some(Self {
            interval,
            tolerance: interval.saturating_mul(u64::from(burst - 1)),
            tat: AtomicU64::new(0),
        })
    }

    /// Takes a token for a call at `now` (nanoseconds since the epoch); when none is left, the
    /// error is how long until one is (nanoseconds), for the refusal's retry pushback.
    pub(crate) fn try_acquire(&self, now: u64) -> Result<(), u64> {
        let mut tat = self.tat.load(Ordering::Relaxed);
        loop {
            let base = tat.max(now);
            if base - now > self.tolerance {
                return Err(base - now - self.tolerance);
            }
            match self.tat.compare_exchange_weak(
                tat,
                base + self.interval,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return Ok(()),
                Err(actual) => tat = actual,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_the_burst_then_the_rate() {
        let limiter = RateLimiter::new(100.0, Some(5)).unwrap();
        let start = 1_000_000_000;
        let taken = |now| (0..20).filter(|_| limiter.try_acquire(now).is_ok()).count();
        assert_eq!(taken(start), 5);
        // 100 a second: one token every 10 ms, and a refusal says when the next one comes.
        assert_eq!(limiter.try_acquire(start), Err(10_000_000));
        assert_eq!(limiter.try_acquire(start + 4_000_000), Err(6_000_000));
        assert!(limiter.try_acquire(start + 10_000_000).is_ok());
        // A quiet second refills the burst, not more.
        let later = start + 2_000_000_000;
        assert_eq!(taken(later), 5);
        assert!(RateLimiter::new(0.0, None).is_none());
        assert_eq!(
            RateLimiter::new(2.5, None).unwrap().tolerance,
            2 * 400_000_000
        );
    }
}
