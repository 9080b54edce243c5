"""Real mail servers on loopback for the tests: Dovecot (IMAP, LMTP) and an aiosmtpd relay.

``dovecot`` starts one throwaway Dovecot per test session from a generated
configuration (about a tenth of a second): IMAP with STARTTLS, IMAPS, and LMTP
for delivery, all on free ports of 127.0.0.1, TLS certificates from a trustme
CA, users in passwd-files with plain passwords. Each test takes fresh users
(``dovecot.new_user()``), so tests never see each other's mail.

``smtp_server`` is an aiosmtpd submission server (STARTTLS required, AUTH
required after TLS, the Dovecot users' passwords) that records every envelope
and hands each message to Dovecot over LMTP, so sent mail shows up over IMAP.
Tests can make it refuse a recipient or answer DATA with an error.
``smtps_server`` is the same over implicit TLS.

A missing or broken Dovecot fails the tests (with its log); it never skips them.
``scripts/install-test-servers.sh`` installs it.
"""

from __future__ import annotations

import asyncio
import grp
import itertools
import os
import pwd
import secrets
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trustme

DOVECOT = "/usr/sbin/dovecot"
DOVEADM = "/usr/bin/doveadm"
HOST = "127.0.0.1"
DOMAIN = "example.test"
START_TIMEOUT = 10.0


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _wait_for_port(port: int, deadline: float, alive: Any = None) -> bool:
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            return False
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.01)
    return False


# ------------------------------------------------------------------------ TLS


@dataclass
class Tls:
    """A test CA and a certificate for 127.0.0.1/localhost, as files and contexts."""

    ca: trustme.CA
    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert_file, self.key_file)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    folder = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    cert = ca.issue_cert(HOST, "localhost")
    paths = Tls(ca, folder / "ca.pem", folder / "cert.pem", folder / "key.pem")
    ca.cert_pem.write_to_path(str(paths.ca_file))
    cert.private_key_pem.write_to_path(str(paths.key_file))
    with open(paths.cert_file, "wb") as fh:
        for blob in cert.cert_chain_pems:
            fh.write(blob.bytes())
    return paths


# -------------------------------------------------------------------- Dovecot

SENT = "Gesendet"
"""The server's sent folder: not "Sent", so only SPECIAL-USE discovery finds it."""
DRAFTS = "Entwürfe"
"""The server's drafts folder: non-ASCII, so folder names travel as modified UTF-7."""

