"""What a loan administrator sees beyond the tables: `cledger chart`, `cledger export`, `cledger import-csv`.

Thin click commands over `ledger.charts`, `ledger.export` and
`ledger.csv_import`; they share the group, the `--db` option, the error
mapping (exit codes) and the date parsing of `ledger.cli`.
"""

from __future__ import annotations

import os
import sys

import click


from ledger.cli import _parse_as_of, _parse_day, _parse_known_at, cli, db_option, guarded, print_json
from ledger.errors import UsageError
from ledger.values import CollateralKind, utc_now

CHART_NAMES = ("timeline", "collateral")


def _open_existing(db: str):
    from ledger.api import open_ledger

    # charts and exports read the whole known context (every move and notice), so they use the reference fold
    return open_ledger(db, create=False, reference=True)  # a query never creates a ledger (exit 3)


def _say(message: str) -> None:
    click.echo(message, err=True)


@cli.command()
@click.argument("chart_name", metavar="[timeline|collateral]", required=False, default="timeline",
                type=click.Choice(CHART_NAMES))
@click.option("--from", "start", callback=_parse_day, help="first effective date shown (default: a year before --to)")
@click.option("--to", "end", callback=_parse_as_of, help="last effective date shown (default today)")
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="the PNG file to write")
@click.option("--known-at", "known_at", callback=_parse_known_at,
              help="as known at this time (inclusive); a bare date is the end of that day, UTC")
@click.option("--kind", "kinds", multiple=True, type=click.Choice([k.value for k in CollateralKind]),
              help="collateral chart only: items of this kind (repeat for several)")
@db_option
@click.option("--json", "as_json", is_flag=True, help="print what was written as JSON")
@guarded
def chart(chart_name, start, end, out, known_at, kinds, db, as_json) -> None:
    """Draw the deal as a PNG: the timeline (default) or the collateral map.

    timeline: principal per financing against its cap (dashed), the lender's
    own loans against the borrowing base, each breach as Default then Event of
    Default with its rule and clause, and collateral moves and notices.
    collateral: where each item was over time, eligible or ineligible (with
    the clause), and each move. The same ledger and options give the same bytes.
    """
    from ledger.charts import default_range, write_chart

    if kinds and chart_name != "collateral":
        raise UsageError("--kind applies to the collateral chart: cledger chart collateral --kind equipment ...")
    if start is None:
        start = default_range(end)[0]
    if start > end:
        raise UsageError("--from is later than --to")
    with _open_existing(db) as lg:
        given = click.get_current_context().get_parameter_source("known_at") != click.core.ParameterSource.DEFAULT
        result = write_chart(lg, chart_name, start, end, known_at, out, kinds=kinds, explicit_known_at=given)
    if as_json:
        print_json(result.to_json())
        return
    counts = ", ".join(_counted(k, v) for k, v in result.summary.items())
    _say(f"wrote {result.out}: the {chart_name} chart from {start} to {end}, as known through log position "
         f"{result.known_through or '(none)'}; {counts}")


# the chart's counts in words, singular and plural: "1 financing", "2 facilities of the lender"
_COUNTED = {"financings": ("financing", "financings"),
            "facilities_of_lender": ("facility of the lender", "facilities of the lender"),
            "breaches": ("breach", "breaches"), "moves": ("move", "moves"), "notices": ("notice", "notices"),
            "items": ("item", "items"), "items_not_shown": ("item not shown", "items not shown")}


def _counted(key: str, count: int) -> str:
    one, many = _COUNTED.get(key, (key.replace("_", " "), key.replace("_", " ")))
    return f"{count:,} {one if count == 1 else many}"


@cli.command()
@click.option("--as-of", "as_of", callback=_parse_as_of, help="effective date (default today)")
@click.option("--known-at", "known_at", callback=_parse_known_at,
              help="as known at this time (inclusive); a bare date is the end of that day, UTC")
