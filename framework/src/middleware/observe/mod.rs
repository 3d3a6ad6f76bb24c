//! Watching a call until it ends: the one mechanism behind metrics, tracing, the access log and
//! the client's breaker.
//!
//! A gRPC call ends when its response body ends (its status is in the trailers), at once for a
//! trailers-only answer, or when it is dropped first (the client cancelled). [`Observe`] wraps a
//! service so that a [`CallObserver`], made per call by an [`ObserveCall`], hears of that end
//! exactly once, whichever way it comes: through [`ObservedFuture`] while the handler runs, then
//! through [`ObservedBody`] while the response streams. With [`RecoveryLayer`] as its
//! [`Recover`], the same wrapper also answers a panic of the inner service with `INTERNAL`.
//!
//! [`RecoveryLayer`]: crate::middleware::RecoveryLayer

mod body;
mod future;
mod layer;
mod pair;
mod recover;

use std::convert::Infallible;
use std::task::{Context, Poll};

use tonic::Code;
use tower_service::Service;

pub use body::ObservedBody;
pub(crate) use body::{drop_as, drop_panicked, dropped_code};
pub use future::ObservedFuture;
pub use layer::ObserveLayer;
pub(crate) use recover::catching;
pub use recover::{NoRecovery, Recover, RecoverCall};

use crate::error::BoxError;
use crate::impls::wraps_inner;

/// Told once how a call ended, and of every data chunk before that.
pub trait CallObserver {
    /// A chunk of response data went out.
    fn on_data(&mut self, _chunk: &[u8]) {}
    /// The call ended with `code`.
    fn finish(self, code: Code);
    /// Runs one poll of the call (its future or its body); the trace layer runs it inside the
    /// call's context, so work a handler does while it is polled is part of the call.
    fn scoped<R>(&self, poll: impl FnOnce() -> R) -> R {
        poll()
    }
}

/// An absent observer: nothing to tell (e.g. the access log with logging off).
impl<O: CallObserver> CallObserver for Option<O> {
    fn on_data(&mut self, chunk: &[u8]) {
        if let Some(observer) = self {
            observer.on_data(chunk);
        }
    }

    fn finish(self, code: Code) {
        if let Some(observer) = self {
            observer.finish(code);
        }
    }

    fn scoped<R>(&self, poll: impl FnOnce() -> R) -> R {
        match self {
            Some(observer) => observer.scoped(poll),
            None => poll(),
        }
    }
}

/// Nothing to tell: what [`RecoveryLayer`](crate::middleware::RecoveryLayer) observes with.
impl CallObserver for () {
    fn finish(self, _code: Code) {}
}

/// Starts observing one call: makes its observer, and may wrap the request's body.
pub trait ObserveCall<ReqBody> {
    /// The request body the inner service receives.
    type Body;
    /// What hears of the call's end.
    type Observer: CallObserver;
    /// Called once per call, before the inner service sees the request.
    fn start(&self, request: http::Request<ReqBody>)
    -> (http::Request<Self::Body>, Self::Observer);
}

/// The gRPC code an error of a service stands for, when a call fails before any response.
///
/// Implemented for the error types of tonic's services and for boxed errors; implement it for
/// your own service's error type to put Bia's observing layers over it.
pub trait CallError {
    /// The status the failed call is recorded with.
    fn code(&self) -> Code;
}

impl CallError for Infallible {
    fn code(&self) -> Code {
        match *self {}
    }
}

impl CallError for tonic::Status {
    fn code(&self) -> Code {
        tonic::Status::code(self)
    }
}

/// A boxed error is the status it carries, else `UNAVAILABLE`: on a client, an error that is not
/// a status means the call never reached a server.
impl CallError for BoxError {
    fn code(&self) -> Code {
        self.downcast_ref::<tonic::Status>()
            .map_or(Code::Unavailable, tonic::Status::code)
    }
}

/// Observes nothing: with [`RecoveryLayer`](crate::middleware::RecoveryLayer), recovery alone.
impl<B> ObserveCall<B> for () {
    type Body = B;
    type Observer = ();

    fn start(&self, request: http::Request<B>) -> (http::Request<B>, ()) {
        (request, ())
    }
}

/// A service whose calls are watched by the observers `start` makes, and whose panics `recover`
/// handles; see the [module docs](self).
#[derive(Clone, Debug)]
pub struct Observe<S, M, R = NoRecovery> {
    inner: S,
    start: M,
    recover: R,
}

impl<S, M> Observe<S, M> {
    /// Wraps `inner`, observing each call with an observer from `start`.
    pub fn new(inner: S, start: M) -> Self {
        Self::recovering(inner, start, NoRecovery)
    }
}

impl<S, M, R> Observe<S, M, R> {
    /// Wraps `inner`, observing each call with an observer from `start` and handling its panics
    /// with `recover`.
    pub fn recovering(inner: S, start: M, recover: R) -> Self {
        Self {
            inner,
            start,
            recover,
        }
    }
}

wraps_inner!(Observe<S, M, R>);

impl<S, M, R, ReqBody, ResBody> Service<http::Request<ReqBody>> for Observe<S, M, R>
where
    M: ObserveCall<ReqBody>,
    S: Service<http::Request<M::Body>, Response = http::Response<ResBody>>,
    S::Error: CallError,
    R: Recover,
{
    type Response = http::Response<ObservedBody<ResBody, M::Observer, R>>;
    type Error = S::Error;
    type Future = ObservedFuture<S::Future, M::Observer, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let recover = self.recover.for_call(&request);
        let (request, observer) = self.start.start(request);
        let inner = &mut self.inner;
        let unwinding = FinishOnUnwind(Some(observer));
        let observer = unwinding.0.as_ref().expect("just set");
        // Inside the observer's scope, so a panic's log line carries the call's ids.
        let called = observer.scoped(|| recover.run(|| inner.call(request)));
        let observer = unwinding.disarm();
        match called {
            Some(future) => ObservedFuture::recovering(future, observer, recover),
            None => {
                observer.finish(Code::Internal);
                ObservedFuture::panicked(recover)
            }
        }
    }
}

/// Tells the observer of a call whose service panics when called (and no recovery catches it)
/// that the call ended, as the future would have had it been made.
struct FinishOnUnwind<O: CallObserver>(Option<O>);

impl<O: CallObserver> FinishOnUnwind<O> {
    fn disarm(mut self) -> O {
        self.0.take().expect("disarmed once")
    }
}

impl<O: CallObserver> Drop for FinishOnUnwind<O> {
    fn drop(&mut self) {
        if let Some(observer) = self.0.take() {
            observer.finish(dropped_code());
        }
    }
}
