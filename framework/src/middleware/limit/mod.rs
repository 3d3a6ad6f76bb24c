//! Limits: the largest request message, load shedding, concurrency and rate limits.
//!
//! - A request message larger than `server.grpc.max_message_bytes` answers `RESOURCE_EXHAUSTED`
//!   (as grpc-go and C-core do; tonic alone says `OUT_OF_RANGE`), found from the message's length
//!   prefix before its payload is read, on unary and streaming calls alike.
//! - Adaptive shedding (`[server.grpc.shedding]`, on by default) refuses unary calls beyond what
//!   the server completes without queueing, while calls queue; see [Adaptive shedding](#adaptive-shedding).
//! - `server.grpc.max_concurrent_calls` caps the handlers running at once.
//! - `server.grpc.rate_limits."pkg.Svc/Method" = { rate, burst }` is a token bucket per method.
//!
//! # Answers
//!
//! A call refused because the *server* is overloaded (shedding, the concurrency cap) answers
//! `UNAVAILABLE` at once, before its handler runs: the call did nothing, so it is safe to try
//! again, and gRPC's codes say UNAVAILABLE is the transient condition a client retries with
//! backoff, elsewhere if it can. Bia's client retries it for listed methods (within the retry
//! budget, on another endpoint when there is one) and its breaker counts it as a failure, so an
//! overloaded server sees less load. A call refused by a rate limit answers
//! `RESOURCE_EXHAUSTED`: a quota ran out, which another attempt right away would not fix.
//! Every refused call is counted in `bia_server_shed_total{rpc_method, reason}`.
//!
//! # Adaptive shedding
//!
//! Over `shedding.window` (50 buckets) the shedder learns the most unary calls completed in a
//! bucket and the lowest average latency of a bucket; their product is how many calls can be in
//! flight without queueing (`bia_server_inflight_limit`). While a bucket's latency is above
//! `shedding.latency_factor` times the lowest (calls queue), or a call was shed within
//! `shedding.cooldown`, calls beyond that number are shed. Calls count from their arrival to the
//! end of their handler. Streaming calls, health and reflection are never shed by it.
//!
//! # The concurrency cap
//!
//! A call takes its place when its handler first runs, not when it arrives, and gives it back
//! when the handler returns (a stream's body is not counted). Taking it on arrival, as this
//! layer once did, let calls hold places while they waited behind shed answers in the runtime's
//! queue: under a flood, the admitted calls barely moved and goodput collapsed (see
//! docs/reliability.md).
//!
//! Nothing here locks or allocates on an admitted call: a few relaxed atomics.

pub(crate) mod adaptive;
mod body;
mod layer;
mod rate;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Instant;

use http_body_util::{Either, Empty};
use metrics::Counter;
use pin_project_lite::pin_project;
use tower_service::Service;

pub use body::LimitedBody;
pub use layer::LimitLayer;

use self::adaptive::Shedder;
use self::rate::RateLimiter;
use crate::config::GrpcServerConfig;
use crate::middleware::call_info::CallInfo;
use crate::middleware::method::{MethodTable, RpcKind};
use crate::telemetry::MetricsRegistry;

/// The response body of [`Limit`]: the handler's, or the empty body of a refused call's answer.
pub type LimitBody<B> = Either<B, Empty<<B as http_body::Body>::Data>>;

/// Why a call was refused: the `reason` label of `bia_server_shed_total`.
#[derive(Clone, Copy, Debug)]
enum Reason {
    Overload = 0,
    Concurrency = 1,
    RateLimit = 2,
}

const REASONS: [&str; 3] = ["overload", "concurrency", "rate_limit"];

impl Reason {
    fn answer<B>(self) -> http::Response<Either<B, Empty<bytes::Bytes>>> {
        let status = match self {
            Reason::Overload => tonic::Status::unavailable(
                "the server is overloaded and shed this call; retry later or elsewhere",
            ),
            Reason::Concurrency => tonic::Status::unavailable(
                "the server is at its concurrent call limit (server.grpc.max_concurrent_calls); \
                 retry later or elsewhere",
            ),
            Reason::RateLimit => tonic::Status::resource_exhausted(
                "this method's rate limit is exhausted (server.grpc.rate_limits); retry later",
            ),
        };
        status
            .into_http::<()>()
            .map(|()| Either::Right(Empty::new()))
    }
}

/// The limits of one method.
struct MethodLimits {
    adaptive: bool,
    rate: Option<RateLimiter>,
    shed: [Counter; 3],
}

