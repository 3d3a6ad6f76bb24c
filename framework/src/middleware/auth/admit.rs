//! A service that asks, before each call, whether the call goes on: the shape of both
//! [`JwtAuth`](super::JwtAuth) (the server verifies a token) and
//! [`Bearer`](crate::client::Bearer) (the client attaches one).

use std::task::{Context, Poll};

use http_body_util::Either;
use tonic::body::Body as GrpcBody;
use tower_service::Service;

use super::AuthFuture;
use crate::impls::wraps_inner;

/// Decides, before the inner service is called, whether a call goes on. It may change the
/// request first (attach a header, put claims in its extensions), or answer the call itself
/// with a status, and then the inner service is not called.
pub trait Admission {
    /// Lets the call go on, perhaps changed, or says with which status it is answered.
    fn admit<B>(&self, request: &mut http::Request<B>) -> Result<(), tonic::Status>;
}

/// Calls `inner` with each request that its [`Admission`] lets through; answers the others
/// with the status it gave.
#[derive(Clone)]
pub struct Admitted<S, A> {
    pub(crate) inner: S,
    pub(crate) admission: A,
}

wraps_inner!(Admitted<S, A>);

impl<S: std::fmt::Debug, A> std::fmt::Debug for Admitted<S, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The admission holds keys or tokens: never shown.
        f.debug_struct("Admitted")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, A> Admitted<S, A> {
    /// Calls `inner` with what `admission` lets through.
    pub fn new(inner: S, admission: A) -> Self {
        Self { inner, admission }
    }
}

impl<S, A, B, ResBody> Service<http::Request<B>> for Admitted<S, A>
where
    S: Service<http::Request<B>, Response = http::Response<ResBody>>,
    A: Admission,
{
    type Response = http::Response<Either<ResBody, GrpcBody>>;
    type Error = S::Error;
    type Future = AuthFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        match self.admission.admit(&mut request) {
            Ok(()) => AuthFuture::inner(self.inner.call(request)),
            Err(status) => AuthFuture::answer(status),
        }
    }
}
