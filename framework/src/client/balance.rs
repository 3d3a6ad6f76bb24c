//! Power-of-two-choices balancing by in-flight load over discovered endpoints.
//!
//! Each call picks two endpoints at random and takes the one with fewer calls in flight (a
//! stream counts until its response ends), the real load signal that tower's default balancer
//! lacks. An endpoint whose connection fails is ejected at once, for a backoff that doubles with
//! each failure, and the call, which never left the client, is sent to another endpoint:
//! an endpoint connects when a call needs it ([`Link`]), so a failed call is the first sign.
//! When discovery is unreachable the balancer keeps its last known endpoints.
//!
//! An endpoint that answers `UNAVAILABLE` (a server shedding load, draining, or failing for a
//! moment) is penalised for [`PENALTY`]: it loses every two-choice comparison against an
//! endpoint that is not, whatever their loads, so it gets calls only when both choices are
//! penalised (or it is the only endpoint). Load alone would do the opposite: a server that
//! refuses calls at once has few in flight and looks like the least loaded.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use hyper::body::Incoming;
use tokio::sync::watch;
use tonic::body::Body as GrpcBody;
use tower_service::Service;

use super::link::{Link, Unreachable};
use super::replay::Replay;
use super::tls::ClientTls;
use super::trace::ClientSpan;
use crate::build_error::BuildError;
use crate::error::{BoxError, Chain};
use crate::polled::PolledFrame;
use crate::registry::Discovery;

/// How long a call waits for discovery to name a first endpoint.
const FIRST_ENDPOINTS_WAIT: Duration = Duration::from_secs(5);
const EJECT_MIN: Duration = Duration::from_millis(500);
const EJECT_MAX: Duration = Duration::from_secs(30);
/// How long an endpoint that answered `UNAVAILABLE` loses comparisons with the others: long
/// enough for an overloaded server to drain its queue, short enough that a recovered one soon
/// gets its share again (each new `UNAVAILABLE` starts it again).
pub(crate) const PENALTY: Duration = Duration::from_secs(1);

/// One backend.
pub(crate) struct Endpoint {
    uri: String,
    link: Link,
    in_flight: AtomicUsize,
    failures: AtomicU32,
    /// Milliseconds since the balancer's epoch before which this endpoint is skipped.
    ejected_until: AtomicU64,
    /// Milliseconds since the balancer's epoch before which this endpoint loses comparisons.
    penalised_until: AtomicU64,
    /// The balancer's epoch, for a response body to penalise its endpoint.
    epoch: Instant,
    /// `server.address` and `server.port` for CLIENT spans, made once.
    span_attributes: Vec<opentelemetry::KeyValue>,
}

impl Endpoint {
    fn new(uri: &str, tls: &ClientTls, epoch: Instant) -> Result<Self, BuildError> {
        let link = Link::new(uri, tls)?;
        // Where the link connects: an IPv6 address without its brackets, and the scheme's
        // port when the URI names none, as the semantic conventions want them.
        let (host, port) = link.host_and_port();
        let span_attributes = vec![
            opentelemetry::KeyValue::new("server.address", host.to_owned()),
            opentelemetry::KeyValue::new("server.port", i64::from(port)),
        ];
        Ok(Self {
            span_attributes,
            uri: uri.to_owned(),
            link,
            in_flight: AtomicUsize::new(0),
            failures: AtomicU32::new(0),
            ejected_until: AtomicU64::new(0),
            penalised_until: AtomicU64::new(0),
            epoch,
        })
    }
}

impl Endpoint {
    /// Penalises this endpoint if `headers` (trailers, or a trailers-only answer's headers)
    /// say `UNAVAILABLE`. One header lookup otherwise.
    fn note_status(&self, headers: &http::HeaderMap) {
        if headers
            .get(GRPC_STATUS)
            .is_some_and(|status| status.as_bytes() == b"14")
        {
            let until = now_ms(self.epoch) + PENALTY.as_millis() as u64;
            self.penalised_until.store(until, Ordering::Relaxed);
        }
    }

    /// The load two-choice balancing compares: penalised endpoints after all the others,
    /// then by calls in flight.
    fn load(&self, now: u64) -> (bool, usize) {
        (
            self.penalised_until.load(Ordering::Relaxed) > now,
            self.in_flight.load(Ordering::Relaxed),
        )
    }

    /// Names this endpoint on a CLIENT span (`server.address`, `server.port`).
    fn describe(&self, cx: &opentelemetry::Context) {
        use opentelemetry::trace::TraceContextExt;
        cx.span()
            .set_attributes(self.span_attributes.iter().cloned());
    }
}

type EndpointSet = Arc<Vec<Arc<Endpoint>>>;

const GRPC_STATUS: http::HeaderName = http::HeaderName::from_static("grpc-status");

