"""Filing: documents into the folder scheme, indexed, found again; from tools, gate and CLI."""

from __future__ import annotations

import email.message
import email.utils
import hashlib
import json
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from toolkit import preview, run

from agent.approval import Decision
from tools.base import ToolError
from tools.context import ToolContext
from tools.filing import pack_categories, safe_name, slug
from tools.foundation.principals import Principal
from tools.providers.local.filing import LocalFiling
from tools.providers.memory.store import open_memory
from tools.providers.scripted import ScriptedChatModel

BERLIN = ZoneInfo("Europe/Berlin")
CONTRACT_TEXT = (
    "Service Agreement between Acme GmbH and Ada Lovelace. "
    "The termination clause allows either party to end the agreement with 90 days notice."
)


def make_pdf(text: str) -> bytes:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


def mail_with(attachments: list[tuple[str, bytes, str]], msgid: str = "<c1@acme.com>") -> bytes:
    m = email.message.EmailMessage()
    m["From"] = "Dana Smith <dana@acme.com>"
    m["To"] = "ada@example.com"
    m["Subject"] = "Signed service agreement"
    m["Message-ID"] = msgid
    m["Date"] = email.utils.format_datetime(datetime(2026, 3, 12, 10, 0, tzinfo=BERLIN))
    m.set_content("Hi Ada,\n\nplease find the signed agreement attached.\n\nDana\n")
    for name, data, ctype in attachments:
        main, sub = ctype.split("/")
        m.add_attachment(data, maintype=main, subtype=sub, filename=name)
    return m.as_bytes()


def build_ctx(
    duty_context: Any, root: Path, principal: Principal, memory: Any = None
) -> ToolContext:
    c: ToolContext = duty_context(principal, root=root, memory=memory, filing=LocalFiling(root))
    return c


@pytest.fixture
def ada_p(tmp_path: Path) -> Principal:
    # The test files live in tmp_path; its data folders in it stay out of reach (tools.paths).
    return Principal(
        id="ada",
        name="Ada Lovelace",
        email="ada@example.com",
        timezone="Europe/Berlin",
        policy={"import_folders": [str(tmp_path)]},
    )


@pytest.fixture
def ctx(tmp_path: Path, ada_p: Principal, duty_context: Any) -> ToolContext:
    return build_ctx(duty_context, tmp_path / "ada", ada_p)


@pytest.fixture
def mctx(tmp_path: Path, ada_p: Principal, duty_context: Any) -> ToolContext:
    """A context with a real memory (SQLite words + Chroma with the local MiniLM)."""
    root = tmp_path / "ada"
    root.mkdir()
    memory = open_memory(tmp_path / "home-mem", "ada", root, None)
    return build_ctx(duty_context, root, ada_p, memory)


def files_root(ctx: ToolContext) -> Path:
    return ctx.workspace.root / "files"


def all_files(ctx: ToolContext) -> list[Path]:
    return sorted(p for p in files_root(ctx).rglob("*") if p.is_file())


@pytest.fixture
def contract_pdf(tmp_path: Path) -> Path:
    path = tmp_path / "incoming" / "Acme service agreement.pdf"
    path.parent.mkdir()
    path.write_bytes(make_pdf(CONTRACT_TEXT))
    return path


# ----------------------------------------------------------------- names


def test_slug_and_safe_names_keep_unicode_and_never_leave_the_folder() -> None:
    assert slug("Müller & Söhne GmbH") == "müller-söhne-gmbh"
    assert slug("  ACME, Inc. ") == "acme-inc"
    assert safe_name("../../etc/passwd") == "etc-passwd"
    assert safe_name("..\\..\\boot.ini") == "boot.ini"
    assert safe_name("...") == "document"
    assert safe_name("Vertrag für Zoë.pdf") == "Vertrag für Zoë.pdf"
    assert safe_name("a\x00b\nc.txt") == "a b c.txt"
    long = safe_name("x" * 300 + ".pdf")
    assert long.endswith(".pdf") and len(long.encode()) <= 180


# ------------------------------------------------------------- from a path


