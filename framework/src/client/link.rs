//! One HTTP/2 connection to one endpoint: made when a call first needs it, made again after it
//! closes, and shared by every call to that endpoint.
//!
//! A call goes straight to hyper's connection task. tonic's `Channel` puts a tower `Buffer` in
//! front of its connection: every call is sent through a queue to a worker task of its own,
//! which calls the connection and sends the response future back, and its origin layer boxes
//! another future. Bia's balancer does what that buffer is for (sharing one connection between
//! handles, waiting for it to be made, making it again), so a call here costs a lock that is
//! held only to queue the request, with no task between the caller and the connection.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};
use http::uri::{Authority, PathAndQuery, Scheme};
use http::{HeaderValue, Request, Response, Uri};
use hyper::body::Incoming;
use hyper::client::conn::http2::{Builder, SendRequest};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tonic::body::Body as GrpcBody;

use super::tls::{ClientTls, EndpointTls};
use crate::build_error::BuildError;
use crate::error::{BoxError, Chain};

/// How long making a connection (TCP, TLS and the HTTP/2 handshake) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The connection to one endpoint.
pub(crate) struct Link {
    target: Arc<Target>,
    state: Mutex<State>,
}

/// Where a link connects, and how.
struct Target {
    /// The endpoint as configured, for errors and logs.
    uri: Arc<str>,
    scheme: Scheme,
    authority: Authority,
    /// The host to connect to (an IPv6 address without its brackets).
    host: String,
    port: u16,
    tls: Option<EndpointTls>,
    /// Why the last connection ended, if it ended in an error: a server that refuses this
    /// client after the TLS handshake (no client certificate, say) says so only there.
    last_error: Mutex<Option<String>>,
}

enum State {
    /// No connection: the next call makes one.
    Idle,
    /// A connection being made; every call that needs it waits for the same attempt.
    Connecting(Shared<BoxFuture<'static, Result<Sender, Unreachable>>>),
    Open(Sender),
}

type Sender = SendRequest<GrpcBody>;

/// A connection to an endpoint could not be made: nothing of the call left the client.
#[derive(Clone, Debug)]
pub(crate) struct Unreachable {
    endpoint: Arc<str>,
    cause: Arc<dyn std::error::Error + Send + Sync>,
}

impl Unreachable {
    /// What failed (`Connection refused`, a certificate not trusted), without the endpoint.
    pub(crate) fn cause(&self) -> &(dyn std::error::Error + 'static) {
        &*self.cause
    }
}

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot connect to {}: {}", self.endpoint, self.cause)
    }
}

impl std::error::Error for Unreachable {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.cause)
    }
}

