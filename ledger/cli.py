"""`cledger`: one click group, a thin layer over `ledger.api`.

Library errors become one-line messages and the contract's exit codes:
0 success, 1 audit problem, 2 bad input or usage, 3 store unreachable/missing/locked,
4 internal error (no traceback unless --debug).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
import traceback

import click

from ledger.errors import LedgerError, UsageError
from ledger.terminal import pipe_closed as _pipe_closed
from ledger.values import ValueProblem, parse_date, parse_known_at, utc_now

DEFAULT_DB = "sqlite:///cledger.db"


def _fail(message: str, code: int) -> None:
    click.echo(f"cledger: {message}", err=True)
    sys.exit(code)


def guarded(fn):
    """Map the ledger's errors to exit codes; anything else is a bug (exit 4)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        debug = click.get_current_context().find_root().params.get("debug")
        try:
            result = fn(*args, **kwargs)
            sys.stdout.flush()  # a reader that closed the pipe is found here, not at the interpreter's exit
            return result
        except LedgerError as exc:
            if debug:
                traceback.print_exc()
            _fail(str(exc), exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, SystemExit, KeyboardInterrupt):
            raise
        except BrokenPipeError:
            _pipe_closed()
        except Exception as exc:  # a bug: say so plainly
            if debug:
                traceback.print_exc()
            _fail(f"internal error ({type(exc).__name__}: {exc}); run with --debug for the traceback", 4)

    return wrapper


def db_option(fn):
    return click.option("--db", "db", envvar="CLEDGER_DB", default=DEFAULT_DB, show_default=True,
                        help="sqlite:///path/to/file.db or postgresql://user@host:port/dbname")(fn)


def json_option(fn):
    return click.option("--json", "as_json", is_flag=True, help="print JSON instead of a table")(fn)


def _parse_as_of(ctx, param, value):
    if value is None:
        return utc_now().date()
    try:
        return parse_date(value)
    except ValueProblem as exc:
        raise click.BadParameter(str(exc)) from None


def _parse_known_at(ctx, param, value):
    if value is None:
        return utc_now()
    try:
        return parse_known_at(value)
    except ValueProblem as exc:
        raise click.BadParameter(str(exc)) from None


def query_options(fn):
    fn = click.option("--known-at", "known_at", callback=_parse_known_at,
                      help="as known at this time (inclusive); a bare date is the end of that day, UTC")(fn)
    fn = click.option("--as-of", "as_of", callback=_parse_as_of, help="effective date (default today)")(fn)
    return json_option(db_option(fn))


def plural(count: int, word: str) -> str:
    return f"{count:,} {word if count == 1 else word + 's'}"


def print_json(obj) -> None:
    click.echo(json.dumps(obj, indent=2, ensure_ascii=False))


def print_json_array(items, chunk: int = 2000) -> None:
    """`print_json(list(items))`, written a chunk of items at a time: the same bytes in flat memory."""
    from itertools import islice

    out = sys.stdout
    items = iter(items)
    first = True
    while True:
        part = list(islice(items, chunk))
        if not part:
            break
        text = json.dumps(part, indent=2, ensure_ascii=False)  # "[\n  {...},\n  {...}\n]"
        out.write(("[\n" if first else ",\n") + text[2:-2])
        first = False
    out.write("[]\n" if first else "\n]\n")


class Group(click.Group):
    def main(self, *args, **kwargs):
        kwargs.setdefault("standalone_mode", True)
        try:
            return super().main(*args, **kwargs)
        except click.exceptions.UsageError as exc:  # pragma: no cover - click prints usage itself
            _fail(str(exc), 2)


@click.group(cls=Group)
@click.option("--debug", is_flag=True, help="show tracebacks of internal errors")
def cli(debug: bool) -> None:
    """An event-sourced, bitemporal collateral ledger for secured lenders."""


def _open(db: str, *, create: bool = False):
    from ledger.api import open_ledger

    return open_ledger(db, create=create)


