use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::{Guard, RecoveryBody, panic_status};

pin_project! {
    /// The response future of [`Recovery`](super::Recovery).
    pub struct RecoveryFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        Running { #[pin] future: F, guard: Option<Guard> },
        Panicked,
        Done,
    }
}

impl<F> RecoveryFuture<F> {
    pub(crate) fn running(future: F, guard: Guard) -> Self {
        Self {
            state: State::Running {
                future,
                guard: Some(guard),
            },
        }
    }

    pub(crate) fn panicked() -> Self {
        Self {
            state: State::Panicked,
        }
    }
}

impl<F, B, E> Future for RecoveryFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
{
    type Output = Result<http::Response<RecoveryBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let outcome = match this.state.as_mut().project() {
            StateProj::Running { future, guard } => {
                match std::panic::catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
                    Ok(Poll::Pending) => return Poll::Pending,
                    Ok(Poll::Ready(result)) => Ok(result.map(|response| {
                        let guard = guard.take().expect("polled after completion");
                        response.map(|body| RecoveryBody::new(body, guard))
                    })),
                    Err(panic) => {
                        if let Some(guard) = guard.take() {
                            guard.report(&*panic);
                        }
                        Err(())
                    }
                }
            }
            StateProj::Panicked => Err(()),
            StateProj::Done => panic!("RecoveryFuture polled after completion"),
        };
        if outcome.is_err() {
            crate::middleware::body::drop_panicked(|| this.state.set(State::Done));
        } else {
            this.state.set(State::Done);
        }
        Poll::Ready(match outcome {
            Ok(result) => result,
            Err(()) => Ok(panic_status()
                .into_http::<()>()
                .map(|()| RecoveryBody::empty())),
        })
    }
}
