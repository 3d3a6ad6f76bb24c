//! Sending credentials: a client layer that attaches `authorization: Bearer <token>`.

use std::fmt;
use std::sync::Arc;

use http::HeaderValue;
use http::header::AUTHORIZATION;

use crate::build_error::BuildError;
use crate::impls::{debug_shows, layer_wraps};
use crate::middleware::auth::{Admission, Admitted};

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
    token: BearerToken,
}

/// Where [`Bearer`] gets its token: fixed, or asked of a function on each call.
#[derive(Clone)]
pub struct BearerToken(Source);

#[derive(Clone)]
enum Source {
    Fixed(HeaderValue),
    Dynamic(Arc<TokenFn>),
}

impl BearerLayer {
    /// Sends `token` with every call. It must be a valid header value (visible ASCII).
    pub fn new(token: &str) -> Result<Self, BuildError> {
        let value = header_value(token).ok_or_else(|| {
            BuildError::new(
                "the bearer token is not a valid header value (visible ASCII characters only)",
            )
        })?;
        Ok(Self {
            token: BearerToken(Source::Fixed(value)),
        })
    }

    /// Sends the token `source` returns at each call; an error it returns is the call's
    /// status, and the call is not sent.
    pub fn from_fn<F>(source: F) -> Self
    where
        F: Fn() -> Result<String, tonic::Status> + Send + Sync + 'static,
    {
        Self {
            token: BearerToken(Source::Dynamic(Arc::new(source))),
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

impl fmt::Debug for BearerToken {
    /// Which kind of token, never the token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.0 {
            Source::Fixed(_) => "fixed",
            Source::Dynamic(_) => "dynamic",
        })
    }
}

debug_shows!(BearerLayer { token });

layer_wraps!(BearerLayer => Bearer { admission: token });

/// Attaches `authorization: Bearer <token>` to each call that has no `authorization`
/// metadata of its own; see [`BearerLayer`].
pub type Bearer<S> = Admitted<S, BearerToken>;

impl Admission for BearerToken {
    fn admit<B>(&self, request: &mut http::Request<B>) -> Result<(), tonic::Status> {
        if !request.headers().contains_key(AUTHORIZATION) {
            request
                .headers_mut()
                .insert(AUTHORIZATION, self.0.header()?);
        }
        Ok(())
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
