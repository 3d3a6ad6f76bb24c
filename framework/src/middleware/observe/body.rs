//! A response body that tells an observer how the call ended.
//!
//! A gRPC call's status is in the trailers when the body ends, or in the headers of a
//! trailers-only response; a body dropped before its end is a call the client cancelled (or, while
//! a panic unwinds, one that failed). With a recovering `R`, a panic while the body is polled
//! ends it with `INTERNAL` trailers.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Buf;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tonic::Code;

use super::{CallObserver, NoRecovery, Recover, RecoverCall};
use crate::middleware::status::{code_in, status_trailers};
use crate::polled::PolledFrame;

pin_project! {
    /// Wraps a response body and reports the call's end to an observer.
    pub struct ObservedBody<B, O: CallObserver, R: Recover = NoRecovery> {
        // `None` in a trailers-only answer to a panic, and once the body panicked.
        #[pin]
        inner: Option<B>,
        observer: Option<O>,
        recover: R::Call,
    }

    impl<B, O: CallObserver, R: Recover> PinnedDrop for ObservedBody<B, O, R> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(observer) = this.project().observer.take() {
                observer.finish(dropped_code());
            }
        }
    }
}

/// The status of a call whose body went away before its end: INTERNAL while a panic unwinds
/// or recovery drops what panicked, else the client cancelled.
pub(crate) fn dropped_code() -> Code {
    if std::thread::panicking() {
        return Code::Internal;
    }
    DROPPING_AS
        .with(std::cell::Cell::get)
        .unwrap_or(Code::Cancelled)
}

thread_local! {
    static DROPPING_AS: std::cell::Cell<Option<Code>> = const { std::cell::Cell::new(None) };
}

/// Runs `drop` so that the layers inside record the call they drop as `code` rather than
/// CANCELLED: recovery drops what panicked (INTERNAL) and the server's cut drops what outlived
/// the drain (UNAVAILABLE) after the fact, when no panic unwinds and no client went away.
pub(crate) fn drop_as(code: Code, drop: impl FnOnce()) {
    DROPPING_AS.with(|flag| flag.set(Some(code)));
    drop();
    DROPPING_AS.with(|flag| flag.set(None));
}

/// [`drop_as`] INTERNAL.
pub(crate) fn drop_panicked(drop: impl FnOnce()) {
    drop_as(Code::Internal, drop);
}

impl<B, O: CallObserver> ObservedBody<B, O> {
    /// Observes the body of `response`; a trailers-only response is reported at once.
    pub fn observe(response: http::Response<B>, observer: O) -> http::Response<Self> {
        Self::recovering(response, observer, ())
    }
}

/// The status a caught panic answers with: no details leak to the client.
pub(crate) fn panic_status() -> tonic::Status {
    tonic::Status::internal("the server failed while handling this call")
}

impl<B, O: CallObserver, R: Recover> ObservedBody<B, O, R> {
    pub(crate) fn recovering(
        response: http::Response<B>,
        observer: O,
        recover: R::Call,
    ) -> http::Response<Self> {
        let (parts, inner) = response.into_parts();
        let observer = match code_in(&parts.headers) {
            Some(code) => {
                observer.finish(code);
                None
            }
            None if parts.status != http::StatusCode::OK => {
                observer.finish(http_status_code(parts.status));
                None
            }
            None => Some(observer),
        };
        let body = Self {
            inner: Some(inner),
            observer,
            recover,
        };
        http::Response::from_parts(parts, body)
    }

    /// The trailers-only `INTERNAL` answer to a call that panicked before its response.
    pub(crate) fn panic_response(recover: R::Call) -> http::Response<Self> {
        panic_status().into_http::<()>().map(|()| Self {
            inner: None,
            observer: None,
            recover,
        })
    }
}

/// The gRPC code for a non-200 HTTP answer, as gRPC's HTTP mapping defines it.
fn http_status_code(status: http::StatusCode) -> Code {
    match status.as_u16() {
        400 => Code::Internal,
        401 => Code::Unauthenticated,
        403 => Code::PermissionDenied,
        404 => Code::Unimplemented,
        429 | 502..=504 => Code::Unavailable,
        _ => Code::Unknown,
    }
}

impl<B, O, R> Body for ObservedBody<B, O, R>
where
    B: Body,
    O: CallObserver,
    R: Recover,
{
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> PolledFrame<Self> {
        let mut this = self.project();
        let Some(inner) = this.inner.as_mut().as_pin_mut() else {
            return Poll::Ready(None);
        };
        let recover = &*this.recover;
        let polled = match this.observer.as_ref() {
            Some(observer) => observer.scoped(|| recover.run(|| inner.poll_frame(cx))),
            None => recover.run(|| inner.poll_frame(cx)),
        };
        let Some(polled) = polled else {
            // The body panicked: it is not polled again but dropped now, as INTERNAL for the
            // layers inside, and the stream ends with INTERNAL trailers.
            drop_panicked(|| this.inner.set(None));
            if let Some(observer) = this.observer.take() {
                observer.finish(Code::Internal);
            }
            return Poll::Ready(Some(Ok(Frame::trailers(status_trailers(&panic_status())))));
        };
        let frame = ready!(polled);
        match &frame {
            Some(Ok(frame)) => {
                if let Some(trailers) = frame.trailers_ref() {
                    if let Some(observer) = this.observer.take() {
                        observer.finish(code_in(trailers).unwrap_or(Code::Unknown));
                    }
                } else if let (Some(data), Some(observer)) = (frame.data_ref(), this.observer) {
                    observer.on_data(data.chunk());
                }
            }
            Some(Err(_)) => {
                if let Some(observer) = this.observer.take() {
                    observer.finish(Code::Internal);
                }
            }
            None => {
                // A gRPC body that ends without trailers has no status: grpc calls that UNKNOWN.
                if let Some(observer) = this.observer.take() {
                    observer.finish(Code::Unknown);
                }
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.as_ref().is_none_or(B::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), B::size_hint)
    }
}
