//! A connection's stack, shared by its calls instead of cloned for each.
//!
//! hyper calls a connection's service through `&self`, so hyper-util's adapter clones it for
//! every request and makes the call in the stream's own task. A clone of Bia's stack is every
//! layer's clone: two whole default stacks (the user's services and Bia's own), dozens of
//! reference counts raised and then dropped, each an atomic operation, per call. Here the
//! connection's service is a handle on one stack, and a call borrows it: the stream's task
//! still makes the call (the connection's task only hands requests on, which keeps it
//! reading), but nothing is cloned. When another of the connection's calls holds the stack at
//! that instant (on another worker thread), or the stack is not ready, the call clones a spare
//! copy and waits on the clone, as every call did before.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard, TryLockError};
use std::task::{Context, Poll, Waker};

use tower::ServiceExt as _;
use tower::util::Oneshot;
use tower_service::Service;

/// One connection's stack, called by its calls in turn.
pub(super) struct SharedStack<S> {
    calling: Mutex<S>,
    /// Never called, only cloned from, so a call that cannot borrow `calling` never waits for
    /// another call's.
    spare: Mutex<S>,
}

impl<S: Clone> SharedStack<S> {
    pub(super) fn new(stack: S) -> Self {
        Self {
            spare: Mutex::new(stack.clone()),
            calling: Mutex::new(stack),
        }
    }
}

impl<S> SharedStack<S> {
    /// Makes the call on the shared stack when it is free and ready, else on a clone.
    pub(super) fn call<R>(&self, request: R) -> StackCall<S, R>
    where
        S: Service<R> + Clone,
    {
        if let Some(mut stack) = free(&self.calling) {
            // Asked without a waker to keep: if it is not ready, the clone asks again with the
            // stream's own.
            let mut asking = Context::from_waker(Waker::noop());
            if let Poll::Ready(Ok(())) = stack.poll_ready(&mut asking) {
                return StackCall::Called {
                    future: Box::pin(stack.call(request)),
                };
            }
        }
        // A panic while it was held leaves the stack as it was: each call's state is its own.
        let spare = self.spare.lock().unwrap_or_else(|e| e.into_inner()).clone();
        StackCall::Waiting {
            call: Box::pin(spare.oneshot(request)),
        }
    }
}

/// The stack, unless another call holds it.
fn free<S>(stack: &Mutex<S>) -> Option<MutexGuard<'_, S>> {
    match stack.try_lock() {
        Ok(stack) => Some(stack),
        Err(TryLockError::Poisoned(poisoned)) => Some(poisoned.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    }
}

pin_project_lite::pin_project! {
    /// A call made by [`SharedStack::call`]. Both kinds are boxed: hyper spawns a task per
    /// stream holding this future, and tokio moves a task's future as it spawns it.
    #[project = StackCallProj]
    pub(super) enum StackCall<S: Service<R>, R> {
        Called { future: Pin<Box<S::Future>> },
        Waiting { call: Pin<Box<Oneshot<S, R>>> },
    }
}

impl<S: Service<R>, R> Future for StackCall<S, R> {
    type Output = Result<S::Response, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            StackCallProj::Called { future } => future.as_mut().poll(cx),
            StackCallProj::Waiting { call } => call.as_mut().poll(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    /// Counts its clones and calls; not ready while `late` is above zero (it counts down).
    #[derive(Default)]
    struct Counted {
        clones: Arc<AtomicUsize>,
        calls: Arc<AtomicUsize>,
        late: Arc<AtomicUsize>,
    }

    impl Clone for Counted {
        fn clone(&self) -> Self {
            self.clones.fetch_add(1, Ordering::Relaxed);
            Self {
                clones: self.clones.clone(),
                calls: self.calls.clone(),
                late: self.late.clone(),
            }
        }
    }

    impl Service<u32> for Counted {
        type Response = u32;
        type Error = Infallible;
        type Future = std::future::Ready<Result<u32, Infallible>>;

        fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            let late = self.late.load(Ordering::Relaxed);
            if late > 0 {
                self.late.store(late - 1, Ordering::Relaxed);
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, request: u32) -> Self::Future {
            self.calls.fetch_add(1, Ordering::Relaxed);
            std::future::ready(Ok(request * 2))
        }
    }

    #[tokio::test]
    async fn calls_borrow_the_stack_and_clone_it_only_when_it_is_busy_or_not_ready() {
        let counted = Counted::default();
        let (clones, calls, late) = (
            counted.clones.clone(),
            counted.calls.clone(),
            counted.late.clone(),
        );
        let shared = SharedStack::new(counted);
        let made = clones.load(Ordering::Relaxed);
        for n in 0..3 {
            assert_eq!(shared.call(n).await.unwrap(), n * 2);
        }
        assert_eq!(
            clones.load(Ordering::Relaxed),
            made,
            "a free, ready stack is borrowed"
        );

        // Held by another call: the spare is cloned, and the call still answers.
        let held = shared.calling.lock().unwrap();
        let call = shared.call(5);
        drop(held);
        assert_eq!(call.await.unwrap(), 10);
        assert_eq!(clones.load(Ordering::Relaxed), made + 1);

        // Not ready at first: the clone waits for it.
        late.store(1, Ordering::Relaxed);
        assert_eq!(shared.call(7).await.unwrap(), 14);
        assert_eq!(clones.load(Ordering::Relaxed), made + 2);
        assert_eq!(calls.load(Ordering::Relaxed), 5);
    }
}
