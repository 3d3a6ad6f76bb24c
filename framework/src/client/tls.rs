//! A client's TLS: trust roots, its own certificate for mTLS, and the name to verify.

use std::path::Path;

use tonic::transport::{Certificate, ClientTlsConfig as TonicTls, Identity};

use crate::build_error::BuildError;
use crate::config::ClientTlsConfig;

/// How a client's `https://` endpoints are verified and who it says it is, read once from
/// `[clients.<name>.tls]`.
///
/// ```
/// let tls = bia::client::ClientTls::from_config(&Default::default()).unwrap();
/// # let _ = tls;
/// ```
#[derive(Clone, Debug, Default)]
pub struct ClientTls {
    config: Option<TonicTls>,
}

impl ClientTls {
    /// Reads the files `config` names; an unreadable one is an error naming its key and path.
    pub fn from_config(config: &ClientTlsConfig) -> Result<Self, BuildError> {
        if config == &ClientTlsConfig::default() {
            return Ok(Self::default());
        }
        let mut tls = TonicTls::new();
        tls = match &config.ca_file {
            Some(path) => tls.ca_certificate(Certificate::from_pem(read("tls.ca_file", path)?)),
            None => tls.with_native_roots(),
        };
        match (&config.cert_file, &config.key_file) {
            (Some(cert), Some(key)) => {
                tls = tls.identity(Identity::from_pem(
                    read("tls.cert_file", cert)?,
                    read("tls.key_file", key)?,
                ));
            }
            (None, None) => {}
            _ => {
                return Err(BuildError::new(
                    "tls.cert_file and tls.key_file go together: set both for mTLS, or neither",
                ));
            }
        }
        if let Some(domain) = &config.domain {
            tls = tls.domain_name(domain.clone());
        }
        Ok(Self { config: Some(tls) })
    }

    /// The TLS settings of an `https://` endpoint: the configured ones, else the system's roots.
    pub(crate) fn for_https(&self) -> TonicTls {
        self.config
            .clone()
            .unwrap_or_else(|| TonicTls::new().with_native_roots())
    }
}

fn read(key: &str, path: &Path) -> Result<Vec<u8>, BuildError> {
    std::fs::read(path).map_err(|e| {
        BuildError::caused_by(
            format!("{key} = {:?}: cannot read it", path.display().to_string()),
            e,
        )
    })
}
