//! The response body of [`Recovery`](super::Recovery): panics while streaming end the stream with `INTERNAL`.

use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::{PanicReport, panic_status};
use crate::middleware::status::status_trailers;

pin_project! {
    /// A response body that turns a panic while streaming into `INTERNAL` trailers.
    pub struct RecoveryBody<B> {
        #[pin]
        inner: Option<B>,
        report: Option<PanicReport>,
        state: BodyState,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyState {
    Streaming,
    Ended,
}

impl<B> RecoveryBody<B> {
    pub(crate) fn new(inner: B, report: PanicReport) -> Self {
        Self {
            inner: Some(inner),
            report: Some(report),
            state: BodyState::Streaming,
        }
    }

    /// The empty body of a trailers-only answer.
    pub(crate) fn empty() -> Self {
        Self {
            inner: None,
            report: None,
            state: BodyState::Ended,
        }
    }
}

impl<B: Body> Body for RecoveryBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let mut this = self.project();
        match *this.state {
            BodyState::Ended => return Poll::Ready(None),
            BodyState::Streaming => {}
        }
        let Some(inner) = this.inner.as_mut().as_pin_mut() else {
            *this.state = BodyState::Ended;
            return Poll::Ready(None);
        };
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll_frame(cx))) {
            Ok(poll) => poll,
            Err(panic) => {
                if let Some(report) = this.report.take() {
                    report.report(&*panic);
                }
                // The panicked body must not be polled again: drop it now.
                crate::middleware::observe::drop_panicked(|| this.inner.set(None));
                *this.state = BodyState::Ended;
                Poll::Ready(Some(Ok(Frame::trailers(status_trailers(&panic_status())))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self.state {
            BodyState::Ended => true,
            BodyState::Streaming => self.inner.as_ref().is_none_or(B::is_end_stream),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match (&self.inner, self.state) {
            (Some(inner), BodyState::Streaming) => inner.size_hint(),
            _ => SizeHint::default(),
        }
    }
}
