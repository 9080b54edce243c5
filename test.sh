#!/usr/bin/env bash
# Set up and run the whole test suite: lint, type checks, pytest on the default
# storage (SQLite files), then every test that keeps state again with all tables
# in PostgreSQL (a throwaway server started by the tests). Arguments go to the
# first pytest run only, and skip the second.
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh
scripts/install-test-servers.sh
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/lint-imports --no-cache
.venv/bin/pytest "$@"
if [ "$#" -eq 0 ]; then
    echo "--- the same tests with every table in PostgreSQL ---"
    .venv/bin/pytest --database=postgres -q \
        tests/test_gate.py tests/test_write_tools.py tests/test_isolation.py \
        tests/test_terminal_chat.py tests/test_cli.py tests/test_scheduling.py \
        tests/test_contacts_local.py tests/test_calendar_local.py tests/test_itip.py \
        tests/test_desk.py tests/test_duties.py tests/test_briefing.py \
        tests/test_vendors.py tests/test_travel.py tests/test_press.py tests/test_press_gate.py \
        tests/test_invoices.py tests/test_filing.py tests/test_memory.py \
        tests/test_mail_desk.py tests/test_mail_e2e.py tests/test_slack.py tests/test_serve.py \
        tests/test_store_backends.py
fi
