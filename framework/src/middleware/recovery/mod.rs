//! Recovery: a panicking handler answers `INTERNAL` and the server keeps serving.
//!
//! Panics are caught both while the handler's future runs and while a streaming response body is
//! polled; each is logged with its method (and, inside Bia's default stack, the call's trace ids)
//! and counted in `bia_server_panics_total`. Recovery is an [`Observe`] with nothing to observe:
//! Bia's default stack folds it into the one observing layer of trace, metrics and the access
//! log ([`ObserveLayer::recovering`](crate::middleware::ObserveLayer::recovering)).

use tower_layer::Layer;

use super::call_info::method_of;
use super::observe::{Observe, ObservedBody, ObservedFuture, Recover, RecoverCall, catching};
use crate::telemetry::MetricsRegistry;

/// The recovery middleware; see the [module docs](self).
pub type Recovery<S> = Observe<S, (), RecoveryLayer>;

/// The response future of [`Recovery`].
pub type RecoveryFuture<F> = ObservedFuture<F, (), RecoveryLayer>;

/// The response body of [`Recovery`].
pub type RecoveryBody<B> = ObservedBody<B, (), RecoveryLayer>;

/// Applies [`Recovery`]; add it first (outermost) so it also catches panics in other layers.
#[derive(Clone, Debug, Default)]
pub struct RecoveryLayer {
    metrics: Option<MetricsRegistry>,
}

impl RecoveryLayer {
    /// A layer that logs panics but does not count them.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also counts panics in `bia_server_panics_total` on `metrics`.
    pub fn with_metrics(metrics: MetricsRegistry) -> Self {
        Self {
            metrics: Some(metrics),
        }
    }
}

impl<S> Layer<S> for RecoveryLayer {
    type Service = Recovery<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Observe::recovering(inner, (), self.clone())
    }
}

impl Recover for RecoveryLayer {
    type Call = PanicReport;

    fn for_call<B>(&self, request: &http::Request<B>) -> PanicReport {
        PanicReport {
            method: method_of(request).name,
            metrics: self.metrics.clone(),
        }
    }
}

/// What a caught panic of one call is reported with.
#[derive(Clone, Debug)]
pub struct PanicReport {
    method: &'static str,
    metrics: Option<MetricsRegistry>,
}

impl RecoverCall for PanicReport {
    fn run<T>(&self, work: impl FnOnce() -> T) -> Option<T> {
        catching(work, |panic| self.report(panic))
    }
}

impl PanicReport {
    fn report(&self, panic: &(dyn std::any::Any + Send)) {
        let message = panic
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("(a panic without a message)");
        tracing::error!(
            rpc.method = self.method,
            panic = message,
            "handler panicked; answered INTERNAL"
        );
        if let Some(metrics) = &self.metrics {
            metrics.count_panic(self.method);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::convert::Infallible;
    use std::pin::Pin;
    use std::rc::Rc;
    use std::task::{Context, Poll};

    use bytes::Bytes;
    use futures_util::FutureExt as _;
    use http_body::{Body, Frame};
    use tonic::Code;
    use tower::ServiceExt as _;

    use super::*;
    use crate::middleware::observe::{CallObserver, ObserveCall};
    use crate::middleware::status::code_in;
    use crate::polled::PolledFrame;

    /// A body that yields one chunk, then panics; how often it was polled.
    struct PanicsAfterOneChunk(u8);

    impl Body for PanicsAfterOneChunk {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> PolledFrame<Self> {
            self.0 += 1;
            match self.0 {
                1 => Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"one"))))),
                2 => panic!("while streaming"),
                _ => unreachable!("polled again after it panicked"),
            }
        }
    }

    /// Records how the calls it observes end: what a layer inside recovery sees.
    #[derive(Clone, Default)]
    struct Ends(Rc<RefCell<Vec<Code>>>);

    impl CallObserver for Ends {
        fn finish(self, code: Code) {
            self.0.borrow_mut().push(code);
        }
    }

    impl<B> ObserveCall<B> for Ends {
        type Body = B;
        type Observer = Ends;

        fn start(&self, request: http::Request<B>) -> (http::Request<B>, Ends) {
            (request, self.clone())
        }
    }

    fn frames<B: Body + Unpin>(mut body: B) -> Vec<Frame<B::Data>>
    where
        B::Error: std::fmt::Debug,
    {
        let mut out = Vec::new();
        while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx))
            .now_or_never()
            .expect("the body is ready")
        {
            out.push(frame.unwrap());
        }
        out
    }

    /// The answer of `inner` behind recovery, and how the layer inside it saw the call end.
    fn recovered<S, B>(inner: S) -> (http::Response<RecoveryBody<ObservedBody<B, Ends>>>, Ends)
    where
        S: tower_service::Service<
                http::Request<()>,
                Response = http::Response<B>,
                Error = Infallible,
            >,
    {
        let ends = Ends::default();
        let response = RecoveryLayer::new()
            .layer(Observe::new(inner, ends.clone()))
            .oneshot(http::Request::new(()))
            .now_or_never()
            .expect("ready at once")
            .expect("infallible");
        (response, ends)
    }

    #[test]
    fn a_service_that_panics_when_called_answers_internal_trailers_only() {
        let (response, seen) = recovered(tower::service_fn(
            |_: http::Request<()>| -> std::future::Ready<Result<http::Response<String>, Infallible>> {
                panic!("in call")
            },
        ));
        assert_eq!(code_in(response.headers()), Some(Code::Internal));
        assert!(response.body().is_end_stream());
        assert_eq!(*seen.0.borrow(), [Code::Internal]);
    }

    #[test]
    fn a_future_that_panics_answers_internal_and_is_dropped_as_internal_inside() {
        let (response, seen) = recovered(tower::service_fn(|_: http::Request<()>| async {
            panic!("in the future");
            #[allow(unreachable_code)]
            Ok::<_, Infallible>(http::Response::new(String::new()))
        }));
        assert_eq!(code_in(response.headers()), Some(Code::Internal));
        assert_eq!(*seen.0.borrow(), [Code::Internal]);
    }

    #[test]
    fn a_body_that_panics_ends_with_internal_trailers_and_is_not_polled_again() {
        let (response, ends) = recovered(tower::service_fn(|_: http::Request<()>| async {
            Ok::<_, Infallible>(http::Response::new(PanicsAfterOneChunk(0)))
        }));
        assert!(ends.0.borrow().is_empty(), "the call is still streaming");
        let frames = frames(response.into_body());
        assert_eq!(frames.len(), 2, "the chunk, then the trailers");
        assert_eq!(frames[0].data_ref().map(|d| &d[..]), Some(&b"one"[..]));
        let trailers = frames[1].trailers_ref().expect("trailers end the stream");
        assert_eq!(code_in(trailers), Some(Code::Internal));
        assert_eq!(*ends.0.borrow(), [Code::Internal]);
    }
}
