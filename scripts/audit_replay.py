#!/usr/bin/env python3
"""The auditor's script: verify the log, replay it, and report the state at each date asked for.

    python scripts/audit_replay.py --db sqlite:///cledger.db --date 1996-03-13 --date 1996-06-20 \
        [--known-at 1996-07-31] [--restatement 1996-02-01:1996-03-01:1996-03-15] --out report

writes report.md and report.json: the head digest the report was built from,
the chain verification, and for each date the lien state, eligibility,
borrowing base, balances and default status, each breach with its clause and
causing events; optionally restatements (D:K1:K2). Uses only the public API.
Exit 1 if the audit fails (nothing is written then).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ledger import open_ledger  # noqa: E402
from ledger.audit import audit  # noqa: E402
from ledger.errors import LedgerError  # noqa: E402
from ledger.values import iso_time, parse_known_at  # noqa: E402
from projections.restatement import restatement  # noqa: E402


def markdown(report: dict) -> str:
    lines = ["# Audit report", "", f"- ledger: `{report['ledger']}`",
             f"- head digest: `{report['head']}` ({report['events']} events, hash chain verified)",
             f"- known at: {report['known_at']}", ""]
    for entry in report["dates"]:
        s = entry["status"]
        lines += [f"## As of {entry['as_of']}", "", f"Borrower status: **{s['defaults']['status']}**", ""]
        lines += ["### Breaches", "", "| breach | clause | since | EoD from | state | events |", "| --- | --- | --- | --- | --- | --- |"]
        lines += [f"| {b['breach']} | {b['clause']} | {b['since']} | {b['event_of_default_from']} | {b['state']} | "
                  f"{', '.join(b['events'])} |" for b in s["defaults"]["breaches"]] or ["| none | | | | | |"]
        lines += ["", "### Liens", "", "| lien | holder | grantor | consent | from |", "| --- | --- | --- | --- | --- |"]
        lines += [f"| {l['lien']} | {l['holder']} | {l['grantor']} | {l['consent']} | {l['consent_effective'] or ''} |"
                  for l in s["liens"]["liens"]]
        lines += ["", "### Balances", "", "| facility | borrower | financing | principal |", "| --- | --- | --- | ---: |"]
        lines += [f"| {f['facility']} | {f['borrower']} | {f['financing'] or ''} | {f['principal']} |"
                  for f in s["balances"]["facilities"]]
        lines += ["", "| cap | borrower | cap | principal | headroom |", "| --- | --- | ---: | ---: | ---: |"]
        lines += [f"| {c['financing']} | {c['borrower'] or '(all)'} | {c['cap']} | {c['principal']} | {c['headroom']} |"
                  for c in s["balances"]["caps"]]
        a = s["availability"]
        lines += ["", "### Borrowing base", "", "| kind | gross | ineligible | eligible | rate | availability |",
                  "| --- | ---: | ---: | ---: | ---: | ---: |"]
        lines += [f"| {c['kind']} | {c['gross']} | {c['ineligible']} | {c['eligible']} | {c['advance_rate']} | "
                  f"{c['availability']} |" for c in a["classes"]]
        lines += [f"| **total** | | | | | **{a['availability']}** |", "",
                  f"Principal of the borrowing-base facilities {a['principal']}; excess {a['excess']}.", ""]
        inel = [c for c in s["eligibility"]["collateral"] if not c["eligible"]]
        lines += ["### Ineligible collateral", ""]
        lines += [f"- {c['collateral']} ({c['kind']} at {c['location']}): "
                  + "; ".join(f"{r['clause']} {r['detail']}" for r in c["reasons"]) for c in inel] or ["- none"]
        lines.append("")
    for r in report["restatements"]:
        lines += [f"## Restatement as of {r['as_of']}, {r['from']} → {r['to']}", "",
                  "| view | subject | field | before | after | events |", "| --- | --- | --- | --- | --- | --- |"]
        lines += [f"| {c['view']} | {c['subject']} | {c['field'] or '(item)'} | {json.dumps(c['before'])} | "
                  f"{json.dumps(c['after'])} | {', '.join(c['events'])} |" for c in r["changes"]] or ["| no change | | | | | |"]
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True)
    parser.add_argument("--date", action="append", required=True, help="an as-of date (repeatable)")
    parser.add_argument("--known-at", default=None)
    parser.add_argument("--restatement", action="append", default=[], help="D:K1:K2 with dates")
    parser.add_argument("--expect-head", default=None)
    parser.add_argument("--out", default="audit-report")
    args = parser.parse_args(argv)
    try:
        with open_ledger(args.db, create=False) as lg:
            checked = audit(lg.store, expect_head=args.expect_head, model=lg.model)
            snapshot = lg.snapshot(args.known_at)
            report = {"ledger": args.db, "head": checked.head, "events": checked.events,
                      "known_at": iso_time(snapshot.known_at),
                      "projection_digests": checked.to_json()["projection_digests"], "dates": [], "restatements": []}
            for d in args.date:
                report["dates"].append({"as_of": d, "status": snapshot.status(date.fromisoformat(d)).to_json()})
            events = lg.events()
            for spec in args.restatement:
                d, k1, k2 = spec.split(":", 2)
                report["restatements"].append(restatement(events, date.fromisoformat(d), parse_known_at(k1),
                                                          parse_known_at(k2)).to_json())
    except LedgerError as exc:
        print(f"audit_replay: {exc}", file=sys.stderr)
        return exc.exit_code
    out = Path(args.out)
    out.with_suffix(".json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    out.with_suffix(".md").write_text(markdown(report))
    print(f"audit ok, head {report['head']}; wrote {out.with_suffix('.md')} and {out.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
