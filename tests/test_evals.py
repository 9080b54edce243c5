"""The scenario evals keep themselves honest: every scenario loads and passes with its scripted
model, and the checks catch a broken agent (a wrong action, a card without its warning, an
action run without an approval)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from evals import scenarios as ev
from evals.__main__ import main, summary

ALL = ev.load()
BY_ID = {s.id: s for s in ALL}


def test_there_are_enough_scenarios_and_every_suite_has_some() -> None:
    per_suite = Counter(s.suite for s in ALL)
    assert len(ALL) >= 60, len(ALL)
    assert set(per_suite) == set(ev.SUITES), per_suite
    assert all(s.expect for s in ALL), [s.id for s in ALL if not s.expect]


@pytest.mark.parametrize("sc", ALL, ids=lambda s: s.id)
def test_scenario_passes_with_its_script(sc: ev.Scenario, tmp_path: Path) -> None:
    r = ev.run(sc, tmp_path)
    assert r.error == "", r.error
    assert r.failures == [], r.failures
    assert r.unapproved == 0 and r.leaks == 0
    assert r.flagged == r.untrusted, "every outside-content argument is flagged on its card"
    assert r.passed


def test_a_wrong_action_fails_its_checks(tmp_path: Path) -> None:
    sc = BY_ID["scheduling-book-01"].model_copy(deep=True)
    sc.script[0]["tool_calls"][0]["args"]["start"] = "2026-11-24T11:00"  # the wrong hour
    r = ev.run(sc, tmp_path)
    assert not r.passed
    assert any(f.startswith("event:") for f in r.failures), r.failures


def test_a_card_without_its_untrusted_warning_is_caught(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import agent.nodes

    monkeypatch.setattr(agent.nodes, "untrusted_warnings", lambda _provenance: [])
    r = ev.run(BY_ID["injection-forward-01"], tmp_path)
    assert not r.passed
    assert r.untrusted == 1 and r.flagged == 0
    joined = " ".join(r.failures)
    assert "flagged" in joined and "not_executed" in joined  # and the forward went out


def test_an_action_run_without_an_approval_is_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent.ledger import Ledger

    real = Ledger._audit

    def forgetful(self: Any, db: Any, principal: str, pid: Any, event: str, *a: Any) -> Any:
        # A broken gate: approvals leave no trace, so nothing proves they happened.
        if event in ("approved", "edited", "auto_approved"):
            return None
        return real(self, db, principal, pid, event, *a)

    monkeypatch.setattr(Ledger, "_audit", forgetful)
    r = ev.run(BY_ID["scheduling-book-01"], tmp_path)
    assert r.unapproved == 1 and not r.passed


def test_a_broken_scenario_file_is_reported_with_its_path(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('id = "x"\nsuite = "mail"\nexpect = [{kind = "teleported"}]\n')
    with pytest.raises(ValueError, match="bad.toml"):
        ev.load([bad])
    twice = tmp_path / "dup"
    twice.mkdir()
    for name in ("a", "b"):
        (twice / f"{name}.toml").write_text('id = "same"\nsuite = "mail"\n')
    with pytest.raises(ValueError, match="is also used by"):
        ev.load([twice])


def test_command_line_runs_a_suite_and_writes_the_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.json"
    code = main(["--scenario", "scheduling-book-01", "--scenario", "injection-forward-01",
                 "--json", str(out)])  # fmt: skip
    assert code == 0
    report = json.loads(out.read_text())
    assert report["summary"]["all"]["scenarios"] == 2
    assert report["summary"]["all"]["passed"] == 2
    assert {r["id"] for r in report["scenarios"]} == {"scheduling-book-01", "injection-forward-01"}
    assert report["summary"]["injection"]["flagged"] == 1
    printed = capsys.readouterr()
    assert "Scenario evals" in printed.out and "ok   injection" in printed.err
    assert main(["--scenario", "no-such-thing"]) == 2


def test_summary_adds_up_per_suite() -> None:
    rs = [
        ev.Result("a", "mail", passed=True, model_calls=2, wall_s=1.0),
        ev.Result("b", "mail", passed=False, model_calls=3, wall_s=0.5, unapproved=1),
        ev.Result("c", "press", passed=True, model_calls=1),
    ]
    s = summary(rs)
    assert s["mail"]["scenarios"] == 2 and s["mail"]["passed"] == 1
    assert s["all"]["model_calls"] == 6 and s["all"]["unapproved"] == 1


def test_a_configured_openai_compatible_model_is_measured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--model configured` goes through the real OpenAI client to an OpenAI-compatible server
    (here the loopback scripted one): calls and token usage are reported per scenario."""
    from tools.providers.scripted import ScriptedOpenAIServer

    sc = BY_ID["scheduling-book-01"]
    with ScriptedOpenAIServer(list(sc.script)) as server:
        monkeypatch.setenv("SECRETARY_MODEL", "scripted-openai")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        out = tmp_path / "report.json"
        code = main(["--model", "configured", "--scenario", sc.id, "--json", str(out)])
        assert len(server.chat_requests) == 2
    assert code == 0, capsys.readouterr()
    [r] = json.loads(out.read_text())["scenarios"]
    assert r["passed"] and r["model_calls"] == 2
    assert r["prompt_tokens"] > 0 and r["completion_tokens"] > 0
    assert r["wall_s"] > 0


def test_configured_without_a_model_says_how_to_set_one() -> None:
    with pytest.raises(SystemExit, match="No model is configured"):
        main(["--model", "configured", "--scenario", "scheduling-book-01"])
