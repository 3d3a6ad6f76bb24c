//! The response future of [`Observe`](super::Observe): the call until its response begins.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;

use super::{CallError, CallObserver, ObservedBody, dropped_code};

pin_project! {
    /// Polls the call inside its observer's scope, then hands the observer to the response body;
    /// a call dropped before its response is reported as cancelled (or as what dropped it).
    pub struct ObservedFuture<F, O: CallObserver> {
        #[pin]
        inner: F,
        observer: Option<O>,
    }

    impl<F, O: CallObserver> PinnedDrop for ObservedFuture<F, O> {
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
        Self {
            inner,
            observer: Some(observer),
        }
    }
}

impl<F, B, E, O> Future for ObservedFuture<F, O>
where
    F: Future<Output = Result<http::Response<B>, E>>,
    E: CallError,
    O: CallObserver,
{
    type Output = Result<http::Response<ObservedBody<B, O>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let inner = this.inner;
        let result = match this.observer.as_ref() {
            Some(observer) => ready!(observer.scoped(|| inner.poll(cx))),
            None => panic!("ObservedFuture polled after completion"),
        };
        let observer = this.observer.take().expect("checked above");
        Poll::Ready(match result {
            Ok(response) => Ok(ObservedBody::observe(response, observer)),
            Err(e) => {
                observer.finish(e.code());
                Err(e)
            }
        })
    }
}