_CONFIG = """\
protocols = imap lmtp
listen = {host}
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {internal_user}
first_valid_uid = 1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
ssl_min_protocol = TLSv1.2
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:{dir}/mail/%u
mail_fsync = never
mailbox_idle_check_interval = 1 secs
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {dir}/users/%u
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {dir}/users/%u
  default_fields = uid={uid} gid={gid} home={dir}/mail/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox "{sent}" {{
    special_use = \\Sent
    auto = subscribe
  }}
  mailbox "{drafts}" {{
    special_use = \\Drafts
    auto = subscribe
  }}
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = {host}
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = {host}
    port = {imaps_port}
    ssl = yes
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = {host}
    port = {lmtp_port}
  }}
}}
service auth-worker {{
  user = $default_internal_user
}}
service anvil {{
  chroot =
  # No penalty socket: a wrong-password test must not slow every later login down.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


@dataclass
class Dovecot:
    """A running Dovecot and what tests need to use it."""

    dir: Path
    ca_file: Path
    imap_port: int
    imaps_port: int
    lmtp_port: int
    client_context: ssl.SSLContext
    host: str = HOST
    domain: str = DOMAIN
    users: dict[str, str] = field(default_factory=dict)
    """Address (the IMAP login name) -> password."""
    _counter: Iterator[int] = field(default_factory=itertools.count)

    def log(self) -> str:
        try:
            return (self.dir / "dovecot.log").read_text(errors="replace")
        except OSError:
            return "(no dovecot.log)"

    def new_user(self, name: str = "user") -> str:
        """A fresh mailbox (address and login) that no other test uses."""
        address = f"{name}{next(self._counter)}@{self.domain}"
        password = f"pw-{secrets.token_hex(6)}"
        # One passwd-file per user: Dovecot notices a changed file only once a second,
        # but a file it has never read is read at once.
        path = self.dir / "users" / address
        path.write_text(f"{address}:{{PLAIN}}{password}::::::\n", encoding="utf-8")
        path.chmod(0o644)
        self.users[address] = password
        return address

    def account(self, user: str, **over: Any) -> dict[str, Any]:
        """Mail account settings for ``open_mail`` (IMAP with STARTTLS)."""
        account: dict[str, Any] = {
            "provider": "imap",
            "imap_host": self.host,
            "imap_port": self.imap_port,
            "imap_security": "starttls",
            "username": user,
            "password": self.users[user],
            "address": user,
            "ca_file": str(self.ca_file),
            "timeout": 10,
        }
        account.update(over)
        return account

    def deliver(self, user: str, raw: bytes, sender: str = f"sender@{DOMAIN}") -> None:
        """Deliver ``raw`` into ``user``'s INBOX over LMTP, as an MTA would."""
        # One recipient per transaction: LMTP answers DATA once per recipient, and
        # smtplib reads only one answer.
        with smtplib.LMTP(self.host, self.lmtp_port, timeout=10) as lmtp:
            lmtp.sendmail(sender, [user], raw)

    def kick(self, user: str) -> None:
        """Make the server drop every IMAP connection of ``user`` (as at a restart)."""
        subprocess.run(
            [DOVEADM, "-c", str(self.dir / "dovecot.conf"), "kick", user],
            check=True,
            capture_output=True,
            timeout=10,
        )

    def renumber(self, user: str, folder: str = "INBOX") -> int:
        """Give a folder a new UIDVALIDITY (as a restore or migration does); returns it."""
        with self.imap(user) as client:
            old = int(client.select_folder(folder, readonly=True)[b"UIDVALIDITY"])
        subprocess.run(
            [DOVEADM, "-c", str(self.dir / "dovecot.conf"), "mailbox", "update", "-u", user]
            + ["--uid-validity", str(old + 1000), folder],
            check=True,
            capture_output=True,
            timeout=10,
        )
        return old + 1000

    @contextmanager
    def imap(self, user: str) -> Iterator[Any]:
        """A logged-in IMAPClient (STARTTLS) for setting up and checking a mailbox."""
        from imapclient import IMAPClient

        client = IMAPClient(self.host, self.imap_port, ssl=False, timeout=10)
        try:
            client.starttls(self.client_context)
            client.login(user, self.users[user])
            yield client
        finally:
            try:
                client.logout()
            except Exception:
                client.shutdown()

    def append(self, user: str, folder: str, raw: bytes, flags: tuple[bytes, ...] = ()) -> None:
        """Put ``raw`` straight into a folder of ``user`` (IMAP APPEND)."""
        with self.imap(user) as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            client.append(folder, raw, flags=flags)

    def messages(self, user: str, folder: str = "INBOX") -> list[tuple[bytes, tuple[bytes, ...]]]:
        """Every message of a folder as (raw bytes, flags), oldest first."""
        with self.imap(user) as client:
            client.select_folder(folder, readonly=True)
            uids = sorted(client.search("ALL"))
            data = client.fetch(uids, ["BODY.PEEK[]", "FLAGS"]) if uids else {}
            return [(data[u][b"BODY[]"], tuple(data[u][b"FLAGS"])) for u in uids]


def _identity() -> tuple[str, str, int, int]:
    """Who Dovecot's helper processes and mail files run as.

    Dovecot refuses root for login processes and mail access, so as root it uses
    ``nobody``; as any other user it runs everything as that user.
    """
    who = pwd.getpwnam("nobody") if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())
    return who.pw_name, grp.getgrgid(who.pw_gid).gr_name, who.pw_uid, who.pw_gid


@pytest.fixture(scope="session")
def dovecot(tls: Tls) -> Iterator[Dovecot]:
    if not os.access(DOVECOT, os.X_OK):
        pytest.fail(
            f"Dovecot is not installed ({DOVECOT} missing); run scripts/install-test-servers.sh.",
            pytrace=False,
        )
    # Not under pytest's 0700 temp root: the unprivileged mail user must reach its mailbox.
    folder = Path(tempfile.mkdtemp(prefix="secretary-dovecot-"))
    user, group, uid, gid = _identity()
    folder.chmod(0o711)
    for sub in ("run", "state", "mail", "users"):
        (folder / sub).mkdir()
    (folder / "users").chmod(0o755)
    if os.geteuid() == 0:
        os.chown(folder / "mail", uid, gid)
    server = Dovecot(
        dir=folder,
        ca_file=tls.ca_file,
        imap_port=free_port(),
        imaps_port=free_port(),
        lmtp_port=free_port(),
        client_context=tls.client_context(),
    )
    (folder / "dovecot.conf").write_text(
        _CONFIG.format(
            host=HOST,
            dir=folder,
            internal_user=user,
            internal_group=group,
            uid=uid,
            gid=gid,
            cert=tls.cert_file,
            key=tls.key_file,
            sent=SENT,
            drafts=DRAFTS,
            imap_port=server.imap_port,
            imaps_port=server.imaps_port,
            lmtp_port=server.lmtp_port,
        ),
        encoding="utf-8",
    )
    output = open(folder / "stderr.log", "wb")
    proc = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(folder / "dovecot.conf")],
        stdout=output,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, so teardown can reach every child
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        for port in (server.imap_port, server.imaps_port, server.lmtp_port):
            if not _wait_for_port(port, deadline, alive=lambda: proc.poll() is None):
                output.flush()
                stderr = (folder / "stderr.log").read_text(errors="replace")
                pytest.fail(
                    f"Dovecot did not start (exit code {proc.poll()}).\n"
                    f"--- output ---\n{stderr}\n--- dovecot.log ---\n{server.log()}",
                    pytrace=False,
                )
        yield server
    finally:
        proc.terminate()  # the master stops its children (takes about a second)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        try:  # anything of its group that outlived the master
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        output.close()
        shutil.rmtree(folder, ignore_errors=True)


