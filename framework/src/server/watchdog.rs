//! A connection's watchdog: the signals and timers that end a connection (the server closing,
//! the App cutting what is left, the idle and socket-stall timeouts, the grace periods), in a
//! task of their own.
//!
//! Polled in the connection's task, they were all polled on every wake-up of the connection,
//! which comes several times a call: a select over six branches, fresh waiters on the two close
//! signals and two interval timers each time (about 1,700 instructions a call, measured with
//! callgrind). Here they are polled only when one of them fires, and the connection's task reads
//! one atomic per wake-up ([`Orders::poll`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::task::Context;
use std::time::Duration;

use futures_util::task::AtomicWaker;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::connection::Activity;
use super::quiet::QuietCheck;

/// How long a closing connection without calls may take to finish the close (a request still
/// on its way when GOAWAY went out is served if it arrives within it).
const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// How long a cut connection has to send its calls' last frames.
const CUT_GRACE: Duration = Duration::from_millis(250);

/// What the watchdog tells its connection, strongest last (orders only ever get stronger).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Order {
    /// Keep serving.
    Serve = 0,
    /// Send GOAWAY and finish the calls that run.
    Close = 1,
    /// Stop now: drop the connection and what it still holds.
    Drop = 2,
}

/// The watchdog's strongest order so far, and the connection task to wake for a stronger one.
#[derive(Debug, Default)]
pub(crate) struct Orders {
    order: AtomicU8,
    connection: AtomicWaker,
}

impl Orders {
    fn give(&self, order: Order) {
        self.order.fetch_max(order as u8, Ordering::AcqRel);
        self.connection.wake();
    }

    fn current(&self) -> Order {
        match self.order.load(Ordering::Acquire) {
            0 => Order::Serve,
            1 => Order::Close,
            _ => Order::Drop,
        }
    }

    /// The strongest order given so far; a stronger one wakes the task polling.
    pub(crate) fn poll(&self, cx: &mut Context<'_>) -> Order {
        match self.current() {
            Order::Drop => Order::Drop,
            _ => {
                // Registered before the second look, so an order given in between is not missed.
                self.connection.register(cx.waker());
                self.current()
            }
        }
    }
}

/// What one connection's watchdog watches.
pub(crate) struct Watchdog {
    pub(crate) peer: SocketAddr,
    /// The server's stop: ask the peer to go (GOAWAY), then close.
    pub(crate) closing: watch::Receiver<()>,
    /// The App's cut after its stop timeout: close within [`CUT_GRACE`].
    pub(crate) cut: CancellationToken,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) send_stall_timeout: Option<Duration>,
    /// The connection's calls and socket writes.
    pub(crate) activity: Arc<Activity>,
    pub(crate) socket_stalls: metrics::Counter,
}

/// Stops the watchdog when the connection is done with it.
pub(crate) struct Watching(JoinHandle<()>);

impl Drop for Watching {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Watchdog {
    /// Starts watching; orders go to `orders`, until the returned handle is dropped.
    pub(crate) fn spawn(self, orders: Arc<Orders>) -> Watching {
        Watching(tokio::spawn(self.watch(orders)))
    }

    async fn watch(mut self, orders: Arc<Orders>) {
        let mut idle = QuietCheck::new(self.idle_timeout);
        let mut stalled = QuietCheck::new(self.send_stall_timeout);
        let mut closing = false;
        let mut cut = false;
        // Once closing, a connection with no call left gets CLOSE_GRACE to finish the close (a
        // peer may never answer GOAWAY); once cut, its calls' final frames get CUT_GRACE.
        let mut linger = std::pin::pin!(tokio::time::sleep(Duration::MAX / 4));
        let close = |linger: std::pin::Pin<&mut tokio::time::Sleep>| {
            orders.give(Order::Close);
            linger.reset(tokio::time::Instant::now() + CLOSE_GRACE);
        };
        loop {
            tokio::select! {
                _ = self.closing.changed(), if !closing => {
                    closing = true;
                    close(linger.as_mut());
                }
                () = self.cut.cancelled(), if !cut => {
                    cut = true;
                    linger.as_mut().reset(tokio::time::Instant::now() + CUT_GRACE);
                }
                () = linger.as_mut() => {
                    if cut || self.activity.calls().1 == 0 {
                        break;
                    }
                    linger.as_mut().reset(tokio::time::Instant::now() + CLOSE_GRACE);
                }
                () = stalled.tick() => {
                    let writes = &self.activity.writes;
                    if stalled.quiet_for_the_timeout(writes.written(), writes.waiting()) {
                        // Nothing can be sent, not even GOAWAY: only closing frees what it holds.
                        tracing::debug!(peer = %self.peer, "closed a connection whose peer stopped reading");
                        self.socket_stalls.increment(1);
                        break;
                    }
                }
                () = idle.tick(), if !closing => {
                    let (started, running) = self.activity.calls();
                    if idle.quiet_for_the_timeout(started, running == 0) {
                        tracing::debug!(peer = %self.peer, "closing an idle connection");
                        closing = true;
                        close(linger.as_mut());
                    }
                }
            }
        }
        orders.give(Order::Drop);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_only_get_stronger_and_wake_the_connection() {
        let orders = Orders::default();
        let woken = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let waker = waker_counting(woken.clone());
        let mut cx = Context::from_waker(&waker);
        assert_eq!(orders.poll(&mut cx), Order::Serve);
        orders.give(Order::Drop);
        assert_eq!(woken.load(Ordering::SeqCst), 1);
        orders.give(Order::Close);
        assert_eq!(
            orders.poll(&mut cx),
            Order::Drop,
            "a weaker order changes nothing"
        );
    }

    fn waker_counting(count: Arc<std::sync::atomic::AtomicUsize>) -> std::task::Waker {
        struct Count(Arc<std::sync::atomic::AtomicUsize>);
        impl std::task::Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        std::task::Waker::from(Arc::new(Count(count)))
    }
}
