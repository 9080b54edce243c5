#!/usr/bin/env bash
# Install the Debian packages the tests start on loopback: Dovecot (IMAP) for mail,
# Radicale (CalDAV) for calendars, PostgreSQL for the database backend (the tests run
# their own throwaway server with initdb). CI runs this too: a missing server fails the tests.
set -euo pipefail
PKGS=(dovecot-imapd dovecot-lmtpd radicale postgresql)
missing=()
for p in "${PKGS[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
