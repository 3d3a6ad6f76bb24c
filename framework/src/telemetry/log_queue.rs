//! Where log lines wait for the output: one shared buffer that a writer thread writes out whole.
//!
//! tracing-appender's non-blocking writer sends each line through a channel as a `Vec` of its
//! own and wakes its thread for each. Here a line is copied onto the end of the pending bytes
//! under a short lock, and the thread is woken only when it is waiting for work; woken, it lets
//! the lines behind the first gather for [`GATHER`] before it writes, and while lines keep
//! coming it looks again every [`GATHER`] on its own timer. So under load one `write` carries
//! many lines, no line allocates, and no line signals the thread. The pending bytes are
//! bounded: past [`LogQueue::new`]'s `limit` a line waits for room (the output's own speed then
//! sets the service's) or, lossy, is dropped and counted.
//! Dropping the [`QueueGuard`] writes out what is pending, waiting up to a second.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How long the writer thread, woken by the first line after a pause, lets more gather: at a
/// moderate rate it then wakes and writes once per this long, not once per line. Lines reach
/// the output at most this much later.
const GATHER: Duration = Duration::from_millis(1);

/// How long dropping the guard waits for the pending lines to be written.
const FLUSH_WAIT: Duration = Duration::from_secs(1);

/// A queue's writing side; cheap to clone. Give it to a log layer as its writer.
#[derive(Clone, Debug)]
pub(crate) struct LogQueue {
    shared: Arc<Shared>,
}

/// Stops the writer thread when dropped, after it has written what is pending.
#[derive(Debug)]
pub(crate) struct QueueGuard {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// The writer thread waits here for lines (or for the queue to close).
    work: Condvar,
    /// Lines wait here for room, and the guard for the writer thread to finish.
    room: Condvar,
    limit: usize,
    lossy: bool,
    dropped: AtomicUsize,
}

#[derive(Debug, Default)]
struct State {
    pending: Vec<u8>,
    /// Whether the writer thread is waiting on `work`: only then is it worth a wake-up.
    idle: bool,
    closed: bool,
    /// Set by the writer thread when it has written everything and stopped.
    finished: bool,
    /// Whether a line is waiting on `room` for the pending bytes to be taken.
    waiting: bool,
}

impl LogQueue {
    /// A queue of at most `limit` pending bytes, written to `output` by a thread named `name`.
    pub(crate) fn new(
        output: impl Write + Send + 'static,
        limit: usize,
        lossy: bool,
        name: &str,
    ) -> std::io::Result<(Self, QueueGuard)> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            work: Condvar::new(),
            room: Condvar::new(),
            limit,
            lossy,
            dropped: AtomicUsize::new(0),
        });
        let worker = shared.clone();
        std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                worker.write_out(output);
                worker.lock().finished = true;
                worker.room.notify_all();
            })?;
        let guard = QueueGuard {
            shared: shared.clone(),
        };
        Ok((Self { shared }, guard))
    }

    /// Queues one line (or any bytes that must reach the output in one piece).
    pub(crate) fn push(&self, line: &[u8]) {
        let shared = &*self.shared;
        let mut state = shared.lock();
        // A line larger than the whole limit still goes out once the queue is empty.
        while !state.closed
            && !state.pending.is_empty()
            && state.pending.len() + line.len() > shared.limit
        {
            if shared.lossy {
                shared.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
            state.waiting = true;
            state = shared.room.wait(state).unwrap_or_else(|e| e.into_inner());
        }
        if state.closed {
            return;
        }
        state.pending.extend_from_slice(line);
        let wake = std::mem::take(&mut state.idle);
        drop(state);
        if wake {
            shared.work.notify_one();
        }
    }

    /// How many lines a lossy queue has dropped so far.
    pub(crate) fn dropped_lines(&self) -> usize {
        self.shared.dropped.load(Ordering::Relaxed)
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while the lock is held cannot leave the bytes half-appended in a way that
        // matters more than losing the log: keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The writer thread: takes all pending bytes, writes and flushes them, until closed.
    fn write_out(&self, mut output: impl Write) {
        let mut batch = Vec::new();
        // Whether the last look found lines: then more are likely on the way, and the thread
        // looks again after GATHER instead of asking each new line for a wake-up. Under
        // steady load it wakes once per GATHER, on its own timer, and lines never signal it.
        let mut busy = false;
        loop {
            let mut state = self.lock();
            if state.pending.is_empty() && !state.closed && busy {
                drop(state);
                busy = false;
                std::thread::sleep(GATHER);
                continue;
            }
            if state.pending.is_empty() && !state.closed {
                while state.pending.is_empty() && !state.closed {
                    state.idle = true;
                    state = self.work.wait(state).unwrap_or_else(|e| e.into_inner());
                }
                state.idle = false;
                if !state.closed {
                    drop(state);
                    std::thread::sleep(GATHER);
                    state = self.lock();
                }
            }
            if state.pending.is_empty() {
                return;
            }
            std::mem::swap(&mut state.pending, &mut batch);
            let waiting = std::mem::take(&mut state.waiting);
            drop(state);
            busy = true;
            // Signalling is a system call even when nobody waits: only when a line does.
            if waiting {
                self.room.notify_all();
            }
            // An output that fails (a closed pipe) cannot be told; the lines are lost, the
            // service goes on.
            let _ = output.write_all(&batch).and_then(|()| output.flush());
            batch.clear();
            // Keep a burst's buffer, not a flood's.
            if batch.capacity() > 1024 * 1024 {
                batch = Vec::new();
            }
        }
    }
}

impl Drop for QueueGuard {
    fn drop(&mut self) {
        let shared = &*self.shared;
        let mut state = shared.lock();
        state.closed = true;
        shared.work.notify_one();
        shared.room.notify_all();
        let _ = shared
            .room
            .wait_timeout_while(state, FLUSH_WAIT, |state| !state.finished);
    }
}

/// What a log layer writes one line through.
#[derive(Debug)]
pub(crate) struct QueueWriter<'a> {
    queue: &'a LogQueue,
}

