"""No message can stop a run: a generated corpus of malformed mail through triage, ingest, the desk.

The corpus is built here, from a fixed seed, in the shapes hostile or broken mail takes:
broken and missing MIME boundaries, parts nested up to 5,000 levels deep, bad and bizarre
charsets (``utf-8\\0``, UTF-16/UTF-32 declared on 8-bit text), truncated base64 and
quoted-printable, 1 MB headers, binary junk, 0-byte files, NUL bytes and headers without
bodies. Each of ``secretary triage``, ``secretary ingest`` and the mail desk must read all
of it without crashing and account for every message: stored (or triaged) plus reported
equals the total. Peak memory is printed, not asserted (the targets live in evals/).
"""

from __future__ import annotations

import base64
import json
import quopri
import random
import resource
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from agent.cli import cli
from tools.providers.mime import parse_rfc822

SEED = 2026
TEXT = "Die Lieferung kommt am Freitag. Please confirm the invoice number 4711 by Monday."
WORDS = ("Lieferung", "Freitag", "invoice", "Monday")


def _head(i: int, kind: str, extra: str = "") -> bytes:
    return (
        f"From: Sender {i} <s{i}@fuzz.test>\r\nTo: Ada <ada@example.com>\r\n"
        f"Subject: {kind} {i}\r\nMessage-ID: <fuzz{i}@fuzz.test>\r\n"
        f"Date: Mon, 23 Nov 2026 08:{i % 60:02d}:00 +0100\r\nMIME-Version: 1.0\r\n{extra}"
    ).encode()


def _broken_boundary(i: int, rng: random.Random) -> bytes:
    part = b"Content-Type: text/plain\r\n\r\n" + TEXT.encode() + b"\r\n"
    variant = i % 8
    declared = b"b%d" % i
    if variant == 0:  # the parts use another boundary than the one declared
        body = b"--other\r\n" + part + b"--other--\r\n"
    elif variant == 1:  # never closed
        body = b"--" + declared + b"\r\n" + part
    elif variant == 2:  # no parts at all
        body = b"just a preamble\r\n"
    elif variant == 3:
        declared = b""
        body = b"--\r\n" + part + b"----\r\n"
    elif variant == 4:  # a boundary far longer than RFC 2046 allows
        declared = b"x" * rng.randint(100, 5000)
        body = b"--" + declared + b"\r\n" + part + b"--" + declared + b"--\r\n"
    elif variant == 5:  # junk after the delimiters, a part without headers
        body = b"--" + declared + b"  junk\r\n\r\nno headers\r\n--" + declared + b"-- tail\r\n"
    elif variant == 6:  # a child reusing its parent's boundary
        inner = b'Content-Type: multipart/alternative; boundary="' + declared + b'"\r\n\r\n'
        body = b"--" + declared + b"\r\n" + inner + b"--" + declared + b"\r\n" + part
        body += b"--" + declared + b"--\r\n--" + declared + b"--\r\n"
    else:  # the closing delimiter cut in the middle
        body = b"--" + declared + b"\r\n" + part + b"--" + declared[:1]
    ctype = b'Content-Type: multipart/mixed; boundary="' + declared + b'"\r\n\r\n'
    return _head(i, "broken boundary") + ctype + body


def _missing_boundary(i: int, rng: random.Random) -> bytes:
    ctype = rng.choice(
        [
            b"Content-Type: multipart/mixed\r\n",
            b"Content-Type: multipart/alternative; boundary\r\n",
            b"Content-Type: multipart/related; boundary=\r\n",
            b"Content-Type: multipart/\r\n",
            b"Content-Type: multipart\r\n",
        ]
    )
    return (
        _head(i, "missing boundary") + ctype + b"\r\n--x\r\n\r\n" + TEXT.encode() + b"\r\n--x--\r\n"
    )


def _nested(i: int, depth: int, rfc822: bool = False) -> bytes:
    out = [_head(i, f"nested {depth}")]
    for level in range(depth):
        if rfc822 and level % 2:
            out.append(b"Content-Type: message/rfc822\r\n\r\nSubject: fwd\r\n")
        else:
            out.append(
                b'Content-Type: multipart/mixed; boundary="n%d"\r\n\r\n--n%d\r\n' % (level, level)
            )
    out.append(b"Content-Type: text/plain\r\n\r\n" + TEXT.encode() + b"\r\n")
    out.extend(
        b"--n%d--\r\n" % level for level in reversed(range(depth)) if not (rfc822 and level % 2)
    )
    return b"".join(out)


