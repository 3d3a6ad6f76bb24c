//! `bia call` over TLS and mTLS, with certificates made here.

use std::path::Path;

use crate::bin::{args, bia};
use crate::service::{addr, start};
use crate::support;

/// A self-signed certificate for `name`: (certificate PEM, key PEM).
fn self_signed(name: &str) -> (String, String) {
    let certified = rcgen::generate_simple_self_signed(vec![name.to_owned()]).unwrap();
    (certified.cert.pem(), certified.signing_key.serialize_pem())
}

fn write(dir: &Path, name: &str, contents: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_ca_file_an_authority_insecure_and_mtls() {
    let dir = tempfile::tempdir().unwrap();
    let (server_cert, server_key) = self_signed("localhost");
    let (client_cert, client_key) = self_signed("caller");
    let server_pem = write(dir.path(), "server.pem", &server_cert);
    let server_key = write(dir.path(), "server.key", &server_key);
    let client_pem = write(dir.path(), "client.pem", &client_cert);
    let client_key = write(dir.path(), "client.key", &client_key);
    let running = start(&format!(
        "[server.grpc.tls]\ncert_file = {server_pem:?}\nkey_file = {server_key:?}\n\
         client_ca_file = {client_pem:?}\n"
    ))
    .await;
    let https = format!("https://{}", addr(&running));
    let say = ["echo.v1.Echo/Say", "-d", r#"{"message": "whoami"}"#];
    let with = |extra: &[&str]| {
        let mut all = args(&https, extra);
        all.extend(say.iter().map(|s| s.to_string()));
        all
    };

    // The server's certificate names localhost, not 127.0.0.1: --authority says which name.
    let client = [
        "--authority",
        "localhost",
        "--cert",
        &client_pem,
        "--key",
        &client_key,
    ];
    let mtls = [&["--cacert", server_pem.as_str()][..], &client].concat();
    let replies = bia(with(&mtls), "").await.replies();
    support::assert_contains(replies[0]["message"].as_str().unwrap(), &["tenant="]);

    // --insecure skips verifying the server, and still presents the client certificate.
    let insecure = ["--insecure", "--cert", &client_pem, "--key", &client_key];
    bia(with(&insecure), "").await.replies();

    // Without the CA the server's certificate is refused, with the reason.
    let untrusted = client;
    let run = bia(with(&untrusted), "").await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    support::assert_contains(&run.stderr, &["cannot connect to https://", "certificate"]);

    // Without a client certificate the mTLS server refuses the call.
    let run = bia(
        with(&["--cacert", &server_pem, "--authority", "localhost"]),
        "",
    )
    .await;
    assert_ne!(run.code, 0, "{}", run.stdout);

    // A TLS server is not plaintext, and --cert needs --key.
    let plain = bia(args(&addr(&running), &say), "").await;
    assert_ne!(plain.code, 0);
    let half = bia(with(&["--cert", &client_pem]), "").await;
    assert_eq!(half.code, 2);
    support::assert_contains(&half.stderr, &["--cert and --key go together"]);
    running.stop().await.unwrap();
}