def test_file_from_path_copies_into_the_scheme_and_keeps_the_original(
    ctx: ToolContext, contract_pdf: Path
) -> None:
    original = contract_pdf.read_bytes()
    args = {
        "type": "contract",
        "path": str(contract_pdf),
        "counterparty": "Acme GmbH",
        "document_date": "2026-03-12",
        "tags": ["NDA", "signed"],
    }
    card = preview(ctx, "file_document", **args)
    dest = files_root(ctx) / "contract" / "acme-gmbh" / "2026" / "Acme service agreement.pdf"
    assert card.details["Destination"] == str(dest)
    assert card.summary == "File 'Acme service agreement' as contract of Acme GmbH (2026)"
    assert card.details["Source"] == f"path {contract_pdf}"
    assert "copied" in card.details["Original"]
    assert card.details["SHA-256"] == hashlib.sha256(original).hexdigest()
    assert card.details["Text"].startswith("read")
    assert card.body is not None and "termination clause" in card.body
    assert card.body.startswith(f"Destination:\n{dest}\n")
    assert card.warnings == []
    assert not dest.exists()

    filed = run(ctx, "file_document", "k1", **args)
    assert filed["path"] == str(dest)
    assert dest.read_bytes() == original
    assert contract_pdf.read_bytes() == original  # the original stays
    assert filed["tags"] == ["nda", "signed"]
    assert filed["source"] == f"path {contract_pdf}"
    assert filed["size"] == len(original) and filed["text"] == "read"
    assert filed["indexed"] is False  # no memory open: metadata search still works
    assert filed["filed_at"].startswith("2026-11-23T09:00")


def test_same_key_twice_files_once(ctx: ToolContext, contract_pdf: Path) -> None:
    args = {"type": "contract", "path": str(contract_pdf), "counterparty": "Acme"}
    first = run(ctx, "file_document", "same", **args)
    again = run(ctx, "file_document", "same", **args)
    assert first["id"] == again["id"] and first["path"] == again["path"]
    assert len(all_files(ctx)) == 1
    assert len(run(ctx, "list_filed")) == 1


def test_collisions_get_a_number_and_same_bytes_warn(ctx: ToolContext, tmp_path: Path) -> None:
    a = tmp_path / "a" / "report.txt"
    b = tmp_path / "b" / "report.txt"
    for p, text in ((a, "first report"), (b, "second report")):
        p.parent.mkdir()
        p.write_text(text)
    args = {"type": "report", "counterparty": "Acme", "document_date": "2026-05-01"}
    one = run(ctx, "file_document", "a", path=str(a), **args)
    card = preview(ctx, "file_document", path=str(b), **args)
    assert card.details["Destination"].endswith("report/acme/2026/report (2).txt")
    assert "gets a number" in card.details["Note"]
    assert card.warnings == []
    two = run(ctx, "file_document", "b", path=str(b), **args)
    assert Path(two["path"]).name == "report (2).txt"
    assert Path(one["path"]).read_text() == "first report"
    assert Path(two["path"]).read_text() == "second report"

    dup = preview(ctx, "file_document", path=str(a), **args)
    assert dup.warnings == [f"Already filed as {one['path']} ({one['id']})"]
    assert dup.details["Destination"].endswith("report (3).txt")


def test_traversal_names_stay_inside_the_scheme(ctx: ToolContext, tmp_path: Path) -> None:
    src = tmp_path / "x.txt"
    src.write_text("secret")
    filed = run(
        ctx,
        "file_document",
        "k",
        type="other",
        path=str(src),
        name="../../etc/passwd",
        counterparty="../../..",
    )
    path = Path(filed["path"])
    assert path.parent == files_root(ctx) / "other" / "unknown" / "2026"
    assert path.name == "etc-passwd.txt"
    assert not (ctx.workspace.root.parent / "etc").exists()


# -------------------------------------------------------- from mail, notes


def test_file_a_mail_attachment_from_the_local_mailbox(ctx: ToolContext) -> None:
    pdf = make_pdf(CONTRACT_TEXT)
    mid = ctx.mail.import_eml(  # type: ignore[attr-defined]
        mail_with(
            [("agreement.pdf", pdf, "application/pdf"), ("logo.png", b"\x89PNG..", "image/png")]
        )
    )
    card = preview(
        ctx, "file_document", type="contract", message_id=mid, attachment="agreement.pdf"
    )
    dest = files_root(ctx) / "contract" / "acme" / "2026" / "agreement.pdf"
    assert card.details["Destination"] == str(dest)  # sender's organisation, the mail's date
    assert card.details["Document date"] == "2026-03-12"
    assert card.details["Source"] == f"mail {mid} attachment agreement.pdf"
    assert "stay in the mailbox" in card.details["Original"]

    filed = run(
        ctx, "file_document", "m", type="contract", message_id=mid, attachment="agreement.pdf"
    )
    assert Path(filed["path"]).read_bytes() == pdf
    assert ctx.mail.get_message(mid).attachments == ["agreement.pdf", "logo.png"]

    png = preview(ctx, "file_document", type="other", message_id=mid, attachment="LOGO.PNG")
    assert "metadata only" in png.details["Note"] and png.details["Text"] == "not read"


