//! The response bytes one connection may hold for a peer that does not read them
//! (`server.grpc.max_connection_send_buffer_bytes`).
//!
//! A handler's response exists in memory before the peer reads it: a unary answer whole, a
//! stream's messages a chunk at a time. hyper takes a body's next chunk as soon as it has sent
//! the last one into HTTP/2, and then waits for the peer's flow-control window. A peer that opens
//! hundreds of streams asking for large answers and never opens its window so makes the server
//! hold every answer. Each response body therefore counts, against its connection's budget, the
//! bytes it has taken from the handler and not yet handed on into HTTP/2 (whose own buffer is
//! bounded per stream by `max_send_buffer_bytes`). It hands them on in slices of at most
//! [`SLICE`] bytes, so that HTTP/2 never takes a whole large message for a peer with a tiny
//! window, and a chunk that would take the connection over its budget is refused: the call ends
//! with `RESOURCE_EXHAUSTED` and its handler is dropped.

use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use http::{HeaderMap, HeaderValue};

/// The most bytes handed to hyper at once: one HTTP/2 frame at the default frame size.
pub(crate) const SLICE: usize = 16 * 1024;

/// Response bytes a connection's bodies hold, and the most they may.
#[derive(Debug)]
pub(crate) struct SendBudget {
    held: AtomicUsize,
    limit: usize,
}

impl SendBudget {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            held: AtomicUsize::new(0),
            limit,
        }
    }

    /// Takes `n` bytes unless that would exceed the limit while other bytes are held, counting
    /// `unwritten` (bytes hyper took while the socket's writes wait) as held too. A single
    /// answer larger than the limit still goes through on an otherwise empty connection.
    fn take(&self, n: usize, unwritten: usize) -> bool {
        let held = self.held.fetch_add(n, Ordering::Relaxed) + n + unwritten;
        if held > self.limit && held > n {
            self.held.fetch_sub(n, Ordering::Relaxed);
            return false;
        }
        true
    }

    fn give_back(&self, n: usize) {
        if n > 0 {
            self.held.fetch_sub(n, Ordering::Relaxed);
        }
    }

    #[cfg(test)]
    fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }
}

/// One response body's share of its connection's budget: the rest of the handler's last chunk
/// and the slice hyper holds.
#[derive(Debug, Default)]
pub(crate) struct Meter {
    rest: Bytes,
    held: usize,
    last: usize,
}

impl Meter {
    /// hyper polls the body again: the slice it took last has gone into HTTP/2.
    pub(crate) fn polled(&mut self, budget: &SendBudget) {
        budget.give_back(self.last);
        self.held -= self.last;
        self.last = 0;
    }

    /// Bytes of the handler's last chunk not yet handed to hyper.
    pub(crate) fn rest(&self) -> usize {
        self.rest.len()
    }

    /// The next slice of the handler's last chunk, if any is left.
    pub(crate) fn next_slice(&mut self) -> Option<Bytes> {
        if self.rest.is_empty() {
            return None;
        }
        let slice = if self.rest.len() <= SLICE {
            std::mem::take(&mut self.rest)
        } else {
            self.rest.split_to(SLICE)
        };
        self.last = slice.len();
        Some(slice)
    }

    /// Takes a chunk from the handler, or returns false (and drops it) if the connection's
    /// budget has no room for it; `unwritten` is what the socket's waiting writes hold.
    pub(crate) fn load(&mut self, chunk: Bytes, budget: &SendBudget, unwritten: usize) -> bool {
        debug_assert!(self.rest.is_empty(), "the last chunk was handed on first");
        if !budget.take(chunk.len(), unwritten) {
            return false;
        }
        self.held += chunk.len();
        self.rest = chunk;
        true
    }

    /// Gives everything back: the body is done or dropped.
    pub(crate) fn release(&mut self, budget: &SendBudget) {
        budget.give_back(self.held);
        self.held = 0;
        self.last = 0;
        self.rest = Bytes::new();
    }
}

/// The trailers of a call refused for its connection's budget.
pub(crate) fn refused_trailers() -> HeaderMap {
    let mut trailers = HeaderMap::with_capacity(2);
    // RESOURCE_EXHAUSTED
    trailers.insert("grpc-status", HeaderValue::from_static("8"));
    trailers.insert(
        "grpc-message",
        HeaderValue::from_static(
            "the connection holds too many response bytes its peer has not read \
             (server.grpc.max_connection_send_buffer_bytes): read the responses, or spread \
             the calls over more connections",
        ),
    );
    trailers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_is_handed_on_in_slices_and_counted_until_hyper_takes_them() {
        let budget = SendBudget::new(100 * 1024);
        let mut meter = Meter::default();
        assert!(meter.load(Bytes::from(vec![7u8; SLICE + 10]), &budget, 0));
        assert_eq!(budget.held(), SLICE + 10);
        assert_eq!(meter.next_slice().unwrap().len(), SLICE);
        meter.polled(&budget);
        assert_eq!(budget.held(), 10);
        assert_eq!(meter.next_slice().unwrap().len(), 10);
        assert_eq!(budget.held(), 10, "hyper holds the last slice");
        meter.polled(&budget);
        assert!(meter.next_slice().is_none());
        assert_eq!(budget.held(), 0);
    }

    #[test]
    fn a_chunk_beyond_the_connections_budget_is_refused_and_a_dropped_body_gives_back() {
        let budget = SendBudget::new(1000);
        let (mut first, mut second) = (Meter::default(), Meter::default());
        assert!(
            first.load(Bytes::from(vec![0u8; 4000]), &budget, 0),
            "alone on the connection, a large answer goes through"
        );
        assert!(!second.load(Bytes::from(vec![0u8; 10]), &budget, 0));
        assert_eq!(budget.held(), 4000);
        let _ = first.next_slice();
        first.release(&budget);
        assert_eq!(budget.held(), 0);
        assert!(
            !second.load(Bytes::from(vec![0u8; 10]), &budget, 2000),
            "bytes stuck behind a waiting socket count"
        );
        assert!(second.load(Bytes::from(vec![0u8; 10]), &budget, 0));
    }
}