fn now_ms(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// Balances calls over a changing set of endpoints.
pub struct Balancer {
    endpoints: watch::Receiver<EndpointSet>,
    epoch: Instant,
    _follow: Option<Arc<AbortOnDrop>>,
}

impl Clone for Balancer {
    fn clone(&self) -> Self {
        Self {
            endpoints: self.endpoints.clone(),
            epoch: self.epoch,
            _follow: self._follow.clone(),
        }
    }
}

impl std::fmt::Debug for Balancer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let uris: Vec<String> = self
            .endpoints
            .borrow()
            .iter()
            .map(|e| e.uri.clone())
            .collect();
        f.debug_struct("Balancer")
            .field("endpoints", &uris)
            .finish()
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Balancer {
    /// A balancer over fixed addresses.
    pub fn fixed(uris: &[String], tls: &ClientTls) -> Result<Self, BuildError> {
        let epoch = Instant::now();
        let set: Vec<Arc<Endpoint>> = uris
            .iter()
            .map(|u| Endpoint::new(u, tls, epoch).map(Arc::new))
            .collect::<Result<_, _>>()?;
        let (_, endpoints) = watch::channel(Arc::new(set));
        Ok(Self {
            endpoints,
            epoch,
            _follow: None,
        })
    }

    /// A balancer over the instances `discovery` finds for `service`. Must be called inside a
    /// Tokio runtime (it follows the discovery on a task).
    pub fn discover(discovery: Arc<dyn Discovery>, service: &str, tls: &ClientTls) -> Self {
        let tls = tls.clone();
        let epoch = Instant::now();
        let (tx, endpoints) = watch::channel::<EndpointSet>(Arc::new(Vec::new()));
        let mut updates = discovery.watch(service);
        let service = service.to_owned();
        let task = tokio::spawn(async move {
            while let Some(update) = updates.next().await {
                match update {
                    Ok(instances) => {
                        let current = tx.borrow().clone();
                        let by_uri: HashMap<&str, &Arc<Endpoint>> =
                            current.iter().map(|e| (e.uri.as_str(), e)).collect();
                        let mut next = Vec::new();
                        for uri in instances.iter().flat_map(|i| i.endpoints.iter()) {
                            if let Some(existing) = by_uri.get(uri.as_str()) {
                                next.push(Arc::clone(existing));
                            } else {
                                match Endpoint::new(uri, &tls, epoch) {
                                    Ok(endpoint) => next.push(Arc::new(endpoint)),
                                    Err(e) => {
                                        tracing::warn!(%service, error = %e, "ignoring an endpoint")
                                    }
                                }
                            }
                        }
                        tracing::debug!(%service, endpoints = next.len(), "discovered");
                        if tx.send(Arc::new(next)).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(%service, error = %e, "discovery failed; keeping the last known endpoints");
                    }
                }
            }
        });
        Self {
            endpoints,
            epoch,
            _follow: Some(Arc::new(AbortOnDrop(task))),
        }
    }

    fn now_ms(&self) -> u64 {
        now_ms(self.epoch)
    }

    /// Two random choices among the endpoints not ejected (all of them if every one is), the
    /// less loaded wins (one not penalised before one that is); `avoid` lists endpoints this
    /// call already failed on. Allocates nothing: this runs on every call.
    fn pick(&self, set: &[Arc<Endpoint>], avoid: &[usize]) -> Option<Arc<Endpoint>> {
        let now = self.now_ms();
        let usable = |e: &&Arc<Endpoint>| !avoid.contains(&(Arc::as_ptr(e) as usize));
        let healthy =
            |e: &&Arc<Endpoint>| usable(e) && e.ejected_until.load(Ordering::Relaxed) <= now;
        let only_healthy = set.iter().any(|e| healthy(&e));
        let candidate = |e: &&Arc<Endpoint>| if only_healthy { healthy(e) } else { usable(e) };
        let count = set.iter().filter(candidate).count();
        let nth = |i: usize| set.iter().filter(candidate).nth(i);
        match count {
            0 => None,
            1 => nth(0).cloned(),
            n => {
                let a = rand::random_range(0..n);
                let mut b = rand::random_range(0..n - 1);
                if b >= a {
                    b += 1;
                }
                let (a, b) = (nth(a)?, nth(b)?);
                let pick = if a.load(now) <= b.load(now) { a } else { b };
                Some(Arc::clone(pick))
            }
        }
    }

    async fn endpoints(&self) -> Result<EndpointSet, BoxError> {
        // The common case: endpoints are known. Waiting (with a timer) is only for a client whose
        // discovery has not answered yet.
        let known = self.endpoints.borrow().clone();
        if !known.is_empty() {
            return Ok(known);
        }
        let mut receiver = self.endpoints.clone();
        let found = tokio::time::timeout(
            FIRST_ENDPOINTS_WAIT,
            receiver.wait_for(|set| !set.is_empty()),
        )
        .await;
        match found {
            Ok(Ok(set)) => Ok(set.clone()),
            _ => Err(Box::new(tonic::Status::unavailable(
                "no endpoint is known for this service yet (is it registered?)",
            ))),
        }
    }
}

impl Service<http::Request<GrpcBody>> for Balancer {
    type Response = http::Response<GuardedBody>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Self::Response, BoxError>>;

    /// Always ready: an endpoint's connection is made, or waited for, by the call that needs
    /// it.
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<GrpcBody>) -> Self::Future {
        let only = match &self.endpoints.borrow()[..] {
            [only] => Some(Arc::clone(only)),
            _ => None,
        };
        if let Some(only) = only {
            return Box::pin(async move { only.send_alone(request).await });
        }
        let balancer = self.clone();
        Box::pin(async move {
            let set = balancer.endpoints().await?;
            if let [only] = &set[..] {
                return only.send_alone(request).await;
            }
            let mut replay = Replay::new(request);
            // Only the first attempt carries the request's extensions: keep the CLIENT span.
            let mut span: Option<opentelemetry::Context> = None;
            let mut failed: Vec<usize> = Vec::new();
            loop {
                let Some(endpoint) = balancer.pick(&set, &failed) else {
                    return Err(every_endpoint_failed(replay.path()));
                };
                let Some(request) = replay.request() else {
                    return Err("a streaming request cannot be sent twice".into());
                };
                if let Some(ClientSpan(cx)) = request.extensions().get::<ClientSpan>() {
                    span = Some(cx.clone());
                }
                match endpoint.send(request, span.as_ref()).await {
                    Err(e) if unreachable_in(&*e).is_some() => {
                        endpoint.eject();
                        if !replay.replayable() {
                            return Err(e);
                        }
                        failed.push(Arc::as_ptr(&endpoint) as usize);
                    }
                    result => return result,
                }
            }
        })
    }
}

