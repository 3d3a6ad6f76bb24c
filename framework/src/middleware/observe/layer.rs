//! The layer of [`Observe`](super::Observe).

use tower_layer::Layer;

use super::{NoRecovery, Observe};
use crate::middleware::RecoveryLayer;

/// Applies [`Observe`] with `start`, which may be a pair `(outer, inner)` of starters: Bia's
/// default stack observes trace, metrics and the access log in one layer this way, as
/// `(tracer, (metrics, access log))`, and recovers from panics in the same layer.
#[derive(Clone, Debug)]
pub struct ObserveLayer<M, R = NoRecovery> {
    start: M,
    recover: R,
}

impl<M> ObserveLayer<M> {
    /// Observes each call with an observer from `start`.
    pub fn new(start: M) -> Self {
        Self {
            start,
            recover: NoRecovery,
        }
    }

    /// What starts each call's observer, to observe it with others in one `ObserveLayer`, as
    /// the pair `(self.starter(), other.starter())`.
    pub fn starter(&self) -> M
    where
        M: Clone,
    {
        self.start.clone()
    }

    /// Also answers a panic inside with `INTERNAL`, as `recovery` would as the layer just
    /// outside this one (the observers see the call end with `INTERNAL`).
    pub fn recovering(self, recovery: RecoveryLayer) -> ObserveLayer<M, RecoveryLayer> {
        ObserveLayer {
            start: self.start,
            recover: recovery,
        }
    }
}

impl<S, M: Clone, R: Clone> Layer<S> for ObserveLayer<M, R> {
    type Service = Observe<S, M, R>;

    fn layer(&self, inner: S) -> Self::Service {
        Observe::recovering(inner, self.start.clone(), self.recover.clone())
    }
}
