#!/usr/bin/env bash
# Set everything up (.venv, dependencies, data directory) and start the terminal chat.
# Extra arguments are passed to `secretary` (e.g. ./run.sh ask "What's on today?").
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh
if [ "$#" -eq 0 ]; then set -- chat; fi
exec .venv/bin/secretary "$@"
