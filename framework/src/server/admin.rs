//! The admin HTTP endpoint: `/metrics` (Prometheus text 0.0.4), `/healthz`, `/readyz`.

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio_util::either::Either;

use super::tls::Tls;
use crate::telemetry::MetricsRegistry;

/// How long an admin client may take to finish its TLS handshake.
const TLS_HANDSHAKE: std::time::Duration = std::time::Duration::from_secs(5);

/// Whether the App is ready for traffic: set after start, cleared when shutdown begins.
#[derive(Clone, Debug, Default)]
pub(crate) struct Readiness(Arc<AtomicBool>);

impl Readiness {
    pub(crate) fn set(&self, ready: bool) {
        self.0.store(ready, Ordering::SeqCst);
    }

    fn get(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Serves the admin endpoint until `stop` resolves.
pub(crate) async fn serve(
    listener: TcpListener,
    metrics: MetricsRegistry,
    readiness: Readiness,
    tls: Option<Arc<Tls>>,
    stop: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let metrics = metrics.clone();
                let readiness = readiness.clone();
                let service = service_fn(move |request| {
                    let response = respond(&request, &metrics, &readiness);
                    async move { Ok::<_, Infallible>(response) }
                });
                let acceptor = tls.as_ref().map(|tls| tls.acceptor());
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    let io = match acceptor {
                        None => Either::Left(stream),
                        Some(acceptor) => {
                            match tokio::time::timeout(TLS_HANDSHAKE, acceptor.accept(stream)).await {
                                Ok(Ok(stream)) => Either::Right(stream),
                                _ => return,
                            }
                        }
                    };
                    let connection = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(io), service);
                    if let Err(e) = watcher.watch(connection).await {
                        tracing::debug!(error = %e, "admin connection ended with an error");
                    }
                });
            }
            () = &mut stop => break,
        }
    }
    drop(listener);
    // Scrapes are short: give them a moment, never the App's whole drain time.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(1), graceful.shutdown()).await;
}

fn respond(
    request: &Request<Incoming>,
    metrics: &MetricsRegistry,
    readiness: &Readiness,
) -> Response<Full<Bytes>> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "use GET\n");
    }
    match request.uri().path() {
        "/metrics" => Response::builder()
            .header(header::CONTENT_TYPE, PROMETHEUS_TEXT)
            .body(Full::new(Bytes::from(metrics.render())))
            .expect("static headers are valid"),
        "/healthz" => text(StatusCode::OK, "ok\n"),
        "/readyz" if readiness.get() => text(StatusCode::OK, "ready\n"),
        "/readyz" => text(StatusCode::SERVICE_UNAVAILABLE, "not ready\n"),
        _ => text(
            StatusCode::NOT_FOUND,
            "not found: try /metrics, /healthz or /readyz\n",
        ),
    }
}

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .expect("static headers are valid")
}