@contextlib.contextmanager
def new_ledger_guard(db: str):
    """Around a command that may create a SQLite ledger: say so when it did, and leave no empty file behind.

    A typo in `--db` would otherwise silently start a second ledger, and a refused first batch would leave
    an empty `cledger.db` (and its side files) that the next query takes for a real, empty ledger."""
    path = _new_sqlite_path(db)
    outcome = {"recorded": 0}
    try:
        yield outcome
    finally:
        if path is not None:
            if outcome["recorded"]:
                click.echo(f"cledger: a new ledger was created at {path.resolve()}", err=True)
            elif path.exists() and _empty_ledger(db):
                _remove_ledger_files(path)


def _new_sqlite_path(db: str):
    """The file a SQLite `--db` names, when no file is there yet (None otherwise, and for PostgreSQL)."""
    from pathlib import Path

    from ledger.store import parse_url

    try:
        loc = parse_url(db)
    except LedgerError:
        return None
    if loc.backend != "sqlite" or not loc.path or loc.path == ":memory:" or loc.path.startswith("file:"):
        return None
    path = Path(loc.path.split("?", 1)[0])
    return None if path.exists() else path


def _empty_ledger(db: str) -> bool:
    """True only if the ledger holds no event (so removing it loses nothing, even if another writer made it)."""
    from ledger.store import open_store

    try:
        with open_store(db) as store:
            return store.count() == 0
    except Exception:
        return False


def _remove_ledger_files(path) -> None:
    from pathlib import Path

    side = [Path(f"{path}{suffix}") for suffix in ("", "-wal", "-shm", "-journal")]
    projections = path.with_name(path.name + ".projections")
    side += [Path(f"{projections}{suffix}") for suffix in ("", "-wal", "-shm", "-journal")]
    for file in side:
        try:
            file.unlink()
        except FileNotFoundError:
            pass
        except OSError:
            pass  # not ours to force


def print_warnings(warnings) -> None:
    """One line each on standard error: `warning: line N: ...` (DEALS.md, record warnings)."""
    from ledger.errors import printable

    for line, message in warnings:
        click.echo(printable(f"warning: line {line}: {message}"), err=True)


def record_warned(do):
    """Run a record, printing its warnings (also those that made --strict refuse the batch)."""
    from ledger.errors import StrictRefusal

    try:
        result = do()
    except StrictRefusal as exc:
        print_warnings(exc.warnings)
        raise
    print_warnings(result.warnings)
    return result


@cli.command()
@click.argument("file", type=click.Path(allow_dash=True, dir_okay=False))
@db_option
@click.option("--actor", help="who records (default: the OS user)")
@click.option("--strict", is_flag=True, help="refuse the whole batch (exit 2, nothing recorded) if any line warns")
@guarded
def record(file: str, db: str, actor: str | None, strict: bool) -> None:
    """Append every event of FILE (or - for stdin) in one transaction: all or nothing.

    FILE is JSON Lines (one event object a line; blank lines and lines starting with # are skipped), or one
    JSON array of events, as `cledger events --json` prints: `cledger events --json | cledger record -`
    copies a log, with the same head digest.

    Lines that are accepted but look wrong (a repeat without id, an advance over the limit or during an Event
    of Default, a waiver by someone other than the lender, a date more than a year ahead) are recorded with a
    `warning: line N: ...` on standard error; with --strict they refuse the batch instead.
    """
    from ledger.reader import read_lines

    if file == "-":
        incoming = list(read_lines(sys.stdin.buffer))
    else:
        if not os.path.exists(file):
            raise UsageError(f"no file {file}")
        with open(file, "rb") as fh:
            incoming = list(read_lines(fh))
    from ledger.recording import record as do_record

    from ledger.progress import progress_bar

    with new_ledger_guard(db) as outcome:
        with _open(db, create=True) as lg:
            result = record_warned(lambda: do_record(lg.store, incoming, actor=actor, strict=strict))
            outcome["recorded"] = len(result.recorded)
            if result.recorded:
                with progress_bar("updating the read models", len(result.recorded)) as advance:
                    lg.after_record(result, progress=lambda position: advance(position - result.recorded[0].position + 1))
    if result.clock_behind is not None:
        click.echo(f"cledger: note: this machine's clock is {result.clock_behind} behind the ledger's last recorded "
                   "time; the events were recorded at that time instead, so recorded times never go backwards",
                   err=True)
    msg = f"recorded {len(result.recorded)} event(s)"  # the wording scripts and tests match on
    if result.already:
        msg += f"; {len(result.already)} already recorded (retry, left as they were)"
    if result.head:
        msg += f"; head {result.head}"
    click.echo(msg, err=True)


