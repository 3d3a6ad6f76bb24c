//! TLS for the gRPC and admin servers: rustls from PEM files, read again when they change.
//!
//! The files are read when the App is built, so a missing, unreadable or mismatched file fails
//! the start with the key and the path. While the App runs, a task checks the files' modification
//! times every `reload_interval`; new connections use the new certificate, and a broken update is
//! logged and ignored (the old certificate stays).

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{self, RootCertStore, ServerConfig};

use crate::build_error::BuildError;
use crate::config::ServerTlsConfig;

/// The ALPN protocols a server offers: HTTP/2 for gRPC, HTTP/1.1 for plain HTTP.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// A server's TLS settings, kept current with its files.
pub(crate) struct Tls {
    files: Files,
    current: RwLock<(TlsAcceptor, Stamps)>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls")
            .field("cert", &self.files.cert.1)
            .finish_non_exhaustive()
    }
}

/// Each file with the config key it comes from, for error messages.
#[derive(Clone, Debug)]
struct Files {
    cert: (String, PathBuf),
    key: (String, PathBuf),
    client_ca: Option<(String, PathBuf)>,
    reload_interval: std::time::Duration,
}

/// The files' modification times when they were read.
type Stamps = Vec<Option<SystemTime>>;

impl Tls {
    /// The TLS of the server configured under `section` (`server.grpc`, `server.admin`), or
    /// `None` when it has no `tls.cert_file`.
    pub(crate) fn from_config(
        config: &ServerTlsConfig,
        section: &str,
    ) -> Result<Option<Arc<Self>>, BuildError> {
        let key = |name: &str| format!("{section}.tls.{name}");
        let (cert, private_key) = match (&config.cert_file, &config.key_file) {
            (None, None) if config.client_ca_file.is_none() => return Ok(None),
            (Some(cert), Some(private_key)) => (cert.clone(), private_key.clone()),
            _ => {
                return Err(BuildError::new(format!(
                    "{} and {} go together: set both (PEM files) to serve TLS, or neither",
                    key("cert_file"),
                    key("key_file")
                )));
            }
        };
        let files = Files {
            cert: (key("cert_file"), cert),
            key: (key("key_file"), private_key),
            client_ca: config
                .client_ca_file
                .clone()
                .map(|path| (key("client_ca_file"), path)),
            reload_interval: config.reload_interval,
        };
        let loaded = files.load()?;
        Ok(Some(Arc::new(Self {
            files,
            current: RwLock::new(loaded),
        })))
    }

    /// The acceptor for a new connection.
    pub(crate) fn acceptor(&self) -> TlsAcceptor {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .0
            .clone()
    }

    /// Follows the files until the returned task is aborted.
    pub(crate) fn watch(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let tls = Arc::downgrade(self);
        let interval = self
            .files
            .reload_interval
            .max(std::time::Duration::from_millis(10));
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(tls) = tls.upgrade() else { return };
                tls.reload_if_changed();
            }
        })
    }

    fn reload_if_changed(&self) {
        let stamps = self.files.stamps();
        let changed = {
            let current = self.current.read().unwrap_or_else(|p| p.into_inner());
            current.1 != stamps
        };
        if !changed {
            return;
        }
        match self.files.load() {
            Ok(loaded) => {
                *self.current.write().unwrap_or_else(|p| p.into_inner()) = loaded;
                tracing::info!(cert = %self.files.cert.1.display(), "TLS certificate reloaded");
            }
            Err(e) => {
                // Keep serving with the old certificate; say what is wrong with the new one. The
                // stamps are not updated, so a fix is picked up on the next check.
                tracing::error!(error = %e, "TLS files changed but cannot be used; keeping the old certificate");
            }
        }
    }
}

impl Files {
    fn paths(&self) -> impl Iterator<Item = &Path> {
        [Some(&self.cert), Some(&self.key), self.client_ca.as_ref()]
            .into_iter()
            .flatten()
            .map(|(_, path)| path.as_path())
    }

    fn stamps(&self) -> Stamps {
        self.paths()
            .map(|path| std::fs::metadata(path).and_then(|m| m.modified()).ok())
            .collect()
    }

    fn load(&self) -> Result<(TlsAcceptor, Stamps), BuildError> {
        let stamps = self.stamps();
        let chain = certificates(&self.cert)?;
        let key = private_key(&self.key)?;
        let key_path = &self.key.1;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| BuildError::caused_by("the TLS provider offers no protocol version", e))?;
        let builder = match &self.client_ca {
            None => builder.with_no_client_auth(),
            Some(ca) => {
                let mut roots = RootCertStore::empty();
                for cert in certificates(ca)? {
                    roots.add(cert).map_err(|e| {
                        BuildError::caused_by(
                            format!(
                                "{} = {:?}: not a CA certificate",
                                ca.0,
                                ca.1.display().to_string()
                            ),
                            e,
                        )
                    })?;
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                        .build()
                        .map_err(|e| {
                            BuildError::caused_by(
                                format!("{}: cannot verify clients with it", ca.0),
                                e,
                            )
                        })?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        let mut config = builder.with_single_cert(chain, key).map_err(|e| {
            BuildError::caused_by(
                format!(
                    "{} and {} do not make a certificate and its key ({:?}, {:?})",
                    self.cert.0,
                    self.key.0,
                    self.cert.1.display().to_string(),
                    key_path.display().to_string()
                ),
                e,
            )
        })?;
        config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
        Ok((TlsAcceptor::from(Arc::new(config)), stamps))
    }
}

/// The private key of a PEM file; an unreadable one is an error naming its config key.
pub(crate) fn private_key(
    (key, path): &(String, PathBuf),
) -> Result<PrivateKeyDer<'static>, BuildError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| {
        BuildError::caused_by(
            format!(
                "{key} = {:?}: cannot read a PEM private key (PKCS#8, PKCS#1 or SEC1) from it",
                path.display().to_string()
            ),
            e,
        )
    })
}

/// Every certificate of a PEM file; an empty or unreadable file is an error naming its key.
pub(crate) fn certificates(
    (key, path): &(String, PathBuf),
) -> Result<Vec<CertificateDer<'static>>, BuildError> {
    let shown = path.display().to_string();
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|e| {
            BuildError::caused_by(
                format!("{key} = {shown:?}: cannot read PEM certificates from it"),
                e,
            )
        })?;
    if certs.is_empty() {
        return Err(BuildError::new(format!(
            "{key} = {shown:?}: the file holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        )));
    }
    Ok(certs)
}
