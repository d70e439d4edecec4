"""`cledger demo`: the 1996 Lexington/Congress scenario, recorded into a fresh ledger and read at the dates that matter."""

from __future__ import annotations

import json
import tempfile
from datetime import date
from importlib.resources import files
from pathlib import Path

from rich.rule import Rule

from ledger.api import open_ledger
from ledger.errors import UsageError

SCENARIO = "lexington-1996.jsonl"

# (as of, known at, why this moment matters)
MOMENTS = (
    ("1996-02-01", "1996-03-01", "Before the Amendment was recorded: CIT's lien is unconsented."),
    ("1996-02-01", "1996-03-15", "Same date, known after the Amendment became effective: consented from 17 Jan 1996 (§2(i))."),
    ("1996-03-13", None, "The day before the Amendment: North Canton inventory still eligible."),
    ("1996-03-15", None, "After the Amendment and the §6(f)/(g) waterfalls: §4 makes North Canton ineligible."),
    ("1996-04-20", None, "A CIT press moved without notice (§3(a)), waived on 19 April."),
    ("1996-06-20", None, "Caps passed, a demand not forwarded, moves in and out of North Canton: Events of Default."),
    ("1996-07-31", None, "The interim loan repaid: back within the caps, but the breaches continue (§7)."),
)


def scenario_path() -> Path:
    return Path(str(files("ledger") / "data" / SCENARIO))


def run_demo(db: str | None, *, as_json: bool = False) -> None:
    """Record the scenario and print it; without `db`, in a temporary folder removed when the demo ends."""
    if db is None:
        with tempfile.TemporaryDirectory(prefix="cledger-demo-") as folder:
            _run(f"sqlite:///{folder}/demo.db", as_json=as_json, kept=False)
        return
    if db.startswith("sqlite:///") and Path(db[len("sqlite:///"):]).exists():
        raise UsageError(f"{db} already exists; the demo builds a fresh ledger (choose another --db)")
    _run(db, as_json=as_json, kept=True)


def _run(db: str, *, as_json: bool, kept: bool) -> None:
    from ledger.terminal import console as make_console, safe

    console = make_console()
    with open_ledger(db, create=True) as lg:
        result = lg.record_file(scenario_path(), actor="demo")
        outputs = []
        if not as_json:
            where = (f"into {safe(db)}" if kept else
                     "into a temporary ledger, removed when the demo ends (keep one with --db sqlite:///demo.db)")
            console.print(f"Recorded {len(result.recorded)} events of the 1996 scenario {where}")
            console.print(f"Head digest (keep it outside the database): {lg.head()}")
        from ledger import tables

        for as_of, known_at, why in MOMENTS:
            status = lg.status(as_of=date.fromisoformat(as_of), known_at=known_at)
            if as_json:
                outputs.append({"why": why, **status.to_json()})
                continue
            console.print(Rule(f"as of {as_of}" + (f", as known at {known_at}" if known_at else ", as known now")))
            console.print(f"[italic]{why}[/italic]")
            if known_at:
                tables.show_liens(status.liens)
            else:
                tables.show_status(status)
        if as_json:
            print(json.dumps(outputs, indent=2, ensure_ascii=False))
