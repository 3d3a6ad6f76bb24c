//! A connection's socket, watched for a peer that stops reading it.
//!
//! When the peer stops reading its TCP socket, the kernel's buffers fill and every write waits;
//! HTTP/2 then holds what it has queued for the connection's streams, and no flow-control
//! window or stream timer can free it (nothing can be sent, not even a reset). [`WatchedIo`]
//! notes each write that has to wait and counts the bytes written, and the connection closes
//! itself once its writes have waited, with no byte written, for `send_stall_timeout`.
//!
//! While writes wait, every byte the connection's calls hand to hyper stays in memory: the
//! watch counts them (less what later writes take), and the connection's send budget
//! ([`super::send_budget`]) counts them against its limit too. What HTTP/2 queued before the
//! writes began to wait is bounded by `max_send_buffer_bytes` a stream.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What the connection's task reads of its socket's writes.
#[derive(Debug, Default)]
pub(crate) struct WriteWatch {
    written: AtomicU64,
    waiting: AtomicBool,
    handed_while_waiting: AtomicUsize,
    answered: AtomicBool,
}

impl WriteWatch {
    /// Bytes written so far.
    pub(crate) fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// Whether the last write had to wait for the peer.
    pub(crate) fn waiting(&self) -> bool {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Notes `n` response bytes handed to hyper: they stay in memory if writes wait.
    pub(crate) fn handed(&self, n: usize) {
        if self.waiting() {
            self.handed_while_waiting.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Response bytes handed to hyper while writes waited, less what the socket has taken
    /// since: the part of HTTP/2's queue that a connection's send budget counts.
    pub(crate) fn unwritten(&self) -> usize {
        self.handed_while_waiting.load(Ordering::Relaxed)
    }

    /// Notes that a call's answer ended while other calls on the connection still run: the
    /// write that sends it is worth gathering with theirs.
    pub(crate) fn answered(&self) {
        if !self.answered.load(Ordering::Relaxed) {
            self.answered.store(true, Ordering::Relaxed);
        }
    }

    /// Whether an answer ended since the last time this was asked.
    fn take_answered(&self) -> bool {
        self.answered.load(Ordering::Relaxed) && self.answered.swap(false, Ordering::Relaxed)
    }

    fn note(&self, poll: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
        match &poll {
            Poll::Pending => self.waiting.store(true, Ordering::Relaxed),
            Poll::Ready(Ok(n)) => {
                self.written.fetch_add(*n as u64, Ordering::Relaxed);
                if self.waiting() {
                    self.waiting.store(false, Ordering::Relaxed);
                }
                // One write that goes through does not empty HTTP/2's queue: only the bytes it
                // took leave memory. (Framing makes `n` a little more than the response bytes
                // it carries, so the count errs low, never below zero, and never drifts up.)
                if self.handed_while_waiting.load(Ordering::Relaxed) > 0 {
                    let _ = self.handed_while_waiting.fetch_update(
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                        |held| Some(held.saturating_sub(*n)),
                    );
                }
            }
            Poll::Ready(Err(_)) => {}
        }
        poll
    }
}

pin_project! {
    /// An I/O stream whose writes a [`WriteWatch`] follows, and which gathers the answers of a
    /// connection's calls that finish together into one write.
    ///
    /// HTTP/2 writes whenever the connection's task runs, and a call that hands it its answer
    /// wakes that task, which tokio then runs next: under load every answer went out in a
    /// `writev` of its own, about one system call a call, the largest single cost of a loaded
    /// server. So when an answer ends while other calls on the connection still run, the write
    /// that sends it first yields (tokio's `yield_now`): the next call to finish wakes the
    /// connection again and its answer joins the same write, up to [`GATHER_YIELDS`] times. It
    /// waits for no timer and holds nothing once no call is ready: with no answer new since
    /// the last yield, the write goes out. A connection with one call at a time, a stream's
    /// messages and writes of [`GATHER_BELOW`] bytes or more go out at once, as before.
    pub(crate) struct WatchedIo<T> {
        #[pin]
        inner: T,
        watch: Arc<WriteWatch>,
        // How many times this flush has yielded.
        gathered: u8,
    }
}

impl<T> WatchedIo<T> {
    pub(crate) fn new(inner: T, watch: Arc<WriteWatch>) -> Self {
        Self {
            inner,
            watch,
            gathered: 0,
        }
    }
}

/// How many times one flush may yield for other answers before it writes.
const GATHER_YIELDS: u8 = 3;

/// A write this large already spreads its system call over many answers or messages.
const GATHER_BELOW: usize = 4096;

/// `Pending` (the task to be woken by the next answer, or else once the worker has run what
/// is ready) when a write of `len()` bytes is worth gathering with answers still to come;
/// `Ready` when it goes out now, carrying every answer noted so far.
fn gather(
    gathered: &mut u8,
    len: impl FnOnce() -> usize,
    watch: &WriteWatch,
    cx: &mut Context<'_>,
) -> Poll<()> {
    if !watch.take_answered() || *gathered >= GATHER_YIELDS || len() >= GATHER_BELOW {
        return Poll::Ready(());
    }
    *gathered += 1;
    let yielded = std::pin::pin!(tokio::task::yield_now());
    let _ = std::future::Future::poll(yielded, cx);
    Poll::Pending
}

impl<T: AsyncRead> AsyncRead for WatchedIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.project().inner.poll_read(cx, buf)
    }
}

impl<T: AsyncWrite> AsyncWrite for WatchedIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        std::task::ready!(gather(this.gathered, || buf.len(), this.watch, cx));
        let poll = this.inner.poll_write(cx, buf);
        this.watch.note(poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.project();
        let len = || bufs.iter().map(|b| b.len()).sum();
        std::task::ready!(gather(this.gathered, len, this.watch, cx));
        let poll = this.inner.poll_write_vectored(cx, bufs);
        this.watch.note(poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.project();
        let flushed = this.inner.poll_flush(cx);
        if flushed.is_ready() {
            *this.gathered = 0;
        }
        flushed
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.project().inner.poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn counts_what_is_written_and_notes_a_write_that_waits() {
        // A pipe with room for 8 bytes that nobody reads: the ninth byte has to wait.
        let (writer, _reader) = tokio::io::duplex(8);
        let watch = Arc::new(WriteWatch::default());
        let mut io = WatchedIo::new(writer, watch.clone());
        io.write_all(b"12345678").await.unwrap();
        assert_eq!((watch.written(), watch.waiting()), (8, false));
        let blocked =
            tokio::time::timeout(std::time::Duration::from_millis(50), io.write_all(b"9")).await;
        assert!(blocked.is_err());
        assert!(watch.waiting());
        watch.handed(100);
        assert_eq!(watch.unwritten(), 100, "counted while writes wait");
    }

    #[test]
    fn a_write_waits_for_answers_still_to_come_and_no_longer() {
        let (writer, _reader) = tokio::io::duplex(64);
        let watch = Arc::new(WriteWatch::default());
        let mut io = WatchedIo::new(writer, watch.clone());
        let woken = Arc::new(Woken::default());
        let waker = std::task::Waker::from(woken.clone());
        let mut cx = Context::from_waker(&waker);
        let mut io = Pin::new(&mut io);
        let write = |io: &mut Pin<&mut WatchedIo<_>>, cx: &mut Context<'_>, bytes: &[u8]| {
            io.as_mut().poll_write(cx, bytes).map(|n| n.unwrap())
        };
        assert_eq!(
            write(&mut io, &mut cx, b"ab"),
            Poll::Ready(2),
            "no answer: at once"
        );
        watch.answered();
        assert!(
            write(&mut io, &mut cx, b"cd").is_pending(),
            "an answer: it yields"
        );
        assert_eq!(woken.0.load(Ordering::Relaxed), 1, "and is woken again");
        assert_eq!(
            write(&mut io, &mut cx, b"cd"),
            Poll::Ready(2),
            "nothing new: it writes"
        );
        assert!(io.as_mut().poll_flush(&mut cx).is_ready());
        for _ in 0..GATHER_YIELDS {
            watch.answered();
            assert!(write(&mut io, &mut cx, b"ef").is_pending());
        }
        watch.answered();
        assert_eq!(
            write(&mut io, &mut cx, b"ef"),
            Poll::Ready(2),
            "yields are bounded"
        );
        assert!(io.as_mut().poll_flush(&mut cx).is_ready());
        watch.answered();
        assert!(
            write(&mut io, &mut cx, &[0; GATHER_BELOW]).is_ready(),
            "a large write goes out at once"
        );
        watch.answered();
        assert!(
            write(&mut io, &mut cx, b"gh").is_pending(),
            "a flush ended: the next gathers"
        );
    }

    #[derive(Default)]
    struct Woken(AtomicUsize);

    impl std::task::Wake for Woken {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }

    #[tokio::test]
    async fn a_write_that_goes_through_frees_only_what_it_took() {
        let (writer, mut reader) = tokio::io::duplex(8);
        let watch = Arc::new(WriteWatch::default());
        let mut io = WatchedIo::new(writer, watch.clone());
        io.write_all(b"12345678").await.unwrap();
        let blocked =
            tokio::time::timeout(std::time::Duration::from_millis(50), io.write_all(b"9")).await;
        assert!(blocked.is_err() && watch.waiting());
        watch.handed(100);
        let mut buf = [0u8; 3];
        reader.read_exact(&mut buf).await.unwrap();
        io.write_all(b"abc").await.unwrap();
        assert!(!watch.waiting());
        assert_eq!(
            watch.unwritten(),
            97,
            "three bytes left memory, the rest still queue"
        );
        watch.handed(100);
        assert_eq!(
            watch.unwritten(),
            97,
            "bytes handed while writes flow are not counted"
        );
    }
}
