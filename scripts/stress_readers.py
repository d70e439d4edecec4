"""Readers under writers: answers from the read models, checked one by one against the fold at their knowledge.

    python scripts/stress_readers.py --db sqlite:///stress.db --writers 4 --readers 2 --seconds 45
    python scripts/stress_readers.py --db postgresql://postgres@127.0.0.1:5432/test?schema=stress --seconds 45

Writers are `cledger record -` processes, each sending its own lane of small
batches (from `crash_loop.Lane`: parties, collateral, valuations, moves,
liens, advances, payments and voids) until its count or the time runs out.
Readers are processes that, in a loop, open the ledger as the CLI does and ask
`balances` or `defaults` (now, as of a date of the lanes' calendar), keeping
each answer with the log position it was known at (`snapshot.k`), and watch
the read models' position (it must never fall back, since no ledger is
replaced). Afterwards every answer is compared with the reference fold of the
events up to that position, at that knowledge time. It prints the answers
checked, the wrong ones, the errors (a reader's or a writer's exit other than
0, or a refusal other than a lock timeout), and exits 1 if any.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from crash_loop import Lane  # noqa: E402  (a sibling script)

VIEWS = ("balances", "defaults")


def _reader(url: str, out: str, seconds: float, seed: int) -> int:
    """One reader process: query in a loop until the time is up, one JSON line per answer."""
    import sqlite3

    from ledger import open_ledger
    from ledger.errors import LedgerError
    from ledger.values import iso_time, utc_now

    rng = random.Random(seed)
    stop = time.monotonic() + seconds
    last_position = 0
    with open(out, "w") as fh:
        while time.monotonic() < stop:
            view = rng.choice(VIEWS)
            as_of = date(1996, 1, 1) + timedelta(days=rng.randint(0, 40))
            line: dict = {"view": view, "as_of": as_of.isoformat()}
            try:
                with open_ledger(url, create=False) as lg:
                    model = lg.model
                    if model is not None:
                        try:
                            position = model.position
                            if position < last_position:
                                line["dropped"] = [last_position, position]
                            last_position = max(last_position, position)
                        except sqlite3.Error:
                            pass
                    known_at = utc_now()
                    snapshot = lg.snapshot(known_at)
                    answer = getattr(snapshot, view)(as_of).to_json()
                    line.update(k=snapshot.k, known_at=iso_time(known_at), answer=answer,
                                source=type(snapshot).__name__)
            except LedgerError as exc:
                line["error"] = f"{type(exc).__name__}: {exc}"
            except Exception as exc:  # noqa: BLE001 (a reader's failure is a finding, not a crash of the run)
                line["error"] = f"{type(exc).__name__}: {exc}"
            fh.write(json.dumps(line) + "\n")
            fh.flush()
    return 0


def _writer(url: str, lane: int, batches: int, seconds: float, seed: int, env: dict) -> tuple[int, int, list[str]]:
    """One writer: its lane's batches through `cledger record -`; (batches recorded, lock refusals, errors)."""
    lanes = Lane(seed, lane)
    stop = time.monotonic() + seconds
    recorded = refused = 0
    errors: list[str] = []
    n = 1
    while n <= batches and time.monotonic() < stop:
        data = "".join(json.dumps(e) + "\n" for e in lanes.batch(n)).encode()
        proc = subprocess.run([sys.executable, "-m", "ledger.cli", "record", "-", "--db", url], input=data,
                              capture_output=True, env=env, timeout=300)
        if proc.returncode == 0:
            recorded += 1
            n += 1
        elif proc.returncode == 3 and b"try again" in proc.stderr:
            refused += 1  # the lock did not clear in time: send the same batch again
        else:
            errors.append(f"writer {lane} batch {n}: exit {proc.returncode}: {proc.stderr.decode()[:300]}")
            n += 1
    return recorded, refused, errors


