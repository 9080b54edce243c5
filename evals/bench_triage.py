"""Benchmark of mail triage on the labelled sets of :mod:`evals.triage_set`.

    python -m evals.bench_triage [--set NAME] [--model] [--json FILE] [--limit N]

Runs the model-free rules layer (``tools.triage.rules``) on every message of
every set (``original`` and ``dev``, which the rules were tuned on, and
``held-out``, which they never were) and prints per set the coverage (share
decided without a model), the precision where decided, per label the
precision and recall, phishing recall and false phishing, how many messages
were ignored or filed quietly that should have been shown, a confusion table,
and how many messages per second the rules layer handles. A message counts as
predicted ``phishing`` when the verdict carries the phishing flag, whatever its
category.

With ``--model`` it also runs the full ``triage`` with the configured chat
model (``SECRETARY_MODEL`` and friends) for what the rules leave, and reports
the same numbers for the combined result, plus model calls per message and the
tokens the model reported. ``--json FILE`` writes all numbers as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evals.triage_set import FOLDERS, LABELS, SEED, TriageItem, TriageSet, load_set, sets

if TYPE_CHECKING:
    from tools.foundation.principals import Principal
    from tools.foundation.settings import Settings
    from tools.triage import Incoming, Verdict

PREDICTED: tuple[str, ...] = (*LABELS, "undecided")
NO_MODEL = (
    "No chat model is configured: set SECRETARY_MODEL (with OPENAI_API_KEY, or OPENAI_BASE_URL "
    "for a local OpenAI-compatible server) and run again with --model."
)
_SHORT = {
    "urgent": "urgent",
    "needs-response": "needs-r",
    "fyi": "fyi",
    "promotional": "promo",
    "personal": "person",
    "phishing": "phish",
    "undecided": "undec",
}


def predicted(verdict: Verdict) -> str:
    """The label a verdict stands for: phishing when flagged, else its category."""
    if verdict.phishing:
        return "phishing"
    if not verdict.decided:
        return "undecided"
    return verdict.category


class CountingModel:
    """Wraps a chat model: counts calls and adds up the tokens its answers report."""

    def __init__(self, model: Any) -> None:
        """Wrap ``model`` (anything with ``invoke(messages)``)."""
        self.model = model
        self.calls = 0
        self.failures = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.reported_tokens = False
        self.seconds = 0.0

    def invoke(self, messages: Any, **kwargs: Any) -> Any:
        """Call the model once, counting the call and its tokens."""
        self.calls += 1
        start = time.perf_counter()
        try:
            answer = self.model.invoke(messages, **kwargs)
        except Exception:
            self.failures += 1
            raise
        finally:
            self.seconds += time.perf_counter() - start
        usage = getattr(answer, "usage_metadata", None) or {}
        if usage:
            self.reported_tokens = True
            self.input_tokens += int(usage.get("input_tokens", 0))
            self.output_tokens += int(usage.get("output_tokens", 0))
        return answer


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def score(
    items: Sequence[TriageItem],
    predictions: Sequence[str],
    actions: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Coverage, per-label precision/recall and the confusion table of one run.

    Args:
        items: The labelled items.
        predictions: One predicted label (or ``undecided``) per item.
        actions: The action of each verdict, to count quiet filing that was wrong.

    Returns:
        The numbers; a ratio with an empty denominator is ``None``.
    """
    n = len(items)
    confusion = {t: {p: 0 for p in PREDICTED} for t in LABELS}
    for item, pred in zip(items, predictions, strict=True):
        confusion[item.label][pred] += 1
    decided = [p != "undecided" for p in predictions]
    correct = [i.label == p for i, p in zip(items, predictions, strict=True)]
    per_label: dict[str, dict[str, Any]] = {}
    for label in LABELS:
        row = confusion[label]
        count = sum(row.values())
        decided_true = count - row["undecided"]
        predicted_as = sum(confusion[t][label] for t in LABELS)
        hit = row[label]
        per_label[label] = {
            "count": count,
            "decided": decided_true,
            "predicted": predicted_as,
            "precision": _ratio(hit, predicted_as),
            "recall_decided": _ratio(hit, decided_true),
            "recall": _ratio(hit, count),
        }
    hard = [k for k, i in enumerate(items) if i.hard]
    quiet = [k for k, a in enumerate(actions or []) if a in ("ignore", "file")]
    quiet_wrong = [items[k].id for k in quiet if not items[k].quiet_ok]
    false_phishing = [
        i.id
        for i, p in zip(items, predictions, strict=True)
        if p == "phishing" and i.label != "phishing"
    ]
    return {
        "quiet": len(quiet),
        "quiet_wrong": quiet_wrong,
        "false_phishing": false_phishing,
        "items": n,
        "coverage": _ratio(sum(decided), n),
        "accuracy_decided": _ratio(
            sum(c for c, d in zip(correct, decided, strict=True) if d), sum(decided)
        ),
        "accuracy": _ratio(sum(correct), n),
        "hard": {
            "items": len(hard),
            "coverage": _ratio(sum(decided[k] for k in hard), len(hard)),
            "accuracy_decided": _ratio(
                sum(correct[k] for k in hard if decided[k]), sum(decided[k] for k in hard)
            ),
        },
        "per_label": per_label,
        "confusion": confusion,
    }


