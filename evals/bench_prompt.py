"""Benchmark: how big the planner's prompt is on every model call, before any conversation.

    python -m evals.bench_prompt [--json FILE]

Every ``plan`` step sends the system prompt (``prompts/system.md`` rendered for
the principal, see :func:`agent.nodes.system_prompt`) and the schema of every
registered tool (``plan`` binds all of ``tools.base.registry()``). This prints
their size, the tool schemas broken down by duty, and the total, for a
principal without and with the medical domain pack.

Tokens are counted with an OpenAI tokenizer (``o200k_base``, as used by the
GPT-4o family, and ``cl100k_base``) when one is available offline: from the
``bpe-openai`` package (dictionaries built in), or ``tiktoken`` when its
encoding files are already cached. Otherwise only characters and the usual
estimate of characters / 4 are printed, and the output says so. Tool schemas
are counted as their JSON text; providers wrap tools in a few tokens of their
own, so take schema counts as within a few percent.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))
ENCODINGS = ("o200k_base", "cl100k_base")


def _counter(encoding: Any) -> Callable[[str], int]:
    """A token counter over one encoding object (``.encode(text)`` gives the tokens)."""
    return lambda text: len(encoding.encode(text))


def tokenizers() -> tuple[str, dict[str, Callable[[str], int]]]:
    """The available offline GPT tokenizers by encoding name, and where they come from."""
    counters: dict[str, Callable[[str], int]] = {}
    try:
        import bpe_openai

        for name in ENCODINGS:
            enc = bpe_openai.get_encoding(name)
            counters[name] = _counter(enc)
        return "bpe-openai", counters
    except Exception:  # noqa: BLE001 - not installed or no dictionary: try the next one
        counters.clear()
    try:
        import os
        import socket

        import tiktoken

        # tiktoken downloads missing encodings; only a cached one is acceptable here.
        cache = os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR")
        if cache or Path(tempfile.gettempdir(), "data-gym-cache").exists():
            previous = socket.getdefaulttimeout()
            socket.setdefaulttimeout(0.5)
            try:
                for name in ENCODINGS:
                    counters[name] = _counter(tiktoken.get_encoding(name))
            finally:
                socket.setdefaulttimeout(previous)
            return "tiktoken (cached)", counters
    except Exception:  # noqa: BLE001 - no cached encoding: fall back to the estimate
        counters.clear()
    return "", {}


def principal(domain: str | None) -> Any:
    """A typical principal (organisation, signature, two preferences), optionally a domain pack."""
    from tools.foundation.principals import Principal

    return Principal(
        id="ada",
        name="Ada Lovelace",
        email="ada@lovelace-partners.com",
        timezone="Europe/Berlin",
        organisation="Lovelace Partners",
        signature="Best regards,\nAda Lovelace",
        preferences={"meetings": "no calls before 10:00", "tone": "brief and friendly"},
        domain_pack=domain,
    )


def parts(domain: str | None, home: Path) -> dict[str, Any]:
    """The system prompt and the bound tool schemas (by duty) of one plan call."""
    from agent.ledger import Ledger
    from agent.nodes import system_prompt
    from agent.state import AgentContext
    from tools.base import registry
    from tools.foundation.settings import Settings
    from tools.workspace import open_workspace

    p = principal(domain)
    settings = Settings(home=home, principals=[p])
    settings.ensure_home()
    ws = open_workspace(settings, p)
    ledger = Ledger(home / "ledger.sqlite")
    try:
        ctx = AgentContext(
            settings=settings, principal=p, thread="t", ledger=ledger, workspace=ws,
            tools=registry(), clock=lambda: NOW,
        )  # fmt: skip
        system = system_prompt(ctx)
        duties: dict[str, list[str]] = defaultdict(list)
        for spec in ctx.tools.values():  # every tool plan() may bind
            duties[spec.duty].append(json.dumps(spec.openai_schema(), ensure_ascii=False))
    finally:
        ws.close()
        ledger.close()
    return {"system": system, "duties": dict(sorted(duties.items()))}


def measure(text: str, counters: dict[str, Callable[[str], int]]) -> dict[str, int]:
    """Characters, the chars/4 estimate, and tokens per available encoding."""
    out = {"chars": len(text), "est_tokens": round(len(text) / 4)}
    for name, count in counters.items():
        out[name] = count(text)
    return out


def run() -> dict[str, Any]:
    """Measure the prompt without and with the medical pack."""
    source, counters = tokenizers()
    result: dict[str, Any] = {"tokenizer": source or "none (chars/4 estimate)", "variants": {}}
    with tempfile.TemporaryDirectory(prefix="bench-prompt-") as tmp:
        for label, domain in (("general", None), ("medical", "medical")):
            got = parts(domain, Path(tmp) / label)
            rows: dict[str, Any] = {"system prompt": measure(got["system"], counters)}
            all_schemas = []
            for duty, schemas in got["duties"].items():
                rows[f"tools: {duty} ({len(schemas)})"] = measure("\n".join(schemas), counters)
                all_schemas += schemas
            rows[f"tools: all ({len(all_schemas)})"] = measure("\n".join(all_schemas), counters)
            total = {k: rows["system prompt"][k] + rows[f"tools: all ({len(all_schemas)})"][k]
                     for k in rows["system prompt"]}  # fmt: skip
            rows["total, every duty offered"] = total
            from tools.duties import CORE_DUTIES

            core = [x for duty, sch in got["duties"].items() if duty in CORE_DUTIES for x in sch]
            core_row = measure("\n".join(core), counters)
            rows[f"tools: everyday duties ({len(core)})"] = core_row
            rows["total, everyday request"] = {
                k: rows["system prompt"][k] + core_row[k] for k in rows["system prompt"]
            }
            result["variants"][label] = {"rows": rows, "tools": len(all_schemas)}
    return result


def report(result: dict[str, Any]) -> None:
    """Print one table per variant."""
    print("planner prompt per plan call (system prompt + the bound tool schemas)")
    print("  an everyday request is offered the everyday duties' tools only; a duty's own")
    print("  tools join when the conversation is about it (tools/duties.py)")
    if result["tokenizer"].startswith("none"):
        print("  no GPT tokenizer available offline: tokens are estimated as characters / 4")
        cols = ["chars", "est_tokens"]
    else:
        print(f"  tokens counted with {result['tokenizer']}; chars/4 estimate for comparison")
        cols = ["chars", *ENCODINGS, "est_tokens"]
    for label, data in result["variants"].items():
        pack = "no domain pack" if label == "general" else f"domain pack: {label}"
        print(f"\n{pack}")
        print(f"  {'part':28}" + "".join(f"{c:>13}" for c in cols))
        for name, row in data["rows"].items():
            print(f"  {name:28}" + "".join(f"{row[c]:>13,}" for c in cols))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark from the command line."""
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--json", type=Path, metavar="FILE", help="Also write the numbers here.")
    args = ap.parse_args(argv)
    result = run()
    report(result)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
