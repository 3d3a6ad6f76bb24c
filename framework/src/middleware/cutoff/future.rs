//! The call until its response begins, raced against a trigger.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use pin_project_lite::pin_project;

use super::CutoffBody;
use crate::middleware::deadline::scope::scoped;
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
        deadline_scope: Option<Instant>,
        trigger_first: bool,
        polled: bool,
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
            deadline_scope: None,
            trigger_first: false,
            polled: false,
        }
    }

    /// Checks the trigger before the call on each poll but the first: once the trigger has
    /// fired, the status wins even over an answer that is ready in the same instant (a client's
    /// deadline must beat a timer of tonic's below it, which would answer CANCELLED). The first
    /// poll comes as the call arrives, before any deadline can pass, and a call that answers in
    /// it never needs its trigger polled (nor, for a deadline, its timer registered).
    pub(crate) fn trigger_first(mut self) -> Self {
        self.trigger_first = true;
        self
    }

    /// Polls the call, and then its body, with `deadline` as the
    /// [current deadline](crate::middleware::deadline::current_deadline).
    pub(crate) fn with_deadline_scope(mut self, deadline: Instant) -> Self {
        self.deadline_scope = Some(deadline);
        self
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
        let first = !std::mem::replace(this.polled, true);
        if *this.trigger_first
            && !first
            && let Some(trigger) = this.trigger.as_mut().as_pin_mut()
            && trigger.poll(cx).is_ready()
        {
            this.trigger.set(None);
            return Poll::Ready(Ok(cut(this.inner, *this.status)));
        }
        let inner = this
            .inner
            .as_mut()
            .as_pin_mut()
            .expect("CutoffFuture polled after completion");
        let scope = *this.deadline_scope;
        if let Poll::Ready(result) = scoped(scope, || inner.poll(cx)) {
            this.inner.set(None);
            this.trigger.set(None);
            let (body_trigger, status) = (this.body_trigger.take(), *this.status);
            return Poll::Ready(result.map(|response| {
                response.map(|body| {
                    CutoffBody::new(body, body_trigger, status).with_deadline_scope(scope)
                })
            }));
        }
        if (!*this.trigger_first || first)
            && let Some(trigger) = this.trigger.as_mut().as_pin_mut()
            && trigger.poll(cx).is_ready()
        {
            this.trigger.set(None);
            return Poll::Ready(Ok(cut(this.inner, *this.status)));
        }
        Poll::Pending
    }
}

/// Drops the call (layers inside record it with the status it ends with, not as cancelled) and
/// answers `status()` trailers-only.
fn cut<F, B, BT>(
    inner: Pin<&mut Option<F>>,
    status: fn() -> tonic::Status,
) -> http::Response<CutoffBody<B, BT>> {
    let answer = status();
    let mut inner = inner;
    drop_as(answer.code(), || inner.set(None));
    let empty = CutoffBody::empty(status);
    answer.into_http::<()>().map(|()| empty)
}