def check(url: str, answer_files: list[Path]) -> dict:
    """Compare every answer with the fold of the events up to its position, at its knowledge time."""
    from ledger import open_ledger
    from ledger.values import parse_time
    from projections.query import Snapshot

    with open_ledger(url, create=False, reference=True) as lg:
        events = list(lg.store.read())
    report = {"answers": 0, "checked": 0, "wrong": 0, "errors": 0, "drops": 0, "from_models": 0,
              "from_fold": 0, "examples": []}
    reference: dict[tuple, dict] = {}
    for path in answer_files:
        for raw in path.read_text().splitlines():
            line = json.loads(raw)
            report["answers"] += 1
            if "dropped" in line:
                report["drops"] += 1
                report["examples"].append(f"read models' position fell {line['dropped']}")
            if "error" in line:
                report["errors"] += 1
                report["examples"].append(line["error"])
                continue
            report["from_models" if line["source"] == "ReadModelSnapshot" else "from_fold"] += 1
            key = (line["k"], line["known_at"], line["view"], line["as_of"])
            if key not in reference:
                known = [e for e in events if e.position <= line["k"]]
                snap = Snapshot(known, parse_time(line["known_at"]))
                reference[key] = getattr(snap, line["view"])(date.fromisoformat(line["as_of"])).to_json()
            report["checked"] += 1
            if reference[key] != line["answer"]:
                report["wrong"] += 1
                if len(report["examples"]) < 10:
                    report["examples"].append(f"wrong {line['view']} as of {line['as_of']} at k={line['k']}: "
                                              f"{json.dumps(line['answer'])[:300]}")
    return report


def run(url: str, *, writers: int = 4, readers: int = 2, batches: int = 200, seconds: float = 45,
        seed: int = 1) -> dict:
    """Start the writers and readers together; wait for all; check the answers."""
    import threading

    env = {k: v for k, v in os.environ.items() if k != "CLEDGER_DB"}
    env.setdefault("CLEDGER_LOCK_TIMEOUT", "5")
    folder = Path(tempfile.mkdtemp(prefix="cledger-stress-"))
    outs = [folder / f"reader-{i}.jsonl" for i in range(readers)]
    from ledger import open_ledger

    open_ledger(url).close()  # the store's tables exist before anyone reads
    started = time.monotonic()
    procs = [subprocess.Popen([sys.executable, __file__, "--reader", str(out), "--db", url, "--seconds",
                               str(seconds), "--seed", str(seed * 100 + i)], env=env)
             for i, out in enumerate(outs)]
    results: list = [None] * writers

    def write(i: int) -> None:
        results[i] = _writer(url, i, batches, seconds, seed, env)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    reader_exits = [p.wait(timeout=seconds + 120) for p in procs]
    elapsed = time.monotonic() - started
    report = check(url, outs)
    report.update(backend=url.split(":")[0], writers=writers, readers=readers, seconds=round(elapsed, 1),
                  batches_recorded=sum(r[0] for r in results), lock_refusals=sum(r[1] for r in results))
    writer_errors = [e for r in results for e in r[2]]
    report["errors"] += len(writer_errors) + sum(1 for code in reader_exits if code != 0)
    report["examples"] += writer_errors[:5]
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument("--batches", type=int, default=200, help="at most this many batches per writer")
    parser.add_argument("--seconds", type=float, default=45, help="writers and readers stop after this long")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reader", help=argparse.SUPPRESS)  # internal: run as one reader, answers to this file
    args = parser.parse_args(argv)
    if args.seconds > 600 or args.writers > 16 or args.readers > 16:
        parser.error("bounded on purpose: at most 600 s, 16 writers and 16 readers")
    if args.reader:
        return _reader(args.db, args.reader, args.seconds, args.seed)
    report = run(args.db, writers=args.writers, readers=args.readers, batches=args.batches, seconds=args.seconds,
                 seed=args.seed)
    examples = report.pop("examples")
    print(json.dumps(report))
    for example in examples[:10]:
        print("  " + example)
    print(f"{report['backend']}: answers checked {report['checked']}, wrong {report['wrong']}, "
          f"errors {report['errors']}, position drops {report['drops']}")
    return 0 if not (report["wrong"] or report["errors"] or report["drops"]) else 1


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