/// Every limit of a server, shared by its connections.
pub(crate) struct Limits {
    max_message_bytes: usize,
    epoch: Instant,
    max_concurrent: usize,
    running: AtomicUsize,
    shedder: Option<Shedder>,
    /// By [`MethodInfo`](crate::middleware::MethodInfo) index; empty without a method table.
    methods: Vec<MethodLimits>,
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits")
            .field("max_message_bytes", &self.max_message_bytes)
            .field("max_concurrent", &self.max_concurrent)
            .field("shedder", &self.shedder)
            .finish_non_exhaustive()
    }
}

impl Limits {
    fn new(
        config: &GrpcServerConfig,
        registry: Option<&MetricsRegistry>,
        table: Option<&MethodTable>,
    ) -> Self {
        let shedder = (config.shedding.enabled && table.is_some())
            .then(|| Shedder::new(&config.shedding, registry));
        let mut methods = Vec::new();
        if let Some(table) = table {
            for name in config.rate_limits.keys() {
                let path = format!("/{}", name.trim_start_matches('/'));
                if table.lookup(&path).kind == RpcKind::Unknown {
                    tracing::warn!(method = %name, "server.grpc.rate_limits names a method this server does not serve");
                }
            }
            for method in table.methods() {
                let rate = config.rate_limits.get(method.name).and_then(|limit| {
                    let limiter = RateLimiter::new(limit.rate, limit.burst);
                    if limiter.is_none() {
                        tracing::warn!(
                            method = method.name,
                            rate = limit.rate,
                            "ignoring a rate limit that is not a positive number"
                        );
                    }
                    limiter
                });
                let adaptive =
                    shedder.is_some() && method.kind == RpcKind::Unary && !method.builtin;
                let wanted = [adaptive, config.max_concurrent_calls > 0, rate.is_some()];
                let shed = std::array::from_fn(|i| match registry {
                    Some(registry) if wanted[i] => registry.counter(
                        "bia_server_shed_total",
                        &[("rpc_method", method.name), ("reason", REASONS[i])],
                    ),
                    _ => Counter::noop(),
                });
                methods.push(MethodLimits {
                    adaptive,
                    rate,
                    shed,
                });
            }
        }
        Self {
            max_message_bytes: config.max_message_bytes,
            epoch: Instant::now(),
            max_concurrent: config.max_concurrent_calls,
            running: AtomicUsize::new(0),
            shedder,
            methods,
        }
    }

    fn count(&self, method: usize, reason: Reason) {
        if let Some(limits) = self.methods.get(method) {
            limits.shed[reason as usize].increment(1);
        }
    }
}

/// A refused call's request body, read to its end and thrown away before the answer goes out.
///
/// Answering a unary call before its request message has arrived, and dropping the body, leaves
/// that message to arrive on a stream nobody reads: h2 counts such small DATA frames against the
/// connection's DATA-frame budget, and a few thousand refused calls on one connection made it
/// close the connection (GOAWAY ENHANCE_YOUR_CALM "too_many_data_frames"), failing every call on
/// it. So a refused call reads its (small, already sent) request first, up to a few frames.
trait Drain: Send {
    fn poll_drain(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()>;
}

/// Frames a refused call reads at most before it answers anyway (a stream that goes on).
const DRAIN_FRAMES: usize = 4;

pin_project! {
    struct Drained<B> {
        #[pin]
        body: B,
        frames: usize,
    }
}

impl<B: http_body::Body + Send> Drain for Drained<B> {
    fn poll_drain(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        while *this.frames < DRAIN_FRAMES && !this.body.is_end_stream() {
            match ready!(this.body.as_mut().poll_frame(cx)) {
                Some(Ok(_)) => *this.frames += 1,
                Some(Err(_)) | None => break,
            }
        }
        Poll::Ready(())
    }
}

/// What an admitted call holds until its handler returns (or it is dropped).
#[derive(Default)]
struct Guard {
    limits: Option<Arc<Limits>>,
    /// Microseconds since the epoch at which the call arrived, when the shedder counts it.
    adaptive_start: Option<u64>,
    /// A place under `max_concurrent_calls` still to take at the first poll.
    permit_pending: bool,
    permit: bool,
}

impl Guard {
    /// Takes a place under the concurrency cap; false when there is none.
    fn acquire(&mut self) -> bool {
        self.permit_pending = false;
        let Some(limits) = &self.limits else {
            return true;
        };
        if limits.running.fetch_add(1, Ordering::Relaxed) >= limits.max_concurrent {
            limits.running.fetch_sub(1, Ordering::Relaxed);
            return false;
        }
        self.permit = true;
        true
    }

