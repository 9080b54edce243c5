"""Memory of past correspondence: ingest, recall by words and meaning, per principal."""

from __future__ import annotations

import email.message
import email.utils
import mailbox
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from agent.ingest import run_ingest
from tools.providers.memory.store import chunk, new_text
from tools.providers.scripted import ScriptedChatModel

TOPICS = [
    ("Budget review", "Can we move the budget review to Thursday at 10? The Q3 numbers are ready."),
    (
        "Invoice INV-2231",
        "Please find invoice INV-2231 for the October office cleaning, due in 14 days.",
    ),
    ("Flight to Lisbon", "Your flight LH1234 to Lisbon on 4 December is confirmed. Seat 3A."),
    ("Dinner", "Shall we have dinner at Rosa's on Friday? My treat."),
]


def message(i: int, subject: str, body: str) -> email.message.EmailMessage:
    m = email.message.EmailMessage()
    m["From"] = f"Sender {i} <s{i}@acme.com>"
    m["To"] = "ada@example.com"
    m["Subject"] = subject
    m["Message-ID"] = f"<m{i}@acme.com>"
    when = datetime(2026, 10, 1 + i, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    m["Date"] = email.utils.format_datetime(when)
    m.set_content(
        f"{body}\n\nOn Mon, Ada wrote:\n> old quoted text\n\n-- \nSender {i}\nACME Corp\n"
    )
    return m


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    box = mailbox.mbox(tmp_path / "archive.mbox")
    for i, (subject, body) in enumerate(TOPICS):
        box.add(message(i, subject, body))
    box.flush()
    box.close()
    return tmp_path / "archive.mbox"


def memory_of(make_secretary: Any, pid: str = "ada") -> Any:
    sec = make_secretary(None)
    return sec, sec.workspace(sec.principal(pid)).memory


def test_new_text_drops_quotes_and_signature() -> None:
    body = "Thursday works.\n\nOn Mon, 2 Nov 2026, Dana wrote:\n> Can we meet?\n\n-- \nAda\n"
    assert new_text(body) == "Thursday works."
    assert new_text("Hi\n> quoted\nBye\n-- \nsig") == "Hi\nBye"


def test_long_text_is_chunked_with_overlap() -> None:
    words = [f"w{i}" for i in range(400)]
    parts = chunk(" ".join(words), words=160, overlap=32)
    assert len(parts) == 3 and parts[1].split()[0] == "w128"
    assert parts[-1].split()[-1] == "w399"


def test_ingest_is_incremental_and_reports_unreadable(
    make_secretary: Any, archive: Path, tmp_path: Path
) -> None:
    _, memory = memory_of(make_secretary)
    (tmp_path / "empty.eml").write_bytes(b"")
    report = run_ingest(memory, [archive, tmp_path / "empty.eml", tmp_path / "missing.mbox"])
    assert (report.ingested, report.duplicates, report.embedded) == (4, 0, 4)
    assert [why for _, why in report.unreadable] == [
        "not a readable e-mail: the file is empty",
        "no such file or folder",
    ]
    again = run_ingest(memory, [archive])
    assert (again.ingested, again.duplicates, again.embedded) == (0, 4, 0)


def test_interrupted_ingest_is_found_by_words_and_finished_later(
    make_secretary: Any, archive: Path
) -> None:
    _, memory = memory_of(make_secretary)
    report = run_ingest(memory, [archive], embed=False)
    assert report.ingested == 4 and memory.pending_embeddings() == 4
    assert memory.recall("INV-2231", mode="keyword")[0].message_id == "<m1@acme.com>"
    assert run_ingest(memory, [archive]).embedded == 4
    assert memory.pending_embeddings() == 0


def test_maildir_and_eml_folders_are_read(make_secretary: Any, tmp_path: Path) -> None:
    _, memory = memory_of(make_secretary)
    md = mailbox.Maildir(tmp_path / "Maildir", create=True)
    md.add(message(0, *TOPICS[0]))
    eml_dir = tmp_path / "emls"
    eml_dir.mkdir()
    (eml_dir / "one.eml").write_bytes(bytes(message(1, *TOPICS[1])))
    report = run_ingest(memory, [tmp_path / "Maildir", eml_dir])
    assert report.ingested == 2 and not report.unreadable


def test_recall_by_meaning_and_by_exact_term(make_secretary: Any, archive: Path) -> None:
    _, memory = memory_of(make_secretary)
    run_ingest(memory, [archive])
    assert memory.recall("trip to Portugal", k=1, mode="dense")[0].subject == "Flight to Lisbon"
    assert memory.recall("when is the meeting about money", k=1)[0].subject == "Budget review"
    [hit] = memory.recall("LH1234", k=1, mode="keyword")
    assert hit.message_id == "<m2@acme.com>" and hit.sender.endswith("<s2@acme.com>")
    assert "quoted" not in hit.snippet and "ACME Corp" not in hit.snippet
    since = datetime(2026, 10, 3, tzinfo=ZoneInfo("Europe/Berlin"))
    assert {h.subject for h in memory.recall("dinner budget flight", since=since)} == {
        "Flight to Lisbon",
        "Dinner",
    }
    assert [h.subject for h in memory.recall("review", sender="s0@acme.com")] == ["Budget review"]


def test_a_second_principal_never_recalls_the_firsts_mail(
    make_secretary: Any, archive: Path
) -> None:
    sec, ada = memory_of(make_secretary, "ada")
    run_ingest(ada, [archive])
    bob = sec.workspace(sec.principal("bob")).memory
    for mode in ("merged", "dense", "keyword"):
        assert bob.recall("invoice INV-2231 cleaning", mode=mode) == []
    assert ada.collection.name != bob.collection.name


def test_recalled_mail_is_its_senders_content_for_provenance(
    make_secretary: Any, archive: Path
) -> None:
    model = ScriptedChatModel(
        [
            {"tool_calls": [{"name": "recall", "args": {"query": "invoice cleaning"}}]},
            {
                "tool_calls": [
                    {
                        "name": "send_email",
                        "args": {
                            "to": ["s1@acme.com"],
                            "subject": "Invoice INV-2231",
                            "body": "Paid.",
                        },
                    }
                ]
            },
        ]
    )
    sec = make_secretary(model)
    run_ingest(sec.workspace(sec.principal("ada")).memory, [archive])
    [p] = sec.ask("Tell the cleaning company it's paid", principal="ada", thread="t1").pending
    # Ingested mail is what its sender wrote, wherever it is read from: an address taken
    # from it (not in the contacts) is flagged; a subject in the secretary's words is not.
    assert p.provenance["to"]["source"] == "untrusted"
    assert p.provenance["to"]["who"] == "s1@acme.com"
    assert p.provenance["subject"]["source"] == "model"
    assert any("s1@acme.com is not in your contacts" in w for w in p.preview["warnings"])


def test_bad_since_date_is_a_clear_error(make_secretary: Any) -> None:
    from click.testing import CliRunner

    from agent.cli import cli

    r = CliRunner().invoke(cli, ["recall", "x", "--since", "last blursday"])
    assert r.exit_code == 1 and "ISO 8601" in r.output


def send(body: str = "Dear Dana,\nThursday works.\nKind regards,\nAda") -> dict[str, Any]:
    args = {"to": ["dana@acme.com"], "subject": "Budget review", "body": body}
    return {"tool_calls": [{"name": "send_email", "args": args}]}


def test_a_draft_cites_the_recalled_messages_it_drew_on(make_secretary: Any, archive: Path) -> None:
    model = ScriptedChatModel(
        [
            {"tool_calls": [{"name": "recall", "args": {"query": "budget review"}}]},
            send("Dear Sender 0,\nThursday at 10 is fine; the Q3 numbers are ready.\nAda"),
        ]
    )
    sec = make_secretary(model)
    run_ingest(sec.workspace(sec.principal("ada")).memory, [archive])
    [p] = sec.ask("Confirm the budget review", principal="ada", thread="t1").pending
    assert p.preview["citations"][0].startswith("<m0@acme.com>")
    from agent.approval import card_lines, card_markdown

    assert ("Draws on", p.preview["citations"][0]) in card_lines(p)
    assert "Draws on: <m0@acme.com>" in card_markdown(p)


def test_sent_mail_and_chat_turns_enter_memory(make_secretary: Any) -> None:
    from agent.approval import Decision

    sec = make_secretary(ScriptedChatModel([send(), "Sent."]))
    [p] = sec.ask(
        "Tell Dana Thursday works for the budget review", principal="ada", thread="t1"
    ).pending
    sec.decide(p.id, Decision(kind="approve"))
    memory = sec.workspace(sec.principal("ada")).memory
    kinds = {h.kind for h in memory.recall("Thursday budget review", k=10, mode="keyword")}
    assert {"sent", "chat"} <= kinds


def test_edits_and_rejections_become_preferences_shown_to_the_planner(make_secretary: Any) -> None:
    from agent.approval import Decision

    model = ScriptedChatModel([send(), "Sent.", send(), "Understood.", "Hello."])
    sec = make_secretary(model)
    [p] = sec.ask("Mail Dana", principal="ada", thread="t1").pending
    edited = "Dear Dana,\nThursday works.\nBest, A."
    sec.decide(p.id, Decision(kind="edit", args={"body": edited}))
    [q] = sec.ask("Mail Dana again", principal="ada", thread="t1").pending
    sec.decide(q.id, Decision(kind="reject", text="never write to Dana before 9:00"))
    notes = sec.workspace(sec.principal("ada")).memory.preferences()
    assert any("'Best, A.'" in n for n in notes)
    assert any("never write to Dana before 9:00" in n for n in notes)
    sec.ask("Anything else?", principal="ada", thread="t2")
    system = model.calls[-1][0].content
    assert "Best, A." in system and "never write to Dana before 9:00" in system


# --------------------------------------------------------------------------- bad input, limits


def _eml(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / f"{name}.eml"
    path.write_bytes(data)
    return path


HEAD = (
    "From: Dana <dana@acme.com>\nTo: ada@example.com\nSubject: {subject}\n"
    "Date: Mon, 02 Nov 2026 09:00:00 +0100\nMessage-ID: <{name}@acme.com>\nMIME-Version: 1.0\n"
)


def test_text_attachments_are_remembered_up_to_a_limit_and_binary_ones_by_name(
    make_secretary: Any, tmp_path: Path
) -> None:
    from agent.ingest import ATTACHMENT_TEXT_CHARS

    _, memory = memory_of(make_secretary)
    m = message(7, "Order", "The order confirmation is attached.")
    early = "Purchase order PO-11111 for twelve chairs.\n"
    late = "x" * ATTACHMENT_TEXT_CHARS + "\nLATEWORD-99999 after the limit\n"
    m.add_attachment(early + late, filename="order.txt")
    m.add_attachment(b"%PDF-1.4 opaque", maintype="application", subtype="pdf", filename="a.pdf")
    folder = tmp_path / "in"
    folder.mkdir()
    _eml(folder, "order", bytes(m))
    report = run_ingest(memory, [folder], embed=False)
    assert report.ingested == 1 and not report.unreadable
    [(_, note)] = report.warnings
    assert "order.txt" in note and f"{ATTACHMENT_TEXT_CHARS:,}" in note
    [hit] = memory.recall("PO-11111", mode="keyword")
    assert hit.message_id == "<m7@acme.com>"
    assert memory.recall("a.pdf", mode="keyword")[0].message_id == "<m7@acme.com>"
    assert memory.recall("LATEWORD-99999", mode="keyword") == []


def test_bad_messages_are_each_reported_with_a_reason_and_the_rest_is_kept(
    make_secretary: Any, tmp_path: Path
) -> None:
    _, memory = memory_of(make_secretary)
    folder = tmp_path / "in"
    folder.mkdir()
    broken = HEAD.format(subject="Scan", name="broken") + (
        'Content-Type: multipart/mixed; boundary="declared"\n\n--other\n'
        "Content-Type: text/plain\n\nlost text\n--other--\n"
    )
    empty = HEAD.format(subject="Nothing", name="empty") + "Content-Type: text/plain\n\n"
    charset = HEAD.format(subject="Lieferung", name="charset") + (
        'Content-Type: text/plain; charset="x-unknown-2026"\n\nDie Lieferung kommt später.\n'
    )
    huge = HEAD.format(subject="Big", name="huge") + "\n" + "y" * 5000 + "\n"
    _eml(folder, "1-broken", broken.encode())
    _eml(folder, "2-empty", empty.encode())
    _eml(folder, "3-charset", charset.encode())
    _eml(folder, "4-huge", huge.encode())
    _eml(folder, "5-junk", b"\x00\x01 not mail at all")
    for i, (subject, body) in enumerate(TOPICS):
        _eml(folder, f"6-good{i}", bytes(message(i, subject, body)))
    report = run_ingest(memory, [folder], embed=False, max_bytes=4000)
    reasons = {Path(ref).stem: why for ref, why in report.unreadable}
    assert reasons["1-broken"].startswith("broken MIME")
    assert reasons["2-empty"].startswith("empty body")
    assert reasons["4-huge"].startswith("too large")
    assert reasons["5-junk"].startswith("not a readable e-mail")
    assert len(reasons) == 4 and report.ingested == len(TOPICS) + 1
    [(ref, note)] = report.warnings
    assert ref.endswith("3-charset.eml") and "unknown charset x-unknown-2026" in note
    assert memory.recall("Lieferung", mode="keyword")[0].message_id == "<charset@acme.com>"
    assert all(memory.has(f"<m{i}@acme.com>") for i in range(len(TOPICS)))


def test_ingest_announces_its_total_so_progress_has_an_eta(
    make_secretary: Any, archive: Path
) -> None:
    _, memory = memory_of(make_secretary)
    seen: dict[str, list[int]] = {"total": [], "read": [], "before": [], "embedded": []}
    run_ingest(
        memory,
        [archive],
        on_total=seen["total"].append,
        on_read=seen["read"].append,
        before_embedding=seen["before"].append,
        on_embedded=seen["embedded"].append,
    )
    assert seen["total"] == [4] and sum(seen["read"]) == 4
    assert seen["before"] == [4] and sum(seen["embedded"]) == 4


def test_a_changed_embedding_model_is_refused_until_memory_is_reembedded(
    make_secretary: Any, archive: Path, isolated_home: Path, request: pytest.FixtureRequest
) -> None:
    from tools.providers.memory.chroma import chroma_client
    from tools.providers.memory.embeddings import OnnxMiniLM, for_chroma
    from tools.providers.memory.store import EmbeddingModelChanged, Memory

    _, memory = memory_of(make_secretary)
    run_ingest(memory, [archive])
    assert memory.embedding_model() == OnnxMiniLM().model_id
    client = chroma_client(isolated_home / "chroma")
    fp32 = OnnxMiniLM(backend="numpy")

    def collection(name: str) -> Any:
        return client.get_or_create_collection(name, embedding_function=for_chroma(fp32))

    other = Memory(memory.path.parent, "ada", collection, fp32.model_id, client.delete_collection)
    request.addfinalizer(other.close)  # its own database connections
    with pytest.raises(EmbeddingModelChanged, match="secretary ingest --reembed"):
        other.recall("trip to Portugal", mode="dense")
    assert other.recall("LH1234", mode="keyword")[0].message_id == "<m2@acme.com>"
    report = run_ingest(other, [archive], reembed=True)
    assert (report.duplicates, report.embedded) == (4, 4)
    assert other.embedding_model() == fp32.model_id
    assert other.recall("trip to Portugal", k=1, mode="dense")[0].subject == "Flight to Lisbon"
