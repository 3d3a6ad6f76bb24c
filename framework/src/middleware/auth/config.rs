//! `[auth.jwt]`: where the verification keys come from and what a token must say.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// `[auth.jwt]`. JWT authentication is on when one key source is set: [`secret`](Self::secret),
/// [`public_key_file`](Self::public_key_file) or [`jwks_file`](Self::jwks_file).
///
/// ```
/// let config = bia::Config::builder("demo")
///     .env(false)
///     .toml(
///         r#"
///         [auth.jwt]
///         issuer = "https://id.example.com"
///         audience = "user-service"
///         public_key_file = "config/jwt.pem"
///         leeway = "10s"
///         public_methods = ["user.v1.UserService/GetUser"]
///         scopes."user.v1.UserService/DeleteUser" = ["users:write"]
///         "#,
///     )
///     .build()
///     .unwrap();
/// let jwt: bia::middleware::auth::JwtConfig = config.section("auth.jwt").unwrap();
/// assert_eq!(jwt.leeway, std::time::Duration::from_secs(10));
/// assert!(jwt.is_enabled());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JwtConfig {
    /// The `iss` every token must carry; unset: any issuer.
    pub issuer: Option<String>,
    /// The `aud` every token must carry (one of them, when the token lists several); unset: the
    /// audience is not checked, so a token issued for another service is accepted too.
    pub audience: Option<String>,
    /// The HS256 shared secret (its UTF-8 bytes). Prefer `BIA_AUTH__JWT__SECRET` to a file.
    pub secret: Option<Secret>,
    /// A PEM public key (`PUBLIC KEY` or `RSA PUBLIC KEY`): RSA for RS256 (and RS384, RS512,
    /// PS256, PS384, PS512), P-256 for ES256, P-384 for ES384.
    pub public_key_file: Option<PathBuf>,
    /// A JWKS file (`{"keys": [...]}`) of RSA and EC public keys; a token picks its key by `kid`.
    pub jwks_file: Option<PathBuf>,
    /// Clock skew allowed when checking `exp` and `nbf`; at most 10 minutes.
    #[serde(with = "humantime_serde")]
    pub leeway: Duration,
    /// Methods that need no token: `pkg.Service/Method`, or `pkg.Service/*` for a whole service.
    /// Bia's health and reflection services never need one.
    pub public_methods: Vec<String>,
    /// The scopes a method requires (all of them), by `pkg.Service/Method` or `pkg.Service/*`;
    /// a token grants scopes in its `scope` claim (space separated) or its `scp` claim (a list).
    pub scopes: BTreeMap<String, Vec<String>>,
}

impl JwtConfig {
    /// Whether a key source is configured, which turns JWT authentication on.
    pub fn is_enabled(&self) -> bool {
        self.secret.is_some() || self.public_key_file.is_some() || self.jwks_file.is_some()
    }
}

impl Default for JwtConfig {
    fn default() -> Self {
        Self {
            issuer: None,
            audience: None,
            secret: None,
            public_key_file: None,
            jwks_file: None,
            leeway: Duration::from_secs(30),
            public_methods: Vec::new(),
            scopes: BTreeMap::new(),
        }
    }
}

/// A shared secret: its `Debug` never shows it, and it does not serialize.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps `secret`.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Secret {
    fn from(secret: &str) -> Self {
        Self::new(secret)
    }
}

impl From<String> for Secret {
    fn from(secret: String) -> Self {
        Self(secret)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}