    fn finish(&mut self, completed: bool) {
        let Some(limits) = self.limits.take() else {
            return;
        };
        if std::mem::take(&mut self.permit) {
            limits.running.fetch_sub(1, Ordering::Relaxed);
        }
        if let (Some(start), Some(shedder)) = (self.adaptive_start.take(), &limits.shedder) {
            let now = completed.then(|| micros_since(limits.epoch, Instant::now()));
            shedder.release(start, now);
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.finish(false);
    }
}

fn micros_since(epoch: Instant, at: Instant) -> u64 {
    u64::try_from(at.saturating_duration_since(epoch).as_micros()).unwrap_or(u64::MAX)
}

/// The limit middleware; see the [module docs](self).
#[derive(Clone, Debug)]
pub struct Limit<S> {
    inner: S,
    limits: Arc<Limits>,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Limit<S>
where
    S: Service<http::Request<LimitedBody<ReqBody>>, Response = http::Response<ResBody>>,
    ReqBody: http_body::Body + Send + 'static,
    ResBody: http_body::Body<Data = bytes::Bytes>,
{
    type Response = http::Response<LimitBody<ResBody>>;
    type Error = S::Error;
    type Future = LimitFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let limits = &self.limits;
        let (index, arrived) = match request.extensions().get::<CallInfo>() {
            Some(info) => (info.method.index, Some(info.start)),
            None => (0, None),
        };
        let mut guard = Guard::default();
        if let Some(method) = limits.methods.get(index)
            && (method.rate.is_some() || method.adaptive)
        {
            let at = arrived.unwrap_or_else(Instant::now);
            let since = at.saturating_duration_since(limits.epoch);
            if let Some(rate) = &method.rate {
                let nanos = u64::try_from(since.as_nanos()).unwrap_or(u64::MAX);
                if !rate.try_acquire(nanos) {
                    return LimitFuture::refused(limits, index, Reason::RateLimit, request);
                }
            }
            if let (true, Some(shedder)) = (method.adaptive, &limits.shedder) {
                let micros = u64::try_from(since.as_micros()).unwrap_or(u64::MAX);
                if !shedder.admit(micros) {
                    return LimitFuture::refused(limits, index, Reason::Overload, request);
                }
                guard.adaptive_start = Some(micros);
            }
        }
        guard.permit_pending = limits.max_concurrent > 0;
        if guard.permit_pending || guard.adaptive_start.is_some() {
            guard.limits = Some(limits.clone());
        }
        let max = limits.max_message_bytes;
        let request = request.map(|body| LimitedBody::new(body, max));
        LimitFuture {
            state: LimitState::Running {
                inner: self.inner.call(request),
            },
            guard,
            method: index,
        }
    }
}

pin_project! {
    /// The response future of [`Limit`].
    pub struct LimitFuture<F, B: http_body::Body> {
        #[pin]
        state: LimitState<F, B>,
        guard: Guard,
        method: usize,
    }
}

pin_project! {
    #[project = LimitProj]
    enum LimitState<F, B: http_body::Body> {
        // The call runs.
        Running { #[pin] inner: F },
        // The call was refused.
        Refused {
            response: Option<http::Response<LimitBody<B>>>,
            drain: Option<Pin<Box<dyn Drain>>>,
        },
    }
}

impl<F, B: http_body::Body<Data = bytes::Bytes>> LimitFuture<F, B> {
    fn refused<R>(limits: &Limits, method: usize, reason: Reason, request: http::Request<R>) -> Self
    where
        R: http_body::Body + Send + 'static,
    {
        limits.count(method, reason);
        let body = request.into_body();
        let drain: Option<Pin<Box<dyn Drain>>> = if body.is_end_stream() {
            None
        } else {
            Some(Box::pin(Drained { body, frames: 0 }))
        };
        Self {
            state: LimitState::Refused {
                response: Some(reason.answer()),
                drain,
            },
            guard: Guard::default(),
            method,
        }
    }
}

impl<F, B, E> Future for LimitFuture<F, B>
where
    F: Future<Output = Result<http::Response<B>, E>>,
    B: http_body::Body<Data = bytes::Bytes>,
{
    type Output = Result<http::Response<LimitBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if this.guard.permit_pending && !this.guard.acquire() {
            if let Some(limits) = &this.guard.limits {
                limits.count(*this.method, Reason::Concurrency);
            }
            this.guard.finish(false);
            this.state.set(LimitState::Refused {
                response: None,
                drain: None,
            });
            return Poll::Ready(Ok(Reason::Concurrency.answer()));
        }
        match this.state.project() {
            LimitProj::Running { inner } => {
                let result = ready!(inner.poll(cx));
                this.guard.finish(true);
                Poll::Ready(result.map(|response| response.map(Either::Left)))
            }
            LimitProj::Refused { response, drain } => {
                if let Some(body) = drain {
                    ready!(body.as_mut().poll_drain(cx));
                    *drain = None;
                }
                Poll::Ready(Ok(response.take().expect("polled after completion")))
            }
        }
    }
}
