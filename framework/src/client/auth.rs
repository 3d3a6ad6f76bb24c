//! Sending credentials: a client layer that attaches `authorization: Bearer <token>`.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::impls::{debug_shows, layer_wraps, wraps_inner};
use http::HeaderValue;
use http::header::AUTHORIZATION;
use http_body_util::Either;
use tonic::body::Body as GrpcBody;
use tower_service::Service;

use crate::build_error::BuildError;
use crate::middleware::auth::AuthFuture;

type TokenFn = dyn Fn() -> Result<String, tonic::Status> + Send + Sync;

/// Attaches `authorization: Bearer <token>` to every call, from a fixed token or from a
/// function asked on each call (to follow a token that is refreshed elsewhere). A call that
/// carries its own `authorization` metadata keeps it. The header is marked sensitive, so HTTP/2
/// never puts it in its compression tables, and neither this layer's `Debug` nor its logs show
/// the token.
///
/// ```
/// # async fn demo(config: bia::Config, telemetry: bia::Telemetry) -> Result<(), bia::BoxError> {
/// use bia::client::{BearerLayer, Channel};
///
/// let token = std::env::var("USER_SERVICE_TOKEN")?;
/// let channel = Channel::from_config(&config, "user", &telemetry)?.layer(BearerLayer::new(&token)?);
///
/// // Or a token that another task keeps fresh:
/// let current = std::sync::Arc::new(std::sync::RwLock::new(token));
/// let source = current.clone();
/// let channel = Channel::from_config(&config, "user", &telemetry)?
///     .layer(BearerLayer::from_fn(move || Ok(source.read().unwrap().clone())));
/// # let _ = channel; Ok(()) }
/// ```
#[derive(Clone)]
pub struct BearerLayer {
    source: Source,
}

#[derive(Clone)]
enum Source {
    Fixed(HeaderValue),
    Dynamic(Arc<TokenFn>),
}

impl BearerLayer {
    /// Sends `token` with every call. It must be a valid header value (visible ASCII).
    pub fn new(token: &str) -> Result<Self, BuildError> {
        Ok(Self {
            source: Source::Fixed(header_value(token).ok_or_else(|| {
                BuildError::new(
                    "the bearer token is not a valid header value (visible ASCII characters only)",
                )
            })?),
        })
    }

    /// Sends the token `source` returns at each call; an error it returns is the call's
    /// status, and the call is not sent.
    pub fn from_fn<F>(source: F) -> Self
    where
        F: Fn() -> Result<String, tonic::Status> + Send + Sync + 'static,
    {
        Self {
            source: Source::Dynamic(Arc::new(source)),
        }
    }
}

fn header_value(token: &str) -> Option<HeaderValue> {
    let token = token.trim();
    if token.is_empty() {
        return None;
    }
    let mut value = HeaderValue::try_from(format!("Bearer {token}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

impl Source {
    fn header(&self) -> Result<HeaderValue, tonic::Status> {
        match self {
            Source::Fixed(value) => Ok(value.clone()),
            Source::Dynamic(source) => header_value(&source()?).ok_or_else(|| {
                tonic::Status::unauthenticated(
                    "the token source gave no token, or one that is not a valid header value",
                )
            }),
        }
    }
}

impl fmt::Debug for BearerLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.source {
            Source::Fixed(_) => "fixed",
            Source::Dynamic(_) => "dynamic",
        };
        f.debug_struct("BearerLayer").field("token", &kind).finish()
    }
}

layer_wraps!(BearerLayer => Bearer { source });

/// The service [`BearerLayer`] makes.
#[derive(Clone)]
pub struct Bearer<S> {
    inner: S,
    source: Source,
}

wraps_inner!(Bearer<S>);

debug_shows!(Bearer<S> { inner });

impl<S, B, ResBody> Service<http::Request<B>> for Bearer<S>
where
    S: Service<http::Request<B>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<Either<ResBody, GrpcBody>>;
    type Error = S::Error;
    type Future = AuthFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        if !request.headers().contains_key(AUTHORIZATION) {
            match self.source.header() {
                Ok(value) => {
                    request.headers_mut().insert(AUTHORIZATION, value);
                }
                Err(status) => return AuthFuture::answer(status),
            }
        }
        AuthFuture::inner(self.inner.call(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_become_sensitive_bearer_headers() {
        let value = header_value(" abc.def ").unwrap();
        assert_eq!(value, "Bearer abc.def");
        assert!(value.is_sensitive());
        assert!(header_value("").is_none());
        assert!(header_value("a\nb").is_none());
        assert!(BearerLayer::new("bad\r\nvalue").is_err());
        let layer = BearerLayer::new("secret-token").unwrap();
        assert!(!format!("{layer:?}").contains("secret-token"));
    }
}
