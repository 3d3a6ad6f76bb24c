use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep, sleep_until};

use super::exceeded;
use crate::middleware::status::status_trailers;

pin_project! {
    /// A response body that ends a stream with `DEADLINE_EXCEEDED` at its deadline.
    pub struct DeadlineBody<B> {
        #[pin]
        inner: Option<B>,
        #[pin]
        sleep: Option<Sleep>,
        ended: bool,
    }
}

impl<B> DeadlineBody<B> {
    pub(crate) fn new(inner: B, deadline: Option<Instant>) -> Self {
        Self {
            inner: Some(inner),
            sleep: deadline.map(sleep_until),
            ended: false,
        }
    }

    pub(crate) fn empty() -> Self {
        Self {
            inner: None,
            sleep: None,
            ended: true,
        }
    }
}

impl<B: Body> Body for DeadlineBody<B> {
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
        if let Poll::Ready(frame) = inner.poll_frame(cx) {
            if frame.is_none() {
                *this.ended = true;
            }
            return Poll::Ready(frame);
        }
        if let Some(sleep) = this.sleep.as_pin_mut()
            && sleep.poll(cx).is_ready()
        {
            *this.ended = true;
            // Drop the handler's stream now: its work is no longer wanted.
            this.inner.set(None);
            return Poll::Ready(Some(Ok(Frame::trailers(status_trailers(&exceeded())))));
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
