#!/usr/bin/env bash
# Installs the Node clients of the integration tests (Connect-ES) from the committed lock file.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v npm >/dev/null; then
  echo "npm is missing: install Node.js 20 or newer (e.g. apt-get install nodejs npm)" >&2
  exit 1
fi
npm ci --no-audit --no-fund
