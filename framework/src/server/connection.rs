//! The HTTP server under the gRPC port: Bia's own accept loop and connections on hyper.
//!
//! tonic's server leaves a connection that never speaks open forever, spins on accept errors
//! such as `EMFILE`, and hides hyper's HTTP/2 limits. This one:
//!
//! - backs off on accept errors (5 ms doubling to 1 s) instead of spinning;
//! - closes a connection whose peer sends nothing within `server.grpc.handshake_timeout`;
//! - closes a connection with no call for `server.grpc.idle_timeout` (GOAWAY, then close);
//! - advertises `max_concurrent_streams`, caps locally reset streams, the header list size and
//!   the response bytes buffered per stream;
//! - resets a stream whose peer reads none of its response for `send_stall_timeout`
//!   ([`super::stall`]), closes a connection whose socket takes no byte for as long
//!   ([`super::write_watch`]), and refuses a call whose answer would take the response bytes
//!   its connection holds over `max_connection_send_buffer_bytes` ([`super::send_budget`]);
//! - hands a request that is not gRPC (by its `content-type`) to the HTTP gateway, or answers
//!   it with HTTP 415, as gRPC asks, when the gateway is off;
//! - on shutdown stops accepting, sends GOAWAY on every connection and returns when all have
//!   closed (the App bounds that wait and cuts what is left).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use pin_project_lite::pin_project;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_util::either::Either;
use tokio_util::sync::CancellationToken;
use tonic::body::Body as GrpcBody;
use tonic::transport::server::TcpConnectInfo;
use tower_service::Service;

use super::send_budget::{Meter, SendBudget, refused_trailers};
use super::slow_readers::SlowReaderCuts;
use super::stall::{self, StallExecutor};
use super::tls::Tls;
use super::watchdog::{Order, Orders, Watchdog};
use super::write_watch::{WatchedIo, WriteWatch};
use crate::config::GrpcServerConfig;
use crate::error::BoxError;
use crate::gateway::Gateway;
use crate::gateway::dispatch::{GatewayBody, GatewayFuture};
use crate::middleware::observe::drop_as;
use crate::polled::PolledFrame;

const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(5);
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

/// How many connections are open and calls running, for the App's stop to report truly.
#[derive(Debug, Default)]
pub(crate) struct Load {
    connections: AtomicUsize,
    calls: AtomicUsize,
}

impl Load {
    pub(crate) fn connections(&self) -> usize {
        self.connections.load(Ordering::Relaxed)
    }

    pub(crate) fn calls(&self) -> usize {
        self.calls.load(Ordering::Relaxed)
    }
}

/// What every connection of a server shares besides the service.
pub(crate) struct Shared {
    /// `server.grpc.tls`, when set.
    pub(crate) tls: Option<Arc<Tls>>,
    /// The HTTP gateway, unless `server.gateway.enabled` is false.
    pub(crate) gateway: Option<Arc<Gateway>>,
    /// What the server does to peers that do not read, counted.
    pub(crate) cuts: SlowReaderCuts,
}

/// Serves `service` on every connection `listener` accepts until `stop` resolves, then stops
/// accepting, asks every connection to close (GOAWAY) and returns once all have; `cut` closes
/// what is still open at once (a peer that never finishes closing cannot hold the server).
pub(crate) async fn serve<S, B>(
    listener: TcpListener,
    service: S,
    config: &GrpcServerConfig,
    stop: impl Future<Output = ()>,
    cut: CancellationToken,
    load: Arc<Load>,
    shared: Shared,
) where
    S: Service<http::Request<GrpcBody>, Response = http::Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let builder = Arc::new(builder(config, &shared.cuts));
    let settings = Arc::new(Settings::from(config));
    // Every connection holds a receiver: `send` asks them to close, `closed` waits until they have.
    let (closing, watcher) = watch::channel(());
    let mut stop = pin!(stop);
    let mut backoff = Duration::ZERO;
    loop {
        let accepted = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, peer)) => {
                backoff = Duration::ZERO;
                let connection = Connection {
                    stream,
                    peer,
                    service: service.clone(),
                    builder: builder.clone(),
                    settings: settings.clone(),
                    closing: watcher.clone(),
                    cut: cut.clone(),
                    load: load.clone(),
                    tls: shared.tls.clone(),
                    gateway: shared.gateway.clone(),
                    cuts: shared.cuts.clone(),
                };
                tokio::spawn(connection.run());
            }
            Err(e) if is_per_connection(&e) => {}
            Err(e) => {
                // Out of file descriptors or memory: wait for some to come back rather than spin.
                backoff = (backoff * 2).clamp(ACCEPT_BACKOFF_MIN, ACCEPT_BACKOFF_MAX);
                if backoff == ACCEPT_BACKOFF_MAX || backoff == ACCEPT_BACKOFF_MIN {
                    tracing::warn!(error = %e, ?backoff, "cannot accept connections; backing off");
                }
                tokio::select! {
                    () = &mut stop => break,
                    () = tokio::time::sleep(backoff) => {}
                }
            }
        }
    }
    // Closing the listener now makes the kernel refuse new connections at once.
    drop(listener);
    drop(watcher);
    let _ = closing.send(());
    closing.closed().await;
}

