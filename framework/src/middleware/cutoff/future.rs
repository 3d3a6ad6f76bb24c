//! The call until its response begins, raced against a trigger.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::CutoffBody;
use crate::middleware::observe::drop_as;

pin_project! {
    /// Answers `status()` trailers-only if `trigger` fires before the call's response; the
    /// response's body is then raced against `body_trigger` (see [`CutoffBody`]).
    pub struct CutoffFuture<F, T, BT> {
        #[pin]
        inner: Option<F>,
        #[pin]
        trigger: Option<T>,
        body_trigger: Option<BT>,
        status: fn() -> tonic::Status,
    }
}

impl<F, T, BT> CutoffFuture<F, T, BT> {
    /// Races `inner` against `trigger` (never fires without one).
    pub(crate) fn new(
        inner: F,
        trigger: Option<T>,
        body_trigger: Option<BT>,
        status: fn() -> tonic::Status,
    ) -> Self {
        Self {
            inner: Some(inner),
            trigger,
            body_trigger,
            status,
        }
    }
}

impl<F, T, BT, B, E> Future for CutoffFuture<F, T, BT>
where
    F: Future<Output = Result<http::Response<B>, E>>,
    T: Future,
{
    type Output = Result<http::Response<CutoffBody<B, BT>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let inner = this
            .inner
            .as_mut()
            .as_pin_mut()
            .expect("CutoffFuture polled after completion");
        if let Poll::Ready(result) = inner.poll(cx) {
            this.inner.set(None);
            this.trigger.set(None);
            let (body_trigger, status) = (this.body_trigger.take(), *this.status);
            return Poll::Ready(
                result.map(|response| {
                    response.map(|body| CutoffBody::new(body, body_trigger, status))
                }),
            );
        }
        if let Some(trigger) = this.trigger.as_mut().as_pin_mut()
            && trigger.poll(cx).is_ready()
        {
            this.trigger.set(None);
            let status = (this.status)();
            // Layers inside record the call with the status it ends with, not as cancelled.
            drop_as(status.code(), || this.inner.set(None));
            let empty = CutoffBody::empty(*this.status);
            return Poll::Ready(Ok(status.into_http::<()>().map(|()| empty)));
        }
        Poll::Pending
    }
}
