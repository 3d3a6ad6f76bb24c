//! The response body of [`Recovery`](super::Recovery): panics while streaming end the stream with `INTERNAL`.

use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::{PanicReport, panic_status};
use crate::middleware::cutoff::EndingBody;
use crate::middleware::status::status_trailers;

pin_project! {
    /// A response body that turns a panic while streaming into `INTERNAL` trailers.
    pub struct RecoveryBody<B> {
        #[pin]
        body: EndingBody<B>,
        report: Option<PanicReport>,
    }
}

impl<B> RecoveryBody<B> {
    pub(crate) fn new(inner: B, report: PanicReport) -> Self {
        Self {
            body: EndingBody::new(inner),
            report: Some(report),
        }
    }

    /// The empty body of a trailers-only answer.
    pub(crate) fn empty() -> Self {
        Self {
            body: EndingBody::empty(),
            report: None,
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
        let mut caught = None;
        let polled = this.body.as_mut().poll_inner(|inner| {
            std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll_frame(cx))).unwrap_or_else(
                |panic| {
                    caught = Some(panic);
                    Poll::Pending
                },
            )
        });
        let Some(panic) = caught else {
            return polled.unwrap_or(Poll::Ready(None));
        };
        if let Some(report) = this.report.take() {
            report.report(&*panic);
        }
        // The panicked body must not be polled again: drop it now, as INTERNAL for the layers inside.
        this.body.end(tonic::Code::Internal);
        Poll::Ready(Some(Ok(Frame::trailers(status_trailers(&panic_status())))))
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
