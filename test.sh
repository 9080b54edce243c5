#!/usr/bin/env bash
# Set up and run the whole test suite: lint, type checks, then pytest.
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh
scripts/install-test-servers.sh
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/pytest "$@"
