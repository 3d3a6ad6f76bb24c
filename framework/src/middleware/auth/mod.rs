//! Authentication: JWT bearer tokens checked before a call reaches its handler.
//!
//! [`JwtLayer`] verifies the `authorization: Bearer <token>` metadata of every call: the
//! signature, with keys decoded once at start; the algorithm, which must be one the key is for
//! (never `none`, never an HMAC token checked against an RSA key); `exp` and `nbf` with a leeway;
//! `iss` and `aud` when configured; and the scopes the method requires. It works on the HTTP
//! request before the body is read, so unary and streaming calls alike are checked before their
//! handler runs.
//!
//! - A missing or invalid token is answered `UNAUTHENTICATED`, with a message that says what
//!   was wrong (expired, wrong audience, bad signature, ...) and an `ErrorInfo` reason such as
//!   `TOKEN_EXPIRED`; the token itself is never echoed.
//! - A valid token without a scope the method requires is answered `PERMISSION_DENIED`, naming
//!   the missing scopes (reason `SCOPE_MISSING`).
//! - Methods in `public_methods`, and Bia's own health and reflection services, need no token.
//! - The verified [`Claims`] are put in the request extensions for the handler.
//!
//! Tokens are never logged or put in spans; a rejection is logged at debug level, with its
//! reason only (target `bia::auth`).
//!
//! # Configuration
//!
//! ```toml
//! [auth.jwt]
//! issuer = "https://id.example.com"       # required `iss` (unset: any)
//! audience = "user-service"               # required `aud` (unset: not checked)
//! # One key source: an HS256 secret, a PEM public key (RS256/ES256), or a JWKS file (by `kid`).
//! public_key_file = "config/jwt-public.pem"
//! # secret = "..."                        # better from BIA_AUTH__JWT__SECRET
//! # jwks_file = "config/jwks.json"
//! leeway = "30s"                          # clock skew for exp and nbf (the default)
//! public_methods = ["user.v1.UserService/GetUser", "catalog.v1.CatalogService/*"]
//!
//! [auth.jwt.scopes]
//! "user.v1.UserService/DeleteUser" = ["users:write"]
//! "admin.v1.AdminService/*" = ["admin"]
//! ```
//!
//! Scopes come from the token's `scope` claim (space separated) or `scp` claim (a list). JWT
//! authentication is on when `[auth.jwt]` has a key source; a bad key file, two key sources or
//! a section with no key source stop the service at start with a message naming the key.
//!
//! # Example
//!
//! ```
//! use bia::middleware::JwtLayer;
//! use bia::middleware::auth::Claims;
//!
//! let config = bia::Config::builder("demo")
//!     .env(false)
//!     .toml(
//!         r#"
//!         [auth.jwt]
//!         issuer = "https://id.example.com"
//!         audience = "demo"
//!         secret = "a shared secret of at least 32 bytes"
//!         [auth.jwt.scopes]
//!         "demo.v1.Notes/Delete" = ["notes:write"]
//!         "#,
//!     )
//!     .build()
//!     .unwrap();
//!
//! // The App installs the layer itself, since [auth.jwt] has a key source; this is the layer
//! // it builds (use it yourself only in a tower stack of your own). The App also refuses to
//! // start when a method named here is not one it serves: an App without demo.v1.Notes fails.
//! let jwt = JwtLayer::from_config(&config).unwrap();
//! assert!(jwt.is_some());
//! let error = bia::App::builder(&config).build().unwrap_err();
//! assert!(error.to_string().contains("auth.jwt.scopes.\"demo.v1.Notes/Delete\""));
//!
//! // In a handler: the claims of the caller's verified token.
//! fn owner<T>(request: &tonic::Request<T>) -> Result<String, tonic::Status> {
//!     let claims = request
//!         .extensions()
//!         .get::<Claims>()
//!         .ok_or_else(|| tonic::Status::unauthenticated("no token"))?;
//!     let tenant = claims.get("tenant").and_then(|t| t.as_str()).unwrap_or("default");
//!     Ok(format!("{}@{tenant}", claims.subject().unwrap_or("anonymous")))
//! }
//! # let _ = owner::<()>;
//! ```
//!
//! A client sends its token with [`BearerLayer`](crate::client::BearerLayer).

mod admit;
mod claims;
mod config;
mod future;
mod keys;
mod layer;
mod reject;
mod rules;
pub(crate) use rules::Rules;

use std::sync::Arc;

pub use admit::{Admission, Admitted};
pub use claims::Claims;
pub use config::{JwtConfig, Secret};
pub use future::AuthFuture;
pub use layer::JwtLayer;

