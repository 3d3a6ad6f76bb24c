//! The response future of the auth services: the inner call, or an answer made without it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http_body_util::Either;
use pin_project_lite::pin_project;
use tonic::body::Body as GrpcBody;

pin_project! {
    /// The future of [`JwtAuth`](super::JwtAuth) and [`Bearer`](crate::client::Bearer): the
    /// inner service's response, or a status answered without calling it.
    pub struct AuthFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        Inner { #[pin] future: F },
        Answered { response: Option<http::Response<GrpcBody>> },
    }
}

impl<F> AuthFuture<F> {
    pub(crate) fn inner(future: F) -> Self {
        Self {
            state: State::Inner { future },
        }
    }

    pub(crate) fn answer(status: tonic::Status) -> Self {
        Self {
            state: State::Answered {
                response: Some(status.into_http()),
            },
        }
    }
}

impl<F, B, E> Future for AuthFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
{
    type Output = Result<http::Response<Either<B, GrpcBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Inner { future } => future
                .poll(cx)
                .map(|result| result.map(|response| response.map(Either::Left))),
            StateProj::Answered { response } => {
                let response = response.take().expect("AuthFuture polled after completion");
                Poll::Ready(Ok(response.map(Either::Right)))
            }
        }
    }
}

impl<F> std::fmt::Debug for AuthFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthFuture").finish_non_exhaustive()
    }
}
