use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep, sleep_until};

use super::DeadlineBody;

use super::exceeded;

pin_project! {
    /// The response future of [`Deadline`](super::Deadline).
    pub struct DeadlineFuture<F> {
        #[pin]
        inner: F,
        #[pin]
        sleep: Sleep,
        stream_deadline: Option<Instant>,
    }
}

impl<F> DeadlineFuture<F> {
    pub(crate) fn new(inner: F, deadline: Instant, stream_deadline: Option<Instant>) -> Self {
        Self {
            inner,
            sleep: sleep_until(deadline),
            stream_deadline,
        }
    }
}

impl<F, B, E> Future for DeadlineFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
{
    type Output = Result<http::Response<DeadlineBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(result) = this.inner.poll(cx) {
            let stream_deadline = *this.stream_deadline;
            return Poll::Ready(result.map(|response| {
                response
                    .map(|body| DeadlineBody::new(body, stream_deadline.map(sleep_until), exceeded))
            }));
        }
        if this.sleep.poll(cx).is_ready() {
            return Poll::Ready(Ok(exceeded()
                .into_http::<()>()
                .map(|()| DeadlineBody::empty(exceeded))));
        }
        Poll::Pending
    }
}
