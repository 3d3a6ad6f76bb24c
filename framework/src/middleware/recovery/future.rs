//! The response future of [`Recovery`](super::Recovery): panics in the handler answer `INTERNAL`.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::{PanicReport, RecoveryBody, panic_status};

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
        Running { #[pin] future: F, report: Option<PanicReport> },
        Panicked,
        Done,
    }
}

impl<F> RecoveryFuture<F> {
    pub(crate) fn running(future: F, report: PanicReport) -> Self {
        Self {
            state: State::Running {
                future,
                report: Some(report),
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
            StateProj::Running { future, report } => {
                match std::panic::catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
                    Ok(Poll::Pending) => return Poll::Pending,
                    Ok(Poll::Ready(result)) => Ok(result.map(|response| {
                        let report = report.take().expect("polled after completion");
                        response.map(|body| RecoveryBody::new(body, report))
                    })),
                    Err(panic) => {
                        if let Some(report) = report.take() {
                            report.report(&*panic);
                        }
                        Err(())
                    }
                }
            }
            StateProj::Panicked => Err(()),
            StateProj::Done => panic!("RecoveryFuture polled after completion"),
        };
        if outcome.is_err() {
            crate::middleware::observe::drop_panicked(|| this.state.set(State::Done));
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
