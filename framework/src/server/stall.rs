//! Streams whose peer stops reading: reset after `server.grpc.send_stall_timeout`.
//!
//! HTTP/2 flow control lets a peer stop a stream by never opening its window. hyper then holds
//! the stream's next chunk and waits for window without a time limit, and it polls neither the
//! response body nor anything inside it (the call's deadline included: the trailers that would
//! end the call queue behind the blocked data). So a stalled stream is only visible from the task
//! hyper spawns for it, and only that task can end it: dropping it drops the handler's future and
//! body and every reference to the h2 stream, and h2 then sends `RST_STREAM(CANCEL)` and discards
//! the data it had queued for the stream.
//!
//! [`StallExecutor`] spawns each stream's task inside [`Watched`]. The response body tells the
//! task that is polling it what it just did ([`handed`] a frame to hyper, or is [`waiting`] for
//! the handler) through a thread-local, since it runs inside that task's poll. A stream whose
//! last word was "handed" and whose body hyper has not polled since is stalled; one that stays
//! stalled for a whole timeout (checked once per timeout, so it is reset after one to two
//! timeouts) is dropped. A stream waiting for its handler is never stalled: that is the
//! deadline's business.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use metrics::Counter;
use pin_project_lite::pin_project;
use tokio::time::Sleep;

/// What a response body did during the current poll of its stream's task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Progress {
    /// The body was not polled.
    Quiet,
    /// The body is waiting for its handler: hyper is ready for more.
    Waiting,
    /// The body handed hyper a data frame: hyper polls again once the peer has room for it.
    Handed,
}

thread_local! {
    static PROGRESS: Cell<Progress> = const { Cell::new(Progress::Quiet) };
}

/// Tells the stream's task that its body just handed hyper a data frame.
pub(crate) fn handed() {
    PROGRESS.set(Progress::Handed);
}

/// Tells the stream's task that its body is waiting for the handler.
pub(crate) fn waiting() {
    PROGRESS.set(Progress::Waiting);
}

/// hyper's executor for a connection's streams: spawns each on Tokio, watched for stalls when
/// a timeout is set; `resets` counts the streams it ends.
#[derive(Clone, Debug)]
pub(crate) struct StallExecutor {
    timeout: Option<Duration>,
    resets: Counter,
}

impl StallExecutor {
    pub(crate) fn new(timeout: Option<Duration>, resets: Counter) -> Self {
        Self {
            timeout: timeout.filter(|t| !t.is_zero()),
            resets,
        }
    }
}

impl<F> hyper::rt::Executor<F> for StallExecutor
where
    F: Future<Output = ()> + Send + 'static,
{
    fn execute(&self, future: F) {
        match self.timeout {
            Some(timeout) => tokio::spawn(Watched::new(future, timeout, self.resets.clone())),
            None => tokio::spawn(future),
        };
    }
}

pin_project! {
    /// A stream's task that ends (dropping what it holds) once its body has stalled for a
    /// timeout.
    pub(crate) struct Watched<F> {
        #[pin]
        inner: F,
        timeout: Duration,
        stalled: bool,
        // Bumped on every poll in which the body was polled; the timer compares it with the
        // value it was armed at, so a flowing stream costs no timer operation per frame.
        progress: u64,
        armed_at: u64,
        // Made on the first stall only: most streams never stall.
        timer: Option<Pin<Box<Sleep>>>,
        resets: Counter,
    }
}

impl<F> Watched<F> {
    pub(crate) fn new(inner: F, timeout: Duration, resets: Counter) -> Self {
        Self {
            inner,
            timeout,
            stalled: false,
            progress: 0,
            armed_at: 0,
            timer: None,
            resets,
        }
    }
}

impl<F: Future<Output = ()>> Future for Watched<F> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.project();
        // Saved and restored, so that a task polled inside another's poll cannot confuse them.
        let outer = PROGRESS.replace(Progress::Quiet);
        let done = this.inner.poll(cx);
        let seen = PROGRESS.replace(outer);
        if done.is_ready() {
            return Poll::Ready(());
        }
        match seen {
            Progress::Quiet => {}
            Progress::Waiting => {
                *this.stalled = false;
                *this.progress += 1;
            }
            Progress::Handed => {
                *this.stalled = true;
                *this.progress += 1;
            }
        }
        if !*this.stalled {
            return Poll::Pending;
        }
        let timeout = *this.timeout;
        let timer = this.timer.get_or_insert_with(|| {
            *this.armed_at = *this.progress;
            Box::pin(tokio::time::sleep(timeout))
        });
        while timer.as_mut().poll(cx).is_ready() {
            if *this.progress == *this.armed_at {
                tracing::debug!(
                    ?timeout,
                    "reset a stream whose peer has not read its response"
                );
                this.resets.increment(1);
                return Poll::Ready(());
            }
            *this.armed_at = *this.progress;
            timer.as_mut().reset(tokio::time::Instant::now() + timeout);
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream's task as hyper runs it, reduced to what the watch sees: each poll, its body
    /// hands a frame or waits, or is not polled at all.
    struct Scripted {
        steps: std::collections::VecDeque<Progress>,
    }

    impl Future for Scripted {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            match self.steps.pop_front() {
                Some(Progress::Handed) => handed(),
                Some(Progress::Waiting) => waiting(),
                Some(Progress::Quiet) | None => {}
            }
            Poll::Pending
        }
    }

    fn watched(steps: &[Progress]) -> Pin<Box<Watched<Scripted>>> {
        let steps = steps.iter().copied().collect();
        Box::pin(Watched::new(
            Scripted { steps },
            Duration::from_secs(1),
            Counter::noop(),
        ))
    }

    fn poll(task: &mut Pin<Box<Watched<Scripted>>>) -> Poll<()> {
        let waker = std::task::Waker::noop();
        task.as_mut().poll(&mut Context::from_waker(waker))
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_that_stays_stalled_is_ended_within_two_timeouts() {
        let mut task = watched(&[Progress::Handed]);
        assert!(poll(&mut task).is_pending());
        tokio::time::advance(Duration::from_millis(1_001)).await;
        assert!(poll(&mut task).is_ready());
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_whose_peer_reads_lives_until_it_stops_reading() {
        let mut task = watched(&[Progress::Handed, Progress::Handed]);
        assert!(poll(&mut task).is_pending());
        tokio::time::advance(Duration::from_millis(900)).await;
        // The peer read: hyper polled the body again, which handed the next frame.
        assert!(poll(&mut task).is_pending());
        tokio::time::advance(Duration::from_millis(900)).await;
        assert!(
            poll(&mut task).is_pending(),
            "progress since the timer was armed"
        );
        tokio::time::advance(Duration::from_millis(1_100)).await;
        assert!(poll(&mut task).is_ready(), "none since it was armed again");
    }

    #[tokio::test(start_paused = true)]
    async fn a_stream_waiting_for_its_handler_is_not_stalled() {
        let mut task = watched(&[Progress::Handed, Progress::Waiting]);
        for _ in 0..4 {
            assert!(poll(&mut task).is_pending());
            tokio::time::advance(Duration::from_secs(10)).await;
        }
        // Nor does the thread-local leak out of the watched poll.
        assert_eq!(PROGRESS.get(), Progress::Quiet);
    }
}
