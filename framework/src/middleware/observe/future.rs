//! The response future of [`Observe`](super::Observe): the call until its response begins.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tonic::Code;

use super::{
    CallError, CallObserver, NoRecovery, ObservedBody, Recover, RecoverCall, drop_panicked,
    dropped_code,
};

pin_project! {
    /// Polls the call inside its observer's scope, then hands the observer to the response body;
    /// a call dropped before its response is reported as cancelled (or as what dropped it). With
    /// a recovering `R`, a panic of the call answers `INTERNAL`.
    pub struct ObservedFuture<F, O: CallObserver, R: Recover = NoRecovery> {
        // `None` once the call panicked (and was dropped).
        #[pin]
        inner: Option<F>,
        observer: Option<O>,
        recover: Option<R::Call>,
    }

    impl<F, O: CallObserver, R: Recover> PinnedDrop for ObservedFuture<F, O, R> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(observer) = this.project().observer.take() {
                observer.finish(dropped_code());
            }
        }
    }
}

impl<F, O: CallObserver> ObservedFuture<F, O> {
    /// Observes `inner` with `observer`.
    pub fn new(inner: F, observer: O) -> Self {
        Self::recovering(inner, observer, ())
    }
}

impl<F, O: CallObserver, R: Recover> ObservedFuture<F, O, R> {
    pub(crate) fn recovering(inner: F, observer: O, recover: R::Call) -> Self {
        Self {
            inner: Some(inner),
            observer: Some(observer),
            recover: Some(recover),
        }
    }

    /// A call whose service panicked when called (already reported and observed).
    pub(crate) fn panicked(recover: R::Call) -> Self {
        Self {
            inner: None,
            observer: None,
            recover: Some(recover),
        }
    }
}

impl<F, B, E, O, R> Future for ObservedFuture<F, O, R>
where
    F: Future<Output = Result<http::Response<B>, E>>,
    E: CallError,
    O: CallObserver,
    R: Recover,
{
    type Output = Result<http::Response<ObservedBody<B, O, R>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let Some(recover) = this.recover.as_ref() else {
            panic!("ObservedFuture polled after completion");
        };
        let polled = match (this.inner.as_mut().as_pin_mut(), this.observer.as_ref()) {
            // Inside the observer's scope, so a panic's log line carries the call's ids.
            (Some(inner), Some(observer)) => observer.scoped(|| recover.run(|| inner.poll(cx))),
            // The call panicked when it was called.
            _ => None,
        };
        let result = match polled {
            Some(Poll::Pending) => return Poll::Pending,
            Some(Poll::Ready(result)) => result,
            None => {
                // The call panicked: what is left of it is dropped as INTERNAL for the layers
                // inside, and the client gets a trailers-only INTERNAL.
                drop_panicked(|| this.inner.set(None));
                if let Some(observer) = this.observer.take() {
                    observer.finish(Code::Internal);
                }
                let recover = this.recover.take().expect("checked above");
                return Poll::Ready(Ok(ObservedBody::panic_response(recover)));
            }
        };
        let observer = this.observer.take().expect("checked above");
        let recover = this.recover.take().expect("checked above");
        Poll::Ready(match result {
            Ok(response) => Ok(ObservedBody::recovering(response, observer, recover)),
            Err(e) => {
                observer.finish(e.code());
                Err(e)
            }
        })
    }
}