def run_rules(
    incoming: Sequence[Incoming], items: Sequence[TriageItem], principal: Principal, repeat: int = 3
) -> tuple[list[Verdict], float]:
    """The rules verdict of every message and the best rate (messages/second) of ``repeat`` runs."""
    from tools.triage import rules

    histories = [i.history() for i in items]
    best = float("inf")
    verdicts: list[Verdict] = []
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        verdicts = [rules(m, principal, h) for m, h in zip(incoming, histories, strict=True)]
        best = min(best, time.perf_counter() - start)
    return verdicts, (len(incoming) / best if best > 0 else float("inf"))


def evaluate(
    items: Sequence[TriageItem],
    model: Any | None = None,
    settings: Settings | None = None,
    repeat: int = 3,
    principal: Principal | None = None,
) -> dict[str, Any]:
    """Run the rules (and, with a model, the full triage) on the items and score them.

    Args:
        items: The labelled items (of one set: one principal).
        principal: Whose inbox it is (default: the items' own).
        model: A chat model for the full triage; None for the rules only.
        settings: The settings the model runs with (needed with a model).
        repeat: Timing runs of the rules layer (the best one counts).

    Returns:
        ``{"rules": scores, "speed": {...}}`` plus ``"combined"`` and ``"model"`` with a model.
    """
    from evals.triage_set import principal_of_set
    from tools.triage import Incoming, triage

    principal = principal or (items[0].principal if items else None) or principal_of_set()
    start = time.perf_counter()
    incoming = [Incoming.from_raw(i.raw, principal, source=i.id) for i in items]
    parse_s = time.perf_counter() - start
    verdicts, rate = run_rules(incoming, items, principal, repeat)
    out: dict[str, Any] = {
        "rules": score(items, [predicted(v) for v in verdicts], [v.action for v in verdicts]),
        "speed": {
            "rules_messages_per_second": rate,
            "parse_messages_per_second": len(items) / parse_s if parse_s > 0 else None,
        },
    }
    if model is None:
        return out
    if settings is None:
        raise ValueError("the full triage needs the settings the model runs with")
    counting = CountingModel(model)
    combined = [
        triage(m, principal, i.history(), counting, settings)
        for m, i in zip(incoming, items, strict=True)
    ]
    out["combined"] = score(items, [predicted(v) for v in combined], [v.action for v in combined])
    out["model"] = {
        "calls": counting.calls,
        "calls_per_message": _ratio(counting.calls, len(items)),
        "failures": counting.failures,
        "unreadable_answers": sum(
            1 for v in combined if v.used_model and not v.decided and "could not" in v.reason
        ),
        "seconds_per_call": _ratio(int(counting.seconds * 1000), counting.calls * 1000)
        if counting.calls
        else None,
        "input_tokens": counting.input_tokens if counting.reported_tokens else None,
        "output_tokens": counting.output_tokens if counting.reported_tokens else None,
    }
    return out


# --------------------------------------------------------------------------- printing


def _fmt(value: float | None) -> str:
    return "    -" if value is None else f"{value:5.3f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def table(scores: dict[str, Any], title: str) -> str:
    """The scores of one run as a readable table."""
    lines = [title, "=" * len(title)]
    lines.append(
        f"coverage (decided): {_pct(scores['coverage'])} of {scores['items']}   "
        f"correct among decided: {_pct(scores['accuracy_decided'])}   "
        f"correct overall: {_pct(scores['accuracy'])}"
    )
    phishing = scores["per_label"]["phishing"]
    lines.append(
        f"phishing recall: {_pct(phishing['recall'])} of {phishing['count']}   "
        f"false phishing: {len(scores['false_phishing'])}   "
        f"filed or ignored quietly: {scores['quiet']}, wrongly: {len(scores['quiet_wrong'])}"
    )
    hard = scores["hard"]
    lines.append(
        f"hard items: {hard['items']}, decided {_pct(hard['coverage'])}, "
        f"correct among decided {_pct(hard['accuracy_decided'])}"
    )
    lines.append("")
    lines.append(
        f"{'label':<15}{'count':>6}{'decided':>9}{'predicted':>11}"
        f"{'precision':>11}{'recall(dec)':>13}{'recall(all)':>13}"
    )
    for label in LABELS:
        r = scores["per_label"][label]
        lines.append(
            f"{label:<15}{r['count']:>6}{r['decided']:>9}{r['predicted']:>11}"
            f"{_fmt(r['precision']):>11}{_fmt(r['recall_decided']):>13}{_fmt(r['recall']):>13}"
        )
    lines.append("")
    lines.append("confusion (rows: true label, columns: predicted)")
    lines.append(f"{'':<15}" + "".join(f"{_SHORT[p]:>9}" for p in PREDICTED))
    for label in LABELS:
        row = scores["confusion"][label]
        lines.append(f"{label:<15}" + "".join(f"{row[p]:>9}" for p in PREDICTED))
    return "\n".join(lines)


