//! The deadline's timer, made only when a call is still running after its first poll.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::time::{Instant, Sleep, sleep_until};

/// Completes at `deadline`. The tokio timer behind it is created and registered on the first
/// poll: a unary call whose handler answers at once (the common case) never touches the timer
/// wheel, whose registration takes a lock and whose removal another. Boxed when made, so that
/// the futures of every call stay small (they are moved as they are built).
pub struct DeadlineTimer {
    deadline: Instant,
    sleep: Option<Pin<Box<Sleep>>>,
}

impl DeadlineTimer {
    /// A timer for `deadline`.
    pub fn new(deadline: Instant) -> Self {
        Self {
            deadline,
            sleep: None,
        }
    }
}

impl Future for DeadlineTimer {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let deadline = self.deadline;
        self.sleep
            .get_or_insert_with(|| Box::pin(sleep_until(deadline)))
            .as_mut()
            .poll(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn completes_at_its_deadline() {
        let start = Instant::now();
        DeadlineTimer::new(start + Duration::from_secs(5)).await;
        assert_eq!(Instant::now() - start, Duration::from_secs(5));
        // A deadline already past completes at once.
        DeadlineTimer::new(start).await;
    }
}