def _parse_day(ctx, param, value):
    if value is None:
        return None
    try:
        return parse_date(value)
    except ValueProblem as exc:
        raise click.BadParameter(str(exc)) from None


def _split(values) -> tuple[str, ...]:
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


@cli.command()
@db_option
@json_option
@click.option("--jsonl", "as_jsonl", is_flag=True, help="print one event a line (JSON Lines, what `record` reads)")
@click.option("--type", "types", multiple=True, help="only events of this type (repeat, or a comma list)")
@click.option("--id", "ids", multiple=True, help="only the event with this id (repeat, or a comma list)")
@click.option("--party", "parties", multiple=True, help="only events naming this party")
@click.option("--facility", "facilities", multiple=True, help="only events naming this facility")
@click.option("--collateral", "collateral", multiple=True, help="only events naming this collateral item")
@click.option("--from", "start", callback=_parse_day, help="only events effective on or after this date")
@click.option("--to", "end", callback=_parse_day, help="only events effective on or before this date")
@guarded
def events(db: str, as_json: bool, as_jsonl: bool, types, ids, parties, facilities, collateral, start, end) -> None:
    """List the log in recorded order, with each event's main fields; the filters apply to --json too."""
    from ledger.events_filter import EventFilter

    if as_json and as_jsonl:
        raise UsageError("give --json or --jsonl, not both")
    if start and end and start > end:
        raise UsageError("--from is later than --to")
    wanted = EventFilter.of(types=_split(types), ids=_split(ids), party=_split(parties),
                            facility=_split(facilities), collateral=_split(collateral), start=start, end=end)
    with _open(db) as lg:
        bodies = lg.event_bodies(where=wanted.matches)
        if as_json:  # streamed: one chunk of events at a time, the same bytes as the whole list at once
            print_json_array(bodies)
            return
        if as_jsonl:
            for row in bodies:
                click.echo(json.dumps(row, ensure_ascii=False))
            return
        rows = list(bodies)
    from ledger.tables import events_table

    events_table(rows, title="Events in recorded order" + wanted.described())


def _query_command(name: str, doc: str):
    @cli.command(name=name, help=doc)
    @query_options
    @guarded
    def command(db, as_json, as_of, known_at):
        with _open(db) as lg:
            answer = lg.snapshot(known_at).view(name, as_of)
            note = nothing_known_note(lg, known_at)
        if note and as_json:
            click.echo(f"cledger: note: {note}", err=True)  # the JSON keeps the contract's shape
        elif note:
            click.echo(f"Note: {note}.")
        if as_json:
            print_json(answer.to_json())
        else:
            from ledger import tables

            getattr(tables, f"show_{name}")(answer)

    return command


def nothing_known_note(lg, known_at) -> str | None:
    """Why an answer as known at K is empty: nothing was recorded by K (or at all), not "all is well"."""
    from ledger.tables import when

    if lg.store.position_known_at(known_at) > 0:
        return None
    first = next(iter(lg.store.read(stop=1)), None)
    if first is None:
        return "nothing has been recorded in this ledger yet, so this answer knows nothing"
    return (f"nothing was recorded at or before {when(known_at)}: the ledger's first event was recorded at "
            f"{when(first.recorded_at)}, so this answer knows nothing yet")


