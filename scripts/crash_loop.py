"""Crash loop: kill writers with SIGKILL at random moments and prove the ledger loses nothing it acknowledged.

    python scripts/crash_loop.py --db sqlite:///crash.db --cycles 200 --seed 1
    python scripts/crash_loop.py --db postgresql://postgres@127.0.0.1:5432/test?schema=crash --cycles 50

Each cycle starts one child process per writer ("lane"). A child records its
lane's batches (1 to 5 events each) through the public API and prints
`ack LANE N STATUS` after each commit. The parent kills it at a random moment:
at a random time after it starts (often before it has opened the store), a
few milliseconds after its Nth acknowledgement (inside the next `record`), or
the child kills itself right after a commit and before its acknowledgement
(the "committed but not acknowledged" case). The next cycle's child starts
by sending again the first batch that was not acknowledged, with the same ids:
it must be found already recorded or recorded whole, never twice.

After every cycle the parent checks, against the ledger as stored:
- SQLite: `PRAGMA integrity_check` is `ok`;
- every acknowledged event is present;
- no batch is partial: a lane's log is exactly its batches 1..K, where K is
  its last acknowledged batch or the one after it (in flight when killed);
- positions run 1..n with no gap and no duplicate id; recorded times never go
  backwards;
- the log still extends the head digest taken after the previous cycle;
and every few cycles (and at the end) the whole hash chain is verified; at the
end `cledger audit` replays the log.

The batches are a plain seeded generator, not Hypothesis: a child that is
restarted must rebuild exactly the batches it sent before, from (seed, lane)
alone, in another process.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from pathlib import Path

SCRIPT = Path(__file__).resolve()


# ---------------------------------------------------------------- the workload

class Lane:
    """The batches of one writer. Batch N is the same events every time it is generated from (seed, lane)."""

    def __init__(self, seed: int, lane: int):
        self.rng = random.Random(f"cledger-crash/{seed}/{lane}")
        self.p = f"w{lane}"
        self.n = 0
        self.made: list[list[dict]] = []
        self.locations = [f"{self.p}-loc-1", f"{self.p}-loc-2"]
        self.parties: list[str] = []
        self.collateral: dict[str, str] = {}  # id -> location
        self.valuations: list[str] = []  # CollateralValued event ids not yet voided
        self.principal = 0  # cents

    def batch(self, n: int) -> list[dict]:
        """Batch `n` (from 1)."""
        while len(self.made) < n:
            self.made.append(self._next())
        return self.made[n - 1]

    def ids(self, n: int) -> list[str]:
        return [e["id"] for e in self.batch(n)]

    def _next(self) -> list[dict]:
        self.n += 1
        n, p, rng = self.n, self.p, self.rng
        day = (date(1996, 1, 1) + timedelta(days=n // 10)).isoformat()
        if n == 1:
            self.parties = [f"{p}-lender", f"{p}-borrower"]
            events = [
                {"type": "PartyRegistered", "party": f"{p}-lender", "name": f"Lender {p}", "roles": ["lender"]},
                {"type": "PartyRegistered", "party": f"{p}-borrower", "name": f"Borrower {p}", "roles": ["borrower"]},
                {"type": "LocationRegistered", "location": self.locations[0], "address": "1 Plant Road"},
                {"type": "LocationRegistered", "location": self.locations[1], "address": "2 Yard Lane"},
                {"type": "FacilityOpened", "facility": f"{p}-rev", "lender": f"{p}-lender",
                 "borrower": f"{p}-borrower", "kind": "revolving"},
            ]
        else:
            events = [self._event(n, k) for k in range(1, rng.randint(1, 5) + 1)]
        for k, event in enumerate(events, start=1):
            event["id"] = f"{p}-{n}-{k}"
            event["effective_date"] = day
            if event["type"] == "CollateralValued":
                self.valuations.append(event["id"])
        return events

    def _event(self, n: int, k: int) -> dict:
        p, rng = self.p, self.rng
        choices = ["party", "location", "collateral", "advance", "advance"]
        if self.collateral:
            choices += ["valued", "valued", "moved", "lien"]
        if self.principal > 0:
            choices.append("payment")
        if self.valuations and rng.random() < 0.3:
            choices.append("void")
        kind = rng.choice(choices)
        name = f"{p}-{kind[0]}{n}-{k}"
        if kind == "party":
            self.parties.append(name)
            return {"type": "PartyRegistered", "party": name, "name": f"Party {name}",
                    "roles": [rng.choice(["guarantor", "lender"])]}
        if kind == "location":
            self.locations.append(name)
            return {"type": "LocationRegistered", "location": name, "address": f"{n} Crash Street"}
        if kind == "collateral":
            where = rng.choice(self.locations)
            self.collateral[name] = where
            return {"type": "CollateralRegistered", "collateral": name, "kind": rng.choice(["equipment", "inventory"]),
                    "owner": f"{p}-borrower", "location": where, "value": _cents(rng.randint(100, 10**8))}
        if kind == "valued":
            return {"type": "CollateralValued", "collateral": rng.choice(sorted(self.collateral)),
                    "value": _cents(rng.randint(0, 10**8))}
        if kind == "moved":
            item = rng.choice(sorted(self.collateral))
            to = rng.choice([loc for loc in self.locations if loc != self.collateral[item]])
            self.collateral[item] = to
            return {"type": "CollateralMoved", "collateral": item, "to": to}
        if kind == "lien":
            items = rng.sample(sorted(self.collateral), min(len(self.collateral), rng.randint(1, 3)))
            return {"type": "LienGranted", "lien": name, "grantor": f"{p}-borrower", "holder": f"{p}-lender",
                    "collateral": items, "kind": "security-interest", "secures": [f"{p}-rev"]}
        if kind == "advance":
            amount = rng.randint(1, 10**7)
            self.principal += amount
            return {"type": "LoanAdvanced", "facility": f"{p}-rev", "amount": _cents(amount)}
        if kind == "payment":
            amount = rng.randint(1, self.principal)
            self.principal -= amount
            return {"type": "PaymentReceived", "facility": f"{p}-rev", "amount": _cents(amount)}
        target = self.valuations.pop(rng.randrange(len(self.valuations)))
        return {"type": "EventVoided", "event": target, "reason": "valuation entered in error"}


def _cents(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


# ---------------------------------------------------------------- the child

def child(url: str, seed: int, lane: int, start: int, stop: int, die_after_commit: int | None) -> int:
    """Record batches start..stop of one lane, acknowledging each after its commit; exit 3 if refused."""
    from ledger import open_ledger
    from ledger.errors import LedgerError

    work = Lane(seed, lane)
    try:
        with open_ledger(url, create=True) as lg:
            for n in range(start, stop + 1):
                result = lg.record(work.batch(n))
                if n == die_after_commit:
                    os.kill(os.getpid(), signal.SIGKILL)
                status = "new" if not result.already else "already" if not result.recorded else "mixed"
                print(f"ack {lane} {n} {status}", flush=True)
    except LedgerError as exc:
        print(f"refused {lane}: {exc}", file=sys.stderr, flush=True)
        return exc.exit_code
    return 0


# ---------------------------------------------------------------- the parent

@dataclass
class Report:
    """What a crash loop did and found: the counts for the note, and every violation."""

    backend: str = ""
    seed: int = 0
    writers: int = 1
    cycles: int = 0
    killed: int = 0  # SIGKILL by the parent
    killed_before_first_ack: int = 0
    died_after_commit: int = 0  # the child killed itself after a commit, before its acknowledgement
    clean_exits: int = 0
    refused: int = 0  # exit 3: the store was locked or busy (retryable)
    batches_acked: int = 0
    events_acked: int = 0
    events_found: int = 0  # in the log at the end
    acked_found: int = 0  # acknowledged events found at the end
    unacked_committed_batches: int = 0  # batches found committed after a kill that were never acknowledged
    resent_already: int = 0  # a resent batch found already recorded (kept once)
    resent_new: int = 0  # a resent batch that the kill had rolled back, recorded now
    integrity_checks: int = 0
    chain_checks: int = 0
    audit_exit: int | None = None
    seconds: float = 0.0
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations


class _Writer(threading.Thread):
    """Runs one child and kills it as planned; collects its acknowledgements."""

    def __init__(self, cmd: list[str], plan: tuple, env: dict):
        super().__init__(daemon=True)
        self.cmd, self.plan, self.env = cmd, plan, env
        self.acks: list[tuple[int, str]] = []
        self.killed = False
        self.returncode: int | None = None
        self.stderr = b""

    def run(self) -> None:
        proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env)
        timer = None

        def kill():
            if proc.poll() is None:
                self.killed = True
                proc.send_signal(signal.SIGKILL)

        if self.plan[0] == "time":
            timer = threading.Timer(self.plan[1], kill)
            timer.start()
        for raw in proc.stdout:  # after a kill, what was already in the pipe still counts: it was acknowledged
            parts = raw.decode().split()
            if len(parts) == 4 and parts[0] == "ack":
                self.acks.append((int(parts[2]), parts[3]))
                if self.plan[0] == "acks" and len(self.acks) == self.plan[1]:
                    time.sleep(self.plan[2])
                    kill()
        self.stderr = proc.stderr.read()
        self.returncode = proc.wait()
        if timer:
            timer.cancel()


def _plan(rng: random.Random, start: int) -> tuple:
    roll = rng.random()
    if roll < 0.2:
        return ("time", rng.uniform(0.0, 0.6))  # often during start-up or opening the store
    if roll < 0.3:
        return ("die", start + rng.randint(0, 4))
    return ("acks", rng.randint(1, 25), rng.uniform(0.0, 0.004))


def run(url: str, *, cycles: int, seed: int = 1, writers: int = 1, verify_every: int = 10,
        max_batches: int = 60, log=None) -> Report:
    """The crash loop on the ledger at `url` (which should be new). Returns the report; raises nothing on violations."""
    from ledger.audit import check_head, verify_chain
    from ledger.errors import LedgerError
    from ledger.store import parse_url

    began = time.monotonic()
    rng = random.Random(seed)
    location = parse_url(url)
    report = Report(backend=location.backend, seed=seed, writers=writers)
    lanes = [Lane(seed, lane) for lane in range(writers)]
    acked = [0] * writers  # last acknowledged batch of each lane
    resending = [False] * writers  # the next child starts by sending its lane's in-flight batch again
    unacked_seen: set[tuple[int, int]] = set()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    head = None

    for cycle in range(1, cycles + 1):
        report.cycles = cycle
        threads = []
        for lane in range(writers):
            start = acked[lane] + 1
            plan = _plan(rng, start)
            cmd = [sys.executable, str(SCRIPT), "child", "--db", url, "--seed", str(seed), "--lane", str(lane),
                   "--start", str(start), "--stop", str(start + max_batches - 1)]
            if plan[0] == "die":
                cmd += ["--die-after-commit", str(plan[1])]
            threads.append(_Writer(cmd, plan, env))
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
            if t.is_alive():
                report.violations.append(f"cycle {cycle}: a child did not finish in 300 s")
                return report
        for lane, t in enumerate(threads):
            where = f"cycle {cycle}, lane {lane}"
            expected = acked[lane] + 1
            for n, status in t.acks:
                if n != expected:
                    report.violations.append(f"{where}: acknowledgement of batch {n}, expected batch {expected}")
                if status == "mixed":
                    report.violations.append(f"{where}: batch {n} was resent and found partly recorded")
                if n == acked[lane] + 1 and resending[lane]:
                    report.resent_already += status == "already"
                    report.resent_new += status == "new"
                    resending[lane] = False
                expected = n + 1
                acked[lane] = n
                report.batches_acked += 1
                report.events_acked += len(lanes[lane].batch(n))
            if t.killed:
                report.killed += 1
                report.killed_before_first_ack += not t.acks
            elif t.returncode == -signal.SIGKILL and t.plan[0] == "die":
                report.died_after_commit += 1
            elif t.returncode == 0:
                report.clean_exits += 1
            elif t.returncode == 3:
                report.refused += 1
            else:
                report.violations.append(f"{where}: child exited {t.returncode}: {t.stderr.decode()[-500:]}")
        try:
            head = _check(url, location, lanes, acked, resending, unacked_seen, report, cycle, head,
                          full_chain=(cycle % verify_every == 0 or cycle == cycles),
                          check_head=check_head, verify_chain=verify_chain)
        except LedgerError as exc:
            if not any(acked) and ("no ledger" in str(exc) or "not a ledger" in str(exc)):
                continue  # killed before the first child had created the ledger, or while it did
            report.violations.append(f"cycle {cycle}: the ledger could not be read: {exc}")
        if log and (cycle % 10 == 0 or cycle == cycles):
            log(f"cycle {cycle}/{cycles}: {report.batches_acked} batches ({report.events_acked} events) acknowledged, "
                f"{report.killed} killed, {report.died_after_commit} died after commit, "
                f"{len(report.violations)} violation(s)")
        if report.violations:
            break

    proc = subprocess.run([sys.executable, "-m", "ledger.cli", "audit", "--db", url], capture_output=True, env=env)
    report.audit_exit = proc.returncode
    if proc.returncode != 0:
        report.violations.append(f"cledger audit exited {proc.returncode}: {proc.stderr.decode()[-500:]}")
    report.seconds = round(time.monotonic() - began, 1)
    return report


def _check(url, location, lanes, acked, resending, unacked_seen, report, cycle, head, *,
           full_chain, check_head, verify_chain):
    """The invariants after one cycle; returns the new head digest."""
    from ledger.store import open_store
    from ledger.values import parse_time

    where = f"after cycle {cycle}"
    if location.backend == "sqlite":
        conn = sqlite3.connect(location.path, timeout=30)
        try:
            result = conn.execute("PRAGMA integrity_check").fetchall()
        finally:
            conn.close()
        report.integrity_checks += 1
        if result != [("ok",)]:
            report.violations.append(f"{where}: PRAGMA integrity_check says {result[:5]}")
    with open_store(url) as store:
        rows = list(store.log_rows())
        if head:
            check_head(store, head)
        if full_chain:
            verify_chain(store)
            report.chain_checks += 1
    present = {r.event_id for r in rows}
    if [r.position for r in rows] != list(range(1, len(rows) + 1)):
        report.violations.append(f"{where}: positions are not 1..{len(rows)}")
    if len(present) != len(rows):
        report.violations.append(f"{where}: an event id appears twice")
    times = [parse_time(r.recorded_at) for r in rows]
    for i in range(1, len(times)):
        if times[i] < times[i - 1]:
            report.violations.append(f"{where}: recorded time goes backwards at position {rows[i].position}")
            break
    expected_total = 0
    for lane, work in enumerate(lanes):
        for n in range(1, acked[lane] + 1):
            missing = [i for i in work.ids(n) if i not in present]
            if missing:
                report.violations.append(f"{where}: lane {lane} batch {n} was acknowledged but {missing} are missing")
            expected_total += len(work.ids(n))
        in_flight = work.ids(acked[lane] + 1)
        found = sum(i in present for i in in_flight)
        if found not in (0, len(in_flight)):
            report.violations.append(f"{where}: lane {lane} batch {acked[lane] + 1} is partial: "
                                     f"{found} of {len(in_flight)} events")
        if found == len(in_flight):
            expected_total += found
            if (lane, acked[lane] + 1) not in unacked_seen:
                unacked_seen.add((lane, acked[lane] + 1))
                report.unacked_committed_batches += 1
        resending[lane] = True
    if expected_total != len(rows):
        report.violations.append(f"{where}: {len(rows)} events in the log, expected {expected_total} "
                                 "(an event beyond the acknowledged batches and the one in flight)")
    report.events_found = len(rows)
    report.acked_found = sum(len(w.ids(n)) for lane, w in enumerate(lanes) for n in range(1, acked[lane] + 1)
                             if all(i in present for i in w.ids(n)))
    last = rows[-1] if rows else None
    return f"{last.position}:{last.chain}" if last else None


# ---------------------------------------------------------------- command line

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    c = sub.add_parser("child", help="(internal) one writer")
    c.add_argument("--db", required=True)
    c.add_argument("--seed", type=int, required=True)
    c.add_argument("--lane", type=int, default=0)
    c.add_argument("--start", type=int, default=1)
    c.add_argument("--stop", type=int, default=10**9)
    c.add_argument("--die-after-commit", type=int)
    parser.add_argument("--db", help="a new ledger: sqlite:///file.db or postgresql://...?schema=NAME")
    parser.add_argument("--cycles", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--writers", type=int, default=1, help="child processes killed independently each cycle")
    parser.add_argument("--verify-every", type=int, default=10, help="verify the whole chain every N cycles")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    if args.command == "child":
        return child(args.db, args.seed, args.lane, args.start, args.stop, args.die_after_commit)
    if not args.db:
        parser.error("--db is required")
    report = run(args.db, cycles=args.cycles, seed=args.seed, writers=args.writers,
                 verify_every=args.verify_every, log=lambda m: print(m, file=sys.stderr, flush=True))
    return print_report(report, as_json=args.json)


def print_report(report, *, as_json: bool, lists: tuple[str, ...] = ()) -> int:
    """Print a run's report (JSON, or a line a figure, then the `lists` and the violations); 0 if it held."""
    if as_json:
        print(json.dumps({**asdict(report), "ok": report.ok}, indent=2))
    else:
        for key, value in asdict(report).items():
            if key not in ("violations", *lists):
                print(f"{key:28} {value}")
        for key in lists:
            for item in getattr(report, key):
                print(f"{key.replace('_', ' ').rstrip('s')}: {item}")
        for v in report.violations:
            print(f"VIOLATION: {v}")
        print("ok" if report.ok else f"FAILED: {len(report.violations)} violation(s)")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