impl Write for QueueWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.queue.push(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogQueue {
    type Writer = QueueWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        QueueWriter { queue: self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::test_support::Captured;

    /// An output that records what it is given, counts its writes, and can be held shut.
    #[derive(Clone, Default)]
    struct Recorded {
        out: Captured,
        writes: Arc<AtomicUsize>,
        gate: Arc<Mutex<()>>,
    }

    impl Write for Recorded {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let _open = self.gate.lock().unwrap();
            self.writes.fetch_add(1, Ordering::SeqCst);
            self.out.write(buf)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Recorded {
        fn text(&self) -> String {
            self.out.text()
        }
    }

    #[test]
    fn every_line_is_written_in_order_and_the_guard_writes_out_the_rest() {
        let out = Recorded::default();
        let (queue, guard) = LogQueue::new(out.clone(), 1 << 20, false, "test-log").unwrap();
        let expected: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        for i in 0..1000 {
            queue.push(format!("line {i}\n").as_bytes());
        }
        drop(guard);
        assert_eq!(out.text(), expected);
        assert_eq!(queue.dropped_lines(), 0);
        // After the guard, lines go nowhere and nothing waits.
        queue.push(b"late\n");
        assert_eq!(out.text(), expected);
    }

    #[test]
    fn lines_queued_while_the_output_is_busy_go_out_together() {
        let out = Recorded::default();
        let shut = out.gate.lock().unwrap();
        let (queue, guard) = LogQueue::new(out.clone(), 1 << 20, false, "test-log").unwrap();
        queue.push(b"first\n");
        // Wait until the writer thread has taken the first line to the shut output.
        while !queue.shared.lock().pending.is_empty() {
            std::thread::yield_now();
        }
        for i in 0..100 {
            queue.push(format!("{i}\n").as_bytes());
        }
        drop(shut);
        drop(guard);
        assert!(out.text().starts_with("first\n0\n1\n"), "{}", out.text());
        // One write for the first line, one for the hundred that gathered behind it.
        assert_eq!(out.writes.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_full_lossy_queue_drops_and_counts_lines_and_a_full_strict_one_waits() {
        let out = Recorded::default();
        let shut = out.gate.lock().unwrap();
        let (lossy, lossy_guard) = LogQueue::new(out.clone(), 16, true, "test-log").unwrap();
        // One line may be with the writer thread and one pending: the rest find no room.
        for _ in 0..5 {
            lossy.push(b"0123456789\n");
        }
        assert!(lossy.dropped_lines() >= 3, "{}", lossy.dropped_lines());
        drop(shut);
        drop(lossy_guard);

        let out = Recorded::default();
        let shut = out.gate.lock().unwrap();
        let (strict, strict_guard) = LogQueue::new(out.clone(), 16, false, "test-log").unwrap();
        let pushed = Arc::new(AtomicUsize::new(0));
        let pusher = {
            let (strict, pushed) = (strict.clone(), pushed.clone());
            std::thread::spawn(move || {
                for _ in 0..5 {
                    strict.push(b"0123456789\n");
                    pushed.fetch_add(1, Ordering::SeqCst);
                }
            })
        };
        std::thread::sleep(Duration::from_millis(100));
        assert!(
            pushed.load(Ordering::SeqCst) < 5,
            "a full queue made no line wait"
        );
        drop(shut);
        pusher.join().unwrap();
        drop(strict_guard);
        assert_eq!(out.text(), "0123456789\n".repeat(5));
        assert_eq!(strict.dropped_lines(), 0);
    }
}
