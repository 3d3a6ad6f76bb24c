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
//! A call takes its place when the first frame of its request is there to read, not when it
//! arrives, and gives it back when its handler returns (a stream's response body is not
//! counted). Taking it on arrival, as this layer once did, let calls hold places while their
//! request message was still on its way through a connection busy with thousands of others:
//! under a flood the places were spent waiting, and goodput collapsed (see docs/reliability.md).
//! A call refused this way answers `UNAVAILABLE` when its handler reads the request.
//!
//! Nothing here locks or allocates on an admitted call: a few relaxed atomics (with
//! `max_concurrent_calls` set, one small allocation per call for its place).

pub(crate) mod adaptive;
mod body;
mod layer;
mod rate;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use http_body_util::{Either, Empty};
use metrics::Counter;
use pin_project_lite::pin_project;
use tower_service::Service;

pub use body::LimitedBody;
pub use layer::LimitLayer;

use self::adaptive::Shedder;
use self::rate::RateLimiter;
use crate::config::GrpcServerConfig;
use crate::impls::{debug_shows, wraps_inner};
use crate::middleware::call_info::CallInfo;
use crate::middleware::method::{MethodTable, RpcKind};
use crate::middleware::status::GRPC_RETRY_PUSHBACK;
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
    /// The refusal; `pushback`, when known, is how long until the call would be admitted.
    fn answer<B>(
        self,
        pushback: Option<Duration>,
    ) -> http::Response<Either<B, Empty<bytes::Bytes>>> {
        let mut response = self
            .status()
            .into_http::<()>()
            .map(|()| Either::Right(Empty::new()));
        if let Some(wait) = pushback {
            // Whole milliseconds, rounded up: a client that waits that long finds a token.
            let millis = u64::try_from(wait.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX);
            response
                .headers_mut()
                .insert(GRPC_RETRY_PUSHBACK.clone(), http::HeaderValue::from(millis));
        }
        response
    }

    fn status(self) -> tonic::Status {
        match self {
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
        }
    }
}

/// A call's place under `max_concurrent_calls`, shared by its request body (which takes it when
/// the first frame arrives) and its future (which gives it back when the handler returns).
pub(crate) struct Permit {
    limits: Arc<Limits>,
    method: usize,
    /// [`UNTAKEN`], [`HELD`] or [`DONE`].
    state: std::sync::atomic::AtomicU8,
}

const UNTAKEN: u8 = 0;
const HELD: u8 = 1;
const DONE: u8 = 2;

impl Permit {
    /// Takes the place; false (and the call counted as refused) when there is none. Taking it
    /// after the handler returned (a stream read on afterwards) takes nothing.
    pub(crate) fn acquire(&self) -> bool {
        let limits = &self.limits;
        if limits.running.fetch_add(1, Ordering::Relaxed) >= limits.max_concurrent {
            limits.running.fetch_sub(1, Ordering::Relaxed);
            limits.count(self.method, Reason::Concurrency);
            return false;
        }
        if self
            .state
            .compare_exchange(UNTAKEN, HELD, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            limits.running.fetch_sub(1, Ordering::Relaxed);
        }
        true
    }

    fn release(&self) {
        if self.state.swap(DONE, Ordering::AcqRel) == HELD {
            self.limits.running.fetch_sub(1, Ordering::Relaxed);
        }
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

debug_shows!(Limits {
    max_message_bytes,
    max_concurrent,
    shedder
});

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
    /// The call's place under `max_concurrent_calls`, shared with its request body.
    permit: Option<Arc<Permit>>,
}

impl Guard {
    fn finish(&mut self, completed: bool) {
        let Some(limits) = self.limits.take() else {
            return;
        };
        if let Some(permit) = self.permit.take() {
            permit.release();
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

wraps_inner!(Limit<S>);

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
                if let Err(wait) = rate.try_acquire(nanos) {
                    let pushback = Some(Duration::from_nanos(wait));
                    return LimitFuture::refused(
                        limits,
                        index,
                        Reason::RateLimit,
                        pushback,
                        request,
                    );
                }
            }
            if let (true, Some(shedder)) = (method.adaptive, &limits.shedder) {
                let micros = u64::try_from(since.as_micros()).unwrap_or(u64::MAX);
                if !shedder.admit(micros) {
                    return LimitFuture::refused(limits, index, Reason::Overload, None, request);
                }
                guard.adaptive_start = Some(micros);
            }
        }
        if limits.max_concurrent > 0 {
            // An opt-in cap: one small allocation per call, shared by the body and the future.
            guard.permit = Some(Arc::new(Permit {
                limits: limits.clone(),
                method: index,
                state: std::sync::atomic::AtomicU8::new(UNTAKEN),
            }));
        }
        if guard.permit.is_some() || guard.adaptive_start.is_some() {
            guard.limits = Some(limits.clone());
        }
        let max = limits.max_message_bytes;
        let permit = guard.permit.clone();
        // A unary or server-streaming call takes one request message.
        let one_message = matches!(
            crate::middleware::call_info::method_of(&request).kind,
            RpcKind::Unary | RpcKind::ServerStreaming
        );
        let request = request.map(|body| LimitedBody::new(body, max, one_message, permit));
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
    fn refused<R>(
        limits: &Limits,
        method: usize,
        reason: Reason,
        pushback: Option<Duration>,
        request: http::Request<R>,
    ) -> Self
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
                response: Some(reason.answer(pushback)),
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
        let this = self.project();
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
