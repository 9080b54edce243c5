"""Benchmark: the mail desk's throughput, and how often it needs the model.

    python -m evals.bench_autoresponder [--messages 500] [--mixed 120] [--json FILE]

Part 1, rule-decided mail: ``--messages`` seeded messages the model-free
triage rules decide on their own (newsletters, out-of-office replies, delivery
failure reports, mailing-list posts, no-reply notifications) are delivered to
a local Maildir inbox and the mail desk (:class:`agent.channels.email.MailDesk`)
runs rounds until every one is handled. The desk has a scripted model
attached that holds no reply, and the run checks it was never called. Reported:

- end to end, messages per minute: fetch from the Maildir, store in the desk's
  SQLite file, triage (rules, contact and thread lookups), keep in memory
  (SQLite FTS; vectors are computed later in batches, not here), record;
- triage only, messages per second: ``tools.triage.triage`` on the parsed
  messages with the same history lookups, and with parsing included.

Part 2, mixed mail: rule-decided messages, questions from known contacts (the
rules say "respond"; the planner proposes a reply that waits for approval)
and mail from unknown senders the rules leave undecided (the model triages
it). The scripted model answers a triage JSON object for the latter and a
``reply_to_message`` call for the former. Reported: model calls per message,
per kind, and the end-to-end rate.

The first ``run_round`` of a desk only records where the inbox stands (mail
already there is history), so mail is delivered after it.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
ME = "Ada Lovelace <ada@example.com>"
SHOPS = ["Northwind", "Contoso", "Fabrikam", "Tailspin", "Wingtip", "Litware", "Adventure Works"]
LISTS = ["python-dev", "fin-ops", "berlin-founders", "ietf-mail", "book-club"]
CLIENTS = [(f"Client {n}", f"client{n}@client{n}.example") for n in range(12)]


def _eml(
    i: int, sender: str, subject: str, body: str, headers: dict[str, str] | None = None,
    ctype: str | None = None,
) -> bytes:  # fmt: skip
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ME
    msg["Subject"] = subject
    msg["Date"] = format_datetime(NOW - timedelta(minutes=i))
    msg["Message-ID"] = f"<bench{i}@bench.example>"
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    if ctype == "multipart/report":
        msg.make_mixed()
        msg.replace_header("Content-Type", 'multipart/report; report-type="delivery-status"')
    return msg.as_bytes()


def rule_decided(i: int, rng: random.Random) -> tuple[str, bytes]:
    """One message the rules decide without a model, and its kind."""
    kind = ("newsletter", "auto-reply", "bounce", "list", "no-reply")[i % 5]
    shop = rng.choice(SHOPS)
    filler = " ".join(rng.choice(["news", "update", "week", "team", "product", "city"])
                      for _ in range(rng.randint(40, 120)))  # fmt: skip
    if kind == "newsletter":
        raw = _eml(
            i, f"{shop} <news@{shop.lower()}.example>", f"{shop} weekly: 20% off this week",
            f"Our newsletter. Sale ends Sunday.\n\n{filler}\n\nUnsubscribe: https://x.example/u",
            {"List-Unsubscribe": f"<https://{shop.lower()}.example/u/{i}>", "Precedence": "bulk"},
        )  # fmt: skip
    elif kind == "auto-reply":
        raw = _eml(
            i, f"Colleague {i} <colleague{i}@partner.example>", "Out of office: back Monday",
            "I am out of the office until Monday with limited access to e-mail.",
            {"Auto-Submitted": "auto-replied"},
        )  # fmt: skip
    elif kind == "bounce":
        raw = _eml(
            i, "Mail Delivery System <mailer-daemon@mx.example.com>", "Undelivered Mail Returned",
            f"This is the mail system. Your message to lost{i}@gone.example was not delivered.",
            ctype="multipart/report",
        )  # fmt: skip
    elif kind == "list":
        name = rng.choice(LISTS)
        raw = _eml(
            i, f"Member {i} <member{i}@lists.example>", f"[{name}] thread {i}: notes",
            f"Notes from the last meeting.\n\n{filler}",
            {"List-Id": f"<{name}.lists.example>", "List-Post": f"<mailto:{name}@lists.example>",
             "Precedence": "list"},
        )  # fmt: skip
    else:
        raw = _eml(
            i, f"{shop} <no-reply@{shop.lower()}.example>", f"Your {shop} order {i} has shipped",
            f"Your order {i} is on its way.\n\n{filler}",
        )  # fmt: skip
    return kind, raw


def needs_response(i: int, rng: random.Random) -> tuple[str, bytes]:
    """A question from a known contact, written to the principal (the rules say respond)."""
    name, addr = rng.choice(CLIENTS)
    body = (
        f"Hi Ada,\n\nCould you send me the signed version of contract {i} by Friday?\n\n"
        f"Thanks,\n{name}"
    )
    return "needs-response", _eml(i, f"{name} <{addr}>", f"Contract {i}", body)


def undecided(i: int, rng: random.Random) -> tuple[str, bytes]:
    """Plain mail from an unknown sender: no rule decides it."""
    who = rng.choice(["Sam", "Kim", "Alex", "Robin"])
    body = f"Hello,\n\nI read your article on pricing and enjoyed it. Best wishes,\n{who}"
    return "undecided", _eml(i, f"{who} Reader <{who.lower()}{i}@mail{i}.example>",
                             f"Your article {i}", body)  # fmt: skip


# --------------------------------------------------------------------------- desk plumbing


def secretary(home: Path, model: Any) -> Any:
    """A Secretary for one principal (local Maildir, contacts, memory) with ``model``."""
    from agent.runtime import Secretary
    from tools.foundation.principals import Principal
    from tools.foundation.settings import Settings

    ada = Principal(
        id="ada", name="Ada Lovelace", email="ada@example.com", timezone="Europe/Berlin"
    )
    return Secretary(Settings(home=home, principals=[ada]), model=model, clock=lambda: NOW)


def drain(desk: Any, expected: int, max_rounds: int = 50) -> tuple[float, int, list[str]]:
    """Run rounds until ``expected`` messages are handled; seconds, rounds, handled lines."""
    lines: list[str] = []
    t0 = time.perf_counter()
    rounds = 0
    while len(lines) < expected and rounds < max_rounds:
        report = desk.run_round()
        rounds += 1
        if report.errors:
            raise RuntimeError(f"mail desk round failed: {report.errors}")
        lines += report.handled
    took = time.perf_counter() - t0
    if len(lines) != expected:
        raise RuntimeError(f"handled {len(lines)} of {expected} messages in {rounds} rounds")
    failed = [ln for ln in lines if "handling failed" in ln or "unreadable" in ln]
    if failed:
        raise RuntimeError(f"{len(failed)} messages failed, e.g. {failed[0]}")
    return took, rounds, lines


def statuses(desk: Any) -> Counter[str]:
    """How many stored messages are in each status."""
    return Counter(r["status"] for r in desk.state.rows(limit=1_000_000))


# --------------------------------------------------------------------------- part 1


def bench_rules(home: Path, n: int, seed: int) -> dict[str, Any]:
    """Rule-decided mail through the desk, then triage alone."""
    from agent.channels.email import MailDesk
    from tools.providers.scripted import ScriptedChatModel
    from tools.triage import History, Incoming, triage

    rng = random.Random(seed)
    mails = [rule_decided(i, rng) for i in range(n)]
    model = ScriptedChatModel()  # no reply queued: any call would be a bug
    sec = secretary(home, model)
    try:
        desk = MailDesk(sec, "ada")
        desk.run_round()  # first start: only remembers where the inbox stands
        t0 = time.perf_counter()
        for _, raw in mails:
            desk.workspace.mail.import_eml(raw)  # type: ignore[attr-defined]
        deliver_s = time.perf_counter() - t0
        took, rounds, _ = drain(desk, n)
        if model.calls:
            raise RuntimeError(f"the model was called {len(model.calls)} times for rule mail")
        done = statuses(desk)
        memory = desk.workspace.memory
        kept = memory.count() if memory is not None and hasattr(memory, "count") else None

        history = History.of(desk.workspace, desk.own_addresses)
        p = desk.principal
        t1 = time.perf_counter()
        parsed = [Incoming.from_raw(raw, p) for _, raw in mails]
        t2 = time.perf_counter()
        verdicts = [triage(m, p, history) for m in parsed]
        t3 = time.perf_counter()
    finally:
        sec.close()
    undecided_left = sum(1 for v in verdicts if not v.decided)
    if undecided_left:
        raise RuntimeError(f"{undecided_left} generated messages were not rule-decided")
    return {
        "messages": n,
        "kinds": dict(Counter(k for k, _ in mails)),
        "actions": dict(Counter(f"{v.category}/{v.action}" for v in verdicts)),
        "deliver_s": deliver_s,
        "desk_s": took,
        "rounds": rounds,
        "statuses": dict(done),
        "memory_items": kept,
        "end_to_end_per_min": n / took * 60,
        "triage_per_s": n / (t3 - t2),
        "parse_and_triage_per_s": n / (t3 - t1),
        "model_calls": len(model.calls),
    }


# --------------------------------------------------------------------------- part 2


def scripted_responder(counts: Counter[str]) -> Callable[[list[Any]], Any]:
    """Answers triage prompts with JSON and planner turns with a reply_to_message call."""

    def answer(messages: list[Any]) -> Any:
        last = messages[-1]
        text = last.content if isinstance(last.content, str) else str(last.content)
        if text.startswith("Triage this message."):
            counts["triage"] += 1
            return json.dumps({"category": "fyi", "action": "file", "reason": "a kind note"})
        found = re.search(r"Message id: (<[^>]+>)", text)
        if found is None:
            counts["other"] += 1
            return "Nothing to do."
        counts["planner"] += 1
        body = "Dear client,\n\nYes, the signed contract follows by Friday.\n\nBest, Ada"
        args = {"message_id": found.group(1), "body": body}
        return {"tool_calls": [{"name": "reply_to_message", "args": args}]}

    return answer


class Responder:
    """A scripted model whose every reply comes from one function (never runs dry)."""

    def __init__(self, fn: Callable[[list[Any]], Any]) -> None:
        from tools.providers.scripted import ScriptedChatModel

        self.fn = fn
        self.model = ScriptedChatModel()

    def feed(self, n: int) -> None:
        """Queue ``n`` more replies."""
        self.model.enqueue(*([self.fn] * n))


def bench_mixed(home: Path, n: int, seed: int) -> dict[str, Any]:
    """Rule-decided, needs-response and undecided mail; model calls per message."""
    from agent.channels.email import MailDesk
    from tools.providers.base import Contact

    rng = random.Random(seed + 1)
    makers = [rule_decided, needs_response, undecided]
    weights = [0.6, 0.2, 0.2]
    mails = [rng.choices(makers, weights)[0](10_000 + i, rng) for i in range(n)]
    counts: Counter[str] = Counter()
    responder = Responder(scripted_responder(counts))
    responder.feed(2 * n)  # more than enough; unused replies are harmless
    sec = secretary(home, responder.model)
    try:
        desk = MailDesk(sec, "ada")
        for name, addr in CLIENTS:
            desk.workspace.contacts.upsert(Contact(name=name, email=addr, role="client"))
        desk.run_round()
        for _, raw in mails:
            desk.workspace.mail.import_eml(raw)  # type: ignore[attr-defined]
        took, rounds, _ = drain(desk, n)
        done = statuses(desk)
        pending = len(sec.pending("ada"))
    finally:
        sec.close()
    kinds = Counter(k if k in ("needs-response", "undecided") else "rule-decided" for k, _ in mails)
    calls = len(responder.model.calls)
    return {
        "messages": n,
        "kinds": dict(kinds),
        "model_calls": calls,
        "model_calls_by_use": dict(counts),
        "model_calls_per_message": calls / n,
        "reply_proposals_pending": pending,
        "statuses": dict(done),
        "desk_s": took,
        "rounds": rounds,
        "end_to_end_per_min": n / took * 60,
    }


def run(n: int, mixed: int, seed: int) -> dict[str, Any]:
    """Both parts on fresh data directories."""
    with tempfile.TemporaryDirectory(prefix="bench-autoresponder-") as tmp:
        rules = bench_rules(Path(tmp) / "rules", n, seed)
        mix = bench_mixed(Path(tmp) / "mixed", mixed, seed) if mixed else None
    return {"seed": seed, "rule_decided": rules, "mixed": mix}


def report(result: dict[str, Any]) -> None:
    """Print the numbers."""
    r = result["rule_decided"]
    kinds = ", ".join(f"{v} {k}" for k, v in sorted(r["kinds"].items()))
    print(f"mail desk, {r['messages']} rule-decided messages ({kinds})")
    print(
        f"  end to end (fetch + store + triage + memory + record): "
        f"{r['end_to_end_per_min']:,.0f} messages/min "
        f"({r['desk_s']:.2f} s, {r['rounds']} rounds; delivery into the Maildir "
        f"{r['deliver_s']:.2f} s, not counted)"
    )
    print(
        f"  triage only: {r['triage_per_s']:,.0f} messages/s "
        f"({r['parse_and_triage_per_s']:,.0f}/s with parsing); model calls: {r['model_calls']}"
    )
    acts = ", ".join(f"{v} {k}" for k, v in sorted(r["actions"].items()))
    print(f"  verdicts: {acts}")
    m = result["mixed"]
    if m:
        kinds = ", ".join(f"{v} {k}" for k, v in sorted(m["kinds"].items()))
        uses = ", ".join(f"{v} {k}" for k, v in sorted(m["model_calls_by_use"].items()))
        print(f"\nmixed mail, {m['messages']} messages ({kinds}), scripted model")
        print(
            f"  model calls: {m['model_calls']} ({uses}) = "
            f"{m['model_calls_per_message']:.2f} per message"
        )
        print(
            f"  reply proposals waiting for approval: {m['reply_proposals_pending']}; "
            f"end to end {m['end_to_end_per_min']:,.0f} messages/min ({m['desk_s']:.2f} s)"
        )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark from the command line."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--messages", "-n", type=int, default=500, help="Rule-decided messages.")
    ap.add_argument("--mixed", type=int, default=120, help="Mixed messages (0: skip part 2).")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--json", type=Path, metavar="FILE", help="Also write the numbers here.")
    args = ap.parse_args(argv)
    if args.messages < 1 or args.mixed < 0:
        ap.error("--messages must be at least 1 and --mixed at least 0")
    result = run(args.messages, args.mixed, args.seed)
    report(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