/// The CLIENT span a call carries, when it is recorded.
fn call_span(request: &http::Request<GrpcBody>) -> Option<opentelemetry::Context> {
    request
        .extensions()
        .get::<ClientSpan>()
        .map(|ClientSpan(cx)| cx.clone())
}

impl Endpoint {
    /// One attempt on this endpoint, counted in flight until its response ends; `span` is the
    /// call's CLIENT span, told which endpoint it went to.
    async fn send(
        self: &Arc<Self>,
        request: http::Request<GrpcBody>,
        span: Option<&opentelemetry::Context>,
    ) -> Result<http::Response<GuardedBody>, BoxError> {
        let guard = self.start(span);
        let response = self.link.send(request).await;
        self.finish(guard, response)
    }

    /// A call to this endpoint, the only one there is. A call that cannot connect has nowhere
    /// else to go, so its request is sent as it is: no buffering for a replay, no copy of its
    /// headers.
    async fn send_alone(
        self: &Arc<Self>,
        request: http::Request<GrpcBody>,
    ) -> Result<http::Response<GuardedBody>, BoxError> {
        let span = call_span(&request);
        let result = self.send(request, span.as_ref()).await;
        self.answer_alone(result)
    }

    /// Keeps calls away from this endpoint for a backoff that doubles with each failure.
    fn eject(&self) {
        let failures = self.failures.fetch_add(1, Ordering::Relaxed).min(10);
        let backoff = (EJECT_MIN * 2u32.pow(failures)).min(EJECT_MAX);
        let until = now_ms(self.epoch) + u64::try_from(backoff.as_millis()).unwrap_or(u64::MAX);
        self.ejected_until.store(until, Ordering::Relaxed);
        tracing::warn!(endpoint = %self.uri, ?backoff, "connection failed; endpoint ejected");
    }

    /// What a call to this endpoint, the only one, answers: one that could not connect is
    /// `UNAVAILABLE`, naming the endpoint, and the endpoint is ejected (and still tried: there
    /// is no other).
    fn answer_alone(
        &self,
        result: Result<http::Response<GuardedBody>, BoxError>,
    ) -> Result<http::Response<GuardedBody>, BoxError> {
        let error = match result {
            Err(error) => error,
            answered => return answered,
        };
        let Some(unreachable) = unreachable_in(&*error) else {
            return Err(error);
        };
        self.eject();
        // The cause says which step failed (refused, timed out, a certificate not trusted, a
        // handshake rejected): the user's next move depends on it.
        Err(Box::new(tonic::Status::unavailable(format!(
            "the only endpoint, {}, failed to connect ({}): is its server up and listening \
             there, and does its TLS match [clients.<name>.tls]?",
            self.uri,
            Chain(unreachable.cause())
        ))))
    }

