//! A request body that counts the messages of a streaming call.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Buf;
use http_body::{Body, SizeHint};
use metrics::Counter;
use pin_project_lite::pin_project;

use crate::middleware::frame::FrameScanner;
use crate::polled::PolledFrame;

pin_project! {
    /// A request body that counts the gRPC messages of a streaming call as they arrive.
    pub struct CountedBody<B> {
        #[pin]
        inner: B,
        counter: Option<(FrameScanner, Counter)>,
    }
}

impl<B> CountedBody<B> {
    pub(crate) fn counting(inner: B, counter: Counter) -> Self {
        Self {
            inner,
            counter: Some((FrameScanner::default(), counter)),
        }
    }

    pub(crate) fn passthrough(inner: B) -> Self {
        Self {
            inner,
            counter: None,
        }
    }
}

impl<B: Body> Body for CountedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> PolledFrame<Self> {
        let this = self.project();
        let frame = ready!(this.inner.poll_frame(cx));
        if let (Some(Ok(frame)), Some((scanner, counter))) = (&frame, this.counter)
            && let Some(data) = frame.data_ref()
        {
            let mut messages = 0;
            let _ = scanner.feed(data.chunk(), |_| {
                messages += 1;
                Ok::<_, ()>(())
            });
            if messages > 0 {
                counter.increment(messages);
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