_CHARSETS = [
    "utf-8\x00", "utf-8\x00junk", '"utf-8"', "utf-8;", " UTF-8 ", "x-klingon", "", "base64",
    "hex", "rot13", "zip", "idna", "utf-7", "unicode_escape", "a" * 1000, "ü", "utf-8?q?",
    "cp65001", "iso-8859-1", "us-ascii", "windows-1252", "koi8-r", "shift_jis", "gb2312",
    "\xff\xfe", "utf-8\r\n\tjunk", "UTF8", "latin1", "ascii\x00", "punycode",
]  # fmt: skip
_BODIES = [TEXT.encode(), TEXT.encode("utf-8") + " Grüße".encode(), " Grüße".encode("latin-1")]


def _bad_charset(i: int, rng: random.Random) -> bytes:
    charset = rng.choice(_CHARSETS).encode("utf-8", "surrogateescape")
    body = rng.choice(_BODIES) + b"\r\n"
    words = b""
    if i % 3 == 0:  # the same in an encoded word of the subject
        words = b"X-Note: =?" + charset.replace(b"?", b"") + b"?q?caf=E9?=\r\n"
    if i % 5 == 0:  # an RFC 2231 parameter in an unknown charset
        return (
            _head(i, "rfc2231")
            + words
            + (b"Content-Type: text/plain; charset*=x-bogus''%FF%FE\r\n\r\n" + body)
        )
    return (
        _head(i, "bad charset")
        + words
        + (b'Content-Type: text/plain; charset="' + charset + b'"\r\n\r\n' + body)
    )


def _wide_declared(i: int, rng: random.Random) -> bytes:
    charset = rng.choice(["utf-16", "utf-16le", "UTF-16BE", "utf-32", "utf-32le", "utf-32be"])
    body = rng.choice(_BODIES)
    if i % 10 == 0:  # a real UTF-16 body (a control: read as UTF-16)
        data = base64.b64encode(TEXT.encode("utf-16"))
        return _head(i, "real utf-16") + (
            b'Content-Type: text/plain; charset="utf-16"\r\n'
            b"Content-Transfer-Encoding: base64\r\n\r\n" + data + b"\r\n"
        )
    return _head(i, "wide declared") + (
        f'Content-Type: text/plain; charset="{charset}"\r\n\r\n'.encode() + body + b"\r\n"
    )


def _truncated(i: int, rng: random.Random) -> bytes:
    data = (TEXT * rng.randint(1, 40)).encode()
    variant = i % 6
    if variant in (0, 1):
        encoded = base64.encodebytes(data)
        cut = encoded[: rng.randint(1, max(1, len(encoded) - 1))]
        cte, payload = b"base64", cut
    elif variant == 2:  # padding in the middle: two encoded pieces joined
        cte = b"base64"
        payload = base64.b64encode(data[:7]) + base64.b64encode(data[7:40]) + b"\r\n"
    elif variant == 3:  # junk characters inside
        encoded = bytearray(base64.b64encode(data))
        for _ in range(rng.randint(1, 20)):
            encoded.insert(rng.randrange(len(encoded)), rng.choice(b"!?*#\x00\xff"))
        cte, payload = b"base64", bytes(encoded)
    elif variant == 4:  # quoted-printable cut in the middle of an escape
        encoded = quopri.encodestring((TEXT + " Grüße").encode())
        cte, payload = b"quoted-printable", encoded[: rng.randint(1, len(encoded))]
    else:  # invalid escapes and an unknown encoding
        cte = rng.choice([b"quoted-printable", b"x-uuencode", b"x-unknown", b"8bit\x00"])
        payload = b"caf=ZZ =E9=\r\nbegin 644 x\r\nM(((\r\n" + data
    return _head(i, "truncated") + (
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: "
        + cte + b"\r\n\r\n" + payload
    )  # fmt: skip