impl Link {
    /// A link to `uri` (`http://host:port` or `https://host:port`), not connected yet.
    pub(crate) fn new(uri: &str, tls: &ClientTls) -> Result<Self, BuildError> {
        let invalid = |why: &str| {
            BuildError::new(format!(
                "endpoint {uri:?} {why} (expected http://host:port or https://host:port)"
            ))
        };
        let parsed: Uri = uri.parse().map_err(|e| {
            BuildError::caused_by(format!("endpoint {uri:?} is not a valid URI"), e)
        })?;
        let secure = match parsed.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(invalid("has no http or https scheme")),
        };
        let (Some(scheme), Some(authority)) = (parsed.scheme(), parsed.authority()) else {
            return Err(invalid("names no host"));
        };
        let host = authority.host();
        let tls = if secure {
            Some(
                tls.for_host(host)
                    .map_err(|e| e.of(&format!("endpoint {uri:?}")))?,
            )
        } else {
            None
        };
        Ok(Self {
            target: Arc::new(Target {
                uri: uri.into(),
                scheme: scheme.clone(),
                authority: authority.clone(),
                host: host
                    .trim_start_matches('[')
                    .trim_end_matches(']')
                    .to_owned(),
                port: authority
                    .port_u16()
                    .unwrap_or(if secure { 443 } else { 80 }),
                tls,
                last_error: Mutex::new(None),
            }),
            state: Mutex::new(State::Idle),
        })
    }

    /// The host (an IPv6 address without brackets) and port this link connects to.
    pub(crate) fn host_and_port(&self) -> (&str, u16) {
        (&self.target.host, self.target.port)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state is replaced whole under the lock: a panic cannot leave it half-written.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends `request` on the connection, connecting first if there is none. A request that a
    /// closing connection gave back unsent is sent once more, on a new connection.
    pub(crate) async fn send(
        &self,
        mut request: Request<GrpcBody>,
    ) -> Result<Response<Incoming>, BoxError> {
        self.set_origin(&mut request)?;
        let mut resent = false;
        let mut connects = 0;
        loop {
            let queued = {
                let mut state = self.lock();
                match &mut *state {
                    State::Open(sender) if !sender.is_closed() => {
                        Ok(sender.try_send_request(request))
                    }
                    _ => Err(request),
                }
            };
            match queued {
                Ok(response) => match response.await {
                    Ok(response) => return Ok(response),
                    Err(mut failed) => match failed.take_message() {
                        Some(unsent) if !resent => {
                            resent = true;
                            request = unsent;
                            self.forget_closed();
                        }
                        // Given back twice: it never left, and another endpoint may take it.
                        Some(_) => {
                            return Err(self
                                .unreachable("its connections closed before taking the call")
                                .into());
                        }
                        None => return Err(self.failed(failed.into_error())),
                    },
                },
                Err(unsent) => {
                    request = unsent;
                    // A server that closes every connection as soon as it is made would
                    // otherwise keep this call connecting forever.
                    if connects == 2 {
                        return Err(self.unreachable("it closed the connection at once").into());
                    }
                    connects += 1;
                    self.connect().await?;
                }
            }
        }
    }

    fn unreachable(&self, why: &str) -> Unreachable {
        let last = self
            .target
            .last_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let cause = match last {
            Some(error) => format!("{why}: {error}"),
            None => why.to_owned(),
        };
        Unreachable {
            endpoint: Arc::clone(&self.target.uri),
            cause: Arc::from(BoxError::from(cause)),
        }
    }

    /// The status of a call its connection failed. HTTP/2's own codes (a stream refused or
    /// cancelled) map as tonic maps them; a connection that failed under the call is
    /// `UNAVAILABLE` (as grpc-go has it), with what failed: hyper's "connection error" alone
    /// does not say that the server refused this client's certificate.
    fn failed(&self, error: hyper::Error) -> BoxError {
        let status = tonic::Status::try_from_error(Box::new(error)).unwrap_or_else(|error| {
            let mut message = format!(
                "the connection to {} failed: {}",
                self.target.uri,
                Chain(&*error)
            );
            // The connection's own end may say more (a TLS alert read after a failed write).
            let ended = self
                .target
                .last_error
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if let Some(ended) = ended.as_deref().filter(|ended| !message.contains(*ended)) {
                message.push_str(" (it ended with: ");
                message.push_str(ended);
                message.push(')');
            }
            tonic::Status::unavailable(message)
        });
        Box::new(status)
    }

    /// Drops a connection that has closed, so the next call makes a new one.
    fn forget_closed(&self) {
        let mut state = self.lock();
        if matches!(&*state, State::Open(sender) if sender.is_closed()) {
            *state = State::Idle;
        }
    }

    /// Makes the connection, or waits for the attempt under way.
    async fn connect(&self) -> Result<(), Unreachable> {
        let attempt = {
            let mut state = self.lock();
            match &*state {
                State::Open(sender) if !sender.is_closed() => return Ok(()),
                State::Connecting(attempt) => attempt.clone(),
                _ => {
                    let attempt = dial(Arc::clone(&self.target)).boxed().shared();
                    *state = State::Connecting(attempt.clone());
                    attempt
                }
            }
        };
        let result = attempt.clone().await;
        let mut state = self.lock();
        // The first caller back records the outcome; a newer attempt is left alone.
        if matches!(&*state, State::Connecting(current) if current.ptr_eq(&attempt)) {
            *state = match &result {
                Ok(sender) => State::Open(sender.clone()),
                Err(_) => State::Idle,
            };
        }
        result.map(drop)
    }

    /// Points the request at this endpoint (tonic's generated clients send only the path) and
    /// names the client, unless the caller did.
    fn set_origin(&self, request: &mut Request<GrpcBody>) -> Result<(), BoxError> {
        let mut parts = std::mem::take(request.uri_mut()).into_parts();
        parts.scheme = Some(self.target.scheme.clone());
        parts.authority = Some(self.target.authority.clone());
        if parts.path_and_query.is_none() {
            parts.path_and_query = Some(PathAndQuery::from_static("/"));
        }
        *request.uri_mut() = Uri::from_parts(parts)?;
        request
            .headers_mut()
            .entry(http::header::USER_AGENT)
            .or_insert_with(user_agent);
        Ok(())
    }
}

fn user_agent() -> HeaderValue {
    HeaderValue::from_static(concat!("bia/", env!("CARGO_PKG_VERSION")))
}

