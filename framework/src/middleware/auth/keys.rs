//! The verification keys, decoded once at start, and the checks each token goes through.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use jsonwebtoken::crypto::CryptoProvider;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey, Validation};

use super::claims::Claims;
use super::config::JwtConfig;
use super::reject::Rejection;
use crate::build_error::BuildError;

const RSA_ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

/// RFC 7518 section 3.2: an HS256 key is at least as long as the hash.
const MIN_SECRET_BYTES: usize = 32;
const MIN_RSA_BITS: usize = 2048;
/// More clock skew than this would accept long-expired tokens.
const MAX_LEEWAY: Duration = Duration::from_secs(600);

/// Where the keys came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Source {
    Secret,
    PublicKeyFile,
    Jwks,
}

/// One verification key and the validation that goes with it.
struct Key {
    decoding: DecodingKey,
    validation: Validation,
    /// The algorithms it accepts, for messages: `RS256, RS384, ...`.
    allowed: String,
}

/// Every verification key, decoded once.
pub(super) struct Keys {
    source: Source,
    keys: Vec<Key>,
    /// For a JWKS: key index by `kid`.
    by_kid: Option<HashMap<Box<str>, usize>>,
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("source", &self.source)
            .field("keys", &self.keys.len())
            .finish()
    }
}

impl Keys {
    /// Loads the key source of `config`: exactly one must be set.
    pub(super) fn load(config: &JwtConfig) -> Result<Self, BuildError> {
        if CryptoProvider::try_get_default().is_none() {
            return Err(BuildError::new(
                "auth.jwt: jsonwebtoken has no default crypto provider (both its `rust_crypto` \
                 and `aws_lc_rs` features are on): install one with \
                 jsonwebtoken::crypto::CryptoProvider::install_default before building the layer",
            ));
        }
        let set: Vec<&str> = [
            config.secret.as_ref().map(|_| "secret"),
            config.public_key_file.as_ref().map(|_| "public_key_file"),
            config.jwks_file.as_ref().map(|_| "jwks_file"),
        ]
        .into_iter()
        .flatten()
        .collect();
        if set.len() > 1 {
            return Err(BuildError::new(format!(
                "auth.jwt: {} are set, but a service verifies tokens with one key source: \
                 keep one of them",
                set.join(" and ")
            )));
        }
        if config.leeway > MAX_LEEWAY {
            return Err(BuildError::new(format!(
                "auth.jwt.leeway = {:?} is more than {:?}: it allows for clock skew, which is \
                 seconds, and a larger one accepts tokens long after they expire",
                humantime_serde::re::humantime::format_duration(config.leeway).to_string(),
                humantime_serde::re::humantime::format_duration(MAX_LEEWAY).to_string(),
            )));
        }
        let base = base_validation(config);
        if let Some(secret) = &config.secret {
            let key = secret_key(secret.expose().as_bytes())?;
            return Ok(Self::single(
                Source::Secret,
                key,
                &[Algorithm::HS256],
                &base,
            ));
        }
        if let Some(path) = &config.public_key_file {
            let (key, algorithms) = pem_key(path)?;
            return Ok(Self::single(Source::PublicKeyFile, key, algorithms, &base));
        }
        if let Some(path) = &config.jwks_file {
            return jwks(path, &base);
        }
        Err(BuildError::new(
            "auth.jwt: no key source: set auth.jwt.secret (HS256), auth.jwt.public_key_file \
             (a PEM public key) or auth.jwt.jwks_file (a JWKS JSON file)",
        ))
    }

    fn single(
        source: Source,
        key: DecodingKey,
        algorithms: &[Algorithm],
        base: &Validation,
    ) -> Self {
        Self {
            source,
            keys: vec![make_key(key, algorithms, base)],
            by_kid: None,
        }
    }

    pub(super) fn source(&self) -> Source {
        self.source
    }

    pub(super) fn len(&self) -> usize {
        self.keys.len()
    }