/// Errors of one connection that came and went before we accepted it: not worth a pause.
fn is_per_connection(error: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        error.kind(),
        ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted | WouldBlock
    )
}

/// hyper's connection settings from `[server.grpc]`.
fn builder(config: &GrpcServerConfig, cuts: &SlowReaderCuts) -> auto::Builder<StallExecutor> {
    let mut builder = auto::Builder::new(StallExecutor::new(
        config.send_stall_timeout,
        cuts.stream_stall.clone(),
    ));
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(config.handshake_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(config.max_concurrent_streams)
        .max_local_error_reset_streams(config.max_local_error_reset_streams)
        .max_header_list_size(config.max_header_list_bytes)
        .max_send_buf_size(config.max_send_buffer_bytes)
        .keep_alive_interval(config.keepalive_interval)
        .keep_alive_timeout(config.keepalive_timeout)
        // gRPC has no use for a Date header, and formatting one costs every call.
        .auto_date_header(false);
    builder
}

/// What each connection needs of `[server.grpc]`.
struct Settings {
    tcp_nodelay: bool,
    handshake_timeout: Duration,
    idle_timeout: Option<Duration>,
    send_stall_timeout: Option<Duration>,
    max_connection_send_buffer_bytes: usize,
}

impl From<&GrpcServerConfig> for Settings {
    fn from(config: &GrpcServerConfig) -> Self {
        Self {
            tcp_nodelay: config.tcp_nodelay,
            handshake_timeout: config.handshake_timeout,
            idle_timeout: config.idle_timeout,
            send_stall_timeout: config.send_stall_timeout,
            max_connection_send_buffer_bytes: config.max_connection_send_buffer_bytes,
        }
    }
}

struct Connection<S> {
    stream: TcpStream,
    peer: SocketAddr,
    service: S,
    builder: Arc<auto::Builder<StallExecutor>>,
    settings: Arc<Settings>,
    closing: watch::Receiver<()>,
    cut: CancellationToken,
    load: Arc<Load>,
    tls: Option<Arc<Tls>>,
    gateway: Option<Arc<Gateway>>,
    cuts: SlowReaderCuts,
}

/// Counts a connection open until it closes.
struct Open(Arc<Load>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<S, B> Connection<S>
where
    S: Service<http::Request<GrpcBody>, Response = http::Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    async fn run(mut self) {
        self.load.connections.fetch_add(1, Ordering::Relaxed);
        let _open = Open(self.load.clone());
        let _ = self.stream.set_nodelay(self.settings.tcp_nodelay);
        // A peer that never speaks holds a socket and memory for nothing.
        let mut first = [0u8; 1];
        let first_bytes = tokio::time::timeout(
            self.settings.handshake_timeout,
            self.stream.peek(&mut first),
        );
        tokio::select! {
            spoke = first_bytes => match spoke {
                Ok(Ok(n)) if n > 0 => {}
                Ok(_) => return,
                Err(_) => {
                    tracing::debug!(peer = %self.peer, "closed a connection that sent nothing");
                    return;
                }
            },
            _ = self.closing.changed() => return,
        }
        let writes = Arc::new(WriteWatch::default());
        let activity = Arc::new(Activity {
            writes: writes.clone(),
            in_flight: AtomicUsize::new(0),
            // The service below, which hyper keeps.
            stacks: AtomicUsize::new(1),
            started: AtomicU64::new(0),
            load: self.load.clone(),
            budget: SendBudget::new(self.settings.max_connection_send_buffer_bytes),
            refusals: self.cuts.connection_budget.clone(),
        });
        let service = PerConnection {
            inner: self.service,
            info: TcpConnectInfo {
                local_addr: self.stream.local_addr().ok(),
                remote_addr: Some(self.peer),
            },
            activity: activity.clone(),
            gateway: self.gateway.take(),
        };
        let io = match &self.tls {
            None => Either::Left(self.stream),
            Some(tls) => {
                let handshake = tls.acceptor().accept(self.stream);
                match tokio::time::timeout(self.settings.handshake_timeout, handshake).await {
                    Ok(Ok(stream)) => Either::Right(stream),
                    Ok(Err(e)) => {
                        tracing::debug!(peer = %self.peer, error = %e, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(peer = %self.peer, "TLS handshake took too long");
                        return;
                    }
                }
            }
        };
        let io = TokioIo::new(WatchedIo::new(io, writes.clone()));
        let mut connection = pin!(
            self.builder
                .serve_connection(io, TowerToHyperService::new(service))
        );
        let orders = Arc::new(Orders::default());
        let _watching = Watchdog {
            peer: self.peer,
            closing: self.closing,
            cut: self.cut,
            idle_timeout: self.settings.idle_timeout,
            send_stall_timeout: self.settings.send_stall_timeout,
            activity,
            socket_stalls: self.cuts.socket_stall.clone(),
        }
        .spawn(orders.clone());
        let mut goodbye = false;
        let served = std::future::poll_fn(|cx| match orders.poll(cx) {
            Order::Drop => Poll::Ready(None),
            order => {
                if order == Order::Close && !std::mem::replace(&mut goodbye, true) {
                    connection.as_mut().graceful_shutdown();
                }
                connection.as_mut().poll(cx).map(Some)
            }
        })
        .await;
        if let Some(Err(e)) = served {
            tracing::debug!(peer = %self.peer, error = %e, "connection ended with an error");
        }
    }
}

/// Calls on one connection: how many run, how many ever started, and the response bytes they
/// hold.
#[derive(Debug)]
pub(super) struct Activity {
    in_flight: AtomicUsize,
    /// Copies of the connection's service alive: the one hyper keeps, and one for each request
    /// it has accepted and not yet called (see `PerConnection`'s `Clone`).
    stacks: AtomicUsize,
    started: AtomicU64,
    load: Arc<Load>,
    budget: SendBudget,
    pub(super) writes: Arc<WriteWatch>,
    refusals: metrics::Counter,
}

impl Activity {
    /// Whether calls other than the one answering now are running or waiting to start: then
    /// the answer's write may wait for theirs ([`WatchedIo`]).
    fn others_running(&self) -> bool {
        // Less the copy hyper keeps and the answering call itself.
        self.stacks.load(Ordering::Relaxed) + self.in_flight.load(Ordering::Relaxed) > 2
    }

    /// Calls started so far (a sign of life) and calls running now.
    pub(super) fn calls(&self) -> (u64, usize) {
        (
            self.started.load(Ordering::Relaxed),
            self.in_flight.load(Ordering::Relaxed),
        )
    }
}

/// The service one connection calls: tags each request with the connection's addresses (as
/// tonic's server does, so `tonic::Request::remote_addr` works), counts its calls, and hands
/// what is not gRPC to the gateway (or answers it with 415 when there is none).
struct PerConnection<S> {
    inner: S,
    info: TcpConnectInfo,
    activity: Arc<Activity>,
    gateway: Option<Arc<Gateway>>,
}

// hyper-util's adapter clones the service for each request hyper accepts and drops the clone
// once it has called it, so counting the copies alive (`Activity::stacks`) shows a request
// accepted but not yet started (its task not yet run) before `start_call` counts it in flight.
impl<S: Clone> Clone for PerConnection<S> {
    fn clone(&self) -> Self {
        self.activity.stacks.fetch_add(1, Ordering::Relaxed);
        Self {
            inner: self.inner.clone(),
            info: self.info.clone(),
            activity: self.activity.clone(),
            gateway: self.gateway.clone(),
        }
    }
}

impl<S> Drop for PerConnection<S> {
    fn drop(&mut self) {
        self.activity.stacks.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<S> PerConnection<S> {
    /// Counts a call as started and in flight until the returned guard drops.
    fn start_call(&self) -> InFlight {
        self.activity.started.fetch_add(1, Ordering::Relaxed);
        self.activity.in_flight.fetch_add(1, Ordering::Relaxed);
        self.activity.load.calls.fetch_add(1, Ordering::Relaxed);
        InFlight(self.activity.clone())
    }
}

impl<S, B> Service<http::Request<Incoming>> for PerConnection<S>
where
    S: Service<http::Request<GrpcBody>, Response = http::Response<B>>,
    S::Error: Into<BoxError>,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = http::Response<ConnectionBody<B>>;
    type Error = BoxError;
    type Future = ConnectionFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut request: http::Request<Incoming>) -> Self::Future {
        if !is_grpc(&request) {
            let Some(gateway) = &self.gateway else {
                return ConnectionFuture::NotGrpc;
            };
            let guard = self.start_call();
            request.extensions_mut().insert(self.info.clone());
            return ConnectionFuture::Gateway {
                future: gateway.serve(request),
                guard: Some(guard),
            };
        }
        let guard = self.start_call();
        let mut request = request.map(GrpcBody::new);
        request.extensions_mut().insert(self.info.clone());
        // Boxed: hyper spawns a task per stream holding this future, and tokio moves a task's
        // future several times as it spawns and polls it; a box keeps what moves small (the
        // whole stack's future is large). One allocation buys that; callgrind put the saving
        // at a few hundred instructions a call, within its run-to-run spread.
        ConnectionFuture::Call {
            inner: Box::pin(self.inner.call(request)),
            guard: Some(guard),
        }
    }
}

/// Whether the request says it is gRPC: `content-type: application/grpc` or `application/grpc+…`.
fn is_grpc<B>(request: &http::Request<B>) -> bool {
    crate::headers::header_value(request.headers(), &http::header::CONTENT_TYPE).is_some_and(
        |value| {
            let value = value.as_bytes();
            value.starts_with(b"application/grpc")
                && matches!(value.get(16), None | Some(b'+' | b';'))
        },
    )
}

/// Leaves the connection's in-flight count when the call's response ends.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.load.calls.fetch_sub(1, Ordering::Relaxed);
    }
}

