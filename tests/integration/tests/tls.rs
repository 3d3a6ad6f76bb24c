//! TLS and mTLS on the gRPC and admin servers and in bia's client, with certificates made here.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, ExtendedKeyUsagePurpose, IsCa, KeyPair,
};
use support::echo::{self, EchoClient, SayRequest};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A CA and what it signs.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        Self {
            issuer: CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap(),
        }
    }

    /// A certificate for `names` with `usage`, as (certificate PEM, key PEM).
    fn sign(&self, names: &[&str], usage: ExtendedKeyUsagePurpose) -> (String, String) {
        let key = KeyPair::generate().unwrap();
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.extended_key_usages = vec![usage];
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }
}

fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// Server certificate and key files for localhost, signed by `ca`.
fn server_files(dir: &Path, ca: &Ca) -> (PathBuf, PathBuf) {
    let (cert, key) = ca.sign(&["localhost"], ExtendedKeyUsagePurpose::ServerAuth);
    (
        write(dir, "server.pem", &cert),
        write(dir, "server.key", &key),
    )
}

/// A test CA in a temporary folder, its certificate file, and a server's certificate and key
/// files signed by it.
fn pki() -> (tempfile::TempDir, Ca, PathBuf, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("test CA");
    let ca_file = write(dir.path(), "ca.pem", &ca.pem());
    let (cert, key) = server_files(dir.path(), &ca);
    (dir, ca, ca_file, cert, key)
}

fn toml_path(path: &Path) -> String {
    format!("{:?}", path.display().to_string())
}

async fn tls_app(server_tls: &str) -> bia::RunningApp {
    echo::start("tls", server_tls).await
}

/// A bia client of `running` over https with `client_tls` (TOML keys of `[clients.echo.tls]`).
fn client(running: &bia::RunningApp, client_tls: &str) -> EchoClient<bia::client::Channel> {
    let port = running.grpc_addr().port();
    let toml = format!(
        "[clients.echo]\ntarget = \"https://127.0.0.1:{port}\"\ntimeout = \"5s\"\n\
         [clients.echo.tls]\ndomain = \"localhost\"\n{client_tls}"
    );
    EchoClient::new(support::echo_channel("caller", &toml).0)
}

fn say() -> SayRequest {
    echo::say("over tls")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_and_admin_serve_tls_and_the_client_verifies_the_server() {
    let (dir, ca, ca_file, cert, key) = pki();
    let tls = format!(
        "cert_file = {}\nkey_file = {}\n",
        toml_path(&cert),
        toml_path(&key)
    );
    let running = tls_app(&format!(
        "[server.grpc.tls]\n{tls}[server.admin.tls]\n{tls}"
    ))
    .await;

    let reply = client(&running, &format!("ca_file = {}\n", toml_path(&ca_file)))
        .say(say())
        .await
        .unwrap();
    assert_eq!(reply.into_inner().message, "over tls");

    // A client that does not trust the server's CA is refused.
    let other = Ca::new("other CA");
    let other_file = write(dir.path(), "other.pem", &other.pem());
    let err = client(&running, &format!("ca_file = {}\n", toml_path(&other_file)))
        .say(say())
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable, "{err:?}");

    // The admin server speaks HTTPS too.
    let body = admin_get(&running, &ca.pem(), "/healthz").await;
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    running.stop().await.unwrap();
}

/// GETs `path` from the admin server over TLS, trusting `ca_pem`.
async fn admin_get(running: &bia::RunningApp, ca_pem: &str, path: &str) -> String {
    use tokio_rustls::rustls;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile_certs(ca_pem) {
        roots.add(cert).unwrap();
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(running.admin_addr().unwrap())
        .await
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut stream = connector.connect(name, tcp).await.unwrap();
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response).await;
    response
}

