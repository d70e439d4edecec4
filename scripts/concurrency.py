"""Concurrent writers: several `cledger record` processes at once on one ledger; count every attempt's outcome.

    python scripts/concurrency.py --db sqlite:///conc.db --writers 6 --batches 40
    python scripts/concurrency.py --db postgresql://postgres@127.0.0.1:5432/test?schema=conc --writers 6

Each writer is a thread that runs `cledger record FILE` as a subprocess, one
batch (1 to 5 events, from `crash_loop.Lane`) per attempt, all writers
starting together. A lock holder takes the ledger's write lock for longer than
the writers' lock timeout now and then, so some attempts are refused. An
attempt must end in one of two ways:
- recorded: exit 0, "recorded N event(s)";
- refused: exit 3 with a message that says to try again (the lock did not
  clear in time); the writer sends the same batch again (a new attempt).
Anything else (exit 2 or 4, a traceback, a refused batch later found recorded)
is a violation. Then: recorded + refused = attempts; every recorded batch is in
the log once; positions have no gap; no id twice; recorded times never go
backwards; the hash chain verifies; `cledger audit` passes. Last, several
processes send the same batch at the same moment: exactly one copy is kept,
the others are told it is already recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from crash_loop import Lane, print_report  # noqa: E402  (a sibling script)

RECORDED = re.compile(r"recorded (\d+) event\(s\)(?:; (\d+) already recorded)?")


@dataclass
class Report:
    """Attempts and outcomes of a concurrency run, and every violation."""

    backend: str = ""
    seed: int = 0
    writers: int = 0
    batches_per_writer: int = 0
    lock_timeout: int = 0
    attempts: int = 0
    recorded: int = 0
    refused: int = 0  # exit 3, retryable
    other: int = 0  # anything else: each is also a violation
    lock_holds: int = 0
    events_expected: int = 0
    events_found: int = 0
    duplicate_senders: int = 0
    duplicate_recorded: int = 0
    duplicate_already: int = 0
    duplicate_refused: int = 0
    duplicate_copies: int = 0
    audit_exit: int | None = None
    seconds: float = 0.0
    refusal_messages: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


def _cli(args: list[str], env: dict, data: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ledger.cli", *args], input=data, capture_output=True, env=env,
                          timeout=600)


def _outcome(proc: subprocess.CompletedProcess) -> tuple[str, int, int, str]:
    """(kind, recorded, already, message): kind is recorded, refused or other."""
    message = (proc.stderr + proc.stdout).decode("utf-8", "replace").strip()
    if "Traceback" in message:
        return "other", 0, 0, message
    if proc.returncode == 0:
        m = RECORDED.search(message)
        if m:
            return "recorded", int(m.group(1)), int(m.group(2) or 0), message
    if proc.returncode == 3 and "try again" in message:
        return "refused", 0, 0, message
    return "other", 0, 0, message


class _LockHolder(threading.Thread):
    """Now and then, holds the ledger's write lock for longer than the writers will wait."""

    def __init__(self, url: str, hold: float, pause: float, stop: threading.Event, rng: random.Random):
        super().__init__(daemon=True)
        self.url, self.hold, self.pause, self.stop, self.rng = url, hold, pause, stop, rng
        self.holds = 0
        self.error: str | None = None

    def run(self) -> None:
        from ledger.store import parse_url

        loc = parse_url(self.url)
        try:
            while not self.stop.is_set():  # the first hold at once, while the writers are surely at work
                if loc.backend == "sqlite":
                    conn = sqlite3.connect(loc.path, isolation_level=None, timeout=30)
                    try:
                        conn.execute("BEGIN IMMEDIATE")
                        self.holds += 1
                        self.stop.wait(self.hold)
                        conn.execute("ROLLBACK")
                    finally:
                        conn.close()
                else:
                    import psycopg

                    with psycopg.connect(host=loc.host, port=loc.port, user=loc.user, password=loc.password,
                                         dbname=loc.dbname) as conn:
                        conn.execute(f'LOCK TABLE "{loc.schema}".cledger_events IN EXCLUSIVE MODE')
                        self.holds += 1
                        self.stop.wait(self.hold)
                        conn.rollback()
                self.stop.wait(self.rng.uniform(0.5, 1.5) * self.pause)
        except Exception as exc:  # noqa: BLE001 - reported as a violation
            self.error = f"{type(exc).__name__}: {exc}"