_query_command("liens", "Lien state per lien and per collateral item.")
_query_command("eligibility", "Eligibility per collateral item, with reasons.")
_query_command("balances", "Principal per facility, caps and headroom.")
_query_command("defaults", "Breaches, their state, and the borrower's status.")
_query_command("availability", "The borrowing base: eligible value by kind, advance rates, availability.")
_query_command("status", "All the answers, summarised on one screen.")


@cli.command()
@click.option("--db", "db", default=None, help="where to build the demo ledger (default: a fresh temporary file)")
@json_option
@guarded
def demo(db: str | None, as_json: bool) -> None:
    """Build a ledger of the 1996 Lexington/Congress scenario and print its status at the dates that matter."""
    from ledger.demo import run_demo

    run_demo(db, as_json=as_json)


@cli.command()
@db_option
@json_option
@click.option("--head", "head_only", is_flag=True, help="print only the head digest POSITION:SHA256HEX")
@click.option("--expect-head", "expect_head", help="also prove the log still extends this head digest")
@guarded
def audit(db: str, as_json: bool, head_only: bool, expect_head: str | None) -> None:
    """Replay the whole log, verify its hash chain, rebuild the projections and report any difference."""
    from ledger.audit import audit as run_audit, parse_head
    from ledger.progress import progress_bar

    if expect_head:
        parse_head(expect_head)
    with _open(db) as lg:
        if head_only:
            click.echo(lg.head())
            return
        total = lg.store.count()
        with progress_bar("verifying the chain, rebuilding the read models", total) as advance:
            report = run_audit(lg.store, expect_head=expect_head, progress=advance, model=lg.model)
    if as_json:
        print_json(report.to_json())
    else:
        click.echo(f"audit ok: {report.events} events, chain verified, head {report.head}")
        if expect_head:
            click.echo(f"the log extends the expected head {expect_head}")
        compared = ("identical to the stored ones" if report.models_compared else
                    "not compared with stored ones (none here, or they followed events recorded since the audit began)")
        click.echo(f"read models rebuilt from the log and {compared}; answers digested at "
                   f"{len(report.digests)} date(s)")


@cli.command()
@db_option
@guarded
def rebuild(db: str) -> None:
    """Rebuild the read models from the whole log (they are otherwise kept up to date by themselves)."""
    from ledger.progress import progress_bar

    with _open(db) as lg:
        if lg.model is None:
            raise UsageError("the read models cannot be kept beside this ledger (a read-only place)")
        with progress_bar("rebuilding the read models", lg.store.count()) as advance:
            count = lg.rebuild(progress=advance)
        click.echo(f"rebuilt the read models from {count} event(s) into {lg.model.path}")


@cli.command()
@db_option
@json_option
@click.option("--as-of", "as_of", callback=_parse_as_of, help="effective date (default today)")
@click.option("--from", "k1", required=True, callback=_parse_known_at, help="knowledge time K1")
@click.option("--to", "k2", required=True, callback=_parse_known_at, help="knowledge time K2")
@guarded
def restatement(db: str, as_json: bool, as_of, k1, k2) -> None:
    """What changed in the answers for D between knowledge K1 and K2, and which events caused each change."""
    from projections.restatement import restatement as build

    if k1 > k2:
        raise UsageError("--from is later than --to")
    with _open(db) as lg:
        report = build(lg.events(), as_of, k1, k2)
    if as_json:
        print_json(report.to_json())
        return
    from ledger import tables

    tables.show_restatement(report)


# `python -m ledger.cli` runs this file as `__main__`: make `import ledger.cli` (in the command modules
# below) find this module rather than load a second copy with another group.
if __name__ == "__main__":
    sys.modules.setdefault("ledger.cli", sys.modules[__name__])

import ledger.cli_ops  # noqa: E402,F401  (backup)
import ledger.cli_reports  # noqa: E402,F401  (chart, export, import-csv)
import ledger.cli_web  # noqa: E402,F401  (serve)


def main() -> None:
    try:
        cli(prog_name="cledger")
    except BrokenPipeError:  # pragma: no cover - raised outside a command (click's own help or usage output)
        _pipe_closed()


if __name__ == "__main__":
    main()
