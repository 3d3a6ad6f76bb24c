//! Client-side adaptive throttling (Google SRE book, "Handling Overload"), as Kratos and go-zero do.
//!
//! Over a sliding window the client counts requests and the ones the backend accepted. Once the
//! backend fails, it rejects new calls locally with `UNAVAILABLE` with probability
//! `max(0, (requests - k * accepts) / (requests + 1))`, so a failing backend gets a trickle of
//! probes instead of the full load, and traffic returns as accepts recover.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;
use tonic::Code;
use tower_layer::Layer;
use tower_service::Service;

use crate::config::BreakerConfig;
use crate::error::BoxError;
use crate::middleware::observe::{CallError, CallObserver, ObservedBody, ObservedFuture};

const BUCKETS: usize = 10;

/// Requests and accepts over a sliding window, in lock-free buckets.
struct Window {
    start: Instant,
    bucket_ms: u64,
    epochs: [AtomicU64; BUCKETS],
    requests: [AtomicU64; BUCKETS],
    accepts: [AtomicU64; BUCKETS],
}

impl Window {
    fn new(window: Duration) -> Self {
        Self {
            start: Instant::now(),
            bucket_ms: (u64::try_from(window.as_millis()).unwrap_or(u64::MAX) / BUCKETS as u64)
                .max(1),
            epochs: std::array::from_fn(|_| AtomicU64::new(0)),
            requests: std::array::from_fn(|_| AtomicU64::new(0)),
            accepts: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    fn epoch(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX) / self.bucket_ms + 1
    }

    /// The current bucket, cleared first if it held an older epoch.
    fn bucket(&self) -> usize {
        let epoch = self.epoch();
        let index = (epoch % BUCKETS as u64) as usize;
        let seen = self.epochs[index].load(Ordering::Acquire);
        if seen != epoch
            && self.epochs[index]
                .compare_exchange(seen, epoch, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            self.requests[index].store(0, Ordering::Relaxed);
            self.accepts[index].store(0, Ordering::Relaxed);
        }
        index
    }

    fn record(&self, accepted: bool) {
        let index = self.bucket();
        self.requests[index].fetch_add(1, Ordering::Relaxed);
        if accepted {
            self.accepts[index].fetch_add(1, Ordering::Relaxed);
        }
    }

    fn totals(&self) -> (u64, u64) {
        let epoch = self.epoch();
        let mut totals = (0, 0);
        for i in 0..BUCKETS {
            let age = epoch.saturating_sub(self.epochs[i].load(Ordering::Acquire));
            if age < BUCKETS as u64 {
                totals.0 += self.requests[i].load(Ordering::Relaxed);
                totals.1 += self.accepts[i].load(Ordering::Relaxed);
            }
        }
        totals
    }
}

/// The breaker's state, shared by clones of one client.
pub(crate) struct Throttle {
    config: BreakerConfig,
    window: Window,
}

impl Throttle {
    pub(crate) fn new(config: BreakerConfig) -> Self {
        Self {
            window: Window::new(config.window),
            config,
        }
    }

    /// Whether to reject this call locally.
    fn reject(&self) -> bool {
        if !self.config.enabled {
            return false;
        }
        let (requests, accepts) = self.window.totals();
        if requests < self.config.min_requests {
            return false;
        }
        let p = (requests as f64 - self.config.k * accepts as f64) / (requests as f64 + 1.0);
        p > 0.0 && rand::random::<f64>() < p
    }
}

/// Codes that say the backend, not the request, failed.
fn backend_failed(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable
            | Code::DeadlineExceeded
            | Code::Internal
            | Code::Unknown
            | Code::DataLoss
            | Code::ResourceExhausted
    )
}

/// The breaker middleware; see the [module docs](self).
#[derive(Clone)]
pub struct Breaker<S> {
    inner: S,
    throttle: Arc<Throttle>,
}

impl<S: std::fmt::Debug> std::fmt::Debug for Breaker<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Breaker")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S> Breaker<S> {
    /// Throttles calls through `inner` as `config` says.
    pub fn new(inner: S, config: BreakerConfig) -> Self {
        Self {
            inner,
            throttle: Arc::new(Throttle::new(config)),
        }
    }
}

/// Applies [`Breaker`]; each layered service has a window of its own.
#[derive(Clone, Debug)]
pub struct BreakerLayer {
    config: BreakerConfig,
}

impl BreakerLayer {
    /// Throttles as `config` says.
    pub fn new(config: BreakerConfig) -> Self {
        Self { config }
    }
}

impl<S> Layer<S> for BreakerLayer {
    type Service = Breaker<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Breaker::new(inner, self.config.clone())
    }
}

impl<S, B, R> Service<http::Request<B>> for Breaker<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>>,
    S::Error: CallError + Into<BoxError>,
{
    type Response = http::Response<ObservedBody<R, BreakerObserver>>;
    type Error = BoxError;
    type Future = BreakerFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if self.throttle.reject() {
            // A rejected call still counts as a request: that is what keeps the probability up
            // while the backend keeps failing.
            self.throttle.window.record(false);
            return BreakerFuture::Rejected;
        }
        BreakerFuture::Calling {
            inner: ObservedFuture::new(
                self.inner.call(request),
                BreakerObserver(self.throttle.clone()),
            ),
        }
    }
}

pin_project! {
    /// The response future of [`Breaker`].
    #[project = BreakerProj]
    pub enum BreakerFuture<F> {
        /// Rejected locally.
        Rejected,
        /// Sent on.
        Calling { #[pin] inner: ObservedFuture<F, BreakerObserver> },
    }
}

impl<F, R, E> Future for BreakerFuture<F>
where
    F: Future<Output = Result<http::Response<R>, E>>,
    E: CallError + Into<BoxError>,
{
    type Output = Result<http::Response<ObservedBody<R, BreakerObserver>>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            BreakerProj::Rejected => Poll::Ready(Err(Box::new(tonic::Status::unavailable(
                "the circuit breaker rejected this call: the service is failing; try again later",
            )))),
            BreakerProj::Calling { inner } => inner.poll(cx).map_err(Into::into),
        }
    }
}

/// Records whether the backend accepted the call when it ends.
pub struct BreakerObserver(Arc<Throttle>);

impl std::fmt::Debug for BreakerObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BreakerObserver")
    }
}

impl CallObserver for BreakerObserver {
    fn finish(self, code: Code) {
        // A call the client cancelled says nothing about the backend.
        if code != Code::Cancelled {
            self.0.window.record(!backend_failed(code));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_only_after_failures_and_recovers() {
        let throttle = Throttle::new(BreakerConfig {
            enabled: true,
            k: 1.5,
            window: Duration::from_secs(10),
            min_requests: 10,
        });
        for _ in 0..100 {
            throttle.window.record(true);
        }
        assert!(
            (0..100).all(|_| !throttle.reject()),
            "healthy: never rejects"
        );
        for _ in 0..1000 {
            throttle.window.record(false);
        }
        let rejected = (0..1000).filter(|_| throttle.reject()).count();
        assert!(
            rejected > 700,
            "failing: rejects most calls, rejected {rejected}"
        );
    }
}
