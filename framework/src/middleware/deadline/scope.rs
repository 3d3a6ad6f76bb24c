//! The deadline of the call being served, for the calls it makes downstream.
//!
//! While the server polls a call (its handler's future, then its response stream), the call's
//! deadline is in a thread-local, so that `bia::client` caps the deadline of the calls the
//! handler makes with what is left of it, as grpc-go does with a `context.Context`. Work the
//! handler moves to another task (`tokio::spawn`) leaves the scope, as it leaves the span.

use std::cell::Cell;
use std::time::Instant;

thread_local! {
    static CURRENT: Cell<Option<Instant>> = const { Cell::new(None) };
}

/// The deadline of the server call being polled on this thread, if any.
///
/// ```
/// // Outside a call there is none.
/// assert_eq!(bia::middleware::deadline::current_deadline(), None);
/// ```
pub fn current_deadline() -> Option<Instant> {
    CURRENT.with(Cell::get)
}

/// Runs `f` with `deadline` as the current one (no change for `None`), restoring the previous
/// one after, even if `f` panics.
pub(crate) fn scoped<R>(deadline: Option<Instant>, f: impl FnOnce() -> R) -> R {
    let Some(deadline) = deadline else {
        return f();
    };
    struct Restore(Option<Instant>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT.with(|current| current.set(self.0));
        }
    }
    let _restore = Restore(CURRENT.with(|current| current.replace(Some(deadline))));
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_nest_and_restore() {
        let outer = Instant::now();
        let inner = outer + std::time::Duration::from_secs(1);
        scoped(Some(outer), || {
            assert_eq!(current_deadline(), Some(outer));
            scoped(Some(inner), || assert_eq!(current_deadline(), Some(inner)));
            scoped(None, || assert_eq!(current_deadline(), Some(outer)));
            assert_eq!(current_deadline(), Some(outer));
        });
        assert_eq!(current_deadline(), None);
    }
}
