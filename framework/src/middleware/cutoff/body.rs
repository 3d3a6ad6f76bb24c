//! The response body, raced against a trigger until it ends.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::ending::EndingBody;
use crate::middleware::deadline::scope::scoped;
use crate::middleware::status::status_trailers;
use crate::polled::PolledFrame;

pin_project! {
    /// Ends `inner` with `status()` trailers when `trigger` fires; see the [module docs](super).
    pub struct CutoffBody<B, F> {
        #[pin]
        body: EndingBody<B>,
        #[pin]
        trigger: Option<F>,
        status: fn() -> tonic::Status,
        deadline_scope: Option<Instant>,
    }
}

impl<B, F> CutoffBody<B, F> {
    /// Ends `inner` with `status()` when `trigger` completes (never, without one).
    pub(crate) fn new(inner: B, trigger: Option<F>, status: fn() -> tonic::Status) -> Self {
        Self {
            body: EndingBody::new(inner),
            trigger,
            status,
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
            body: EndingBody::empty(),
            trigger: None,
            status,
            deadline_scope: None,
        }
    }
}

impl<B: Body, F: Future> Body for CutoffBody<B, F> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> PolledFrame<Self> {
        let mut this = self.project();
        let scope = *this.deadline_scope;
        let Some(frame) = this
            .body
            .as_mut()
            .poll_inner(|inner| scoped(scope, || inner.poll_frame(cx)))
        else {
            return Poll::Ready(None);
        };
        if frame.is_ready() {
            return frame;
        }
        if let Some(trigger) = this.trigger.as_pin_mut()
            && trigger.poll(cx).is_ready()
        {
            let status = (this.status)();
            this.body.end(status.code());
            return Poll::Ready(Some(Ok(Frame::trailers(status_trailers(&status)))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
