#!/usr/bin/env bash
# The project's one test command: formatting, lints, every test (doc tests included), the
# registry tests on a real etcd and the CLI's end-to-end suite.
#
#   scripts/test.sh            everything
#   scripts/test.sh --quick    skip cargo fmt and cargo clippy
#
# Needs only a Rust toolchain. Build output goes to $CARGO_TARGET_DIR, by default a cache outside
# the clone ($HOME/.cache/bia-target), so a fresh clone reuses earlier builds; a cold cache works
# too, it is just slower.
set -euo pipefail

usage() {
    sed -n '2,6s/^# \{0,1\}//p' "$0"
}

quick=0
for arg in "$@"; do
    case "$arg" in
        --quick) quick=1 ;;
        -h | --help) usage; exit 0 ;;
        *) echo "scripts/test.sh: unknown argument '$arg'" >&2; usage >&2; exit 2 ;;
    esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/bia-target}"
mkdir -p "$CARGO_TARGET_DIR"

step() {
    echo "==> $*"
}

# --- System packages --------------------------------------------------------------------------
# ensure_pkg BINARY PACKAGE: installs the Debian PACKAGE when BINARY is not on PATH. It uses
# apt-get only as root or through password-less sudo, runs `apt-get update` once before the first
# install, and otherwise fails with the command to run by hand.
apt_updated=0
ensure_pkg() {
    local binary="$1" package="$2" sudo=""
    if command -v "$binary" >/dev/null 2>&1; then
        return 0
    fi
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo="sudo"
        else
            echo "scripts/test.sh: '$binary' is missing; install it with: apt-get install $package" >&2
            return 1
        fi
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "scripts/test.sh: '$binary' is missing and apt-get is not available; install '$package'" >&2
        return 1
    fi
    if [ "$apt_updated" -eq 0 ]; then
        step "apt-get update"
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get update
        apt_updated=1
    fi
    step "apt-get install -y $package"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y "$package"
}

# --- Toolchain components ---------------------------------------------------------------------
# rustfmt and clippy are part of the Rust toolchain but not of rustup's minimal profile.
ensure_component() {
    local subcommand="$1" component="$2"
    if cargo "$subcommand" --version >/dev/null 2>&1; then
        return 0
    fi
    if command -v rustup >/dev/null 2>&1; then
        step "rustup component add $component"
        rustup component add "$component"
    else
        echo "scripts/test.sh: 'cargo $subcommand' is missing; install the $component component" >&2
        return 1
    fi
}

# --- The steps --------------------------------------------------------------------------------
if [ "$quick" -eq 0 ]; then
    ensure_component fmt rustfmt
    step "cargo fmt --all -- --check"
    cargo fmt --all -- --check

    ensure_component clippy clippy
    step "cargo clippy --workspace --all-targets -- -D warnings"
    cargo clippy --workspace --all-targets -- -D warnings
fi

# The registry tests need a real etcd, and etcd-client's build needs protoc: install both from
# Debian when missing (the default build needs neither).
ensure_pkg etcd etcd-server
ensure_pkg protoc protobuf-compiler
# Debian's package may start its own etcd on the default ports; the tests start theirs on free
# loopback ports with temporary data dirs and never use that one.

if [ "$quick" -eq 0 ]; then
    step "cargo doc -p bia --no-deps --all-features (rustdoc warnings are errors)"
    RUSTDOCFLAGS="-D warnings" cargo doc -p bia --no-deps --all-features

    step "cargo clippy -p bia -p bia-integration-tests --features etcd --all-targets -- -D warnings"
    cargo clippy -p bia -p bia-integration-tests --features bia/etcd,bia-integration-tests/etcd --all-targets -- -D warnings
fi

# The CLI bakes the path of this checkout's framework into the `bia` binary, and cargo copies
# binaries out to one `target/debug/bia` shared by every checkout that uses this cache: rebuild
# it here so its tests run this checkout's binary, not another clone's.
touch cli/build.rs

step "cargo test --workspace"
cargo test --workspace

step "cargo test -p bia-integration-tests --features etcd --test discovery (a real etcd on loopback)"
cargo test -p bia-integration-tests --features etcd --test discovery

if [ -f cli/tests/e2e.rs ]; then
    step "cargo test -p bia-cli --test e2e -- --ignored --test-threads=1"
    cargo test -p bia-cli --test e2e -- --ignored --test-threads=1
fi

step "all tests passed"
