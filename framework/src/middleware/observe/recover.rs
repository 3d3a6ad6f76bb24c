//! What an observed call does with a panic: unwind ([`NoRecovery`]), or answer `INTERNAL` and
//! keep serving ([`RecoveryLayer`](crate::middleware::RecoveryLayer)).
//!
//! Recovery is part of the observing future and body rather than a layer of its own, so Bia's
//! default stack wraps each call once for trace, metrics, the access log and recovery together.

use std::panic::AssertUnwindSafe;

/// How an [`Observe`](super::Observe) treats a panic of what it wraps: [`NoRecovery`] or
/// [`RecoveryLayer`](crate::middleware::RecoveryLayer). Not meant to be implemented outside Bia.
pub trait Recover: Clone {
    /// What one call keeps to report its panic.
    type Call: RecoverCall;

    /// The call's part, made before the inner service sees `request`.
    fn for_call<B>(&self, request: &http::Request<B>) -> Self::Call;
}

/// One call's part of a [`Recover`].
pub trait RecoverCall {
    /// Runs `work`; `None` when it panicked and the panic was caught (and reported).
    fn run<T>(&self, work: impl FnOnce() -> T) -> Option<T>;
}

/// Panics unwind through the observing layer, to a recovery further out (or the connection).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoRecovery;

impl Recover for NoRecovery {
    type Call = ();

    fn for_call<B>(&self, _request: &http::Request<B>) {}
}

impl RecoverCall for () {
    #[inline(always)]
    fn run<T>(&self, work: impl FnOnce() -> T) -> Option<T> {
        Some(work())
    }
}

/// Runs `work`, handing a panic to `report` instead of unwinding.
pub(crate) fn catching<T>(
    work: impl FnOnce() -> T,
    report: impl FnOnce(&(dyn std::any::Any + Send)),
) -> Option<T> {
    match std::panic::catch_unwind(AssertUnwindSafe(work)) {
        Ok(value) => Some(value),
        Err(panic) => {
            report(&*panic);
            None
        }
    }
}
