//! Retries of idempotent calls, opt-in per method, with backoff and a retry budget.
//!
//! Only methods listed in `clients.<name>.retry.methods` are retried, only for the configured
//! codes, and only when no response began: an error before any response, or a trailers-only
//! answer. A streaming request (whose body cannot be replayed) is never retried. The budget lets
//! retries add at most `budget_ratio` of the calls (plus a few a second), so retries cannot
//! multiply the load on a struggling backend.
//!
//! A server's `grpc-retry-pushback-ms` (gRFC A6; Bia's rate limit sends it) overrides the
//! backoff: the next attempt waits that long, and a negative or unreadable value means "do not
//! retry".

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::impls::{debug_shows, layer_wraps, wraps_inner};
use futures_util::future::BoxFuture;
use pin_project_lite::pin_project;
use tonic::Code;
use tonic::body::Body as GrpcBody;
use tower::ServiceExt;
use tower::retry::budget::{Budget, TpsBudget};
use tower_service::Service;

use super::replay::Replay;
use crate::build_error::BuildError;
use crate::config::RetryConfig;
use crate::error::BoxError;
use crate::middleware::status::{CODE_COUNT, GRPC_RETRY_PUSHBACK, code_in, code_index, code_name};

/// What is retried and how.
pub(crate) struct RetryPolicy {
    all_methods: bool,
    methods: Vec<String>,
    max_attempts: u32,
    codes: [bool; CODE_COUNT],
    backoff: Duration,
    max_backoff: Duration,
    budget: TpsBudget,
}

impl RetryPolicy {
    pub(crate) fn new(config: &RetryConfig) -> Result<Self, BuildError> {
        let mut codes = [false; CODE_COUNT];
        for name in &config.codes {
            let index = (0..CODE_COUNT)
                .find(|&i| code_name(Code::from_i32(i as i32)) == name.to_ascii_uppercase())
                .ok_or_else(|| {
                    BuildError::new(format!(
                        "retry.codes: {name:?} is not a gRPC status name (e.g. UNAVAILABLE)"
                    ))
                })?;
            codes[index] = true;
        }
        Ok(Self {
            all_methods: config.methods.iter().any(|m| m == "*"),
            methods: config
                .methods
                .iter()
                .map(|m| format!("/{}", m.trim_start_matches('/')))
                .collect(),
            max_attempts: config.max_attempts.max(1),
            codes,
            backoff: config.backoff,
            max_backoff: config.max_backoff,
            budget: TpsBudget::new(
                Duration::from_secs(10),
                10,
                config.budget_ratio.clamp(0.0, 1000.0),
            ),
        })
    }

    fn applies(&self, path: &str) -> bool {
        self.retries_any() && (self.all_methods || self.methods.iter().any(|m| m == path))
    }

    /// Whether any call is ever retried: if not, no call needs to fill the budget either.
    fn retries_any(&self) -> bool {
        self.max_attempts > 1 && (self.all_methods || !self.methods.is_empty())
    }

    fn retryable(&self, code: Code) -> bool {
        self.codes[code_index(code)]
    }

    /// Backoff before attempt `attempt` (2, 3, ...): doubling, with full jitter.
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self
            .backoff
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(2)))
            .min(self.max_backoff);
        ceiling.mul_f64(rand::random::<f64>())
    }
}

/// The retry middleware: retries of idempotent calls, opt-in per method (`clients.<name>.retry`).
#[derive(Clone)]
pub struct Retry<S> {
    inner: S,
    policy: Arc<RetryPolicy>,
}

wraps_inner!(Retry<S>);

debug_shows!(Retry<S> { inner });

/// Applies [`Retry`] with a downstream's retry settings; the services it makes share one budget.
#[derive(Clone)]
pub struct RetryLayer {
    policy: Arc<RetryPolicy>,
}

impl std::fmt::Debug for RetryLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryLayer").finish_non_exhaustive()
    }
}

impl RetryLayer {
    /// Retries as `config` says; fails if it names a status that does not exist.
    pub fn new(config: &RetryConfig) -> Result<Self, BuildError> {
        Ok(Self {
            policy: Arc::new(RetryPolicy::new(config)?),
        })
    }
}

layer_wraps!(RetryLayer => Retry { policy });

