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

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
parse_flags --quick=quick -- "$@"
mkdir -p "$CARGO_TARGET_DIR"

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

# --- Test clients in other languages ---------------------------------------------------------
# ensure_pip MODULE PACKAGE: installs the PyPI PACKAGE for the tests when python3 cannot import
# MODULE (into the user's site-packages when not root).
ensure_pip() {
    local module="$1" package="$2" user=""
    if python3 -c "import $module" >/dev/null 2>&1; then
        return 0
    fi
    [ "$(id -u)" -ne 0 ] && user="--user"
    step "python3 -m pip install $user $package"
    # A Debian-managed python3 refuses plain installs (PEP 668); the tests' packages are harmless
    # beside Debian's, so ask again with its override.
    python3 -m pip install --quiet --disable-pip-version-check $user "$package" ||
        python3 -m pip install --quiet --disable-pip-version-check $user --break-system-packages "$package"
}

# ensure_npm_clients DIR: installs DIR's npm packages from its package-lock.json when DIR has no
# node_modules, or when the lock changed since the last install.
ensure_npm_clients() {
    local dir="$1"
    [ -f "$dir/package-lock.json" ] || return 0
    if [ -d "$dir/node_modules" ] && [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
        return 0
    fi
    step "npm ci in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
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

# Clients in other languages that the gateway tests drive: Python for raw HTTP and the OpenAPI
# validator, Node for the Connect and gRPC-Web client libraries.
ensure_pkg curl curl
ensure_pkg python3 python3
ensure_pkg node nodejs
ensure_pkg npm npm
if ! python3 -m pip --version >/dev/null 2>&1; then
    ensure_pkg pip3 python3-pip
fi
ensure_pip openapi_spec_validator openapi-spec-validator
ensure_npm_clients tests/integration/clients

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

step "scripts/book.sh --walkthrough (the book builds, its links resolve, its CLI reference matches bia --help, Getting started runs as written)"
scripts/book.sh --walkthrough

step "cargo test -p bia-integration-tests --features etcd --test discovery (a real etcd on loopback)"
cargo test -p bia-integration-tests --features etcd --test discovery

if [ -f cli/tests/e2e.rs ]; then
    step "cargo test -p bia-cli --test e2e -- --ignored --test-threads=1"
    cargo test -p bia-cli --test e2e -- --ignored --test-threads=1
fi

step "all tests passed"