def run(url: str, *, writers: int = 4, batches: int = 10, seed: int = 1, lock_timeout: int = 1,
        lock_holder: bool = True, lock_pause: float = 1.5, lock_hold: float | None = None, duplicate_senders: int = 3, max_tries: int = 20,
        log=None) -> Report:
    """Run the writers against `url` (a new ledger or one made by `create`), then check the log."""
    from ledger.store import parse_url

    began = time.monotonic()
    report = Report(backend=parse_url(url).backend, seed=seed, writers=writers, batches_per_writer=batches,
                    lock_timeout=lock_timeout)
    env = {k: v for k, v in os.environ.items() if k != "CLEDGER_DB"}
    env["CLEDGER_LOCK_TIMEOUT"] = str(lock_timeout)
    lanes = [Lane(seed, lane) for lane in range(writers)]
    done = [0] * writers  # batches recorded per lane
    lock = threading.Lock()
    start = threading.Barrier(writers)
    folder = Path(tempfile.mkdtemp(prefix="cledger-conc-"))

    def writer(lane: int) -> None:
        work = lanes[lane]
        start.wait()
        for n in range(1, batches + 1):
            path = folder / f"w{lane}-{n}.jsonl"
            path.write_text("".join(json.dumps(e) + "\n" for e in work.batch(n)))
            refused_before = False
            for _ in range(max_tries):
                kind, recorded, already, message = _outcome(_cli(["record", str(path), "--db", url], env))
                with lock:
                    report.attempts += 1
                    if kind == "recorded":
                        report.recorded += 1
                        if (recorded, already) != (len(work.batch(n)), 0):
                            report.violations.append(
                                f"writer {lane} batch {n}: recorded {recorded}, already {already} of "
                                f"{len(work.batch(n))} events" + (" after a refusal: the refused attempt had "
                                                                  "written" if refused_before else ""))
                        done[lane] = n
                    elif kind == "refused":
                        report.refused += 1
                        if len(report.refusal_messages) < 3 and message not in report.refusal_messages:
                            report.refusal_messages.append(message)
                    else:
                        report.other += 1
                        report.violations.append(f"writer {lane} batch {n}: neither recorded nor a retryable "
                                                 f"refusal: {message[-400:]}")
                        if log:
                            log(f"writer {lane} batch {n}: {message[-400:]}")
                if kind == "recorded":
                    break
                if kind == "other":
                    return
                refused_before = True
            else:
                return  # refused max_tries times in a row: this lane stops (its later batches build on this one)

    stop = threading.Event()
    holder = None
    threads = [threading.Thread(target=writer, args=(lane,), daemon=True) for lane in range(writers)]
    for t in threads:
        t.start()
    if lock_holder:
        _wait_for_ledger(url)
        hold = lock_hold if lock_hold is not None else lock_timeout + 0.7
        holder = _LockHolder(url, hold=hold, pause=lock_pause, stop=stop, rng=random.Random(seed))
        holder.start()
    for t in threads:
        t.join()
    stop.set()
    if holder:
        holder.join()
        report.lock_holds = holder.holds
        if holder.error:
            report.violations.append(f"the lock holder failed: {holder.error}")
    if log:
        log(f"writers done: {report.attempts} attempts, {report.recorded} recorded, {report.refused} refused")

    try:
        # the same batch from several processes at the same moment: one copy
        if duplicate_senders:
            dup = [dict(e, id=f"dup-{i}") for i, e in enumerate(Lane(seed, 999).batch(1), start=1)]
            path = folder / "dup.jsonl"
            path.write_text("".join(json.dumps(e) + "\n" for e in dup))
            report.duplicate_senders = duplicate_senders
            gate = threading.Barrier(duplicate_senders)
            results: list[tuple] = []

            def sender():
                gate.wait()
                results.append(_outcome(_cli(["record", str(path), "--db", url], env)))

            senders = [threading.Thread(target=sender) for _ in range(duplicate_senders)]
            for t in senders:
                t.start()
            for t in senders:
                t.join()
            for kind, recorded, already, message in results:
                if kind == "recorded" and (recorded, already) == (len(dup), 0):
                    report.duplicate_recorded += 1
                elif kind == "recorded" and (recorded, already) == (0, len(dup)):
                    report.duplicate_already += 1
                elif kind == "refused":
                    report.duplicate_refused += 1
                else:
                    report.violations.append(f"duplicate sender: {message[-400:]}")
            if report.duplicate_recorded != 1:
                report.violations.append(f"the same batch from {duplicate_senders} senders was recorded "
                                         f"{report.duplicate_recorded} times")
        _verify(url, lanes, done, report, dup_ids=[e["id"] for e in dup] if duplicate_senders else [])
        proc = _cli(["audit", "--db", url], env)
        report.audit_exit = proc.returncode
        if proc.returncode != 0:
            report.violations.append(f"cledger audit exited {proc.returncode}: {proc.stderr.decode()[-400:]}")
    except Exception:  # noqa: BLE001 - a crash of the checks is a finding too
        report.violations.append("the checks failed: " + traceback.format_exc()[-1500:])
    shutil.rmtree(folder, ignore_errors=True)
    report.seconds = round(time.monotonic() - began, 1)
    return report


