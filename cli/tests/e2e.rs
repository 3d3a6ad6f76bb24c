//! End to end: scaffold projects with `bia`, then build and test them against the local
//! framework with cargo. Slow (a full tonic build), so it runs only with `BIA_E2E=1`; the target
//! folder is shared through `CARGO_TARGET_DIR` when it is set.
//!
//! `BIA_E2E=1 CARGO_TARGET_DIR=/root/.cache/bia-target cargo test -p bia-cli --test e2e -- --test-threads=1`

use std::path::Path;
use std::process::Command;

fn enabled() -> bool {
    if std::env::var("BIA_E2E").is_ok_and(|v| v == "1") {
        true
    } else {
        eprintln!("skipped: set BIA_E2E=1 to build and test generated projects");
        false
    }
}

fn bia(dir: &Path, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_bia"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("bia runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "bia {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Runs `cargo <args>` in `project`, sharing CARGO_TARGET_DIR (inherited) when set.
fn cargo(project: &Path, args: &[&str]) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .args(args)
        .current_dir(project)
        // The project is standalone: no manifest or lock of the workspace leaks into it.
        .env_remove("CARGO_MANIFEST_DIR")
        .env_remove("CARGO_PKG_NAME")
        .status()
        .expect("cargo runs");
    assert!(
        status.success(),
        "cargo {args:?} failed in {}",
        project.display()
    );
}

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

#[test]
fn greeter_example_builds_and_its_tests_pass() {
    if !enabled() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    bia(dir.path(), &["new", "e2e-greeter"]);
    let project = dir.path().join("e2e-greeter");
    cargo(&project, &["test"]);
}

#[test]
fn every_rpc_kind_builds_serves_and_grows_with_proto_server() {
    if !enabled() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let fixtures = fixtures();
    let shop = fixtures.join("proto/shop/v1/shop.proto");
    let ops = fixtures.join("proto/ops/v1/ops.proto");
    let include = fixtures.join("proto");
    bia(
        dir.path(),
        &[
            "new",
            "e2e-shop",
            "--proto",
            shop.to_str().unwrap(),
            "--proto",
            ops.to_str().unwrap(),
            "-I",
            include.to_str().unwrap(),
        ],
    );
    let project = dir.path().join("e2e-shop");

    // Grow it: a new proto, its stub wired in.
    bia(
        &project,
        &["proto", "add", "proto/catalog/v1/catalog.proto"],
    );
    let out = bia(
        &project,
        &["proto", "server", "proto/catalog/v1/catalog.proto"],
    );
    assert!(
        out.contains("wrote src/service/catalog_service.rs"),
        "{out}"
    );
    let again = bia(
        &project,
        &["proto", "server", "proto/catalog/v1/catalog.proto"],
    );
    assert!(again.contains("nothing to change"), "{again}");

    // A test that asks reflection for every service.
    std::fs::copy(
        fixtures.join("reflection_test.rs"),
        project.join("tests/reflection.rs"),
    )
    .unwrap();
    let manifest = project.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap().replace(
        "[dev-dependencies]\n",
        "[dev-dependencies]\ntonic-reflection = { version = \"0.14\", default-features = false }\n",
    );
    std::fs::write(&manifest, text).unwrap();

    cargo(&project, &["build", "--all-targets"]);
    cargo(&project, &["test"]);
}
