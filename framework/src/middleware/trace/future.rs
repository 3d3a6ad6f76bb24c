use std::future::Future;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll, ready};

use opentelemetry::Context;
use pin_project_lite::pin_project;
use tonic::Code;

use super::{SpanEnd, end_span};
use crate::middleware::body::ObservedBody;

pin_project! {
    /// The response future of [`Trace`](super::Trace): polls the handler inside the call's
    /// context and log span.
    pub struct TraceFuture<F> {
        #[pin]
        inner: F,
        cx: Option<Context>,
        log_span: tracing::Span,
        semconv_dup: bool,
    }

    impl<F> PinnedDrop for TraceFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            // Dropped before a response: the client went away (or a panic is unwinding).
            if let Some(cx) = this.project().cx.take() {
                end_span(&cx, crate::middleware::body::dropped_code(), false);
            }
        }
    }
}

impl<F> TraceFuture<F> {
    pub(crate) fn new(inner: F, cx: Context, log_span: tracing::Span, semconv_dup: bool) -> Self {
        Self {
            inner,
            cx: Some(cx),
            log_span,
            semconv_dup,
        }
    }
}

impl<F, B, E> Future for TraceFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
{
    type Output = Result<http::Response<ObservedBody<B, SpanEnd>>, E>;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = {
            let _attached = this.cx.as_ref().map(|cx| cx.clone().attach());
            let _entered = this.log_span.enter();
            ready!(this.inner.poll(task))
        };
        let cx = this.cx.take().expect("polled after completion");
        Poll::Ready(match result {
            Ok(response) => Ok(ObservedBody::observe(
                response,
                SpanEnd::new(cx, Some(this.log_span.clone()), *this.semconv_dup),
            )),
            Err(e) => {
                end_span(&cx, Code::Internal, *this.semconv_dup);
                Err(e)
            }
        })
    }
}