pin_project! {
    #[project = ConnectionFutureProj]
    enum ConnectionFuture<F> {
        NotGrpc,
        Call { inner: Pin<Box<F>>, guard: Option<InFlight> },
        Gateway { future: GatewayFuture, guard: Option<InFlight> },
    }
}

impl<F, B, E> Future for ConnectionFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
    E: Into<BoxError>,
{
    type Output = Result<http::Response<ConnectionBody<B>>, BoxError>;

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            ConnectionFutureProj::NotGrpc => Poll::Ready(Ok(unsupported_media_type())),
            ConnectionFutureProj::Gateway { future, guard } => {
                let response = std::task::ready!(future.as_mut().poll(cx));
                let guard = guard.take();
                Poll::Ready(Ok(response.map(|body| ConnectionBody::Gateway {
                    body,
                    _guard: guard,
                })))
            }
            ConnectionFutureProj::Call { inner, guard } => {
                let result = std::task::ready!(inner.as_mut().poll(cx));
                let guard = guard.take();
                Poll::Ready(Ok(match result {
                    Ok(mut response) => {
                        super::trailers::bound(response.headers_mut());
                        response.map(|body| ConnectionBody::Call {
                            body,
                            share: guard.map(|guard| Share {
                                meter: Meter::default(),
                                guard,
                            }),
                        })
                    }
                    // A layer's error is the call's status, not a reset stream.
                    Err(e) => tonic::Status::from_error(e.into())
                        .into_http::<()>()
                        .map(|()| ConnectionBody::Text { text: None }),
                }))
            }
        }
    }
}

