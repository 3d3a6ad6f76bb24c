//! End to end: scaffold projects with `bia`, then check, build and test them against the local
//! framework with cargo. This is the check that the templates are valid Rust: every rendered
//! project must pass `cargo fmt --check`, `cargo clippy --all-targets -- -D warnings` and
//! `cargo test`. Slow (a full tonic build), so the tests are ignored by default; the target
//! folder is shared through `CARGO_TARGET_DIR` when it is set.
//!
//! `CARGO_TARGET_DIR=$HOME/.cache/bia-target cargo test -p bia-cli --test e2e -- --ignored --test-threads=1`

#[path = "cli/support.rs"]
#[allow(dead_code)]
mod support;

use std::path::Path;
use std::process::Command;

use support::{fixtures, new_shop};

/// Runs `bia args...` in `dir`, asserting success; returns stdout.
#[track_caller]
fn bia(dir: &Path, args: &[&str]) -> String {
    support::bia(dir, args).ok().to_owned()
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

/// `bia proto add` writes annotated, validated CRUD with an error reason enum; a project made
/// from it builds, its stubs answer, and its empty create request is refused by the rules.
#[test]
#[ignore = "slow: builds generated projects with cargo; run with --ignored (scripts/test.sh does)"]
fn the_proto_add_skeleton_builds_and_its_rules_refuse_a_bad_request() {
    let dir = tempfile::tempdir().unwrap();
    bia(dir.path(), &["proto", "add", "proto/library/v1/book.proto"]);
    bia(
        dir.path(),
        &[
            "new",
            "e2e-library",
            "--proto",
            "proto/library/v1/book.proto",
        ],
    );
    check(&dir.path().join("e2e-library"));
}

#[test]
#[ignore = "slow: builds generated projects with cargo; run with --ignored (scripts/test.sh does)"]
fn every_rpc_kind_builds_serves_and_grows_with_proto_server() {
    let dir = tempfile::tempdir().unwrap();
    new_shop(dir.path(), "e2e-shop").ok();
    let project = dir.path().join("e2e-shop");

    // Grow it: a new proto, its stub wired in, and src/lib.rs never touched.
    let lib_rs = support::read(project.join("src/lib.rs"));
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
    assert_eq!(support::read(project.join("src/lib.rs")), lib_rs);

    // A test that asks reflection for every service.
    std::fs::copy(
        fixtures().join("reflection_test.rs"),
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