/// Connects to `target`: TCP, TLS for `https://`, then the HTTP/2 handshake, within
/// [`CONNECT_TIMEOUT`].
async fn dial(target: Arc<Target>) -> Result<Sender, Unreachable> {
    let attempt = async {
        let tcp = TcpStream::connect((target.host.as_str(), target.port)).await?;
        tcp.set_nodelay(true)?;
        let io: Box<dyn Io> = match &target.tls {
            None => Box::new(tcp),
            Some(tls) => {
                let connector = tokio_rustls::TlsConnector::from(Arc::clone(&tls.config));
                Box::new(connector.connect(tls.name.clone(), tcp).await?)
            }
        };
        handshake(io, Arc::clone(&target)).await
    };
    let cause: BoxError = match tokio::time::timeout(CONNECT_TIMEOUT, attempt).await {
        Ok(Ok(sender)) => return Ok(sender),
        Ok(Err(e)) => e,
        Err(_) => format!("no connection within {CONNECT_TIMEOUT:?}").into(),
    };
    Err(Unreachable {
        endpoint: Arc::clone(&target.uri),
        cause: Arc::from(cause),
    })
}

/// A connection's byte stream, plain or TLS (one type, so hyper's connection code is built
/// once).
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The HTTP/2 handshake over `io`; the connection then runs on a task of its own until it
/// closes.
async fn handshake(io: Box<dyn Io>, target: Arc<Target>) -> Result<Sender, BoxError> {
    let (sender, connection) = Builder::new(BoxingExecutor)
        .timer(TokioTimer::new())
        .handshake(TokioIo::new(io))
        .await?;
    *target.last_error.lock().unwrap_or_else(|e| e.into_inner()) = None;
    tokio::spawn(async move {
        // The error is written down before the connection is dropped: dropping it is what
        // tells the senders it closed, and a call that sees that reads the error next.
        let mut connection = std::pin::pin!(connection);
        if let Err(e) = connection.as_mut().await {
            let error = Chain(&e).to_string();
            tracing::debug!(endpoint = %target.uri, %error, "a client connection ended");
            *target.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(error);
        }
    });
    Ok(sender)
}

/// Spawns hyper's futures boxed.
///
/// hyper spawns a task for each request's body, and that task's future is one enum with the
/// connection's own, so it is as large as a whole HTTP/2 connection. Tokio keeps a task's
/// future inline and rewrites it as the task starts and ends: unboxed, each request would copy
/// kilobytes a few times over (measured: 2,100 instructions a spawn, against 780 boxed).
#[derive(Clone, Copy, Debug)]
struct BoxingExecutor;

impl<F> hyper::rt::Executor<F> for BoxingExecutor
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, future: F) {
        tokio::spawn(Box::pin(future));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(uri: &str) -> Result<Link, BuildError> {
        Link::new(uri, &ClientTls::default())
    }

    #[test]
    fn an_endpoint_needs_a_scheme_and_a_host() {
        for uri in ["127.0.0.1:50051", "ftp://host:1", "http://", "not a uri"] {
            let error = link(uri).err().unwrap_or_else(|| panic!("{uri} was taken"));
            assert!(error.to_string().contains(uri), "{error}");
        }
        let ipv6 = link("http://[::1]:50051").unwrap();
        assert_eq!(
            (ipv6.target.host.as_str(), ipv6.target.port),
            ("::1", 50051)
        );
        assert_eq!(link("https://example.com").unwrap().target.port, 443);
    }

    #[tokio::test]
    async fn a_request_gets_the_endpoints_origin_and_a_user_agent() {
        let link = link("http://127.0.0.1:7").unwrap();
        let mut request = Request::new(GrpcBody::empty());
        *request.uri_mut() = Uri::from_static("/echo.v1.Echo/Say");
        link.set_origin(&mut request).unwrap();
        assert_eq!(request.uri(), "http://127.0.0.1:7/echo.v1.Echo/Say");
        assert!(
            request.headers()["user-agent"]
                .to_str()
                .unwrap()
                .starts_with("bia/")
        );
        let mut named = Request::new(GrpcBody::empty());
        named
            .headers_mut()
            .insert("user-agent", HeaderValue::from_static("mine/1"));
        link.set_origin(&mut named).unwrap();
        assert_eq!(named.headers()["user-agent"], "mine/1");
    }

    #[tokio::test]
    async fn a_refused_connection_is_unreachable_and_the_next_call_tries_again() {
        // A port nothing listens on: bind one, then close it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let link = link(&format!("http://127.0.0.1:{port}")).unwrap();
        for _ in 0..2 {
            let error = link
                .send(Request::new(GrpcBody::empty()))
                .await
                .unwrap_err();
            let unreachable = error.downcast_ref::<Unreachable>().expect("an Unreachable");
            assert!(
                unreachable.to_string().contains(&port.to_string()),
                "{unreachable}"
            );
            assert!(matches!(*link.lock(), State::Idle));
        }
    }
}
