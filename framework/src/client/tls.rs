//! A client's TLS: trust roots, its own certificate for mTLS, and the name to verify.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

use crate::build_error::BuildError;
use crate::config::ClientTlsConfig;
use crate::server::tls::{certificates, private_key};

/// The only protocol a gRPC client offers in ALPN.
const ALPN_H2: &[u8] = b"h2";

/// How a client's `https://` endpoints are verified and who it says it is, read once from
/// `[clients.<name>.tls]`.
///
/// ```
/// let tls = bia::client::ClientTls::from_config(&Default::default()).unwrap();
/// # let _ = tls;
/// ```
#[derive(Clone, Debug, Default)]
pub struct ClientTls {
    /// The configured settings; `None` when `[clients.<name>.tls]` is empty, and an `https://`
    /// endpoint then trusts the system's roots.
    config: Option<Arc<ClientConfig>>,
    /// The name to verify instead of the endpoint's host.
    domain: Option<String>,
}

/// What an `https://` endpoint connects with: the settings and the name its certificate must
/// carry.
#[derive(Clone, Debug)]
pub(crate) struct EndpointTls {
    /// Trust roots, the client's own certificate, ALPN `h2`.
    pub(crate) config: Arc<ClientConfig>,
    /// The name the server's certificate must carry.
    pub(crate) name: ServerName<'static>,
}

impl ClientTls {
    /// Reads the files `config` names; an unreadable one is an error naming its key and path.
    pub fn from_config(config: &ClientTlsConfig) -> Result<Self, BuildError> {
        if config == &ClientTlsConfig::default() {
            return Ok(Self::default());
        }
        let file = |key: &str, path: &PathBuf| (format!("tls.{key}"), path.clone());
        let roots = match &config.ca_file {
            Some(path) => {
                let mut roots = RootCertStore::empty();
                for cert in certificates(&file("ca_file", path))? {
                    roots.add(cert).map_err(|e| {
                        BuildError::caused_by(
                            format!(
                                "tls.ca_file = {:?}: not a CA certificate",
                                path.display().to_string()
                            ),
                            e,
                        )
                    })?;
                }
                roots
            }
            None => native_roots(),
        };
        let builder = builder()?.with_root_certificates(roots);
        let tls = match (&config.cert_file, &config.key_file) {
            (Some(cert), Some(key)) => {
                let chain = certificates(&file("cert_file", cert))?;
                let key_der = private_key(&file("key_file", key))?;
                builder.with_client_auth_cert(chain, key_der).map_err(|e| {
                    BuildError::caused_by(
                        format!(
                            "tls.cert_file and tls.key_file do not make a certificate and its \
                             key ({:?}, {:?})",
                            cert.display().to_string(),
                            key.display().to_string()
                        ),
                        e,
                    )
                })?
            }
            (None, None) => builder.with_no_client_auth(),
            _ => {
                return Err(BuildError::new(
                    "tls.cert_file and tls.key_file go together: set both for mTLS, or neither",
                ));
            }
        };
        if let Some(domain) = &config.domain {
            ServerName::try_from(domain.clone()).map_err(|e| {
                BuildError::caused_by(
                    format!("tls.domain = {domain:?}: not a DNS name or an IP address"),
                    e,
                )
            })?;
        }
        Ok(Self {
            config: Some(Arc::new(with_alpn(tls))),
            domain: config.domain.clone(),
        })
    }

    /// The TLS of an `https://` endpoint on `host`: the configured settings, else the system's
    /// roots; the name to verify is `tls.domain` if set, else `host`.
    pub(crate) fn for_host(&self, host: &str) -> Result<EndpointTls, BuildError> {
        let config = match &self.config {
            Some(config) => Arc::clone(config),
            None => system_roots_config()?,
        };
        let shown = self.domain.as_deref().unwrap_or(host);
        // An IPv6 host comes bracketed from the URI; its certificate names the bare address.
        let bare = shown.trim_start_matches('[').trim_end_matches(']');
        let name = ServerName::try_from(bare.to_owned()).map_err(|e| {
            BuildError::caused_by(
                format!("{shown:?} is not a name a certificate can carry: set tls.domain"),
                e,
            )
        })?;
        Ok(EndpointTls { config, name })
    }
}

/// The settings of an `https://` endpoint with no `[clients.<name>.tls]`: the system's roots,
/// read from disk once per process rather than for every endpoint discovery adds.
fn system_roots_config() -> Result<Arc<ClientConfig>, BuildError> {
    static SYSTEM: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    if let Some(config) = SYSTEM.get() {
        return Ok(Arc::clone(config));
    }
    let config = Arc::new(with_alpn(
        builder()?
            .with_root_certificates(native_roots())
            .with_no_client_auth(),
    ));
    Ok(Arc::clone(SYSTEM.get_or_init(|| config)))
}

fn builder() -> Result<rustls::ConfigBuilder<ClientConfig, rustls::WantsVerifier>, BuildError> {
    ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| BuildError::caused_by("the TLS provider offers no protocol version", e))
}

fn with_alpn(mut config: ClientConfig) -> ClientConfig {
    config.alpn_protocols = vec![ALPN_H2.to_vec()];
    config
}

/// The system's trust roots. Certificates it cannot parse are skipped, as browsers do; with
/// none at all, connections fail to verify their server, and a warning says what to do.
fn native_roots() -> RootCertStore {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        let why = found
            .errors
            .first()
            .map_or_else(|| "none are installed".to_owned(), ToString::to_string);
        tracing::warn!(
            "no system trust roots for https:// endpoints ({why}): install ca-certificates or set \
             tls.ca_file"
        );
    }
    roots
}
