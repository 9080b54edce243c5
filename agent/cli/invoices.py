"""``secretary invoices``: the invoice ledger, listed or exported, without a model.

Added to the main command group by :mod:`agent.cli.app`. The listing reads
through the same tool the model uses (``list_invoices``), so it matches what the
secretary sees; nothing here changes the ledger. Capturing, approving and marking
invoices paid go through the approval gate, e.g.
``secretary ask "capture the invoice in Acme's last mail"``.
"""

from __future__ import annotations

import csv
import json
import sys
from decimal import Decimal
from typing import Any

import click

from agent.cli.common import JSON, PRINCIPAL, _consoles, _guard, cells, command, run_read_tool

EXPORT_COLUMNS = (
    "id",
    "vendor",
    "vendor_email",
    "number",
    "issued",
    "due",
    "due_computed",
    "currency",
    "net",
    "tax",
    "total",
    "status",
    "paid_on",
    "paid_reference",
    "dispute_reason",
    "iban",
    "bic",
    "reference",
    "source_message_id",
    "file_name",
    "notes",
    "created_at",
)
"""The CSV columns, in order: amounts as exact decimal strings, dates as ISO."""

_STATUSES = ("open", "received", "approved", "paid", "disputed", "all")


def totals(found: list[dict[str, Any]]) -> dict[str, Decimal]:
    """Sum of the totals per currency (exact Decimal; invoices without an amount skipped)."""
    sums: dict[str, Decimal] = {}
    for inv in found:
        if inv["total"] is not None:
            code = inv["currency"] or "???"
            sums[code] = sums.get(code, Decimal(0)) + Decimal(inv["total"])
    return sums


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _export(found: list[dict[str, Any]], target: str) -> None:
    if target == "-":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(EXPORT_COLUMNS)
        writer.writerows([_cell(inv[c]) for c in EXPORT_COLUMNS] for inv in found)
        return
    try:
        with open(target, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(EXPORT_COLUMNS)
            writer.writerows([_cell(inv[c]) for c in EXPORT_COLUMNS] for inv in found)
    except OSError as exc:
        raise click.ClickException(f"Cannot write {target}: {exc.strerror or exc}.") from None
    _consoles()[1].print(f"Exported {len(found)} invoice(s) to {target}.")


@command()
@click.option(
    "-s",
    "--status",
    type=click.Choice(_STATUSES),
    default=None,
    help="Which invoices: open (unpaid; the default listing), received, approved, paid, "
    "disputed, all (the default export).",
)
@click.option(
    "--due",
    type=int,
    is_flag=False,
    flag_value=7,
    default=None,
    metavar="[DAYS]",
    help="Only invoices due within DAYS days (7 when no number is given), overdue included.",
)
@click.option("--overdue", is_flag=True, help="Only unpaid invoices past their due date.")
@click.option(
    "--export",
    "export",
    default=None,
    metavar="FILE.csv",
    help="Write the invoices as CSV (UTF-8) to FILE, or '-' for standard output.",
)
@PRINCIPAL
@JSON
@_guard
def invoices(
    status: str | None,
    due: int | None,
    overdue: bool,
    export: str | None,
    principal: str | None,
    as_json: bool,
) -> None:
    """List the invoice ledger by due date, with totals per currency; or export it as CSV.

    Invoices are captured and approved through the secretary, with your approval:
    secretary ask "capture the invoice in Acme's last mail".

    \b
    Examples:
      secretary invoices
      secretary invoices --due 14 --json
      secretary invoices --overdue
      secretary invoices --status all --export invoices-2026.csv
      secretary invoices --export - | column -s, -t
    """
    if due is not None and due < 0:
        raise click.BadParameter("give 0 or more days", param_hint="--due")
    chosen = status or ("all" if export else "open")
    from tools.invoices import list_invoices

    found = run_read_tool(principal, lambda ctx: list_invoices(ctx, chosen, due, overdue))
    if export:
        _export(found, export)
        return
    if as_json:
        click.echo(json.dumps(found, indent=2, ensure_ascii=False))
        return
    out, err = _consoles()
    if not found:
        err.print("No overdue invoices." if overdue else "No invoices.")
        return
    from rich.table import Table

    table = Table(show_lines=False)
    for col in ("id", "due", "vendor", "number", "amount", "status"):
        table.add_column(
            col,
            overflow="fold",
            no_wrap=col in ("id", "amount"),
            justify="right" if col == "amount" else "left",
        )
    for inv in found:
        due_text = inv["due"] or "-"
        if inv["due_computed"]:
            due_text += " (terms)"
        if inv["overdue"]:
            due_text += " OVERDUE"
        table.add_row(
            *cells(
                inv["id"],
                due_text,
                inv["vendor"] or "?",
                inv["number"] or "-",
                inv["amount"],
                inv["status"],
            )
        )
    out.print(table)
    for code, amount in sorted(totals(found).items()):
        count = sum(1 for inv in found if (inv["currency"] or "???") == code and inv["total"])
        out.print(f"Total {code} {amount:,} ({count} invoice{'s' if count != 1 else ''})")
