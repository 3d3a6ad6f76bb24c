//! Opening the channel: plaintext HTTP/2 or TLS (rustls, as the workspace's tonic is built),
//! with the CA, client certificate, authority and verification the options ask for.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity, Uri};

use super::error::{CallError, Result};
use super::insecure::AcceptAnyServerCert;
use super::target::Target;

/// How to reach the server, checked.
#[derive(Debug)]
pub(crate) struct Connection {
    /// The address.
    pub(crate) target: Target,
    /// `:authority` of every request and the TLS server name, instead of the address's host.
    pub(crate) authority: Option<String>,
    /// Trust these CA certificates (PEM) instead of the system's roots.
    pub(crate) ca_file: Option<PathBuf>,
    /// Present this certificate chain and key (PEM) for mTLS.
    pub(crate) identity: Option<(PathBuf, PathBuf)>,
    /// Do not verify the server's certificate.
    pub(crate) insecure: bool,
    /// How long connecting may take.
    pub(crate) connect_timeout: Duration,
}

impl Connection {
    /// Connects, so that a server that is not there is reported before anything else happens.
    pub(crate) async fn connect(&self) -> Result<Channel> {
        let mut endpoint = Endpoint::from(self.target.uri.clone())
            .connect_timeout(self.connect_timeout)
            .user_agent(concat!("bia-call/", env!("CARGO_PKG_VERSION")))
            .expect("a static user agent is a valid header");
        if let Some(authority) = &self.authority {
            let origin: Uri = format!("{}://{authority}", self.target.uri.scheme_str().unwrap())
                .parse()
                .map_err(|e| CallError::usage(format!("invalid --authority `{authority}`: {e}")))?;
            endpoint = endpoint.origin(origin);
        }
        if self.target.tls() {
            endpoint = self.tls(endpoint)?;
        }
        endpoint.connect().await.map_err(|err| CallError::Connect {
            target: self.target.uri.to_string(),
            reason: chain(&err),
            hint: self.hint(),
        })
    }

    fn tls(&self, endpoint: Endpoint) -> Result<Endpoint> {
        let server_name = match &self.authority {
            // The name to verify is the authority without its port.
            Some(authority) => authority
                .parse::<tonic::transport::Uri>()
                .ok()
                .and_then(|uri| uri.host().map(str::to_owned))
                .unwrap_or_else(|| authority.clone()),
            None => self.target.host.clone(),
        };
        let mut config = ClientTlsConfig::new()
            .domain_name(server_name)
            .timeout(self.connect_timeout);
        if let Some((cert, key)) = &self.identity {
            config = config.identity(Identity::from_pem(read(cert)?, read(key)?));
        }
        let tls_error = |e: tonic::transport::Error| {
            CallError::usage(format!("invalid TLS options: {}", chain(&e)))
        };
        if self.insecure {
            return endpoint
                .tls_config_with_verifier(config, Arc::new(AcceptAnyServerCert::new()))
                .map_err(tls_error);
        }
        config = match &self.ca_file {
            Some(ca) => config.ca_certificate(Certificate::from_pem(read(ca)?)),
            None => config.with_native_roots(),
        };
        endpoint.tls_config(config).map_err(tls_error)
    }

    fn hint(&self) -> &'static str {
        if self.target.tls() {
            "check the address, that the server serves TLS there, and --cacert/--authority \
             (--insecure skips verification); use http:// or --plaintext for a plaintext server"
        } else {
            "check the address and that the server runs; for a TLS server use https:// or --tls"
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| CallError::Read {
        path: path.to_owned(),
        source,
    })
}

/// An error and its causes, `outer: inner: root`: tonic's transport errors say little alone.
pub(crate) fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}
