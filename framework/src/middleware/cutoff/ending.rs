//! A response body that a layer can end early: the inner body of
//! [`CutoffBody`](super::CutoffBody), which the deadline and the drain's cut share.

use std::pin::Pin;
use std::task::Poll;

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tonic::Code;

use crate::middleware::observe::drop_as;

/// What one poll of a body yields.
pub(crate) type FramePoll<B> = Poll<Option<Result<Frame<<B as Body>::Data>, <B as Body>::Error>>>;

pin_project! {
    /// `inner` until it ends or its layer ends it; after that, no more frames.
    pub(crate) struct EndingBody<B> {
        #[pin]
        inner: Option<B>,
        ended: bool,
    }
}

impl<B> EndingBody<B> {
    pub(crate) fn new(inner: B) -> Self {
        Self {
            inner: Some(inner),
            ended: false,
        }
    }

    /// The empty body of a trailers-only answer.
    pub(crate) fn empty() -> Self {
        Self {
            inner: None,
            ended: true,
        }
    }
}

impl<B: Body> EndingBody<B> {
    /// Polls `inner` through `poll`; `None` once the body has ended.
    pub(crate) fn poll_inner(
        self: Pin<&mut Self>,
        poll: impl FnOnce(Pin<&mut B>) -> FramePoll<B>,
    ) -> Option<FramePoll<B>> {
        let this = self.project();
        if *this.ended {
            return None;
        }
        let Some(inner) = this.inner.as_pin_mut() else {
            *this.ended = true;
            return None;
        };
        let frame = poll(inner);
        if let Poll::Ready(None) = frame {
            *this.ended = true;
        }
        Some(frame)
    }

    /// Ends the body now, dropping `inner` so that the layers inside record the call with
    /// `code`, the status it ends with, rather than as cancelled.
    pub(crate) fn end(self: Pin<&mut Self>, code: Code) {
        let mut this = self.project();
        *this.ended = true;
        drop_as(code, || this.inner.set(None));
    }

    pub(crate) fn is_end_stream(&self) -> bool {
        self.ended || self.inner.as_ref().is_some_and(B::is_end_stream)
    }

    pub(crate) fn size_hint(&self) -> SizeHint {
        match &self.inner {
            Some(inner) if !self.ended => inner.size_hint(),
            _ => SizeHint::default(),
        }
    }
}