# ----------------------------------------------------------------------- SMTP


@dataclass
class Envelope:
    """What the SMTP server accepted: the envelope and the exact bytes."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes


class _Relay:
    """aiosmtpd handler: refuse on demand, record, hand local recipients to Dovecot."""

    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address.lower() in self.server.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if self.server.hold_rcpt > 0:
            # Keep the client waiting mid-transaction (nothing is accepted yet).
            self.server.hold_rcpt -= 1
            self.server.held.append(address)
            await asyncio.sleep(self.server.hold_seconds)
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.server.fail_data:
            return self.server.fail_data
        data = envelope.original_content or envelope.content
        record = Envelope(envelope.mail_from, list(envelope.rcpt_tos), bytes(data))
        local = [r for r in record.rcpt_tos if r.lower().endswith("@" + DOMAIN)]
        if local:
            # LMTP is blocking; keep the server's event loop free while it runs.
            await asyncio.get_running_loop().run_in_executor(None, self._deliver, record, local)
        self.server.envelopes.append(record)
        return "250 2.0.0 Message accepted for delivery"

    def _deliver(self, record: Envelope, local: list[str]) -> None:
        for rcpt in local:
            self.server.dovecot.deliver(rcpt, record.data, sender=record.mail_from)


@dataclass
class SmtpServer:
    """A running submission server and the knobs tests turn."""

    dovecot: Dovecot
    host: str
    port: int
    security: str = "starttls"
    envelopes: list[Envelope] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    """Recipients (lowercase) refused at RCPT with a 550."""
    fail_data: str = ""
    """When set (e.g. ``"451 4.3.0 Try again later"``), DATA is answered with it."""
    hold_rcpt: int = 0
    """The next this many RCPT commands are answered only after ``hold_seconds``."""
    hold_seconds: float = 30.0
    held: list[str] = field(default_factory=list)
    """Recipients whose RCPT was held (a client was waiting on them)."""

    def settings(self, **over: Any) -> dict[str, Any]:
        """The SMTP part of an account for this server."""
        return {
            "smtp_host": self.host,
            "smtp_port": self.port,
            "smtp_security": self.security,
        } | over


def _start_smtp(dovecot: Dovecot, tls: Tls, implicit_tls: bool) -> Iterator[SmtpServer]:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    server = SmtpServer(
        dovecot=dovecot,
        host=HOST,
        port=free_port(),
        security="ssl" if implicit_tls else "starttls",
    )

    def authenticator(
        smtp: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode("utf-8", "replace")
            password = auth_data.password.decode("utf-8", "replace")
            if dovecot.users.get(login) == password:
                return AuthResult(success=True)
        return AuthResult(success=False, handled=False)

    if implicit_tls:
        # aiosmtpd counts only STARTTLS as TLS for AUTH; the whole session is TLS here,
        # and clients that log in are still checked.
        mode: dict[str, Any] = {"ssl_context": tls.server_context(), "auth_require_tls": False}
    else:
        mode = {
            "tls_context": tls.server_context(),
            "require_starttls": True,
            "auth_required": True,
            "auth_require_tls": True,
        }
    controller = Controller(
        _Relay(server),
        hostname=HOST,
        port=server.port,
        server_hostname="localhost",
        authenticator=authenticator,
        ready_timeout=START_TIMEOUT,
        **mode,
    )
    controller.start()
    try:
        yield server
    finally:
        controller.stop()


@pytest.fixture
def smtp_server(dovecot: Dovecot, tls: Tls) -> Iterator[SmtpServer]:
    """Submission with STARTTLS required and AUTH required after it."""
    yield from _start_smtp(dovecot, tls, implicit_tls=False)


@pytest.fixture
def smtps_server(dovecot: Dovecot, tls: Tls) -> Iterator[SmtpServer]:
    """Submission over implicit TLS (the port-465 style)."""
    yield from _start_smtp(dovecot, tls, implicit_tls=True)