    /// Counts a call in flight here (until its response ends), and tells its CLIENT span
    /// where it went.
    fn start(self: &Arc<Self>, span: Option<&opentelemetry::Context>) -> InFlight {
        if let Some(cx) = span {
            self.describe(cx);
        }
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(Arc::clone(self))
    }

    /// The response of a call begun with [`start`](Self::start), its body counted in flight
    /// until it ends.
    fn finish(
        &self,
        guard: InFlight,
        response: Result<http::Response<Incoming>, BoxError>,
    ) -> Result<http::Response<GuardedBody>, BoxError> {
        let response = response?;
        self.failures.store(0, Ordering::Relaxed);
        self.note_status(response.headers());
        Ok(response.map(|body| GuardedBody { body, guard }))
    }
}

/// The answer to a call that no endpoint would take.
fn every_endpoint_failed(path: &str) -> BoxError {
    Box::new(tonic::Status::unavailable(format!(
        "every endpoint of {path} failed to connect"
    )))
}

/// Whether a call failed before any of it reached a server: the connection could not be made.
/// A [`Link`] reports every failure to connect as [`Unreachable`].
fn unreachable_in<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a Unreachable> {
    let mut source = Some(error);
    while let Some(e) = source {
        if let Some(unreachable) = e.downcast_ref::<Unreachable>() {
            return Some(unreachable);
        }
        source = e.source();
    }
    None
}

/// Counts a call in flight on its endpoint until its response ends.
struct InFlight(Arc<Endpoint>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A response body that counts its call in flight on its endpoint until it ends.
pub struct GuardedBody {
    body: Incoming,
    guard: InFlight,
}

impl std::fmt::Debug for GuardedBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuardedBody").finish_non_exhaustive()
    }
}

impl http_body::Body for GuardedBody {
    type Data = bytes::Bytes;
    type Error = tonic::Status;

    fn poll_frame(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> PolledFrame<Self> {
        let frame = std::task::ready!(std::pin::Pin::new(&mut self.body).poll_frame(cx))
            .map(|frame| frame.map_err(|e| tonic::Status::from_error(Box::new(e))));
        if let Some(Ok(frame)) = &frame
            && let Some(trailers) = frame.trailers_ref()
        {
            self.guard.0.note_status(trailers);
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_single_endpoint_that_refuses_answers_unavailable_and_is_ejected() {
        let mut balancer =
            Balancer::fixed(&["http://127.0.0.1:1".to_owned()], &ClientTls::default()).unwrap();
        std::future::poll_fn(|cx| balancer.poll_ready(cx))
            .await
            .unwrap();
        // Nothing listens there, so the call fails as unreachable.
        let refused = balancer
            .call(http::Request::new(GrpcBody::empty()))
            .await
            .unwrap_err();
        let status = refused.downcast_ref::<tonic::Status>().unwrap();
        assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
        assert!(status.message().contains("127.0.0.1:1"), "{status:?}");
        // The step that failed is named, not only that one did.
        assert!(status.message().contains("refused"), "{status:?}");
        let endpoint = Arc::clone(&balancer.endpoints.borrow()[0]);
        assert!(endpoint.ejected_until.load(Ordering::Relaxed) > 0);
    }

    #[tokio::test]
    async fn a_penalised_endpoint_loses_every_comparison_until_its_penalty_ends() {
        let uris = [
            "http://127.0.0.1:1".to_owned(),
            "http://127.0.0.1:2".to_owned(),
        ];
        let balancer = Balancer::fixed(&uris, &ClientTls::default()).unwrap();
        let set = balancer.endpoints.borrow().clone();
        let (refusing, other) = (&set[0], &set[1]);
        // The other endpoint is busier, but the refusing one said UNAVAILABLE.
        other.in_flight.store(5, Ordering::Relaxed);
        let mut trailers = http::HeaderMap::new();
        trailers.insert(GRPC_STATUS, http::HeaderValue::from_static("14"));
        refusing.note_status(&trailers);
        for _ in 0..50 {
            let pick = balancer.pick(&set, &[]).unwrap();
            assert!(Arc::ptr_eq(&pick, other));
        }
        // Once the penalty is over, load decides again.
        refusing.penalised_until.store(0, Ordering::Relaxed);
        let pick = balancer.pick(&set, &[]).unwrap();
        assert!(Arc::ptr_eq(&pick, refusing));
        // Other codes are no sign of a refusing server.
        trailers.insert(GRPC_STATUS, http::HeaderValue::from_static("5"));
        refusing.note_status(&trailers);
        assert_eq!(refusing.penalised_until.load(Ordering::Relaxed), 0);
    }
}
