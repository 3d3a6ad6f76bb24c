//! The layer of [`Limit`](super::Limit).

use std::sync::Arc;

use tokio::sync::Semaphore;
use tower_layer::Layer;

use super::Limit;

/// Applies [`Limit`].
#[derive(Clone, Debug)]
pub struct LimitLayer {
    max_message_bytes: usize,
    permits: Option<Arc<Semaphore>>,
}

impl LimitLayer {
    /// Request messages up to `max_message_bytes`; `max_concurrent_calls` handlers at once (0: no limit).
    pub fn new(max_message_bytes: usize, max_concurrent_calls: usize) -> Self {
        Self {
            max_message_bytes,
            permits: (max_concurrent_calls > 0)
                .then(|| Arc::new(Semaphore::new(max_concurrent_calls))),
        }
    }
}

impl<S> Layer<S> for LimitLayer {
    type Service = Limit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Limit {
            inner,
            max_message_bytes: self.max_message_bytes,
            permits: self.permits.clone(),
        }
    }
}
