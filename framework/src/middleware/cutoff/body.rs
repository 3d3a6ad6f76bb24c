//! The response body, raced against a trigger until it ends.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use crate::middleware::deadline::scope::scoped;
use crate::middleware::observe::drop_as;
use crate::middleware::status::status_trailers;

pin_project! {
    /// Ends `inner` with `status()` trailers when `trigger` fires; see the [module docs](super).
    pub struct CutoffBody<B, F> {
        #[pin]
        inner: Option<B>,
        #[pin]
        trigger: Option<F>,
        status: fn() -> tonic::Status,
        ended: bool,
        deadline_scope: Option<Instant>,
    }
}

impl<B, F> CutoffBody<B, F> {
    /// Ends `inner` with `status()` when `trigger` completes (never, without one).
    pub(crate) fn new(inner: B, trigger: Option<F>, status: fn() -> tonic::Status) -> Self {
        Self {
            inner: Some(inner),
            trigger,
            status,
            ended: false,
            deadline_scope: None,
        }
    }

    /// Polls the body with `deadline` (if any) as the current deadline.
    pub(crate) fn with_deadline_scope(mut self, deadline: Option<Instant>) -> Self {
        self.deadline_scope = deadline;
        self
    }

    /// The empty body of a trailers-only answer.
    pub(crate) fn empty(status: fn() -> tonic::Status) -> Self {
        Self {
            inner: None,
            trigger: None,
            status,
            ended: true,
            deadline_scope: None,
        }
    }
}

impl<B: Body, F: Future> Body for CutoffBody<B, F> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        if *this.ended {
            return Poll::Ready(None);
        }
        let Some(inner) = this.inner.as_mut().as_pin_mut() else {
            *this.ended = true;
            return Poll::Ready(None);
        };
        if let Poll::Ready(frame) = scoped(*this.deadline_scope, || inner.poll_frame(cx)) {
            if frame.is_none() {
                *this.ended = true;
            }
            return Poll::Ready(frame);
        }
        if let Some(trigger) = this.trigger.as_pin_mut()
            && trigger.poll(cx).is_ready()
        {
            *this.ended = true;
            let status = (this.status)();
            // Layers inside record the stream with the status it ends with, not as cancelled.
            drop_as(status.code(), || this.inner.set(None));
            return Poll::Ready(Some(Ok(Frame::trailers(status_trailers(&status)))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.as_ref().is_some_and(B::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Some(inner) if !self.ended => inner.size_hint(),
            _ => SizeHint::default(),
        }
    }
}
