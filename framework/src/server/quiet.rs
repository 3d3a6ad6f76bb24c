//! "Nothing happened for a whole timeout", checked on a coarse tick: a connection with no call
//! (`idle_timeout`), or whose socket has taken no byte while it had some to write
//! (`send_stall_timeout`).

use std::time::Duration;

/// Ticks four times per timeout and reports when a whole timeout's worth of ticks in a row saw
/// the same marker and a quiet state: so it fires within 3/4 to 1 of the timeout after the last
/// sign of life, at the cost of one timer per connection and timeout.
pub(crate) struct QuietCheck {
    interval: Option<tokio::time::Interval>,
    quiet_ticks: u32,
    last_marker: u64,
}

impl QuietCheck {
    const TICKS: u32 = 4;

    /// A check for `timeout`; none (or zero) never fires.
    pub(crate) fn new(timeout: Option<Duration>) -> Self {
        let interval = timeout.filter(|t| !t.is_zero()).map(|timeout| {
            let period = timeout / Self::TICKS;
            let mut interval =
                tokio::time::interval_at(tokio::time::Instant::now() + period, period);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            interval
        });
        Self {
            interval,
            quiet_ticks: 0,
            last_marker: 0,
        }
    }

    /// Waits for the next tick (forever when there is no timeout).
    pub(crate) async fn tick(&mut self) {
        match &mut self.interval {
            Some(interval) => {
                interval.tick().await;
            }
            None => std::future::pending().await,
        }
    }

    /// After a tick: `marker` counts signs of life (calls started, bytes written), `quiet`
    /// says whether the state is the one being timed (no call running, a write waiting).
    /// True once both held for a whole timeout.
    pub(crate) fn quiet_for_the_timeout(&mut self, marker: u64, quiet: bool) -> bool {
        if marker != self.last_marker || !quiet {
            self.last_marker = marker;
            self.quiet_ticks = 0;
            return false;
        }
        self.quiet_ticks += 1;
        self.quiet_ticks >= Self::TICKS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_after_a_whole_timeout_of_quiet_ticks_and_not_when_life_shows() {
        let mut check = QuietCheck::new(None);
        assert!(!check.quiet_for_the_timeout(0, true));
        assert!(!check.quiet_for_the_timeout(0, true));
        assert!(!check.quiet_for_the_timeout(1, true), "a new sign of life");
        assert!(
            !check.quiet_for_the_timeout(1, false),
            "not the timed state"
        );
        for _ in 0..3 {
            assert!(!check.quiet_for_the_timeout(1, true));
        }
        assert!(check.quiet_for_the_timeout(1, true));
    }
}
