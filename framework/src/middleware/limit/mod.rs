//! Limits: the largest request message, and how many calls run at once.
//!
//! A request message larger than the limit answers `RESOURCE_EXHAUSTED` (as grpc-go and C-core do;
//! tonic alone says `OUT_OF_RANGE`), found from the message's length prefix before its payload is
//! read, on unary and streaming calls alike. With a concurrency limit, calls beyond it are shed at
//! once with `RESOURCE_EXHAUSTED` instead of queueing: an overloaded server answers fast and the
//! client's balancer can go elsewhere.

mod body;
mod layer;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http_body_util::{Either, Empty};
use pin_project_lite::pin_project;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower_service::Service;

pub use body::LimitedBody;

use super::call_info::method_of;
use super::method::RpcKind;

/// The response body of [`Limit`]: the handler's, or the empty body of a shed call's answer.
pub type LimitBody<B> = Either<B, Empty<<B as http_body::Body>::Data>>;
pub use layer::LimitLayer;

/// The limit middleware; see the [module docs](self).
#[derive(Clone, Debug)]
pub struct Limit<S> {
    inner: S,
    max_message_bytes: usize,
    permits: Option<Arc<Semaphore>>,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Limit<S>
where
    S: Service<http::Request<LimitedBody<ReqBody>>, Response = http::Response<ResBody>>,
    ResBody: http_body::Body,
{
    type Response = http::Response<LimitBody<ResBody>>;
    type Error = S::Error;
    type Future = LimitFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let permit = match &self.permits {
            None => None,
            Some(permits) => match permits.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    return LimitFuture {
                        state: LimitState::Shed {
                            response: Some(
                                tonic::Status::resource_exhausted(
                                    "the server is at its concurrent call limit; retry later or elsewhere",
                                )
                                .into_http::<()>()
                                .map(|()| Either::Right(Empty::new())),
                            ),
                        },
                    };
                }
            },
        };
        let max = self.max_message_bytes;
        let one_message = matches!(
            method_of(&request).kind,
            RpcKind::Unary | RpcKind::ServerStreaming
        );
        let request = request.map(|body| LimitedBody::new(body, max, one_message));
        LimitFuture {
            state: LimitState::Running {
                inner: self.inner.call(request),
                permit,
            },
        }
    }
}

pin_project! {
    /// The response future of [`Limit`].
    pub struct LimitFuture<F, B: http_body::Body> {
        #[pin]
        state: LimitState<F, B>,
    }
}

pin_project! {
    #[project = LimitProj]
    enum LimitState<F, B: http_body::Body> {
        // The call runs, holding a permit while its handler does.
        Running { #[pin] inner: F, permit: Option<OwnedSemaphorePermit> },
        // The call was shed.
        Shed { response: Option<http::Response<LimitBody<B>>> },
    }
}

impl<F, B, E> Future for LimitFuture<F, B>
where
    F: Future<Output = Result<http::Response<B>, E>>,
    B: http_body::Body,
{
    type Output = Result<http::Response<LimitBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            LimitProj::Running { inner, permit } => {
                let result = ready!(inner.poll(cx));
                permit.take();
                Poll::Ready(result.map(|response| response.map(Either::Left)))
            }
            LimitProj::Shed { response } => {
                Poll::Ready(Ok(response.take().expect("polled after completion")))
            }
        }
    }
}