def test_file_a_note(ctx: ToolContext) -> None:
    args = {
        "type": "correspondence",
        "note": "Call with Dana: Acme agrees to extend the deadline to April.",
        "title": "Call notes Acme",
        "counterparty": "Acme",
    }
    card = preview(ctx, "file_document", **args)
    assert card.details["Source"] == "note"
    filed = run(ctx, "file_document", "n", **args)
    path = Path(filed["path"])
    assert path == files_root(ctx) / "correspondence" / "acme" / "2026" / "Call notes Acme.txt"
    assert "extend the deadline" in path.read_text()
    assert filed["document_date"] == "2026-11-23"


def test_unreadable_pdf_is_filed_with_a_warning(ctx: ToolContext, tmp_path: Path) -> None:
    broken = tmp_path / "scan.pdf"
    broken.write_bytes(b"%PDF-1.4\nthis is not really a pdf\n%%EOF\n")
    card = preview(ctx, "file_document", type="receipt", path=str(broken), counterparty="Taxi")
    assert any("could not be read" in w for w in card.warnings)
    assert card.details["Text"] == "could not be read"
    filed = run(ctx, "file_document", "k", type="receipt", path=str(broken), counterparty="Taxi")
    assert filed["text"] == "unreadable" and Path(filed["path"]).exists()
    assert filed["warnings"] and "could not be read" in filed["warnings"][0]
    assert [d["id"] for d in run(ctx, "find_documents", counterparty="taxi")] == [filed["id"]]


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        ({"type": "contract", "message_id": "<nope@x>"}, "No message with id"),
        (
            {"type": "contract", "message_id": "<c1@acme.com>", "attachment": "x.pdf"},
            r"no attachment 'x.pdf'. Its attachments: 'agreement.pdf', 'logo.png'",
        ),
        ({"type": "contract", "message_id": "<c1@acme.com>"}, "has 2 attachments"),
        # Outside the allowed folders nothing is looked at, not even whether it exists.
        ({"type": "contract", "path": "/no/such/file.pdf"}, "is not in a folder you allow"),
        ({"type": "contract", "path": "relative.pdf"}, "not an absolute path"),
        ({"type": "recipes", "note": "x"}, "'recipes' is not a filing type. Use one of: contract"),
        ({"type": "contract"}, "Give exactly one of"),
        ({"type": "contract", "note": "x", "path": "/tmp/x"}, "Give exactly one of"),
        ({"type": "contract", "attachment": "a.pdf"}, "attachment needs message_id"),
        ({"type": "contract", "note": "x", "document_date": "whenever"}, "document_date: "),
    ],
)
def test_bad_input_is_refused_with_a_sentence(
    ctx: ToolContext, args: dict[str, Any], problem: str
) -> None:
    ctx.mail.import_eml(  # type: ignore[attr-defined]
        mail_with([("agreement.pdf", b"%PDF", "application/pdf"), ("logo.png", b"x", "image/png")])
    )
    with pytest.raises(ToolError, match=problem):
        preview(ctx, "file_document", **args)
    with pytest.raises(ToolError, match=problem):
        run(ctx, "file_document", "k", **args)
    assert all_files(ctx) == []


# ---------------------------------------------------------------- refiling


def test_refile_moves_the_file_and_keeps_history(ctx: ToolContext, contract_pdf: Path) -> None:
    filed = run(
        ctx, "file_document", "f", type="other", path=str(contract_pdf), document_date="2025-12-30"
    )
    card = preview(
        ctx,
        "refile_document",
        document_id=filed["id"],
        type="contract",
        counterparty="Acme",
        year=2026,
        reason="misfiled",
    )
    new_path = files_root(ctx) / "contract" / "acme" / "2026" / "Acme service agreement.pdf"
    assert card.details["From"] == filed["path"] and card.details["To"] == str(new_path)
    assert card.details["Type"] == "other -> contract"
    assert card.details["Document date"] == "2025-12-30 -> 2026-12-30"
    moved = run(
        ctx,
        "refile_document",
        "r",
        document_id=filed["id"],
        type="contract",
        counterparty="Acme",
        year=2026,
        reason="misfiled",
    )
    again = run(
        ctx,
        "refile_document",
        "r",
        document_id=filed["id"],
        type="contract",
        counterparty="Acme",
        year=2026,
        reason="misfiled",
    )
    assert moved == again
    assert moved["path"] == str(new_path) and new_path.exists()
    assert not Path(filed["path"]).exists()
    assert [h["action"] for h in moved["history"]] == ["filed", "refiled"]
    step = moved["history"][1]
    assert step["from_path"] == filed["path"] and step["note"] == "misfiled"
    assert step["changes"]["type"] == {"from": "other", "to": "contract"}
    assert all_files(ctx) == [new_path]
    with pytest.raises(ToolError, match="Nothing would change"):
        preview(ctx, "refile_document", document_id=filed["id"], type="contract")
    with pytest.raises(ToolError, match="No filed document with id 'doc-0'"):
        preview(ctx, "refile_document", document_id="doc-0", type="contract")