fn unsupported_media_type<B>() -> http::Response<ConnectionBody<B>> {
    let mut response = http::Response::new(ConnectionBody::Text {
        text: Some(Bytes::from_static(
            b"this port serves gRPC: send content-type application/grpc\n",
        )),
    });
    *response.status_mut() = http::StatusCode::UNSUPPORTED_MEDIA_TYPE;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// A call's share of its connection: counted in flight until it ends, and the response bytes
/// it holds counted against the connection's budget until it hands them on.
pub(crate) struct Share {
    meter: Meter,
    guard: InFlight,
}

impl Drop for Share {
    fn drop(&mut self) {
        self.meter.release(&self.guard.0.budget);
    }
}

pin_project! {
    /// A call's response body (its share of the connection kept until it ends), a gateway
    /// call's, a plain-text answer, or a call refused for its connection's budget (whose
    /// trailers were sent).
    #[project = ConnectionBodyProj]
    pub(crate) enum ConnectionBody<B> {
        Call { #[pin] body: B, share: Option<Share> },
        Gateway { #[pin] body: GatewayBody, _guard: Option<InFlight> },
        Text { text: Option<Bytes> },
        Refused { _share: Option<Share> },
    }
}

impl<B> Body for ConnectionBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> PolledFrame<Self> {
        let refused = match self.as_mut().project() {
            ConnectionBodyProj::Call { body, share } => {
                if let Some(Share { meter, guard }) = share.as_mut() {
                    meter.polled(&guard.0.budget);
                    if let Some(slice) = meter.next_slice() {
                        guard.0.writes.handed(slice.len());
                        stall::handed();
                        return Poll::Ready(Some(Ok(Frame::data(slice))));
                    }
                }
                let Poll::Ready(frame) = body.poll_frame(cx) else {
                    stall::waiting();
                    return Poll::Pending;
                };
                let frame = match frame {
                    Some(Ok(frame)) => frame,
                    other => return Poll::Ready(other.map(|f| f.map_err(Into::into))),
                };
                let chunk = match frame.into_data() {
                    Ok(chunk) => chunk,
                    Err(mut frame) => {
                        if let Some(trailers) = frame.trailers_mut() {
                            super::trailers::bound(trailers);
                            if let Some(Share { guard, .. }) = share.as_ref() {
                                // Others still run: their answers may join this one's write.
                                if guard.0.others_running() {
                                    guard.0.writes.answered();
                                }
                            }
                        }
                        return Poll::Ready(Some(Ok(frame)));
                    }
                };
                match share.as_mut() {
                    Some(Share { meter, guard }) if !chunk.is_empty() => {
                        if meter.load(chunk, &guard.0.budget, guard.0.writes.unwritten()) {
                            stall::handed();
                            let slice = meter.next_slice().unwrap_or_default();
                            guard.0.writes.handed(slice.len());
                            return Poll::Ready(Some(Ok(Frame::data(slice))));
                        }
                        share.take()
                    }
                    _ => {
                        stall::handed();
                        return Poll::Ready(Some(Ok(Frame::data(chunk))));
                    }
                }
            }
            ConnectionBodyProj::Gateway { body, .. } => {
                let frame = body.poll_frame(cx);
                match &frame {
                    Poll::Pending => stall::waiting(),
                    Poll::Ready(Some(Ok(frame))) if frame.is_data() => stall::handed(),
                    Poll::Ready(_) => {}
                }
                return frame;
            }
            ConnectionBodyProj::Text { text } => {
                return Poll::Ready(text.take().map(|t| Ok(Frame::data(t))));
            }
            ConnectionBodyProj::Refused { .. } => return Poll::Ready(None),
        };
        // Dropping the handler's body frees its answer now; the stream ends with a status, which
        // the call's metrics and access log record too (they would take the drop for a cancel).
        tracing::debug!("refused a call: its connection holds too many unread response bytes");
        if let Some(share) = &refused {
            share.guard.0.refusals.increment(1);
        }
        drop_as(tonic::Code::ResourceExhausted, || {
            self.set(ConnectionBody::Refused { _share: refused });
        });
        Poll::Ready(Some(Ok(Frame::trailers(refused_trailers()))))
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ConnectionBody::Call { body, share } => {
                share.as_ref().is_none_or(|s| s.meter.rest() == 0) && body.is_end_stream()
            }
            ConnectionBody::Gateway { body, .. } => body.is_end_stream(),
            ConnectionBody::Text { text } => text.is_none(),
            ConnectionBody::Refused { .. } => false,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ConnectionBody::Call { body, share } => {
                let rest = share.as_ref().map_or(0, |s| s.meter.rest() as u64);
                let inner = body.size_hint();
                let mut hint = SizeHint::new();
                hint.set_lower(inner.lower() + rest);
                if let Some(upper) = inner.upper() {
                    hint.set_upper(upper + rest);
                }
                hint
            }
            ConnectionBody::Gateway { body, .. } => body.size_hint(),
            ConnectionBody::Text { text } => {
                SizeHint::with_exact(text.as_ref().map_or(0, |t| t.len() as u64))
            }
            ConnectionBody::Refused { .. } => SizeHint::default(),
        }
    }
}
