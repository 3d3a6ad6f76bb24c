//! End to end: scaffold projects with `bia`, then check, build and test them against the local
//! framework with cargo. This is the check that the templates are valid Rust: every rendered
//! project must pass `cargo fmt --check`, `cargo clippy --all-targets -- -D warnings` and
//! `cargo test`. Slow (a full tonic build), so the tests are ignored by default; the target
//! folder is shared through `CARGO_TARGET_DIR` when it is set.
//!
//! `CARGO_TARGET_DIR=$HOME/.cache/bia-target cargo test -p bia-cli --test e2e -- --ignored --test-threads=1`

use std::path::Path;
use std::process::Command;

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

/// What every rendered project must pass.
fn check(project: &Path) {
    cargo(project, &["fmt", "--check"]);
    cargo(
        project,
        &["clippy", "--all-targets", "--", "-D", "warnings"],
    );
    cargo(project, &["test"]);
}

#[test]
#[ignore = "slow: builds generated projects with cargo; run with --ignored (scripts/test.sh does)"]
fn greeter_example_builds_and_its_tests_pass() {
    let dir = tempfile::tempdir().unwrap();
    bia(dir.path(), &["new", "e2e-greeter"]);
    let project = dir.path().join("e2e-greeter");
    check(&project);
}

#[test]
#[ignore = "slow: builds generated projects with cargo; run with --ignored (scripts/test.sh does)"]
fn every_rpc_kind_builds_serves_and_grows_with_proto_server() {
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

    // Grow it: a new proto, its stub wired in, and src/lib.rs never touched.
    let lib_rs = std::fs::read_to_string(project.join("src/lib.rs")).unwrap();
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
    assert_eq!(
        std::fs::read_to_string(project.join("src/lib.rs")).unwrap(),
        lib_rs
    );

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

    check(&project);
}
