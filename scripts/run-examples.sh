#!/usr/bin/env bash
# Builds and runs the two example services on their embedded defaults, without Docker:
# user-service (gRPC 0.0.0.0:9001, admin 0.0.0.0:8001) in the background, then
# recommendation-service (gRPC 0.0.0.0:9002, admin 0.0.0.0:8002) in the foreground.
# Ctrl-C stops both (each drains its calls and exits 0).
#
#   scripts/run-examples.sh
#   OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317 scripts/run-examples.sh   # traces to Jaeger
#
# user-service keeps its SQLite database in examples/user-service/data/ (BIA_DATABASE__URL
# overrides it). docs/observability.md shows what to do next.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/bia-target}"
cargo build -p user-service -p recommendation-service
bin="$CARGO_TARGET_DIR/debug"

# user-service runs in its own folder, so its default database lands in
# examples/user-service/data/ rather than wherever this script was started from, and in its own
# process group (set -m), so that Ctrl-C reaches only recommendation-service and the trap below
# stops user-service with exactly one SIGTERM.
set -m
(cd examples/user-service && exec "$bin/user-service") &
user_pid=$!
set +m
stop_user_service() {
    if kill -0 "$user_pid" 2>/dev/null; then
        kill -TERM "$user_pid" 2>/dev/null || true
    fi
    wait "$user_pid" 2>/dev/null || true
}
trap stop_user_service EXIT

# Wait for user-service's admin port (or its early exit, e.g. a port already in use).
for _ in $(seq 1 100); do
    if ! kill -0 "$user_pid" 2>/dev/null; then
        echo "run-examples: user-service exited; see its log above" >&2
        exit 1
    fi
    if (exec 3<>/dev/tcp/127.0.0.1/8001) 2>/dev/null; then
        break
    fi
    sleep 0.1
done

"$bin/recommendation-service"
