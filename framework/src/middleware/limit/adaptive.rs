//! Adaptive load shedding, BBR-like: admit while the calls in flight are within what the
//! server has shown it completes without queueing.
//!
//! Over a sliding window of [`BUCKETS`] buckets the shedder learns the most calls completed in
//! a bucket (`max_pass`) and the lowest average latency of a bucket (`min_rt`); by Little's law
//! `max_pass * min_rt / bucket` is how many calls can be in flight at peak throughput with no
//! queue. That is the limit. It is enforced only while the shedder is *armed*: a bucket's
//! average latency rose above `latency_factor * min_rt` and at least `min_queue_delay` above
//! `min_rt` (calls queue), or a call was shed within the cooldown. Bursts on an idle server are therefore admitted, and a server that is busy but
//! keeps its latency sheds nothing.
//!
//! Calls count from their arrival (the `CallInfo`'s start) to the end of their handler: on
//! Tokio a CPU-bound handler does not get slower, the calls behind it wait to be polled, so
//! latency from arrival is the signal that sees CPU overload as well as a saturated pool or
//! downstream.
//!
//! Shedding must save more than it costs. Calls whose lowest latency is under
//! `min_call_latency` (1 ms) are never shed: a refusal costs about as much as serving them. When the work it protects is about as cheap as a
//! shed answer (a trivial handler under a flood of clients that resend at once), each shed
//! call comes straight back, the runtime's queue fills with shed answers, and the admitted calls
//! wait behind them: goodput falls instead of holding. So when calls were shed in
//! [`BAD_BUCKETS`] buckets in a row (a second by default, longer than the backlog admitted before
//! shedding began usually takes to clear) each of which completed fewer than half of `max_pass`
//! calls, the shedder disarms and stays disarmed for a window: the server queues, as it would
//! with no shedder.
//!
//! The hot path is a few relaxed atomics; the statistics are recomputed once a bucket, by the
//! call that opens it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use metrics::Gauge;

use crate::config::SheddingConfig;
use crate::telemetry::MetricsRegistry;

/// Buckets in the window.
pub(crate) const BUCKETS: u64 = 50;
/// A bucket needs this many completed calls before its latency says anything.
const MIN_SAMPLES: u64 = 4;
const NOT_LEARNT: u64 = u64::MAX;
/// Buckets in a row of shedding with goodput below half its best before the shedder gives up.
pub(crate) const BAD_BUCKETS: u64 = 10;

#[derive(Default)]
struct Bucket {
    epoch: AtomicU64,
    passed: AtomicU64,
    rt_sum_us: AtomicU64,
    shed: AtomicU64,
}

/// The shedder's state, shared by every connection of a server.
pub(crate) struct Shedder {
    bucket_us: u64,
    window_us: u64,
    latency_factor: f64,
    min_queue_delay_us: u64,
    min_call_latency_us: u64,
    cooldown_us: u64,
    in_flight: AtomicU64,
    limit: AtomicU64,
    /// The lowest bucket latency in the window, in µs.
    min_rt: AtomicU64,
    /// Microseconds since the epoch until which the limit is enforced.
    armed_until: AtomicU64,
    /// Until when the shedder may not arm: shedding did not keep goodput.
    banned_until: AtomicU64,
    /// Buckets in a row in which calls were shed and goodput was below half its best.
    bad_buckets: AtomicU64,
    buckets: [Bucket; BUCKETS as usize],
    limit_gauge: Gauge,
    in_flight_gauge: Gauge,
    overloaded_gauge: Gauge,
}