def _wait_for_ledger(url: str, timeout: float = 60) -> None:
    from ledger.errors import LedgerError
    from ledger.store import open_store

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open_store(url) as store:
                if store.count():
                    return
        except LedgerError:
            pass
        time.sleep(0.05)


def _verify(url: str, lanes: list[Lane], done: list[int], report: Report, dup_ids: list[str]) -> None:
    from ledger.audit import verify_chain
    from ledger.errors import LedgerError
    from ledger.store import open_store
    from ledger.values import parse_time

    try:
        with open_store(url) as store:
            rows = list(store.log_rows())
            verify_chain(store)
    except LedgerError as exc:
        report.violations.append(f"the log does not verify: {exc}")
        return
    present = [r.event_id for r in rows]
    report.events_found = len(rows)
    if [r.position for r in rows] != list(range(1, len(rows) + 1)):
        report.violations.append("positions are not gap-free")
    if len(set(present)) != len(present):
        report.violations.append("an event id appears twice")
    times = [parse_time(r.recorded_at) for r in rows]
    if any(b < a for a, b in zip(times, times[1:])):
        report.violations.append("a recorded time goes backwards")
    ids = set(present)
    expected = 0
    for lane, work in enumerate(lanes):
        for n in range(1, done[lane] + 2):
            batch = work.ids(n)
            found = sum(i in ids for i in batch)
            if n <= done[lane]:
                expected += len(batch)
                if found != len(batch):
                    report.violations.append(f"writer {lane} batch {n} was recorded but {len(batch) - found} "
                                             "of its events are missing")
            elif found:
                report.violations.append(f"writer {lane} batch {n} was never reported recorded, but {found} of "
                                         f"its {len(batch)} events are in the log")
    copies = sum(i in ids for i in dup_ids)
    report.duplicate_copies = copies // len(dup_ids) if dup_ids else 0
    if dup_ids and copies != len(dup_ids):
        report.violations.append(f"the duplicated batch has {copies} of {len(dup_ids)} events in the log")
    report.events_expected = expected + len(dup_ids)
    if report.events_expected != len(rows):
        report.violations.append(f"{len(rows)} events in the log, expected {report.events_expected}")
    if report.recorded + report.refused + report.other != report.attempts:
        report.violations.append("an attempt has no outcome")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="a new ledger: sqlite:///file.db or postgresql://...?schema=NAME")
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--batches", type=int, default=10, help="batches per writer")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--lock-timeout", type=int, default=1, help="CLEDGER_LOCK_TIMEOUT for the writers (seconds)")
    parser.add_argument("--no-lock-holder", action="store_true", help="do not hold the write lock now and then")
    parser.add_argument("--lock-pause", type=float, default=1.5, help="mean seconds between the lock holder's holds")
    parser.add_argument("--duplicate-senders", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    report = run(args.db, writers=args.writers, batches=args.batches, seed=args.seed, lock_timeout=args.lock_timeout,
                 lock_holder=not args.no_lock_holder, lock_pause=args.lock_pause, duplicate_senders=args.duplicate_senders,
                 log=lambda m: print(m, file=sys.stderr, flush=True))
    return print_report(report, as_json=args.json, lists=("refusal_messages",))


if __name__ == "__main__":
    sys.exit(main())