use crate::middleware::CallInfo;
use crate::middleware::method::BUILTIN_SERVICES;
use keys::Keys;
use reject::Rejection;
use rules::Access;

/// What a [`JwtLayer`] decoded at start (keys and rules), shared by every clone of its service.
pub struct JwtVerifier {
    keys: Keys,
    rules: Rules,
}

/// Verifies each call's bearer token and puts its [`Claims`] in the request extensions; see
/// the [module docs](self).
pub type JwtAuth<S> = Admitted<S, Arc<JwtVerifier>>;

impl Admission for Arc<JwtVerifier> {
    fn admit<B>(&self, request: &mut http::Request<B>) -> Result<(), tonic::Status> {
        match self.check(request) {
            Ok(Some(claims)) => {
                request.extensions_mut().insert(claims);
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(rejection) => {
                tracing::debug!(
                    target: "bia::auth",
                    path = request.uri().path(),
                    reason = rejection.reason(),
                    "call refused"
                );
                Err(rejection.into_status())
            }
        }
    }
}

impl JwtVerifier {
    /// The claims to attach (`None` for a call that needs no token), or why the call is refused.
    fn check<B>(&self, request: &http::Request<B>) -> Result<Option<Claims>, Rejection> {
        let (name, service, builtin) = match request.extensions().get::<CallInfo>() {
            Some(call) => (call.method.name, call.method.service, call.method.builtin),
            // Outside a Bia server's stack: the method from the path.
            None => {
                let name = request.uri().path().trim_start_matches('/');
                let service = name.split_once('/').map_or("", |(service, _)| service);
                (name, service, BUILTIN_SERVICES.contains(&service))
            }
        };
        if builtin {
            return Ok(None);
        }
        let scopes = match self.rules.access(name, service) {
            Access::Public => return Ok(None),
            Access::Token(scopes) => scopes,
        };
        let claims = self.keys.verify(bearer_token(request.headers())?)?;
        if !scopes.iter().all(|scope| claims.has_scope(scope)) {
            let missing = scopes
                .iter()
                .filter(|scope| !claims.has_scope(scope))
                .map(|scope| scope.to_string())
                .collect();
            return Err(Rejection::MissingScopes(missing));
        }
        Ok(Some(claims))
    }
}

/// The token of `authorization: Bearer <token>` (the scheme in any case).
fn bearer_token(headers: &http::HeaderMap) -> Result<&str, Rejection> {
    let value = headers
        .get(http::header::AUTHORIZATION)
        .ok_or(Rejection::Missing)?;
    let value = value.to_str().map_err(|_| Rejection::NotBearer)?;
    let (scheme, token) = value
        .trim_start()
        .split_once(' ')
        .ok_or(Rejection::NotBearer)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(Rejection::NotBearer);
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use tower::ServiceExt;
    use tower_layer::Layer;

    use super::*;

    /// The layer over a plain tower service, with no `CallInfo`: the method comes from the path.
    #[tokio::test]
    async fn outside_a_bia_stack_the_path_names_the_method() {
        let config = JwtConfig {
            secret: Some(Secret::new("0123456789abcdef0123456789abcdef")),
            public_methods: vec!["pkg.Open/*".into()],
            ..JwtConfig::default()
        };
        let layer = JwtLayer::new(&config).unwrap();
        let service = layer.layer(tower::service_fn(|_: http::Request<()>| async {
            Ok::<_, Infallible>(http::Response::new(tonic::body::Body::empty()))
        }));
        let status_of = |path: &'static str| {
            let service = service.clone();
            async move {
                let request = http::Request::builder().uri(path).body(()).unwrap();
                let response = service.oneshot(request).await.unwrap();
                tonic::Status::from_header_map(response.headers()).map(|s| s.code())
            }
        };
        assert_eq!(status_of("/pkg.Open/Get").await, None);
        assert_eq!(status_of("/grpc.health.v1.Health/Check").await, None);
        assert_eq!(
            status_of("/pkg.Closed/Get").await,
            Some(tonic::Code::Unauthenticated)
        );
    }

    fn headers(value: &str) -> http::HeaderMap {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::AUTHORIZATION, value.parse().unwrap());
        headers
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for value in ["Bearer abc", "bearer abc", "BEARER  abc ", " Bearer abc"] {
            assert_eq!(bearer_token(&headers(value)).unwrap(), "abc", "{value:?}");
        }
        for value in ["Basic abc", "Bearer", "Bearer  ", "abc", "Bearerabc"] {
            assert!(
                matches!(bearer_token(&headers(value)), Err(Rejection::NotBearer)),
                "{value:?}"
            );
        }
        assert!(matches!(
            bearer_token(&http::HeaderMap::new()),
            Err(Rejection::Missing)
        ));
    }
}