def test_there_is_no_tool_to_remove_a_document() -> None:
    from tools.base import registry

    filing_tools = {n for n, s in registry().items() if s.duty == "filing"}
    assert filing_tools == {"file_document", "refile_document", "find_documents", "list_filed"}


# ------------------------------------------------------------ domain packs


def test_domain_pack_adds_its_filing_categories(tmp_path: Path, duty_context: Any) -> None:
    assert pack_categories("medical") == [
        "patients",
        "referrals",
        "lab-results",
        "insurers-and-billing",
        "practice-administration",
        "continuing-education",
        "suppliers",
    ]
    assert "court-filings" in pack_categories("legal")
    doc = Principal(id="doc", name="Dr. House", timezone="Europe/Berlin", domain_pack="medical")
    c = build_ctx(duty_context, tmp_path / "doc", doc)
    try:
        filed = run(
            c,
            "file_document",
            "k",
            type="Lab results",
            note="HbA1c 5.4%",
            counterparty="Labor Berlin",
        )
        assert "/files/lab-results/labor-berlin/2026/" in filed["path"]
        with pytest.raises(ToolError, match="lab-results"):
            preview(c, "file_document", type="court filings", note="x")
    finally:
        c.workspace.close()
    plain = build_ctx(duty_context, tmp_path / "plain", Principal(id="plain"))
    try:
        with pytest.raises(ToolError, match="Use one of: .*other$|Use one of: .*other\\."):
            preview(plain, "file_document", type="lab results", note="x")
    finally:
        plain.workspace.close()  # its database connections, not left to the collector


# ----------------------------------------------------------------- finding


def test_find_the_acme_contract_from_march_with_real_memory(
    mctx: ToolContext, contract_pdf: Path, tmp_path: Path
) -> None:
    invoice = tmp_path / "inv.txt"
    invoice.write_text("Invoice INV-7 for cleaning services, Acme GmbH, due in 14 days.")
    other = tmp_path / "globex.txt"
    other.write_text("Globex supply contract for widgets.")
    march = run(
        mctx,
        "file_document",
        "c",
        type="contract",
        path=str(contract_pdf),
        counterparty="Acme GmbH",
        document_date="2026-03-12",
    )
    run(
        mctx,
        "file_document",
        "i",
        type="invoice",
        path=str(invoice),
        counterparty="Acme GmbH",
        document_date="2026-03-20",
    )
    run(
        mctx,
        "file_document",
        "g",
        type="contract",
        path=str(other),
        counterparty="Globex",
        document_date="2026-03-02",
    )
    run(
        mctx,
        "file_document",
        "j",
        type="contract",
        note="Acme renewal draft",
        title="Acme renewal",
        counterparty="Acme GmbH",
        document_date="2026-06-01",
    )
    assert march["indexed"] is True
    assert mctx.workspace.memory.has(f"document:{march['id']}")

    # Through the filters the model gives.
    found = run(mctx, "find_documents", counterparty="acme", type="contract", month=3)
    assert [d["id"] for d in found] == [march["id"]]
    # Through a plain query: the text and the metadata.
    found = run(mctx, "find_documents", query="the Acme contract from March")
    assert found[0]["id"] == march["id"]
    found = run(mctx, "find_documents", query="ending the agreement with notice")
    assert found[0]["id"] == march["id"]
    assert "termination clause" in found[0]["snippet"]
    assert "words" in found[0]["matched_by"] or "meaning" in found[0]["matched_by"]
    # Memory recall only returns documents here, never mail.
    assert all(d["id"].startswith("doc-") for d in run(mctx, "find_documents", query="Acme"))
    assert run(mctx, "find_documents", query="Acme", year=2025) == []
    with pytest.raises(ToolError, match="month: 13"):
        run(mctx, "find_documents", month=13)


