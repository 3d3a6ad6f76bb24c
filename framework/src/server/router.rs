//! The router: sends each call to the service its path names (`/package.Service/Method`).
//!
//! tonic's `Routes` is an axum router: per call it matches the path against a pattern per
//! service, stores the match in the request's extensions (which then outgrow their first
//! table), and boxes the body twice, once as axum's and once as tonic's. A gRPC path names its
//! service in its first segment, so this router compares that segment with the few names it
//! serves and calls the service: nothing is stored and the body is boxed once (not at all when
//! it is tonic's already). A path no service here serves is answered `UNIMPLEMENTED`, as gRPC
//! asks and as `Routes` does.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use tonic::body::Body as GrpcBody;
use tower::ServiceExt as _;
use tower::util::{BoxCloneSyncService, Oneshot};
use tower_service::Service;

use crate::error::BoxError;

type ServiceBox =
    BoxCloneSyncService<http::Request<GrpcBody>, http::Response<GrpcBody>, Infallible>;

/// The App's gRPC services, each called by its name; what [`Handlers`](super::Handlers)
/// wraps. Cheap to clone (one `Arc`).
#[derive(Clone, Default)]
pub struct Router {
    services: Arc<[Served]>,
}

struct Served {
    /// `package.Service`, as in the paths of its methods.
    name: &'static str,
    service: ServiceBox,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.services.iter().map(|s| s.name))
            .finish()
    }
}

/// Collects the services of a [`Router`], in the order calls look for them.
#[derive(Default)]
pub(crate) struct RouterBuilder {
    services: Vec<Served>,
}

impl RouterBuilder {
    /// Serves `service` at `/{name}/…`; `name` is the service's `NamedService::NAME`.
    pub(crate) fn add(&mut self, name: &'static str, service: ServiceBox) -> &mut Self {
        self.services.push(Served { name, service });
        self
    }

    pub(crate) fn build(self) -> Router {
        Router {
            services: self.services.into(),
        }
    }
}

impl Router {
    /// The service `path` calls: the one named by its first segment, which a `/` must end.
    fn find(&self, path: &str) -> Option<&ServiceBox> {
        let rest = path.strip_prefix('/')?;
        self.services
            .iter()
            .find(|served| {
                rest.len() > served.name.len()
                    && rest.as_bytes()[served.name.len()] == b'/'
                    && rest.starts_with(served.name)
            })
            .map(|served| &served.service)
    }
}

impl<B> Service<http::Request<B>> for Router
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = http::Response<GrpcBody>;
    type Error = Infallible;
    type Future = RouterFuture;

    /// Always ready: each call waits for its own service, as axum's router does.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> RouterFuture {
        let state = match self.find(request.uri().path()) {
            // The clone is the service's own (an `Arc` for tonic's servers) in a box, and lets
            // the call wait for the service to be ready without holding the router.
            Some(service) => State::Call(service.clone().oneshot(request.map(GrpcBody::new))),
            None => State::Unimplemented(Some(unimplemented())),
        };
        RouterFuture { state }
    }
}

/// The answer to a call of a path no service here serves: `UNIMPLEMENTED`, trailers-only.
fn unimplemented() -> http::Response<GrpcBody> {
    tonic::Status::unimplemented("").into_http()
}

/// The future of [`Router`].
pub struct RouterFuture {
    state: State,
}

enum State {
    Call(Oneshot<ServiceBox, http::Request<GrpcBody>>),
    Unimplemented(Option<http::Response<GrpcBody>>),
}

impl std::fmt::Debug for RouterFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RouterFuture")
    }
}

impl Future for RouterFuture {
    type Output = Result<http::Response<GrpcBody>, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.state {
            // `Oneshot` of a boxed service is `Unpin`.
            State::Call(call) => Pin::new(call).poll(cx),
            State::Unimplemented(response) => {
                Poll::Ready(Ok(response.take().unwrap_or_else(unimplemented)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::server::NamedService;

    /// A service that answers with its name in a header.
    #[derive(Clone)]
    struct Named<const N: usize>;

    const NAMES: [&str; 2] = ["echo.v1.Echo", "echo.v1.EchoAdmin"];

    impl<const N: usize> NamedService for Named<N> {
        const NAME: &'static str = NAMES[N];
    }

    impl<const N: usize> Service<http::Request<GrpcBody>> for Named<N> {
        type Response = http::Response<GrpcBody>;
        type Error = Infallible;
        type Future = std::future::Ready<Result<Self::Response, Infallible>>;

        fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, request: http::Request<GrpcBody>) -> Self::Future {
            let mut response = http::Response::new(GrpcBody::empty());
            let answer = format!("{} {}", NAMES[N], request.uri().path());
            response
                .headers_mut()
                .insert("x-served-by", answer.parse().unwrap());
            std::future::ready(Ok(response))
        }
    }

    async fn call(router: &Router, path: &str) -> http::Response<GrpcBody> {
        let request = http::Request::builder()
            .uri(path)
            .body(http_body_util::Empty::<Bytes>::new())
            .unwrap();
        router.clone().oneshot(request).await.unwrap()
    }

    fn served_by(response: &http::Response<GrpcBody>) -> Option<&str> {
        response.headers().get("x-served-by")?.to_str().ok()
    }

    #[tokio::test]
    async fn calls_go_to_the_service_their_path_names() {
        let mut builder = RouterBuilder::default();
        builder
            .add(Named::<0>::NAME, BoxCloneSyncService::new(Named::<0>))
            .add(Named::<1>::NAME, BoxCloneSyncService::new(Named::<1>));
        let router = builder.build();
        let response = call(&router, "/echo.v1.Echo/Say").await;
        assert_eq!(served_by(&response), Some("echo.v1.Echo /echo.v1.Echo/Say"));
        // A name that starts with another's is not that other's.
        let response = call(&router, "/echo.v1.EchoAdmin/Reset").await;
        assert_eq!(
            served_by(&response),
            Some("echo.v1.EchoAdmin /echo.v1.EchoAdmin/Reset")
        );
        assert_eq!(
            format!("{router:?}"),
            r#"["echo.v1.Echo", "echo.v1.EchoAdmin"]"#
        );
    }

    #[tokio::test]
    async fn paths_no_service_serves_are_unimplemented() {
        let mut builder = RouterBuilder::default();
        builder.add(Named::<0>::NAME, BoxCloneSyncService::new(Named::<0>));
        let router = builder.build();
        for path in [
            "/echo.v1.Other/Say",
            "/echo.v1.Echo",
            "/echo.v1.Ech/Say",
            "/",
            "/x",
        ] {
            let response = call(&router, path).await;
            assert_eq!(served_by(&response), None, "{path}");
            assert_eq!(response.headers()["grpc-status"], "12", "{path}");
            assert_eq!(response.status(), http::StatusCode::OK, "{path}");
        }
    }
}
