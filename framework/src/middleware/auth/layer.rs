//! The layer of [`JwtAuth`].

use std::fmt;
use std::sync::Arc;

use crate::impls::layer_wraps;

use super::config::JwtConfig;
use super::keys::Keys;
use super::rules::Rules;
use super::{JwtAuth, JwtVerifier};
use crate::build_error::BuildError;
use crate::config::Config;

/// Applies [`JwtAuth`]: verifies each call's bearer token against keys decoded once, here.
///
/// ```
/// let config = bia::Config::builder("demo")
///     .env(false)
///     .toml("[auth.jwt]\nsecret = \"0123456789abcdef0123456789abcdef\"\n")
///     .build()
///     .unwrap();
/// let layer = bia::middleware::JwtLayer::from_config(&config).unwrap();
/// assert!(layer.is_some());
///
/// let plain = bia::Config::builder("demo").env(false).build().unwrap();
/// let none = bia::middleware::JwtLayer::from_config(&plain).unwrap();
/// assert!(none.is_none(), "no [auth.jwt] key source: no JWT authentication");
/// ```
#[derive(Clone)]
pub struct JwtLayer {
    verifier: Arc<JwtVerifier>,
}

impl JwtLayer {
    /// The layer for `[auth.jwt]` of `config`, or `None` when it sets no key source. A section
    /// with settings (issuer, scopes, ...) but no key source is an error rather than silently
    /// no authentication.
    pub fn from_config(config: &Config) -> Result<Option<Self>, BuildError> {
        let jwt: JwtConfig = config.section("auth.jwt")?;
        if !jwt.is_enabled() {
            if jwt != JwtConfig::default() {
                return Err(BuildError::new(
                    "auth.jwt is configured but has no key source, so no call would be \
                     authenticated: set auth.jwt.secret (HS256), auth.jwt.public_key_file (a PEM \
                     public key) or auth.jwt.jwks_file (a JWKS JSON file)",
                ));
            }
            return Ok(None);
        }
        Self::new(&jwt).map(Some)
    }

    /// The layer for `config`, which must set exactly one key source.
    pub fn new(config: &JwtConfig) -> Result<Self, BuildError> {
        let keys = Keys::load(config)?;
        let rules = Rules::new(config)?;
        Ok(Self {
            verifier: Arc::new(JwtVerifier { keys, rules }),
        })
    }
}

impl fmt::Debug for JwtLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtLayer")
            .field("source", &self.verifier.keys.source())
            .field("keys", &self.verifier.keys.len())
            .finish_non_exhaustive()
    }
}

layer_wraps!(JwtLayer => JwtAuth { admission: verifier });
