//! The verified claims of a call's token, in its request extensions.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// The claims of the verified token of a call, in its request extensions: the registered claims
/// through typed accessors, every claim (custom ones too) through [`get`](Self::get),
/// [`as_map`](Self::as_map) and [`deserialize`](Self::deserialize).
///
/// ```
/// use bia::middleware::auth::Claims;
///
/// fn caller<T>(request: &tonic::Request<T>) -> Result<&str, tonic::Status> {
///     let claims = request
///         .extensions()
///         .get::<Claims>()
///         .ok_or_else(|| tonic::Status::unauthenticated("no token"))?;
///     claims
///         .subject()
///         .ok_or_else(|| tonic::Status::permission_denied("the token names no subject"))
/// }
/// # let _ = caller::<()>;
/// ```
///
/// It holds what the token says, never the token itself.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct Claims {
    map: Map<String, Value>,
}

impl Claims {
    /// Claims from a JSON object (for tests of handlers that read them).
    pub fn from_map(map: Map<String, Value>) -> Self {
        Self { map }
    }

    /// `sub`: whom the token is about.
    pub fn subject(&self) -> Option<&str> {
        self.string("sub")
    }

    /// `iss`: who issued the token.
    pub fn issuer(&self) -> Option<&str> {
        self.string("iss")
    }

    /// `aud`: whom the token is for (one string or a list in the token).
    pub fn audience(&self) -> impl Iterator<Item = &str> {
        strings(self.map.get("aud"))
    }

    /// `exp`: when the token expires.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.time("exp")
    }

    /// `nbf`: when the token becomes valid.
    pub fn not_before(&self) -> Option<SystemTime> {
        self.time("nbf")
    }

    /// `iat`: when the token was issued.
    pub fn issued_at(&self) -> Option<SystemTime> {
        self.time("iat")
    }

    /// `jti`: the token's unique id.
    pub fn id(&self) -> Option<&str> {
        self.string("jti")
    }

    /// The granted scopes: the `scope` claim (space separated) and the `scp` claim (a list, or
    /// a space-separated string).
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        let scope = self
            .string("scope")
            .into_iter()
            .flat_map(str::split_whitespace);
        let scp = strings(self.map.get("scp")).flat_map(str::split_whitespace);
        scope.chain(scp)
    }

    /// Whether the token grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|granted| granted == scope)
    }

    /// Any claim by name, e.g. `claims.get("tenant")`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.map.get(name)
    }

    /// Every claim.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.map
    }

    /// The claims as a type of your own (`#[derive(Deserialize)] struct MyClaims { .. }`).
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(&self.map)
    }

    fn string(&self, name: &str) -> Option<&str> {
        self.map.get(name).and_then(Value::as_str)
    }

    fn time(&self, name: &str) -> Option<SystemTime> {
        let seconds = self.map.get(name)?;
        let seconds = seconds
            .as_u64()
            .or_else(|| seconds.as_f64().filter(|s| *s >= 0.0).map(|s| s as u64))?;
        UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
    }
}

/// A string, or the strings of a list.
fn strings(value: Option<&Value>) -> impl Iterator<Item = &str> {
    let (one, many) = match value {
        Some(Value::String(s)) => (Some(s.as_str()), None),
        Some(Value::Array(items)) => (None, Some(items.iter().filter_map(Value::as_str))),
        _ => (None, None),
    };
    one.into_iter().chain(many.into_iter().flatten())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(value: Value) -> Claims {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn scopes_come_from_scope_and_scp() {
        let c = claims(serde_json::json!({"scope": "a b", "scp": ["c", "d e"]}));
        assert_eq!(c.scopes().collect::<Vec<_>>(), ["a", "b", "c", "d", "e"]);
        assert!(c.has_scope("c") && !c.has_scope("x"));
        let c = claims(serde_json::json!({"scp": "x y"}));
        assert_eq!(c.scopes().collect::<Vec<_>>(), ["x", "y"]);
    }

    #[test]
    fn registered_claims_are_typed() {
        let c = claims(serde_json::json!({
            "sub": "u1", "iss": "me", "aud": ["a", "b"], "exp": 10, "jti": "j", "tenant": "t"
        }));
        assert_eq!(c.subject(), Some("u1"));
        assert_eq!(c.issuer(), Some("me"));
        assert_eq!(c.audience().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(c.expires_at(), Some(UNIX_EPOCH + Duration::from_secs(10)));
        assert_eq!(c.not_before(), None);
        assert_eq!(c.id(), Some("j"));
        assert_eq!(c.get("tenant"), Some(&Value::from("t")));
        #[derive(Deserialize)]
        struct Mine {
            tenant: String,
        }
        assert_eq!(c.deserialize::<Mine>().unwrap().tenant, "t");
    }
}
