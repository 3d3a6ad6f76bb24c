//! The layer of [`Deadline`](super::Deadline).

use std::time::Duration;

use tower_layer::Layer;

use super::Deadline;

/// Applies [`Deadline`] with the server's default (and maximum) timeout.
#[derive(Clone, Copy, Debug)]
pub struct DeadlineLayer {
    default_timeout: Duration,
}

impl DeadlineLayer {
    /// Calls get at most `default_timeout`, and exactly that when the client sends none.
    pub fn new(default_timeout: Duration) -> Self {
        Self { default_timeout }
    }
}

impl<S> Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Deadline {
            inner,
            default_timeout: self.default_timeout,
        }
    }
}