impl std::fmt::Debug for Shedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shedder")
            .field("in_flight", &self.in_flight.load(Ordering::Relaxed))
            .field("limit", &self.limit.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl Shedder {
    pub(crate) fn new(config: &SheddingConfig, registry: Option<&MetricsRegistry>) -> Self {
        let window_us = micros(config.window).max(BUCKETS * 1000);
        let gauge = |name| registry.map_or_else(Gauge::noop, |r| r.gauge(name, &[]));
        Self {
            bucket_us: window_us / BUCKETS,
            window_us,
            latency_factor: config.latency_factor.max(1.0),
            min_queue_delay_us: micros(config.min_queue_delay),
            min_call_latency_us: micros(config.min_call_latency),
            cooldown_us: micros(config.cooldown),
            in_flight: AtomicU64::new(0),
            limit: AtomicU64::new(NOT_LEARNT),
            min_rt: AtomicU64::new(NOT_LEARNT),
            armed_until: AtomicU64::new(0),
            banned_until: AtomicU64::new(0),
            bad_buckets: AtomicU64::new(0),
            buckets: std::array::from_fn(|_| Bucket::default()),
            limit_gauge: gauge("bia_server_inflight_limit"),
            in_flight_gauge: gauge("bia_server_inflight_calls"),
            overloaded_gauge: gauge("bia_server_overloaded"),
        }
    }

    /// Admits a call arriving `now` (µs since the epoch) and counts it in flight, or says shed.
    pub(crate) fn admit(&self, now: u64) -> bool {
        let in_flight = self.in_flight.load(Ordering::Relaxed);
        if in_flight < self.limit.load(Ordering::Relaxed)
            || (now >= self.armed_until.load(Ordering::Relaxed) && !self.queueing_now(now))
        {
            self.in_flight.fetch_add(1, Ordering::Relaxed);
            return true;
        }
        self.armed_until
            .fetch_max(now.saturating_add(self.cooldown_us), Ordering::Relaxed);
        self.bucket(now).shed.fetch_add(1, Ordering::Relaxed);
        false
    }

    /// Whether the calls completed so far in the current bucket say that calls queue: checked
    /// only above the limit, so that shedding starts within a few calls of a queue forming
    /// rather than a bucket later (at ten times the capacity, a bucket's arrivals are a
    /// second's work).
    fn queueing_now(&self, now: u64) -> bool {
        if now < self.banned_until.load(Ordering::Relaxed) {
            return false;
        }
        let min_rt = self.min_rt.load(Ordering::Relaxed);
        let bucket = self.bucket(now);
        let passed = bucket.passed.load(Ordering::Relaxed);
        min_rt != NOT_LEARNT
            && passed >= MIN_SAMPLES
            && self.queues(
                bucket.rt_sum_us.load(Ordering::Relaxed) as f64 / passed as f64,
                min_rt as f64,
            )
    }

    /// Whether a bucket latency of `rt` says calls queue, against the lowest `min_rt`.
    fn queues(&self, rt: f64, min_rt: f64) -> bool {
        rt > self.latency_factor * min_rt && rt - min_rt > self.min_queue_delay_us as f64
    }

    /// An admitted call left; `finished` is `Some(now)` when its handler completed (rather than
    /// being dropped), with its arrival at `start`.
    pub(crate) fn release(&self, start: u64, finished: Option<u64>) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
        if let Some(now) = finished {
            let bucket = self.bucket(now);
            bucket.passed.fetch_add(1, Ordering::Relaxed);
            bucket
                .rt_sum_us
                .fetch_add(now.saturating_sub(start).max(1), Ordering::Relaxed);
        }
    }

    /// The bucket of `now`, opened (and the statistics recomputed) if it held an older epoch.
    fn bucket(&self, now: u64) -> &Bucket {
        let epoch = now / self.bucket_us + 1;
        let bucket = &self.buckets[(epoch % BUCKETS) as usize];
        let seen = bucket.epoch.load(Ordering::Acquire);
        if seen != epoch
            && bucket
                .epoch
                .compare_exchange(seen, epoch, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            bucket.passed.store(0, Ordering::Relaxed);
            bucket.rt_sum_us.store(0, Ordering::Relaxed);
            bucket.shed.store(0, Ordering::Relaxed);
            self.update(epoch, now);
        }
        bucket
    }

    /// Recomputes the limit and the arming from the buckets before `epoch`.
    fn update(&self, epoch: u64, now: u64) {
        let mut max_pass = 0u64;
        let mut min_rt = f64::MAX;
        let mut last = None;
        for age in 1..BUCKETS {
            let Some(e) = epoch.checked_sub(age) else {
                break;
            };
            let bucket = &self.buckets[(e % BUCKETS) as usize];
            if bucket.epoch.load(Ordering::Acquire) != e {
                continue;
            }
            let passed = bucket.passed.load(Ordering::Relaxed);
            let shed = bucket.shed.load(Ordering::Relaxed);
            if age == 1 {
                last = Some((passed, shed, bucket.rt_sum_us.load(Ordering::Relaxed)));
            }
            if passed >= MIN_SAMPLES {
                max_pass = max_pass.max(passed);
                let rt = bucket.rt_sum_us.load(Ordering::Relaxed) as f64 / passed as f64;
                min_rt = min_rt.min(rt);
            }
        }
        // Calls cheaper than `min_call_latency` are never shed: refusing them would cost as much.
        let limit = if max_pass == 0 || min_rt < self.min_call_latency_us as f64 {
            NOT_LEARNT
        } else {
            ((max_pass as f64 * min_rt / self.bucket_us as f64).ceil() as u64).max(1)
        };
        self.limit.store(limit, Ordering::Relaxed);
        self.min_rt.store(
            if max_pass == 0 {
                NOT_LEARNT
            } else {
                min_rt as u64
            },
            Ordering::Relaxed,
        );
        if let Some((passed, shed, rt_sum)) = last {
            let queueing =
                passed >= MIN_SAMPLES && self.queues(rt_sum as f64 / passed as f64, min_rt);
            let bad = shed > 0 && passed * 2 < max_pass;
            if !bad {
                self.bad_buckets.store(0, Ordering::Relaxed);
            }
            if bad && self.bad_buckets.fetch_add(1, Ordering::Relaxed) + 1 >= BAD_BUCKETS {
                // Shedding is not keeping goodput up: stop, and queue instead for a window.
                self.bad_buckets.store(0, Ordering::Relaxed);
                self.armed_until.store(0, Ordering::Relaxed);
                self.banned_until
                    .store(now.saturating_add(self.window_us), Ordering::Relaxed);
            } else if queueing && now >= self.banned_until.load(Ordering::Relaxed) {
                self.armed_until
                    .fetch_max(now.saturating_add(self.cooldown_us), Ordering::Relaxed);
            }
        }
        self.limit_gauge.set(if limit == NOT_LEARNT {
            0.0
        } else {
            limit as f64
        });
        self.in_flight_gauge
            .set(self.in_flight.load(Ordering::Relaxed) as f64);
        let armed = now < self.armed_until.load(Ordering::Relaxed);
        self.overloaded_gauge.set(if armed { 1.0 } else { 0.0 });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shedder() -> Shedder {
        Shedder::new(
            &SheddingConfig {
                window: Duration::from_secs(5),
                ..SheddingConfig::default()
            },
            None,
        )
    }

    const BUCKET: u64 = 100_000;

    /// One bucket of `calls` calls of `rt` µs each, `concurrent` at a time, from `start`.
    fn serve(s: &Shedder, start: u64, calls: u64, rt: u64) -> u64 {
        let mut shed = 0;
        for i in 0..calls {
            let at = start + i * (BUCKET / calls);
            if s.admit(at) {
                s.release(at.saturating_sub(rt), Some(at));
            } else {
                shed += 1;
            }
        }
        shed
    }

    #[test]
    fn a_busy_server_that_keeps_its_latency_sheds_nothing() {
        let s = shedder();
        for b in 0..30 {
            assert_eq!(serve(&s, b * BUCKET, 100 + b * 20, 2_000), 0);
        }
        // 700 calls of 2 ms a bucket of 100 ms: 14 in flight.
        assert_eq!(s.limit.load(Ordering::Relaxed), 14);
        // A burst far above the limit on a server whose latency is fine is admitted.
        let now = 30 * BUCKET + 10;
        assert!((0..100).all(|_| s.admit(now)));
    }

    #[test]
    fn queueing_arms_the_limit_and_admitted_calls_leave_room() {
        let s = shedder();
        for b in 0..10 {
            serve(&s, b * BUCKET, 500, 2_000);
        }
        assert_eq!(s.limit.load(Ordering::Relaxed), 10);
        // Calls now queue: 50 ms each.
        serve(&s, 10 * BUCKET, 500, 50_000);
        // The next bucket opens and sees the queue: the limit is armed.
        let now = 11 * BUCKET + 5;
        assert!(s.admit(now));
        s.release(now - 2_000, Some(now));
        let admitted = (0..100).filter(|_| s.admit(now)).count();
        assert_eq!(admitted, 10, "held at the limit");
        // As admitted calls end, others get in.
        s.release(now, Some(now + 2_000));
        assert!(s.admit(now + 2_000));
        assert!(!s.admit(now + 2_000));
    }

    #[test]
    fn calls_cheaper_than_the_floor_are_never_shed() {
        let s = shedder();
        for b in 0..10 {
            serve(&s, b * BUCKET, 500, 200);
        }
        // 0.2 ms calls queue to 20 ms: far slower, but refusing them would cost as much.
        serve(&s, 10 * BUCKET, 500, 20_000);
        let now = 11 * BUCKET + 5;
        assert!(s.admit(now));
        s.release(now - 200, Some(now));
        assert!((0..1_000).all(|_| s.admit(now)), "{s:?}");
    }

    #[test]
    fn shedding_that_does_not_keep_goodput_gives_up_for_a_window() {
        let s = shedder();
        for b in 0..10 {
            serve(&s, b * BUCKET, 500, 2_000);
        }
        // Armed, and then a second of buckets in which calls are shed while few complete,
        // slowly: shedding is not helping.
        let mut at = 10 * BUCKET;
        let mut outstanding = 0;
        let mut shed = 0;
        for _ in 0..BAD_BUCKETS + 3 {
            let admitted = (0..50).filter(|_| s.admit(at)).count();
            shed += 50 - admitted;
            outstanding += admitted;
            for _ in 0..outstanding.min(20) {
                s.release(at, Some(at + 40_000));
            }
            outstanding -= outstanding.min(20);
            at += BUCKET;
        }
        assert!(shed > 0, "it shed at first");
        assert!(
            s.banned_until.load(Ordering::Relaxed) > 0,
            "and then gave up"
        );
        assert!(s.admit(at));
        s.release(at, Some(at + 1));
        assert!(
            now_disarmed(&s, at + 2),
            "disarmed: {:?}, armed until {}, banned until {}",
            s,
            s.armed_until.load(Ordering::Relaxed),
            s.banned_until.load(Ordering::Relaxed)
        );
    }

    fn now_disarmed(s: &Shedder, now: u64) -> bool {
        (0..1_000).all(|_| s.admit(now))
    }
}