impl<S, R> Service<http::Request<GrpcBody>> for Retry<S>
where
    S: Service<http::Request<GrpcBody>, Response = http::Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    R: Send + 'static,
{
    type Response = http::Response<R>;
    type Error = BoxError;
    type Future = RetryFuture<S::Future, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: http::Request<GrpcBody>) -> Self::Future {
        // The budget's deposit takes a lock and reads the clock: only for a policy that retries.
        if !self.policy.retries_any() {
            return RetryFuture::Once {
                inner: self.inner.call(request),
            };
        }
        self.policy.budget.deposit();
        if !self.policy.applies(request.uri().path()) {
            // Most methods are not retried: no buffering, no boxed future.
            return RetryFuture::Once {
                inner: self.inner.call(request),
            };
        }
        let policy = self.policy.clone();
        let inner = self.inner.clone();
        RetryFuture::Retrying {
            attempts: Box::pin(async move {
                let mut replay = Replay::new(request);
                let mut attempt = 1;
                loop {
                    let request = replay.request().ok_or_else(|| {
                        BoxError::from("a streaming request cannot be sent twice")
                    })?;
                    let result = inner.clone().oneshot(request).await.map_err(Into::into);
                    let mut pushback = Pushback::None;
                    let code = match &result {
                        Ok(response) => {
                            pushback = Pushback::of(response.headers());
                            code_in(response.headers())
                        }
                        Err(e) => Some(
                            e.downcast_ref::<tonic::Status>()
                                .map_or(Code::Unavailable, tonic::Status::code),
                        ),
                    };
                    let again = code.is_some_and(|c| policy.retryable(c))
                        && !matches!(pushback, Pushback::Stop)
                        && attempt < policy.max_attempts
                        && replay.replayable()
                        && policy.budget.withdraw();
                    if !again {
                        return result;
                    }
                    attempt += 1;
                    let wait = match pushback {
                        Pushback::Wait(wait) => wait,
                        _ => policy.backoff(attempt),
                    };
                    tokio::time::sleep(wait).await;
                }
            }),
        }
    }
}

/// What a refusal says about retrying it.
#[derive(Debug, PartialEq, Eq)]
enum Pushback {
    /// Nothing: the policy's backoff.
    None,
    /// Wait this long, then retry.
    Wait(Duration),
    /// Do not retry.
    Stop,
}

impl Pushback {
    fn of(headers: &http::HeaderMap) -> Self {
        let Some(value) = headers.get(&GRPC_RETRY_PUSHBACK) else {
            return Pushback::None;
        };
        match value.to_str().ok().and_then(|v| v.parse::<i64>().ok()) {
            Some(millis) if millis >= 0 => Pushback::Wait(Duration::from_millis(millis as u64)),
            _ => Pushback::Stop,
        }
    }
}

pin_project! {
    /// The response future of [`Retry`].
    #[project = RetryProj]
    pub enum RetryFuture<F, R> {
        /// A method that is not retried: the call as it is.
        Once { #[pin] inner: F },
        /// A retried method: the attempts, with their backoff.
        Retrying { attempts: BoxFuture<'static, Result<http::Response<R>, BoxError>> },
    }
}

impl<F, R, E> Future for RetryFuture<F, R>
where
    F: Future<Output = Result<http::Response<R>, E>>,
    E: Into<BoxError>,
{
    type Output = Result<http::Response<R>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            RetryProj::Once { inner } => inner.poll(cx).map_err(Into::into),
            RetryProj::Retrying { attempts } => attempts.as_mut().poll(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pushback(value: Option<&str>) -> Pushback {
        let mut headers = http::HeaderMap::new();
        if let Some(value) = value {
            headers.insert(&GRPC_RETRY_PUSHBACK, value.parse().unwrap());
        }
        Pushback::of(&headers)
    }

    #[test]
    fn a_pushback_times_the_retry_or_forbids_it() {
        assert_eq!(pushback(None), Pushback::None);
        assert_eq!(
            pushback(Some("250")),
            Pushback::Wait(Duration::from_millis(250))
        );
        assert_eq!(pushback(Some("0")), Pushback::Wait(Duration::ZERO));
        // gRFC A6: negative or unreadable means the server asks for no retry.
        assert_eq!(pushback(Some("-1")), Pushback::Stop);
        assert_eq!(pushback(Some("soon")), Pushback::Stop);
    }
}