    /// Verifies `token` (signature, algorithm, `exp`, `nbf`, `iss`, `aud`) and returns its claims.
    pub(super) fn verify(&self, token: &str) -> Result<Claims, Rejection> {
        let key = match &self.by_kid {
            None => &self.keys[0],
            Some(by_kid) => {
                let header =
                    jsonwebtoken::decode_header(token).map_err(|_| Rejection::Malformed)?;
                match header.kid {
                    Some(kid) => match by_kid.get(kid.as_str()) {
                        Some(&index) => &self.keys[index],
                        None => return Err(Rejection::UnknownKey),
                    },
                    None if self.keys.len() == 1 => &self.keys[0],
                    None => return Err(Rejection::NoKeyId),
                }
            }
        };
        match jsonwebtoken::decode::<Claims>(token, &key.decoding, &key.validation) {
            Ok(data) => Ok(data.claims),
            Err(error) => Err(match error.into_kind() {
                ErrorKind::InvalidSignature => Rejection::BadSignature,
                ErrorKind::ExpiredSignature => Rejection::Expired,
                ErrorKind::ImmatureSignature => Rejection::NotYetValid,
                ErrorKind::InvalidIssuer => Rejection::WrongIssuer,
                ErrorKind::InvalidAudience => Rejection::WrongAudience,
                ErrorKind::MissingRequiredClaim(claim) => Rejection::MissingClaim(claim),
                ErrorKind::InvalidClaimFormat(claim) => Rejection::BadClaim(claim),
                ErrorKind::InvalidAlgorithm => match jsonwebtoken::decode_header(token) {
                    Ok(header) => Rejection::Algorithm {
                        used: header.alg,
                        allowed: key.allowed.clone(),
                    },
                    Err(_) => Rejection::Malformed,
                },
                ErrorKind::InvalidToken
                | ErrorKind::Base64(_)
                | ErrorKind::Json(_)
                | ErrorKind::Utf8(_) => Rejection::Malformed,
                _ => Rejection::Invalid,
            }),
        }
    }
}

fn base_validation(config: &JwtConfig) -> Validation {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = config.leeway.as_secs();
    validation.validate_exp = true;
    validation.validate_nbf = true;
    let mut required = vec!["exp"];
    if let Some(issuer) = &config.issuer {
        validation.set_issuer(&[issuer]);
        required.push("iss");
    }
    match &config.audience {
        Some(audience) => {
            validation.set_audience(&[audience]);
            required.push("aud");
        }
        None => validation.validate_aud = false,
    }
    validation.set_required_spec_claims(&required);
    validation
}

fn make_key(decoding: DecodingKey, algorithms: &[Algorithm], base: &Validation) -> Key {
    let mut validation = base.clone();
    validation.algorithms = algorithms.to_vec();
    let allowed = algorithms
        .iter()
        .map(|alg| format!("{alg:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    Key {
        decoding,
        validation,
        allowed,
    }
}

fn secret_key(secret: &[u8]) -> Result<DecodingKey, BuildError> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(BuildError::new(format!(
            "auth.jwt.secret is {} bytes long; an HS256 secret needs at least {MIN_SECRET_BYTES} \
             (RFC 7518, section 3.2): use a longer random one",
            secret.len()
        )));
    }
    DecodingKey::from_secret(secret)
        .map_err(|e| BuildError::caused_by("auth.jwt.secret is not a valid HS256 key", e))
}

fn read(what: &str, path: &Path) -> Result<Vec<u8>, BuildError> {
    std::fs::read(path).map_err(|e| {
        BuildError::caused_by(
            format!("auth.jwt.{what}: cannot read {}: {e}", path.display()),
            e,
        )
    })
}

