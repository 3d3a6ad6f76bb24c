#!/usr/bin/env bash
# Runs the framework's example service on its embedded defaults: gRPC on 127.0.0.1:9000, admin
# HTTP (/metrics, /healthz, /readyz) on 127.0.0.1:8000. Arguments go to the service, e.g.
#   scripts/demo.sh --config my.toml
# Stop it with Ctrl-C: it drains and exits 0.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/bia-target}"
exec cargo run -p bia-integration-tests --example hello -- "$@"
