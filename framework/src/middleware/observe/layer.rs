//! The layer of [`Observe`](super::Observe).

use tower_layer::Layer;

use super::Observe;

/// Applies [`Observe`] with `start`, which may be a pair `(outer, inner)` of starters: Bia's
/// default stack observes trace, metrics and the access log in one layer this way, as
/// `(tracer, (metrics, access log))`.
#[derive(Clone, Debug)]
pub struct ObserveLayer<M> {
    start: M,
}

impl<M> ObserveLayer<M> {
    /// Observes each call with an observer from `start`.
    pub fn new(start: M) -> Self {
        Self { start }
    }
}

impl<S, M: Clone> Layer<S> for ObserveLayer<M> {
    type Service = Observe<S, M>;

    fn layer(&self, inner: S) -> Self::Service {
        Observe::new(inner, self.start.clone())
    }
}