/// A PEM public key and the algorithms it may verify.
fn pem_key(path: &Path) -> Result<(DecodingKey, &'static [Algorithm]), BuildError> {
    let what = "public_key_file";
    let bytes = read(what, path)?;
    let invalid = |why: &str| BuildError::new(format!("auth.jwt.{what}: {} {why}", path.display()));
    let text = String::from_utf8_lossy(&bytes);
    if text.contains("PRIVATE KEY-----") {
        return Err(invalid(
            "holds a private key: give the verification (public) key, e.g. from \
             `openssl pkey -in private.pem -pubout`",
        ));
    }
    if let Ok(key) = DecodingKey::from_rsa_pem(&bytes) {
        check_rsa(&key).map_err(|why| invalid(&why))?;
        return Ok((key, RSA_ALGORITHMS));
    }
    if let Ok(key) = DecodingKey::from_ec_pem(&bytes) {
        let algorithm = check_ec(&key).map_err(|why| invalid(&why))?;
        return Ok((key, algorithm));
    }
    if DecodingKey::from_ed_pem(&bytes).is_ok() {
        return Err(invalid(
            "is an Ed25519 key, which Bia does not accept: use an RSA key (RS256) or a P-256 \
             key (ES256)",
        ));
    }
    Err(invalid(
        "is not a PEM public key (`-----BEGIN PUBLIC KEY-----` or `-----BEGIN RSA PUBLIC \
         KEY-----`) of an RSA or EC (P-256, P-384) key",
    ))
}

fn check_rsa(key: &DecodingKey) -> Result<(), String> {
    let provider = CryptoProvider::try_get_default().ok_or("no crypto provider")?;
    let der = key.try_get_as_bytes().map_err(|e| e.to_string())?;
    let (n, _e) = (provider.key_utils.rsa_pub_components_from_public_key)(der)
        .map_err(|_| "is not a valid RSA public key".to_owned())?;
    check_rsa_size(&n)
}

fn check_rsa_size(n: &[u8]) -> Result<(), String> {
    let leading_zeros = n.iter().take_while(|b| **b == 0).count();
    let bits = (n.len() - leading_zeros) * 8;
    if bits < MIN_RSA_BITS {
        return Err(format!(
            "is an RSA key of about {bits} bits: use {MIN_RSA_BITS} bits or more"
        ));
    }
    Ok(())
}

/// The algorithm of an EC public key, by its curve.
fn check_ec(key: &DecodingKey) -> Result<&'static [Algorithm], String> {
    let point = key.try_get_as_bytes().map_err(|e| e.to_string())?;
    let algorithm: &'static [Algorithm] = match point.len() {
        65 => &[Algorithm::ES256],
        97 => &[Algorithm::ES384],
        _ => return Err("is an EC key on a curve other than P-256 and P-384".to_owned()),
    };
    let provider = CryptoProvider::try_get_default().ok_or("no crypto provider")?;
    (provider.verifier_factory)(&algorithm[0], key)
        .map_err(|_| "is not a valid EC public key".to_owned())?;
    Ok(algorithm)
}

fn jwks(path: &Path, base: &Validation) -> Result<Keys, BuildError> {
    let what = "jwks_file";
    let bytes = read(what, path)?;
    let set: JwkSet = serde_json::from_slice(&bytes).map_err(|e| {
        BuildError::caused_by(
            format!(
                "auth.jwt.{what}: {} is not a JWKS file (a JSON object {{\"keys\": [...]}}): {e}",
                path.display()
            ),
            e,
        )
    })?;
    let signing: Vec<(usize, &Jwk)> = set
        .keys
        .iter()
        .enumerate()
        .filter(|(_, jwk)| jwk.common.public_key_use != Some(PublicKeyUse::Encryption))
        .collect();
    if signing.is_empty() {
        return Err(BuildError::new(format!(
            "auth.jwt.{what}: {} has no signing keys",
            path.display()
        )));
    }
    let mut keys = Vec::with_capacity(signing.len());
    let mut by_kid = HashMap::new();
    for (index, jwk) in signing.iter().copied() {
        let name = match &jwk.common.key_id {
            Some(kid) => format!("key {kid:?}"),
            None => format!("key {index}"),
        };
        let invalid = |why: String| {
            BuildError::new(format!("auth.jwt.{what}: {}: {name} {why}", path.display()))
        };
        let (decoding, algorithms) = jwk_key(jwk).map_err(invalid)?;
        match &jwk.common.key_id {
            Some(kid) if by_kid.contains_key(kid.as_str()) => {
                return Err(invalid(
                    "appears twice: give each key its own kid".to_owned(),
                ));
            }
            Some(kid) => {
                by_kid.insert(kid.clone().into_boxed_str(), keys.len());
            }
            None if signing.len() > 1 => {
                return Err(invalid(
                    "has no kid: with several keys, each needs a kid for tokens to name it"
                        .to_owned(),
                ));
            }
            None => {}
        }
        keys.push(make_key(decoding, &algorithms, base));
    }
    Ok(Keys {
        source: Source::Jwks,
        keys,
        by_kid: Some(by_kid),
    })
}

