"""The triage benchmark: the labelled set is sound and the harness counts what it claims."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from evals import bench_triage
from evals.bench_triage import PREDICTED, evaluate, predicted, score
from evals.triage_set import DATA, LABELS, TriageItem, load, principal_of_set
from tools.foundation.settings import Settings
from tools.providers.scripted import ScriptedChatModel
from tools.triage import Incoming, rules


@pytest.fixture(scope="module")
def items() -> list[TriageItem]:
    return load()


def _ratios(scores: dict[str, Any]) -> list[float]:
    values = [scores["coverage"], scores["accuracy_decided"], scores["accuracy"]]
    values += [scores["hard"]["coverage"], scores["hard"]["accuracy_decided"]]
    for row in scores["per_label"].values():
        values += [row["precision"], row["recall_decided"], row["recall"]]
    return [v for v in values if v is not None]


def test_the_set_is_large_balanced_and_complete(items: list[TriageItem]) -> None:
    assert len(items) >= 400
    counts = Counter(i.label for i in items)
    assert set(counts) == set(LABELS)
    assert all(n >= 40 for n in counts.values()), counts
    assert len({i.id for i in items}) == len(items)
    assert len({i.template for i in items}) >= 90
    hard = sum(i.hard for i in items) / len(items)
    assert 0.10 <= hard <= 0.15
    again = load()
    assert [(i.id, i.raw) for i in again] == [(i.id, i.raw) for i in items]
    # Every message on disk is in the index and every indexed message is on disk, once.
    assert sorted(p.stem for p in DATA.glob("*.eml")) == sorted(i.id for i in items)
    assert len({i.raw for i in items}) == len(items)


def test_every_item_parses_and_carries_its_context(items: list[TriageItem]) -> None:
    p = principal_of_set()
    for item in items:
        mail = Incoming.from_raw(item.raw, p)
        assert mail.message.message_id and mail.headers["From"], item.id
        history = item.history()
        for c in item.contacts:
            found = history.contact(c["email"])
            assert found is not None and found.role == c["role"]
        assert all(history.wrote(mid) for mid in item.wrote)
        assert not history.wrote("<someone-else@example.org>")
    # The headers the set promises are really there, somewhere.
    blob = b"\n".join(i.raw for i in items)
    for header in (b"In-Reply-To:", b"References:", b"Cc:", b"List-Id:", b"List-Unsubscribe:",
                   b"Precedence: bulk", b"Auto-Submitted:", b"Authentication-Results:",
                   b"dmarc=fail", b"X-Spam-Flag: YES", b"Reply-To:", b"text/html",
                   b"METHOD:REQUEST", b"multipart/report"):  # fmt: skip
        assert header in blob, header


def test_the_rules_see_what_the_set_plants(items: list[TriageItem]) -> None:
    p = principal_of_set()
    by_template: dict[str, list[str]] = {}
    for item in items:
        v = rules(item.incoming(p), p, item.history())
        by_template.setdefault(item.template, []).append(predicted(v))
    assert set(by_template["bounce_report"]) == {"fyi"}
    assert set(by_template["calendar_invite"]) == {"needs-response"}
    assert set(by_template["display_name_spoof"]) == {"phishing"}
    assert set(by_template["family_dinner"]) == {"personal"}
    assert set(by_template["newsletter_sale"]) == {"promotional"}


def test_scores_count_precision_recall_and_confusion() -> None:
    item = TriageItem(id="x", label="fyi", template="t", raw=b"")
    items = [item, TriageItem(id="y", label="urgent", template="t", raw=b"")] * 2
    preds = ["fyi", "undecided", "urgent", "urgent"]
    s = score(items, preds)
    assert s["coverage"] == 0.75
    assert s["per_label"]["fyi"] == {
        "count": 2, "decided": 2, "predicted": 1,
        "precision": 1.0, "recall_decided": 0.5, "recall": 0.5,
    }  # fmt: skip
    assert s["per_label"]["urgent"]["precision"] == 0.5
    assert s["per_label"]["phishing"]["precision"] is None
    assert s["per_label"]["urgent"]["recall_decided"] == 1.0
    assert s["confusion"]["urgent"]["undecided"] == 1
    assert set(s["confusion"]["fyi"]) == set(PREDICTED)


def test_benchmark_runs_on_a_slice(items: list[TriageItem]) -> None:
    result = evaluate(items[:60], repeat=1)
    rules_scores = result["rules"]
    assert rules_scores["items"] == 60
    assert all(0.0 <= v <= 1.0 for v in _ratios(rules_scores))
    assert sum(sum(r.values()) for r in rules_scores["confusion"].values()) == 60
    assert result["speed"]["rules_messages_per_second"] > 0
    assert "combined" not in result
    text = bench_triage.report(result, 11)
    assert "coverage" in text and "confusion" in text and "messages/s" in text


def test_model_path_counts_calls_and_uses_the_answers(items: list[TriageItem]) -> None:
    p = principal_of_set()
    undecided = [i for i in items if not rules(i.incoming(p), p, i.history()).decided][:5]
    decided = [i for i in items if rules(i.incoming(p), p, i.history()).decided][:3]
    replies = []
    for item in undecided:
        phishing = item.label == "phishing"
        answer = {
            "category": "fyi" if phishing else item.label,
            "action": "notify" if phishing else "file",
            "reason": "scripted",
            "spam": False,
            "phishing": phishing,
        }
        replies.append(json.dumps(answer))
    model = ScriptedChatModel(replies)
    slice_ = undecided + decided
    result = evaluate(slice_, model, Settings(principals=[p]), repeat=1)
    assert result["model"]["calls"] == 5 == len(model.calls)
    assert result["model"]["calls_per_message"] == 5 / 8
    assert result["model"]["failures"] == 0
    assert result["rules"]["coverage"] == 3 / 8
    assert result["combined"]["coverage"] == 1.0
    assert all(0.0 <= v <= 1.0 for v in _ratios(result["combined"]))
    # The scripted model answered the true label for every message it saw.
    for label in LABELS:
        row = result["combined"]["confusion"][label]
        wrong_before = result["rules"]["confusion"][label]
        assert row["undecided"] == 0
        assert sum(row.values()) == sum(wrong_before.values())
    assert "Rules + model" in bench_triage.report(result, 11)


def test_cli_writes_json_and_refuses_model_without_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SECRETARY_MODEL", raising=False)
    monkeypatch.setenv("SECRETARY_CONFIG", str(tmp_path / "none.toml"))
    assert bench_triage.main(["--model"]) == 2
    out = capsys.readouterr().out.strip()
    assert out == bench_triage.NO_MODEL and "SECRETARY_MODEL" in out
    target = tmp_path / "numbers.json"
    argv = ["--set", "original", "--limit", "30", "--repeat", "1", "--json", str(target)]
    assert bench_triage.main(argv) == 0
    data = json.loads(target.read_text())["sets"]["original"]
    assert data["rules"]["items"] == 30 and 0 <= data["rules"]["coverage"] <= 1
    assert "precision" in capsys.readouterr().out


# ------------------------------------------------------------------ the later sets


def test_every_set_loads_labelled_and_whole() -> None:
    from evals.triage_set import FOLDERS, load_set, sets

    found = {s.name: s for s in sets()}
    assert {"original", "dev", "held-out"} <= set(found)
    for about in found.values():
        items = about.items
        assert len(items) >= 240, about.name
        assert {i.label for i in items} <= set(LABELS)
        assert {i.action for i in items if i.action} <= {"ignore", "file", "notify", "respond"}
        assert len({i.id for i in items}) == len(items)
        on_disk = sorted(p.stem for p in FOLDERS[about.name].glob("*.eml"))
        assert on_disk == sorted(i.id for i in items), about.name
        assert all(i.principal == about.principal for i in items)
        assert load_set(about.name).items[0].raw == items[0].raw
    # The later sets are not the first one's principal, and mostly lack helpful headers.
    held = found["held-out"]
    assert held.principal.email != principal_of_set().email
    assert sum(i.headers == "minimal" for i in held.items) > len(held.items) / 2
    assert sum(i.label == "phishing" for i in held.items) >= 60


def test_held_out_sets_are_frozen() -> None:
    from evals.triage_set import FOLDERS, digest, sets

    frozen = [s for s in sets() if s.role == "held-out"]
    assert frozen
    for about in frozen:
        assert about.digest, f"{about.name} has no digest in its set.toml"
        assert digest(FOLDERS[about.name]) == about.digest, f"{about.name} changed after freezing"


def test_quiet_filing_of_phishing_or_urgent_mail_is_always_wrong() -> None:
    item = TriageItem(id="x", label="phishing", template="", raw=b"", action="ignore")
    assert not item.quiet_ok
    assert TriageItem(id="y", label="fyi", template="", raw=b"", action="file").quiet_ok
    assert not TriageItem(id="z", label="fyi", template="", raw=b"", action="notify").quiet_ok
    scores = score([item], ["fyi"], ["ignore"])
    assert scores["quiet_wrong"] == ["x"] and scores["false_phishing"] == []
