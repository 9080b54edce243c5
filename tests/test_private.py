"""Private by construction: the data directory and everything in it are 0700/0600.

The commands run as the installed ``secretary`` runs (``python -m agent.cli`` in
a subprocess, with a lax umask of 022 inherited from the shell), over a data
directory made beforehand with ``mkdir -m 755`` and holding a 0644 file.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from agent.cli import cli
from tools.foundation.paths import NotPrivateError, make_private, secure_home
from tools.providers.scripted import ScriptedOpenAIServer

EMAIL = {"to": ["dana@acme.com"], "subject": "Running late", "body": "Ten minutes late."}

MBOX = b"""From dana@acme.com Mon Nov 16 09:00:00 2026
From: Dana Smith <dana@acme.com>
To: ada@example.com
Subject: Budget for the offsite
Date: Mon, 16 Nov 2026 09:00:00 +0000
Message-ID: <budget-1@acme.com>

The offsite budget is 12,000 euros.
"""


def secretary(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agent.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
        umask=0o022,  # what a login shell usually has: new files 0644 unless the process says no
    )


def readable_by_others(root: Path) -> list[str]:
    """Every entry under root (root too) with a group or other permission bit."""
    found = []
    for entry in [root, *root.rglob("*")]:
        mode = entry.lstat().st_mode
        if not stat.S_ISLNK(mode) and stat.S_IMODE(mode) & 0o077:
            found.append(f"{entry.relative_to(root.parent)} {stat.S_IMODE(mode):04o}")
    return found


def lax_home(home: Path) -> None:
    """A data directory made by hand before the secretary ever ran: 0755, a 0644 note in it."""
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    (home / "notes.txt").write_text("my own notes\n")
    (home / "notes.txt").chmod(0o644)
    (home / "drop").mkdir()
    (home / "drop").chmod(0o755)
    (home / "drop" / "old.eml").write_bytes(MBOX)
    (home / "drop" / "old.eml").chmod(0o664)


def test_every_file_is_private_after_commands_over_a_lax_existing_folder(
    isolated_home: Path, tmp_path: Path
) -> None:
    lax_home(isolated_home)
    mbox = tmp_path / "archive.mbox"
    mbox.write_bytes(MBOX)
    with ScriptedOpenAIServer(
        [{"tool_calls": [{"name": "send_email", "args": EMAIL}]}, "Sent."]
    ) as srv:
        env = {
            **os.environ,
            "SECRETARY_MODEL": "gpt-test",
            "OPENAI_BASE_URL": srv.base_url,
            "OPENAI_API_KEY": "sk-loopback",
        }
        steps = [
            ("init", "--id", "ada", "--name", "Ada", "--email", "ada@example.com",
             "--timezone", "Europe/Berlin"),
            ("ingest", str(mbox)),
            ("ask", "E-mail dana@acme.com that I'm late", "--json"),
        ]  # fmt: skip
        outputs = []
        for args in steps:
            r = secretary(env, *args)
            assert r.returncode == 0, (args, r.stderr)
            # After each command, also for what it wrote after its start-up check.
            assert readable_by_others(isolated_home) == [], args
            outputs.append(r.stdout)
        [proposal] = json.loads(outputs[-1])["pending"]
        for args in [
            ("serve", "token", "create", "--label", "phone"),
            ("approve", proposal["id"]),
            ("pending",),
        ]:
            r = secretary(env, *args)
            assert r.returncode == 0, (args, r.stderr)
            assert readable_by_others(isolated_home) == [], args
    # What the secretary wrote is all there: databases, memory, the sent message, the log.
    names = {p.name for p in isolated_home.rglob("*")}
    assert {"ledger.sqlite", "checkpoints.sqlite", "serve.sqlite", "secretary.toml"} <= names
    assert {"secretary.log", "chroma"} <= names
    sent = [p for p in isolated_home.rglob("*") if p.is_file() and "sent" in p.parts]
    assert sent, "the approved e-mail was not stored in the sent folder"
    assert readable_by_others(isolated_home) == []
    # Made private, not changed: the user's own files keep their content.
    assert (isolated_home / "notes.txt").read_text() == "my own notes\n"
    assert (isolated_home / "drop" / "old.eml").read_bytes() == MBOX
    assert "private" in (isolated_home / "secretary.log").read_text()


def test_a_secretary_in_process_makes_an_existing_folder_private_at_start(
    make_secretary: object, isolated_home: Path
) -> None:
    # Embedded in another program, the secretary leaves that program's umask alone, but
    # what it finds is made private at start and the folder is closed to others.
    lax_home(isolated_home)
    sec = make_secretary(None)  # type: ignore[operator]
    assert sec.home == isolated_home
    assert stat.S_IMODE(isolated_home.stat().st_mode) == 0o700
    assert stat.S_IMODE((isolated_home / "notes.txt").stat().st_mode) == 0o600
    assert stat.S_IMODE((isolated_home / "drop").stat().st_mode) == 0o700
    assert stat.S_IMODE((isolated_home / "drop" / "old.eml").stat().st_mode) == 0o600


def test_the_owners_own_bits_are_kept(tmp_path: Path) -> None:
    home = tmp_path / "data"
    home.mkdir()
    tool = home / "hook.sh"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    frozen = home / "frozen.txt"
    frozen.write_text("x")
    frozen.chmod(0o444)
    fixed = make_private(home)
    assert stat.S_IMODE(tool.stat().st_mode) == 0o700
    assert stat.S_IMODE(frozen.stat().st_mode) == 0o400
    assert set(fixed) == {tool, frozen} | ({home} if home in fixed else set())


def test_links_out_of_the_data_directory_are_neither_changed_nor_followed(tmp_path: Path) -> None:
    outside = tmp_path / "shared"
    outside.mkdir(mode=0o755)
    outside.chmod(0o755)
    (outside / "public.txt").write_text("for everyone")
    (outside / "public.txt").chmod(0o644)
    home = tmp_path / "data"
    home.mkdir()
    (home / "to-file").symlink_to(outside / "public.txt")
    (home / "to-folder").symlink_to(outside, target_is_directory=True)
    make_private(home)
    assert stat.S_IMODE(outside.stat().st_mode) == 0o755
    assert stat.S_IMODE((outside / "public.txt").stat().st_mode) == 0o644


def test_the_users_home_folder_is_refused_as_data_directory_and_left_as_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "user"
    home.mkdir()
    home.chmod(0o755)
    (home / "photo.jpg").write_bytes(b"jpeg")
    (home / "photo.jpg").chmod(0o644)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("SECRETARY_HOME", str(home))
    r = CliRunner().invoke(cli, ["pending"])
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "set SECRETARY_HOME to a folder of its own" in r.output
    assert stat.S_IMODE(home.stat().st_mode) == 0o755
    assert stat.S_IMODE((home / "photo.jpg").stat().st_mode) == 0o644


def test_a_data_directory_that_is_a_file_is_refused_with_a_sentence(tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.write_text("not a folder")
    with pytest.raises(NotPrivateError, match="is a file, not a folder"):
        secure_home(path)


def as_nobody(home: Path) -> str:
    """What secure_home says when the unprivileged user 'nobody' starts on ``home``."""
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child becomes the other user; it only reports back
        os.close(read)
        try:
            os.setgid(65534)
            os.setuid(65534)
            secure_home(home)
            answer = "accepted"
        except NotPrivateError as exc:
            answer = str(exc)
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            answer = f"unexpected {exc!r}"
        os.write(write, answer.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        answer = pipe.read().decode()
    os.waitpid(child, 0)
    return answer


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")
def test_entries_another_user_owns_are_refused_with_a_sentence() -> None:
    base = Path(tempfile.mkdtemp(prefix="secretary-shared-"))
    try:
        base.chmod(0o755)
        # A data directory someone else made, open to all: it cannot be closed, so the
        # secretary refuses before writing into it.
        home = base / "home"
        home.mkdir()
        home.chmod(0o777)
        answer = as_nobody(home)
        assert answer.startswith(f"The data directory {home} is readable by others")
        assert "owned by another user" in answer and f"chmod -R go= {home}" in answer
        assert stat.S_IMODE(home.stat().st_mode) == 0o777
        # The user's own folder with another user's readable file in it: the file is named.
        os.chown(home, 65534, 65534)
        home.chmod(0o700)
        ledger = home / "ledger.sqlite"
        ledger.write_bytes(b"")
        ledger.chmod(0o644)
        answer = as_nobody(home)
        assert answer.startswith(f"{ledger} in the data directory is readable by others")
        assert "(mode 0644, owned by another user)" in answer
        assert stat.S_IMODE(ledger.stat().st_mode) == 0o644
    finally:
        subprocess.run(["rm", "-rf", str(base)], check=False)


def test_the_privacy_benchmark_runs_and_leaves_nothing_to_fix(tmp_path: Path) -> None:
    from evals import bench_private

    out = tmp_path / "private.json"
    assert bench_private.main(["--files", "1500", "--json", str(out)]) == 0
    [size] = json.loads(out.read_text())["sizes"]
    assert size["files"] == 1500 and size["changed_again"] == 0
    assert size["changed_first"] == 1500 + 2 * 2 + 1  # files, two folders each, the top