def report(result: dict[str, Any], seed: int, about: TriageSet | None = None) -> str:
    """The whole terminal report of one set."""
    if about is not None:
        title = (
            f"Triage rules layer on the {about.name} set ({about.role}), "
            f"{result['rules']['items']} messages to {about.principal.email}"
        )
    else:
        title = f"Triage rules layer, {result['rules']['items']} messages (seed {seed})"
    parts = [table(result["rules"], title)]
    speed = result["speed"]
    parts.append(
        f"speed: rules {speed['rules_messages_per_second']:,.0f} messages/s"
        + (
            f", parsing {speed['parse_messages_per_second']:,.0f} messages/s"
            if speed["parse_messages_per_second"]
            else ""
        )
    )
    if "combined" in result:
        parts.append("")
        parts.append(table(result["combined"], "Rules + model (full triage)"))
        m = result["model"]
        tokens = (
            f"tokens in/out {m['input_tokens']:,}/{m['output_tokens']:,}"
            if m["input_tokens"] is not None
            else "tokens: not reported by the model"
        )
        parts.append(
            f"model: {m['calls']} calls ({_fmt(m['calls_per_message']).strip()} per message), "
            f"{m['failures']} failed, {m['unreadable_answers']} unreadable answers, {tokens}"
        )
    return "\n".join(parts)


def summary(results: dict[str, dict[str, Any]], chosen: Sequence[TriageSet]) -> str:
    """One line per set: the figures that matter, side by side."""
    lines = ["", "Summary (rules layer, no model)", "-" * 31]
    lines.append(
        f"{'set':<10}{'role':<10}{'items':>6}{'coverage':>10}{'precision':>11}"
        f"{'phish recall':>14}{'false phish':>13}{'quiet wrong':>13}"
    )
    for about in chosen:
        r = results[about.name]["rules"]
        lines.append(
            f"{about.name:<10}{about.role:<10}{r['items']:>6}{_pct(r['coverage']):>10}"
            f"{_pct(r['accuracy_decided']):>11}{_pct(r['per_label']['phishing']['recall']):>14}"
            f"{len(r['false_phishing']):>13}{len(r['quiet_wrong']):>13}"
        )
    return "\n".join(lines)


def _model(settings: Settings) -> Any | None:
    from tools.providers.llm import ModelNotConfigured, make_chat_model

    if not settings.model_configured:
        print(NO_MODEL)
        return None
    try:
        return make_chat_model(settings)
    except ModelNotConfigured as exc:
        print(exc)
        return None


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit code 2 when ``--model`` is asked for but none is configured."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", action="store_true", help="also run the full triage with the configured model"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the numbers as JSON")
    parser.add_argument("--set", choices=list(FOLDERS), help="only this set (default: all)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N messages of each")
    parser.add_argument("--repeat", type=int, default=3, help="timing runs of the rules layer")
    args = parser.parse_args(argv)
    model = settings = None
    if args.model:
        from tools.foundation.settings import load_settings

        settings = load_settings()
        model = _model(settings)
        if model is None:
            return 2
    chosen = [load_set(args.set)] if args.set else sets()
    results: dict[str, dict[str, Any]] = {}
    for about in chosen:
        items = about.items[: args.limit] if args.limit else about.items
        result = evaluate(items, model, settings, repeat=args.repeat, principal=about.principal)
        results[about.name] = result
        print(report(result, SEED, about))
        print()
    print(summary(results, chosen))
    if args.json:
        payload = {
            "seed": SEED,
            "sets": {
                about.name: {
                    "role": about.role,
                    "labels": Counter(i.label for i in about.items),
                    **results[about.name],
                }
                for about in chosen
            },
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        print(f"numbers written to {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
