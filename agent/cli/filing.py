"""``secretary files``: the principal's filed documents, without a model.

Added to the main command group by :mod:`agent.cli.app`. The command reads
through the same tool functions the model uses (``find_documents`` with a
query, ``list_filed`` without one), so the list matches what the secretary
sees; nothing here files, moves or deletes a document.
"""

from __future__ import annotations

import json
from typing import Any

import click

from agent.cli.common import JSON, PRINCIPAL, _consoles, _guard, cells, command, run_read_tool


@command()
@click.argument("query", required=False, default="")
@click.option("-t", "--type", "doc_type", default="", help="Only this type (contract, invoice...).")
@click.option("-c", "--counterparty", default="", help="Only this organisation or person.")
@click.option("-y", "--year", type=int, default=0, help="Only documents dated in this year.")
@click.option(
    "-m", "--month", type=click.IntRange(0, 12), default=0, help="Only this month (1-12)."
)
@click.option("--tag", "tags", multiple=True, help="Only documents with this tag (repeatable).")
@click.option("-n", "--limit", type=int, default=50, show_default=True, help="At most this many.")
@click.option("--show", "show_id", default="", help="Print one document's metadata and history.")
@PRINCIPAL
@JSON
@_guard
def files(
    query: str,
    doc_type: str,
    counterparty: str,
    year: int,
    month: int,
    tags: tuple[str, ...],
    limit: int,
    show_id: str,
    principal: str | None,
    as_json: bool,
) -> None:
    """List filed documents with their paths (matching QUERY by words and meaning, if given).

    \b
    Examples:
      secretary files
      secretary files "termination clause" --counterparty acme
      secretary files --type invoice --year 2026 --json | jq '.[].path'
      secretary files --show doc-1a2b3c4d5e6f
    """
    from tools.filing import find_documents, list_filed, show_document

    if show_id:
        _show(run_read_tool(principal, lambda ctx: show_document(ctx, show_id)), as_json)
        return
    if query.strip() or month:
        found = run_read_tool(
            principal,
            lambda ctx: find_documents(
                ctx, query, doc_type, counterparty, year, month, list(tags), limit
            ),
        )
    else:
        found = run_read_tool(
            principal, lambda ctx: list_filed(ctx, doc_type, counterparty, year, list(tags), limit)
        )
    if as_json:
        click.echo(json.dumps(found, indent=2, ensure_ascii=False))
        return
    if not found:
        _consoles()[1].print("No filed documents match." if query else "No filed documents.")
        return
    from rich.table import Table

    table = Table(show_lines=False)
    for col in ("id", "date", "type", "counterparty", "title", "path"):
        table.add_column(col, overflow="fold")
    for d in found:
        table.add_row(
            *cells(d["id"], d["document_date"], d["type"], d["counterparty"], d["title"], d["path"])
        )
    _consoles()[0].print(table)


def _show(doc: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
        return
    labels = (
        ("id", "ID"),
        ("title", "Title"),
        ("type", "Type"),
        ("counterparty", "Counterparty"),
        ("document_date", "Document date"),
        ("tags", "Tags"),
        ("path", "Path"),
        ("source", "Source"),
        ("size", "Size (bytes)"),
        ("sha256", "SHA-256"),
        ("content_type", "Content type"),
        ("text", "Text"),
        ("filed_at", "Filed at"),
    )
    for key, label in labels:
        value = doc[key]
        click.echo(f"{label + ':':15} {', '.join(value) if isinstance(value, list) else value}")
    click.echo("History:")
    for h in doc["history"]:
        where = f"{h['from_path']} -> {h['to_path']}" if h["from_path"] else h["to_path"]
        extra = f" ({h['note']})" if h["note"] else ""
        click.echo(f"  {h['at']}  {h['action']}  {where}{extra}")