def test_find_documents_without_memory_uses_the_records(
    ctx: ToolContext, contract_pdf: Path
) -> None:
    filed = run(
        ctx,
        "file_document",
        "c",
        type="contract",
        path=str(contract_pdf),
        counterparty="Acme GmbH",
        document_date="2026-03-12",
        tags=["nda"],
    )
    assert [d["id"] for d in run(ctx, "find_documents", query="termination clause")] == [
        filed["id"]
    ]
    assert [d["id"] for d in run(ctx, "find_documents", tags=["NDA"])] == [filed["id"]]
    assert run(ctx, "find_documents", query="zebra") == []
    assert [d["path"] for d in run(ctx, "list_filed", type="contract", year=2026)] == [
        filed["path"]
    ]
    assert run(ctx, "list_filed", counterparty="globex") == []


# ---------------------------------------------------------------- the gate


def test_file_an_attachment_through_the_secretary(make_secretary: Any) -> None:
    pdf = make_pdf(CONTRACT_TEXT)
    sec0 = make_secretary(None)
    ws = sec0.workspace(sec0.principal("ada"))
    mid = ws.mail.import_eml(mail_with([("agreement.pdf", pdf, "application/pdf")]))
    call = {
        "tool_calls": [
            {
                "name": "file_document",
                "args": {
                    "type": "contract",
                    "message_id": mid,
                    "attachment": "agreement.pdf",
                    "counterparty": "Acme GmbH",
                    "title": "Acme service agreement",
                },
            }
        ]
    }
    model = ScriptedChatModel([call, "Filed the Acme agreement."])
    sec = make_secretary(model)
    reply = sec.ask("File the contract Dana sent", principal="ada", thread="t1")
    [proposal] = reply.pending
    assert proposal.tool == "file_document"
    card = proposal.preview
    card = card if isinstance(card, dict) else card.to_dict()
    destination = Path(card["details"]["Destination"])
    assert destination == ws.root / "files" / "contract" / "acme-gmbh" / "2026" / "agreement.pdf"
    assert not destination.exists()

    done = sec.decide(proposal.id, Decision(kind="approve"))
    assert [p.status for p in done.executed] == ["executed"]
    assert destination.read_bytes() == pdf
    again = make_secretary(model).decide(proposal.id, Decision(kind="approve"))
    assert "already executed" in (again.notice or "")
    assert len(list((ws.root / "files").rglob("*.pdf"))) == 1


# ----------------------------------------------------------------------- CLI


def cli(*args: str) -> Any:
    from agent.cli import cli as main

    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_cli_lists_finds_and_shows_filed_documents(
    isolated_home: Path, tmp_path: Path, duty_context: Any
) -> None:
    r = cli("init", "--name", "Ada", "--email", "ada@example.com", "--timezone", "Europe/Berlin")
    assert r.exit_code == 0, r.output
    root = isolated_home / "principals" / "me"
    p = Principal(
        id="me", name="Ada", timezone="Europe/Berlin", policy={"import_folders": [str(tmp_path)]}
    )
    c = build_ctx(duty_context, root, p)
    src = tmp_path / "offer.txt"
    src.write_text("Offer from Initech for the new printers.")
    filed = run(
        c,
        "file_document",
        "k",
        type="correspondence",
        path=str(src),
        counterparty="Initech",
        document_date="2026-02-03",
    )
    c.workspace.close()

    r = cli("files", "--json")
    assert r.exit_code == 0, r.output
    [doc] = json.loads(r.stdout)
    assert doc["path"] == filed["path"] and doc["counterparty"] == "Initech"
    r = cli("files", "printers", "--type", "correspondence", "--json")
    assert [d["id"] for d in json.loads(r.stdout)] == [filed["id"]]
    r = cli("files", "--counterparty", "initech", "--year", "2026")
    assert "Initech" in r.stdout and "offer" in r.stdout
    assert "No filed documents" in cli("files", "--year", "2019").output
    r = cli("files", "--show", filed["id"])
    assert r.exit_code == 0, r.output
    assert f"Path:           {filed['path']}" in r.stdout and "filed" in r.stdout
    r = cli("files", "--show", "doc-0")
    assert r.exit_code != 0 and "No filed document" in r.output and "Traceback" not in r.output
    r = cli("files", "--type", "recipes")
    assert r.exit_code != 0 and "not a filing type" in r.output