fn rustls_pemfile_certs(
    pem: &str,
) -> Vec<tokio_rustls::rustls::pki_types::CertificateDer<'static>> {
    use tokio_rustls::rustls::pki_types::CertificateDer;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<_, _>>()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_refuses_a_client_without_a_certificate() {
    let (dir, ca, ca_file, cert, key) = pki();
    let running = tls_app(&format!(
        "[server.grpc.tls]\ncert_file = {}\nkey_file = {}\nclient_ca_file = {}\n",
        toml_path(&cert),
        toml_path(&key),
        toml_path(&ca_file)
    ))
    .await;
    let trust = format!("ca_file = {}\n", toml_path(&ca_file));

    // With TLS 1.3 the refusal arrives after the client's side of the handshake, as an alert or
    // a closed connection, so the client's status says little more than that the call failed.
    let err = client(&running, &trust).say(say()).await.unwrap_err();
    assert_ne!(
        err.code(),
        tonic::Code::Ok,
        "no client certificate: {err:?}"
    );

    let (client_cert, client_key) = ca.sign(&["caller"], ExtendedKeyUsagePurpose::ClientAuth);
    let identity = format!(
        "{trust}cert_file = {}\nkey_file = {}\n",
        toml_path(&write(dir.path(), "client.pem", &client_cert)),
        toml_path(&write(dir.path(), "client.key", &client_key))
    );
    client(&running, &identity).say(say()).await.unwrap();

    // A certificate from another CA is refused too.
    let (stranger_cert, stranger_key) =
        Ca::new("other").sign(&["stranger"], ExtendedKeyUsagePurpose::ClientAuth);
    let stranger = format!(
        "{trust}cert_file = {}\nkey_file = {}\n",
        toml_path(&write(dir.path(), "stranger.pem", &stranger_cert)),
        toml_path(&write(dir.path(), "stranger.key", &stranger_key))
    );
    let err = client(&running, &stranger).say(say()).await.unwrap_err();
    assert_ne!(err.code(), tonic::Code::Ok, "{err:?}");
    running.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_files_fail_the_build_naming_the_key_and_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::new("test CA");
    let (cert, _) = server_files(dir.path(), &ca);
    let (_, other_key) = ca.sign(&["localhost"], ExtendedKeyUsagePurpose::ServerAuth);
    let other_key = write(dir.path(), "other.key", &other_key);
    let missing = dir.path().join("missing.pem");
    let build = |toml: String| {
        let config = bia::testing::config_with("bad-tls", &toml);
        let err = bia::App::builder(&config).build().unwrap_err();
        let mut text = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            text.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        text
    };
    let (cert, other_key, missing) = (toml_path(&cert), toml_path(&other_key), toml_path(&missing));
    for (toml, names) in [
        (
            format!("[server.grpc.tls]\ncert_file = {cert}\nkey_file = {other_key}\n"),
            &["server.grpc.tls.cert_file", "other.key"][..],
        ),
        (
            format!("[server.admin.tls]\ncert_file = {missing}\nkey_file = {other_key}\n"),
            &["server.admin.tls.cert_file", "missing.pem"],
        ),
        (
            format!("[server.grpc.tls]\ncert_file = {cert}\n"),
            &["server.grpc.tls.key_file"],
        ),
    ] {
        support::assert_contains(&build(toml), names);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_certificate_is_served_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = Ca::new("first CA");
    let second = Ca::new("second CA");
    let (cert, key) = server_files(dir.path(), &first);
    let running = tls_app(&format!(
        "[server.grpc.tls]\ncert_file = {}\nkey_file = {}\nreload_interval = \"100ms\"\n",
        toml_path(&cert),
        toml_path(&key)
    ))
    .await;
    let second_file = write(dir.path(), "second.pem", &second.pem());
    let trusts_second = format!("ca_file = {}\n", toml_path(&second_file));
    assert!(client(&running, &trusts_second).say(say()).await.is_err());

    // Replace both files (a new modification time), as a certificate renewal does.
    tokio::time::sleep(Duration::from_millis(20)).await;
    server_files(dir.path(), &second);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        if client(&running, &trusts_second).say(say()).await.is_ok() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the new certificate was never served"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    running.stop().await.unwrap();
}