/// A JWK's decoding key and the algorithms it may verify: those of its type (and curve),
/// narrowed to its `alg` when it has one.
fn jwk_key(jwk: &Jwk) -> Result<(DecodingKey, Vec<Algorithm>), String> {
    let (family, mut algorithms): (&str, Vec<Algorithm>) = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => ("an RSA key", RSA_ALGORITHMS.to_vec()),
        AlgorithmParameters::EllipticCurve(params) => match params.curve {
            EllipticCurve::P256 => ("a P-256 key", vec![Algorithm::ES256]),
            EllipticCurve::P384 => ("a P-384 key", vec![Algorithm::ES384]),
            ref other => {
                return Err(format!(
                    "is an EC key on {other:?}, which Bia does not accept: use P-256 (ES256) \
                     or P-384 (ES384)"
                ));
            }
        },
        AlgorithmParameters::OctetKey(_) => {
            return Err(
                "is a symmetric key (kty \"oct\"), which a JWKS file may not hold: \
                 put an HS256 secret in auth.jwt.secret instead"
                    .to_owned(),
            );
        }
        AlgorithmParameters::OctetKeyPair(_) => {
            return Err(
                "is an OKP (Ed25519) key, which Bia does not accept: use RSA (RS256) \
                 or EC P-256 (ES256)"
                    .to_owned(),
            );
        }
        _ => {
            return Err("has a key type (kty) Bia does not know: use RSA or EC".to_owned());
        }
    };
    if let Some(alg) = jwk.common.key_algorithm {
        let alg = Algorithm::try_from(alg)
            .map_err(|_| format!("says alg {alg}, which is not a signature algorithm"))?;
        if !algorithms.contains(&alg) {
            return Err(format!(
                "says alg {alg:?}, but it is {family}, which verifies {} only: fix its alg or \
                 its key",
                algorithms
                    .iter()
                    .map(|a| format!("{a:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        algorithms = vec![alg];
    }
    let decoding = DecodingKey::from_jwk(jwk).map_err(|_| format!("is not a valid {family}"))?;
    match decoding.family() {
        AlgorithmFamily::Rsa => match &jwk.algorithm {
            AlgorithmParameters::RSA(params) => {
                let n = base64_url_len(&params.n);
                if n * 8 < MIN_RSA_BITS {
                    return Err(format!(
                        "is an RSA key of about {} bits: use {MIN_RSA_BITS} bits or more",
                        n * 8
                    ));
                }
            }
            _ => unreachable!("an RSA decoding key comes from RSA parameters"),
        },
        _ => {
            let provider = CryptoProvider::try_get_default().ok_or("no crypto provider")?;
            (provider.verifier_factory)(&algorithms[0], &decoding)
                .map_err(|_| format!("is not a valid {family}"))?;
        }
    }
    Ok((decoding, algorithms))
}

/// The decoded length of unpadded base64url text.
fn base64_url_len(text: &str) -> usize {
    text.trim_end_matches('=').len() * 3 / 4
}