@click.option("--out", type=click.Path(dir_okay=False), help="the SQLite file to write (FILE.db)")
@click.option("--csv", "csv_dir", type=click.Path(file_okay=False), help="write one CSV file per table into DIR instead")
@click.option("--replace", is_flag=True, help="overwrite an existing file (or CSV files of the same names)")
@db_option
@click.option("--json", "as_json", is_flag=True, help="print what was written as JSON")
@guarded
def export(as_of, known_at, out, csv_dir, replace, db, as_json) -> None:
    """Write the answers as of a date as tables: SQLite (--out FILE.db) or CSV (--csv DIR).

    Liens, lien ranks per item, eligibility with reasons, facilities,
    installments, caps, breaches and the borrowing base, joined by foreign
    keys, with the events they rest on; open the file in datasette or a spreadsheet.
    """
    from ledger.export import export as run_export

    if (out is None) == (csv_dir is None):
        raise UsageError("give either --out FILE.db or --csv DIR")
    with _open_existing(db) as lg:
        result = run_export(lg, as_of, known_at, out=out, csv_dir=csv_dir, replace=replace, ledger_db=db)
    if as_json:
        print_json(result.to_json())
        return
    from rich.table import Table

    from ledger.tables import console

    where = f"{result.out}" + (" (one CSV file per table)" if result.format == "csv" else "")
    out = console()
    from ledger.terminal import safe

    out.print(f"Exported to {safe(where)}: the answers as of {as_of}, as known through log position "
              f"{result.known_through or '(none)'}")
    table = Table()
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, rows in result.rows.items():
        table.add_row(name + (".csv" if result.format == "csv" else ""), f"{rows:,}")
    out.print(table)


@cli.command("import-csv")
@click.argument("event_type", metavar="TYPE")
@click.argument("file", required=False, type=click.Path(allow_dash=True, dir_okay=False))
@db_option
@click.option("--actor", help="who records (default: the OS user)")
@click.option("--template", is_flag=True, help="print the header row TYPE takes (required columns first) and exit")
@click.option("--json", "as_json", is_flag=True, help="print what was recorded as JSON")
@click.option("--strict", is_flag=True, help="refuse the whole file (exit 2, nothing recorded) if any row warns")
@guarded
def import_csv(event_type, file, db, actor, template, as_json, strict) -> None:
    """Record the TYPE events of a CSV FILE (or - for stdin) in one transaction: all or nothing.

    The header row names the columns (the event's fields, effective_date, and
    optionally id, recorded_at, actor); list fields take ;-separated cells.
    A refusal names the line (the header is line 1) and the column. Rows that are accepted but look
    wrong warn on standard error, as for `record` (`warning: line N: ...`); --strict refuses them instead.
    """
    from ledger import csv_import

    if template:
        click.echo(csv_import.template(event_type), nl=False)
        return
    csv_import.event_type(event_type)
    if file is None:
        raise UsageError("give the CSV FILE to import (or - for stdin), or --template for its header")
    if file == "-":
        data = sys.stdin.buffer.read()
    else:
        if not os.path.exists(file):
            raise UsageError(f"no file {file}")
        with open(file, "rb") as fh:
            data = fh.read()
    incoming = csv_import.read_csv(event_type, data)
    header = csv_import.read_header(data)
    from ledger.api import open_ledger

    from ledger.cli import new_ledger_guard, record_warned

    with new_ledger_guard(db) as outcome, open_ledger(db, create=True) as lg:  # like `record`, may start a ledger
        result = record_warned(lambda: csv_import.record_rows(lg, incoming, header, actor=actor, strict=strict))
        outcome["recorded"] = len(result.recorded)
    if as_json:
        print_json({"type": event_type, "rows": len(incoming),
                    "recorded": [r.event_id for r in result.recorded], "already": list(result.already),
                    "head": result.head})
        return
    msg = f"recorded {len(result.recorded)} {event_type} event(s) from {len(incoming)} row(s)"
    if result.already:
        msg += f"; {len(result.already)} already recorded (retry, left as they were)"
    if result.head:
        msg += f"; head {result.head}"
    _say(msg)


__all__ = ["chart", "export", "import_csv", "utc_now"]
