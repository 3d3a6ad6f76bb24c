//! A request body that enforces the message size limit from each length prefix.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Buf;
use http_body::{Body, SizeHint};
use pin_project_lite::pin_project;

use super::Permit;
use crate::error::BoxError;
use crate::middleware::frame::FrameScanner;
use crate::polled::PolledFrame;

pin_project! {
    /// A request body that fails with `RESOURCE_EXHAUSTED` as soon as a message's length prefix
    /// exceeds the limit, before the payload is buffered.
    pub struct LimitedBody<B> {
        #[pin]
        inner: B,
        scanner: FrameScanner,
        max: usize,
        // How many messages the method takes (one, unless the client streams), and how many came.
        one_message: bool,
        seen: u32,
        failed: bool,
        // A place under `max_concurrent_calls`, taken when the first frame arrives.
        permit: Option<std::sync::Arc<Permit>>,
    }
}

impl<B> LimitedBody<B> {
    pub(crate) fn new(
        inner: B,
        max: usize,
        one_message: bool,
        permit: Option<std::sync::Arc<Permit>>,
    ) -> Self {
        Self {
            inner,
            scanner: FrameScanner::default(),
            one_message,
            seen: 0,
            max,
            failed: false,
            permit,
        }
    }
}

impl<B> Body for LimitedBody<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    type Data = B::Data;
    type Error = BoxError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> PolledFrame<Self> {
        let this = self.project();
        if *this.failed {
            return Poll::Ready(None);
        }
        let frame = ready!(this.inner.poll_frame(cx));
        if let Some(permit) = this.permit.take()
            && !permit.acquire()
        {
            *this.failed = true;
            return Poll::Ready(Some(Err(Box::new(super::Reason::Concurrency.status()))));
        }
        let frame = match frame {
            None => return Poll::Ready(None),
            Some(Err(e)) => return Poll::Ready(Some(Err(e.into()))),
            Some(Ok(frame)) => frame,
        };
        if let Some(data) = frame.data_ref() {
            let max = *this.max;
            let (one_message, seen) = (*this.one_message, &mut *this.seen);
            let checked = this.scanner.feed(data.chunk(), |len| {
                *seen += 1;
                if one_message && *seen > 1 {
                    Err(Violation::SecondMessage)
                } else if len as usize > max {
                    Err(Violation::TooLarge(len))
                } else {
                    Ok(())
                }
            });
            if let Err(violation) = checked {
                *this.failed = true;
                let status = match violation {
                    Violation::TooLarge(len) => tonic::Status::resource_exhausted(format!(
                        "request message of {len} bytes is larger than the server's limit of \
                         {max} bytes (server.grpc.max_message_bytes)"
                    )),
                    Violation::SecondMessage => tonic::Status::internal(
                        "the method takes one request message and the client sent more",
                    ),
                };
                return Poll::Ready(Some(Err(Box::new(status))));
            }
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.failed || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// What a request body did wrong.
enum Violation {
    TooLarge(u32),
    SecondMessage,
}