def _huge_headers(i: int, rng: random.Random) -> bytes:
    mb = 1_000_000
    variant = i % 6
    if variant == 0:
        return _head(i, "huge subject", "X-Big: " + "w" * mb + "\r\n") + b"\r\nbody\r\n"
    if variant == 1:  # one header folded over many lines
        folded = "\r\n\t".join("word " * 15 for _ in range(mb // 80))
        return _head(i, "folded", f"X-Folded: {folded}\r\n") + b"\r\nbody\r\n"
    if variant == 2:  # tens of thousands of header lines
        lines = "".join(f"X-H{n}: value {n}\r\n" for n in range(mb // 20))
        return _head(i, "many headers", lines) + b"\r\nbody\r\n"
    if variant == 3:
        to = ", ".join(f"p{n}@x{n}.test" for n in range(mb // 16))
        return _head(i, "many recipients", f"Cc: {to}\r\n") + b"\r\nbody\r\n"
    if variant == 4:
        refs = " ".join(f"<r{n}@x.test>" for n in range(mb // 12))
        return _head(i, "long thread", f"References: {refs}\r\n") + b"\r\nbody\r\n"
    words = "".join("=?utf-8?b?" + base64.b64encode("Grüße ".encode()).decode() + "?= "
                    for _ in range(mb // 24))  # fmt: skip
    return _head(i, "encoded words", f"X-Words: {words}\r\n") + b"\r\nbody\r\n"


def _junk(i: int, rng: random.Random) -> bytes:
    data = rng.randbytes(rng.randint(1, 20_000))
    variant = i % 4
    if variant == 0:
        return data
    if variant == 1:
        return b"From: " + data
    if variant == 2:
        return b"From junk@x Mon Nov 23 08:00:00 2026\r\n" + data
    return _head(i, "binary body", "Content-Type: application/octet-stream\r\n") + b"\r\n" + data


def _empty(i: int, rng: random.Random) -> bytes:
    return [b"", b"\r\n", b" \t\r\n\r\n", b"\x00"][i % 4]


def _nul(i: int, rng: random.Random) -> bytes:
    variant = i % 5
    if variant == 0:
        return _head(i, "nul body") + b"\r\n" + TEXT.encode().replace(b" ", b"\x00", 3) + b"\r\n"
    if variant == 1:
        return _head(i, "nul header", "X-N\x00ul: va\x00lue\r\n") + b"\r\n" + TEXT.encode()
    if variant == 2:
        return b"Fr\x00om: a\x00@x.test\r\nSubject: \x00\x00\r\n\r\n" + TEXT.encode()
    if variant == 3:
        return _head(i, "nul boundary") + (
            b'Content-Type: multipart/mixed; boundary="a\x00b"\r\n\r\n--a\x00b\r\n\r\n'
            + TEXT.encode() + b"\r\n--a\x00b--\r\n"
        )  # fmt: skip
    return b"\x00" * rng.randint(1, 5000)


def _headers_only(i: int, rng: random.Random) -> bytes:
    variant = i % 6
    if variant == 0:
        return _head(i, "no body")
    if variant == 1:
        return _head(i, "empty body") + b"\r\n"
    if variant == 2:  # continuation lines before any header
        return b"\tcontinued\r\n more\r\n" + _head(i, "continuation")
    if variant == 3:  # lines without a colon
        return b"no colon here\r\nnor here\r\n" + _head(i, "no colon") + b"\r\n" + TEXT.encode()
    if variant == 4:  # a multipart header without a body
        return _head(i, "multipart no body", 'Content-Type: multipart/mixed; boundary="z"\r\n')
    return _head(i, "header only", "Content-Type: text/plain; charset=utf-8\r\n")


GENERATORS: dict[str, tuple[int, Callable[[int, random.Random], bytes]]] = {
    "broken boundary": (320, _broken_boundary),
    "missing boundary": (100, _missing_boundary),
    "bad charset": (330, _bad_charset),
    "wide charset": (200, _wide_declared),
    "truncated encoding": (300, _truncated),
    "huge headers": (6, _huge_headers),
    "binary junk": (300, _junk),
    "empty": (40, _empty),
    "nul bytes": (200, _nul),
    "headers only": (180, _headers_only),
}
DEPTHS = (2, 5, 20, 60, 99, 100, 101, 150, 400, 800, 1000, 2000, 5000)


def corpus() -> Iterator[tuple[str, bytes]]:
    """(kind, bytes) of every fuzz message, the same on every run."""
    rng = random.Random(SEED)
    n = 0
    for kind, (count, make) in GENERATORS.items():
        for _ in range(count):
            n += 1
            yield kind, make(n, rng)
    for depth in DEPTHS:
        for rfc822 in (False, True):
            for _ in range(5 if depth < 1000 else 2):
                n += 1
                yield "deep nesting", _nested(n, depth, rfc822)


@pytest.fixture(scope="module")
def fuzz_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Counter[str]]:
    folder = tmp_path_factory.mktemp("fuzz")
    kinds: Counter[str] = Counter()
    for i, (kind, raw) in enumerate(corpus()):
        (folder / f"{i:05d}-{kind.replace(' ', '-')}.eml").write_bytes(raw)
        kinds[kind] += 1
    return folder, kinds


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _report(stage: str, **numbers: Any) -> None:
    shown = ", ".join(f"{k} {v}" for k, v in numbers.items())
    print(f"\n[fuzz] {stage}: {shown}; peak memory of the test process {_peak_mb():.0f} MB")


def _init() -> None:
    r = CliRunner().invoke(
        cli,
        ["init", "--id", "ada", "--name", "Ada Lovelace", "--email", "ada@example.com",
         "--timezone", "Europe/Berlin"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output


def test_the_corpus_has_every_shape_and_enough_messages(
    fuzz_folder: tuple[Path, Counter[str]],
) -> None:
    folder, kinds = fuzz_folder
    assert sum(kinds.values()) >= 2000
    assert set(kinds) == {*GENERATORS, "deep nesting"}
    sizes = [p.stat().st_size for p in folder.iterdir()]
    assert min(sizes) == 0 and max(sizes) >= 1_000_000
    deep = [p.read_bytes() for p in folder.iterdir() if "deep" in p.name]
    assert any(raw.count(b"--n4999--") == 1 for raw in deep)  # nested 5,000 levels


def test_triage_cli_reports_every_malformed_message_and_goes_on(
    fuzz_folder: tuple[Path, Counter[str]],
) -> None:
    folder, kinds = fuzz_folder
    total = sum(kinds.values())
    _init()
    r = CliRunner().invoke(cli, ["triage", "--no-model", "--json", str(folder)])
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    assert r.exit_code == 0, r.output[-2000:]
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(rows) == total
    assert {row["source"] for row in rows} == {str(p) for p in folder.iterdir()}
    unreadable = [row for row in rows if row["reason"].startswith(("unreadable", "not triaged"))]
    triaged = [row for row in rows if row not in unreadable]
    assert len(triaged) + len(unreadable) == total
    assert all(row["reason"] for row in rows)
    assert not [row for row in rows if row["reason"].startswith("not triaged")]
    deep = [
        row for row in rows if "deep-nesting" in row["source"] and "unreadable" in row["reason"]
    ]
    assert deep and all("nested more than 100 levels" in row["reason"] for row in deep)
    warned = sum(bool(row["warnings"]) for row in rows)
    _report("triage", messages=total, triaged=len(triaged), reported=len(unreadable), warned=warned)


def test_ingest_cli_stores_or_reports_every_malformed_message(
    fuzz_folder: tuple[Path, Counter[str]],
) -> None:
    folder, kinds = fuzz_folder
    total = sum(kinds.values())
    _init()
    r = CliRunner().invoke(cli, ["ingest", "--no-embed", "--json", str(folder)])
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    assert r.exit_code == 0, r.output[-2000:]
    report = json.loads(r.stdout)
    stored = report["ingested"] + report["duplicates"] + report["own"]
    assert stored + len(report["unreadable"]) == total
    assert report["ingested"] > total // 2
    crashed = [u for u in report["unreadable"] if u["reason"].startswith("could not be stored")]
    assert crashed == []
    warned = {w["ref"] for w in report["warnings"]}
    for name in ("wide-charset", "truncated-encoding", "bad-charset"):
        assert any(name in ref for ref in warned), name
    _report(
        "ingest",
        messages=total,
        stored=stored,
        reported=len(report["unreadable"]),
        warnings=len(report["warnings"]),
    )


def test_mail_desk_handles_or_reports_every_malformed_message(
    fuzz_folder: tuple[Path, Counter[str]], make_secretary: Callable[..., Any]
) -> None:
    from agent.channels.email import MailDesk
    from agent.channels.mail_fetch import message_key

    folder, kinds = fuzz_folder
    desk = MailDesk(make_secretary(None), "ada", use_model=False)
    desk.run_round()  # the first start notes where the inbox is
    inbox = desk.workspace.root / "mail" / "inbox" / "new"
    keys = set()
    for path in sorted(folder.iterdir()):
        raw = path.read_bytes()
        keys.add(message_key(raw))
        (inbox / path.name).write_bytes(raw)
    lines: list[str] = []
    for _ in range(5):
        report = desk.run_round()
        assert report.errors == []
        lines += report.handled
        if not report.handled:
            break
    rows = desk.state.rows(limit=100_000)
    status = Counter(row["status"] for row in rows)
    assert len(rows) == len(keys) == len(lines)
    assert status["unreadable"] > 0
    assert set(status) <= {"done", "unreadable"}, status
    _report("mail desk", messages=len(keys), **{k: v for k, v in sorted(status.items())})


# ------------------------------------------------------------------ decoding


def _read(raw: bytes) -> tuple[str, list[str]]:
    notes: list[str] = []
    return parse_rfc822(raw, "inbox", notes=notes).body, notes


def test_truncated_base64_is_decoded_as_far_as_it_goes_with_a_warning() -> None:
    encoded = base64.b64encode(TEXT.encode())
    for cut in (1, 2, 3):
        body, notes = _read(
            _head(1, "b64") + b"Content-Transfer-Encoding: base64\r\n\r\n" + encoded[:-cut]
        )
        assert body.startswith("Die Lieferung kommt am Freitag") and "RGllIExp" not in body
        assert any("base64" in n and "cut short" in n for n in notes)


def test_base64_in_pieces_is_decoded_whole() -> None:
    data = base64.b64encode(b"Die Lieferung ") + base64.b64encode(b"kommt am Freitag.")
    body, _ = _read(_head(1, "b64") + b"Content-Transfer-Encoding: base64\r\n\r\n" + data)
    assert body == "Die Lieferung kommt am Freitag."


@pytest.mark.parametrize("charset", ["utf-16", "utf-16le", "utf-16be", "utf-32", "utf-32le"])
def test_wide_charset_on_8bit_text_is_read_as_utf8_with_a_warning(charset: str) -> None:
    raw = _head(1, "wide") + f'Content-Type: text/plain; charset="{charset}"\r\n\r\n'.encode()
    body, notes = _read(raw + TEXT.encode() + " Grüße".encode())
    assert body == TEXT + " Grüße"
    assert notes == [f"declared {charset} but the text is 8-bit (no NUL bytes); read as UTF-8"]


def test_real_utf16_is_still_read_as_utf16() -> None:
    for data in (TEXT.encode("utf-16"), TEXT.encode("utf-16-le")):
        raw = _head(1, "utf16") + (
            b'Content-Type: text/plain; charset="utf-16"\r\nContent-Transfer-Encoding: base64'
            b"\r\n\r\n" + base64.b64encode(data)
        )
        body, notes = _read(raw)
        assert body == TEXT and notes == []


@pytest.mark.parametrize("charset", ["utf-8\x00", "utf-8\x00junk", "utf-8;", "UTF-8\r\n\tx"])
def test_charset_with_junk_is_cleaned_with_a_warning(charset: str) -> None:
    raw = _head(1, "junk") + b'Content-Type: text/plain; charset="' + charset.encode() + b'"\r\n'
    body, notes = _read(raw + b"\r\nGr\xc3\xbc\xc3\x9fe, " + TEXT.encode())
    assert body == "Grüße, " + TEXT
    assert len(notes) == 1 and "was read as utf-8" in notes[0]


def test_bytes_that_no_charset_reads_are_replaced_and_said() -> None:
    raw = _head(1, "latin") + b"Content-Type: text/plain; charset=utf-8\r\n\r\nK\xf6ln"
    body, notes = _read(raw)
    assert body == "K\ufffdln" and notes == [
        "some bytes are not valid utf-8 and were replaced by U+FFFD"
    ]


def test_a_mime_bomb_is_refused_with_its_reason_not_a_recursion_error() -> None:
    for depth in (101, 1000, 5000):
        with pytest.raises(ValueError, match="nested more than 100 levels deep"):
            parse_rfc822(_nested(1, depth), "inbox")
    assert TEXT in parse_rfc822(_nested(1, 100), "inbox").body


def test_ingest_lists_decoding_warnings_and_the_words_are_found(tmp_path: Path) -> None:
    _init()
    folder = tmp_path / "in"
    folder.mkdir()
    cut = base64.b64encode(TEXT.encode())[:-3]
    (folder / "b64.eml").write_bytes(
        _head(1, "b64") + b"Content-Transfer-Encoding: base64\r\n\r\n" + cut
    )
    (folder / "wide.eml").write_bytes(
        _head(2, "wide") + b'Content-Type: text/plain; charset="utf-16"\r\n\r\nWeihnachtsfeier'
    )
    (folder / "nul.eml").write_bytes(
        _head(3, "nul") + b'Content-Type: text/plain; charset="utf-8\x00"\r\n\r\nBetriebsausflug'
    )
    r = CliRunner().invoke(cli, ["ingest", "--no-embed", "--json", str(folder)])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["ingested"] == 3 and report["unreadable"] == []
    notes = {Path(w["ref"]).name: w["note"] for w in report["warnings"]}
    assert "base64" in notes["b64.eml"] and "8-bit" in notes["wide.eml"]
    assert "utf-8" in notes["nul.eml"] and len(report["warnings"]) == 3
    for word, sid in (("Lieferung", 1), ("Weihnachtsfeier", 2), ("Betriebsausflug", 3)):
        found = CliRunner().invoke(cli, ["recall", word, "--mode", "keyword", "--json"])
        assert [h["message_id"] for h in json.loads(found.stdout)] == [f"<fuzz{sid}@fuzz.test>"]
