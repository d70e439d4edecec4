#!/usr/bin/env python
"""Benchmark `cledger record`'s code path against a raw sqlite3 `executemany`.

    .venv/bin/python scripts/bench_record.py                 # 100,000 events, one batch
    .venv/bin/python scripts/bench_record.py --n 20000 --batch 1000
    .venv/bin/python scripts/bench_record.py --profile       # + cProfile of a 10,000-event run
    .venv/bin/python scripts/bench_record.py --db postgresql://postgres@127.0.0.1:5432/test

What it does:
1. writes N synthetic events as JSON Lines to a temp file: a valid deal
   (parties `congress` (lender) and `lpc` (borrower), a few locations, an
   agreement with terms `{"lender": "congress"}`, a revolving facility), then
   mostly collateral registrations, valuations and moves, advances, small
   payments that never exceed the principal, and move notices. Every line has
   an explicit `id` and a strictly increasing `recorded_at` in the past;
   effective dates never go backwards.
2. records the file the way `cledger record FILE` does, in-process
   (`read_lines` + `record`), into a fresh ledger, and times parse + checks +
   insert (opening/creating the store is not timed). `--batch` splits the
   lines into several `record` calls (transactions); the default is one.
3. SELECTs the rows the ledger wrote (stored_events, cledger_log,
   cledger_names) and inserts exactly those rows with raw sqlite3
   `executemany`, in one transaction, into a fresh SQLite file with the same
   DDL (copied from ledger/store.py and the library's recorder; checked
   against the ledger's own schema when the ledger is SQLite). Only the raw
   insert (BEGIN ... COMMIT) is timed.
4. prints events, events/s of both, their ratio (target >= 0.20) and the
   peak RSS; with `--profile`, cProfile of a separate `--profile-n` run
   (default 10,000), top 25 by cumulative time (and the top by own time).

Nothing outside the temp folder is touched, except with `--db`: a sqlite:///
path must not exist yet; a postgresql:// URL without `?schema=` gets a fresh
schema per run (`cledger_bench_<time>_<pid>_<k>`), dropped at the end unless
`--keep`; with `?schema=` that schema is used as given (it must hold no
ledger) and is left in place.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import random
import resource
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ledger.reader import read_lines  # noqa: E402
from ledger.recording import record  # noqa: E402
from ledger.store import open_store, parse_url  # noqa: E402

TARGET_RATIO = 0.20

# ---------------------------------------------------------------- the raw schema

def raw_ddl() -> list[str]:
    """The ledger's own SQLite schema (tables, indexes, triggers), read from a fresh empty ledger."""
    import sqlite3
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "schema.db"
        open_store(f"sqlite:///{path}", create=True).close()
        conn = sqlite3.connect(path)
        rows = conn.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 ELSE 2 END, name").fetchall()
        conn.close()
    return [sql for (sql,) in rows]


# ---------------------------------------------------------------- synthetic events

LENDER, BORROWER = "congress", "lpc"
AGREEMENT, FACILITY = "loan-and-security-agreement", "revolver"
LOCATIONS = ("lexington", "north-canton", "dayton", "warehouse-4")
FIRST_DAY = date(1996, 1, 2)
SPAN_DAYS = 3650
MIX = (  # the body of the log, after the deal's opening events (weights, in percent)
    ("CollateralRegistered", 40),
    ("CollateralValued", 20),
    ("CollateralMoved", 15),
    ("LoanAdvanced", 12),
    ("PaymentReceived", 8),
    ("NoticeSent", 5),
)


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def recorded_base(n: int) -> datetime:
    """First line's recorded time: 2024-01-01, or earlier if N seconds from there would reach now."""
    fixed = datetime(2024, 1, 1, tzinfo=timezone.utc)
    latest = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(seconds=n + 86_400)
    return min(fixed, latest)


def generate(path: Path, n: int, seed: int) -> Counter:
    """Write `n` events as JSON Lines to `path`; return the count per type."""
    rng = random.Random(seed)
    base = recorded_base(n)
    counts: Counter = Counter()
    names, weights = zip(*MIX)
    locations_of: list[str] = []  # current location of collateral k (index k-1)
    principal = 0  # cents outstanding on the revolver
    notices = 0
    written = 0

    with open(path, "w", encoding="utf-8") as out:
        def emit(body: dict) -> None:
            nonlocal written
            line = {
                "type": body.pop("type"),
                "effective_date": (FIRST_DAY + timedelta(days=written * SPAN_DAYS // n)).isoformat(),
                **body,
                "id": f"ev-{written + 1:07d}",
                "recorded_at": _iso(base + timedelta(seconds=written)),
            }
            out.write(json.dumps(line, separators=(",", ":")) + "\n")
            counts[line["type"]] += 1
            written += 1

        opening = [
            {"type": "PartyRegistered", "party": LENDER, "name": "Congress Financial Corporation",
             "roles": ["lender"]},
            {"type": "PartyRegistered", "party": BORROWER, "name": "Lexington Precision Corporation",
             "roles": ["borrower"]},
            *({"type": "LocationRegistered", "location": loc, "address": f"{i + 1} Industrial Way, {loc}"}
              for i, loc in enumerate(LOCATIONS)),
            {"type": "AgreementExecuted", "agreement": AGREEMENT, "title": "Loan and Security Agreement",
             "parties": [LENDER, BORROWER], "terms": {"lender": LENDER}},
            {"type": "FacilityOpened", "facility": FACILITY, "lender": LENDER, "borrower": BORROWER,
             "kind": "revolving", "limit": "1000000000000.00"},
        ]
        if n < len(opening) + 1:
            raise SystemExit(f"--n must be at least {len(opening) + 1}")
        for body in opening:
            emit(body)

        while written < n:
            kind = rng.choices(names, weights)[0]
            if kind in ("CollateralValued", "CollateralMoved", "NoticeSent") and not locations_of:
                kind = "CollateralRegistered"
            if kind == "PaymentReceived" and principal == 0:
                kind = "LoanAdvanced"

            if kind == "CollateralRegistered":
                k = len(locations_of) + 1
                loc = rng.choice(LOCATIONS)
                locations_of.append(loc)
                emit({"type": kind, "collateral": f"c-{k:07d}", "kind": rng.choice(("equipment", "inventory")),
                      "owner": BORROWER, "location": loc, "serial": f"SN{k:08d}",
                      "description": f"item {k}", "value": _money(rng.randint(1_000, 500_000) * 100)})
            elif kind == "CollateralValued":
                k = rng.randint(1, len(locations_of))
                emit({"type": kind, "collateral": f"c-{k:07d}", "value": _money(rng.randint(1_000, 500_000) * 100)})
            elif kind == "CollateralMoved":
                k = rng.randint(1, len(locations_of))
                to = rng.choice([loc for loc in LOCATIONS if loc != locations_of[k - 1]])
                locations_of[k - 1] = to
                emit({"type": kind, "collateral": f"c-{k:07d}", "to": to})
            elif kind == "LoanAdvanced":
                cents = rng.randint(1_000_00, 100_000_00)
                principal += cents
                emit({"type": kind, "facility": FACILITY, "amount": _money(cents)})
            elif kind == "PaymentReceived":
                cents = min(principal, rng.randint(1_00, 5_000_00))
                principal -= cents
                emit({"type": kind, "facility": FACILITY, "amount": _money(cents)})
            else:  # NoticeSent: the borrower tells the lender of a move
                notices += 1
                k = rng.randint(1, len(locations_of))
                emit({"type": kind, "notice": f"n-{notices:07d}", "from": BORROWER, "to": LENDER,
                      "subject": "collateral-move", "collateral": [f"c-{k:07d}"]})
    return counts


# ---------------------------------------------------------------- stores

class Target:
    """Where one ledger run records: a fresh SQLite file or a fresh PostgreSQL schema."""

    def __init__(self, url: str, sqlite_path: Path | None, drop_schema: str | None):
        self.url, self.sqlite_path, self.drop_schema = url, sqlite_path, drop_schema


def make_targets(db: str | None, workdir: Path, count: int, stem: str) -> list[Target]:
    if db is None:
        return [Target(f"sqlite:///{workdir / f'{stem}-{k}.db'}", workdir / f"{stem}-{k}.db", None)
                for k in range(count)]
    loc = parse_url(db)
    if loc.backend == "sqlite":
        path = Path(loc.path)
        if count > 1:
            raise SystemExit("--db sqlite:///... names one file: use it with --repeat 1 and without --profile, "
                             "or leave --db out")
        if path.exists():
            raise SystemExit(f"{path} exists: the benchmark records into a fresh file")
        return [Target(db, path, None)]
    parts = urlparse(db)
    query = parse_qs(parts.query)
    if "schema" in query:
        if count > 1:
            raise SystemExit("a --db URL with ?schema= names one schema: use --repeat 1 and no --profile, "
                             "or leave the schema out to get fresh ones")
        return [Target(db, None, None)]
    stamp = time.strftime("%Y%m%d%H%M%S")
    targets = []
    for k in range(count):
        schema = f"cledger_bench_{stamp}_{os.getpid()}_{stem.replace('-', '_')}_{k}"
        query_k = dict(query, schema=[schema])
        url = urlunparse(parts._replace(query=urlencode(query_k, doseq=True)))
        targets.append(Target(url, None, schema))
    return targets


def _pg_connect(url: str):
    import psycopg

    loc = parse_url(url)
    return psycopg.connect(host=loc.host, port=loc.port, user=loc.user, password=loc.password,
                           dbname=loc.dbname, autocommit=True, connect_timeout=5), loc.schema


def prepare(target: Target) -> None:
    """PostgreSQL: refuse a schema that holds a ledger; create the schema (the store expects it to exist)."""
    if target.sqlite_path is not None:
        return
    conn, schema = _pg_connect(target.url)
    with conn:
        exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [f'"{schema}".cledger_log']).fetchone()[0]
        if exists:
            raise SystemExit(f"schema {schema} already holds a ledger: the benchmark records into a fresh one")
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')


def drop(target: Target) -> None:
    if target.drop_schema:
        conn, _ = _pg_connect(target.url)
        with conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{target.drop_schema}" CASCADE')


def select_rows(target: Target) -> tuple[list, list, list]:
    """The rows the ledger wrote, as they are stored, in insert order."""
    if target.sqlite_path is not None:
        conn = sqlite3.connect(f"file:{target.sqlite_path}?mode=ro", uri=True)
        try:
            events = conn.execute("SELECT originator_id, originator_version, topic, state FROM stored_events "
                                  "ORDER BY rowid").fetchall()
            log = conn.execute("SELECT * FROM cledger_log ORDER BY position").fetchall()
            names = conn.execute("SELECT * FROM cledger_names ORDER BY rowid").fetchall()
        finally:
            conn.close()
        return events, log, names
    conn, schema = _pg_connect(target.url)
    with conn:
        q = f'"{schema}".'
        events = [(oid.hex, ver, topic, bytes(state)) for oid, ver, topic, state in conn.execute(
            f"SELECT originator_id, originator_version, topic, state FROM {q}cledger_events "
            "ORDER BY notification_id")]
        log = [tuple(r) for r in conn.execute(f"SELECT * FROM {q}cledger_log ORDER BY position")]
        names = [tuple(r) for r in conn.execute(f"SELECT * FROM {q}cledger_names ORDER BY position, namespace, name")]
    return events, log, names


def schema_of(conn: sqlite3.Connection) -> set[tuple]:
    return set(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master WHERE sql IS NOT NULL"))


# ---------------------------------------------------------------- the two runs

def rss_mib() -> float:
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return kib / 1024 if sys.platform != "darwin" else kib / (1024 * 1024)


def run_ledger(target: Target, jsonl: Path, batch: int | None, profiler: cProfile.Profile | None = None) -> dict:
    """Parse the file and record it as `cledger record` does; time parse + checks + insert."""
    store = open_store(target.url, create=True)  # creating the tables is not timed
    inserts = AppendTimer(store)
    recorded = 0
    try:
        if profiler:
            profiler.enable()
        t0 = time.perf_counter()
        with open(jsonl, "rb") as fh:
            incoming = list(read_lines(fh))
        t1 = time.perf_counter()
        size = batch or len(incoming)
        for i in range(0, len(incoming), size):
            result = record(store, incoming[i:i + size])
            recorded += len(result.recorded)
        t2 = time.perf_counter()
        if profiler:
            profiler.disable()
    finally:
        store.close()
    if recorded != len(incoming):
        raise SystemExit(f"the ledger recorded {recorded} of {len(incoming)} events")
    return {"events": recorded, "total_s": t2 - t0, "parse_s": t1 - t0, "insert_s": inserts.seconds,
            "check_s": (t2 - t1) - inserts.seconds, "batches": -(-len(incoming) // size)}


class AppendTimer:
    """Times a store's insert transactions (on that instance only): what `record` spends in the database."""

    def __init__(self, store):
        self.seconds = 0.0
        append = store.append

        def timed_append(*args, **kwargs):
            t = time.perf_counter()
            try:
                return append(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - t

        store.append = timed_append


def run_raw(path: Path, events: list, log: list, names: list) -> float:
    """Insert the ledger's rows with executemany in one transaction; only BEGIN..COMMIT is timed."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")  # as the library sets it on the ledger's file
        for statement in raw_ddl():
            conn.execute(statement)
        t0 = time.perf_counter()
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO stored_events VALUES (?,?,?,?)", events)
        conn.executemany("INSERT INTO cledger_log VALUES (?,?,?,?,?,?,?)", log)
        conn.executemany("INSERT INTO cledger_names VALUES (?,?,?)", names)
        conn.execute("COMMIT")
        elapsed = time.perf_counter() - t0
        got = conn.execute("SELECT COUNT(*) FROM stored_events").fetchone()[0]
        if got != len(events):
            raise SystemExit(f"raw insert wrote {got} of {len(events)} rows")
    finally:
        conn.close()
    return elapsed


def run_raw_pg(url: str, events: list, log: list, names: list) -> float:
    """The same rows with psycopg executemany into copies of the ledger's PostgreSQL tables (same columns, keys
    and indexes; no triggers), in one transaction; only BEGIN..COMMIT is timed. The copies are dropped after."""
    import uuid as _uuid

    conn, schema = _pg_connect(url)
    raw = f"cledger_raw_{_uuid.uuid4().hex[:10]}"
    try:
        conn.execute(f'CREATE SCHEMA "{raw}"')
        for table in ("cledger_events", "cledger_log", "cledger_names"):
            conn.execute(f'CREATE TABLE "{raw}".{table} (LIKE "{schema}".{table} INCLUDING ALL)')
        t0 = time.perf_counter()
        with conn.transaction(), conn.cursor() as cur:
            cur.executemany(f'INSERT INTO "{raw}".cledger_events (originator_id, originator_version, topic, state) '
                            "VALUES (%s, %s, %s, %s)", events)
            cur.executemany(f'INSERT INTO "{raw}".cledger_log VALUES (%s, %s, %s, %s, %s, %s, %s)', log)
            cur.executemany(f'INSERT INTO "{raw}".cledger_names VALUES (%s, %s, %s)', names)
        elapsed = time.perf_counter() - t0
        got = conn.execute(f'SELECT COUNT(*) FROM "{raw}".cledger_events').fetchone()[0]
        if got != len(events):
            raise SystemExit(f"raw insert wrote {got} of {len(events)} rows")
    finally:
        conn.execute(f'DROP SCHEMA IF EXISTS "{raw}" CASCADE')
        conn.close()
    return elapsed


def compare_schemas(ledger_file: Path, raw_file: Path) -> str | None:
    a = sqlite3.connect(f"file:{ledger_file}?mode=ro", uri=True)
    b = sqlite3.connect(f"file:{raw_file}?mode=ro", uri=True)
    try:
        sa, sb = schema_of(a), schema_of(b)
    finally:
        a.close()
        b.close()
    if sa == sb:
        return None
    only_ledger = sorted(name for _, name, _, _ in sa - sb)
    only_raw = sorted(name for _, name, _, _ in sb - sa)
    return f"schema differs from the ledger's: ledger-only {only_ledger}, raw-only {only_raw}"


# ---------------------------------------------------------------- output

def print_table(rows: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for k, row in enumerate(rows):
        print("| " + " | ".join(c.rjust(w) for c, w in zip(row, widths)) + " |")
        if k == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000, help="events to generate (default 100,000)")
    ap.add_argument("--batch", type=int, default=None,
                    help="lines per record() call / transaction (default: all in one)")
    ap.add_argument("--db", default=None,
                    help="ledger URL: sqlite:///new-file.db or postgresql://user@host:port/db[?schema=s] "
                         "(default: a fresh SQLite file in the temp folder)")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each side; the median is reported")
    ap.add_argument("--seed", type=int, default=1996)
    ap.add_argument("--profile", action="store_true", help="also cProfile a --profile-n run of the ledger")
    ap.add_argument("--profile-n", type=int, default=10_000)
    ap.add_argument("--top", type=int, default=25, help="rows of the profile to print")
    ap.add_argument("--workdir", default=None, help="folder for the temp files (default: system temp)")
    ap.add_argument("--keep", action="store_true", help="keep the temp files (and fresh PostgreSQL schemas)")
    args = ap.parse_args(argv)
    if args.batch is not None and args.batch < 1:
        ap.error("--batch must be at least 1")
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")

    workdir = Path(tempfile.mkdtemp(prefix="cledger-bench-", dir=args.workdir))
    targets: list[Target] = []
    try:
        runs = make_targets(args.db, workdir, args.repeat + (1 if args.profile else 0), "ledger")
        targets = runs
        main_targets, profile_target = runs[:args.repeat], (runs[args.repeat] if args.profile else None)
        for t in runs:
            prepare(t)

        jsonl = workdir / "events.jsonl"
        t = time.perf_counter()
        counts = generate(jsonl, args.n, args.seed)
        gen_s = time.perf_counter() - t
        backend = "sqlite" if main_targets[0].sqlite_path is not None else "postgresql"
        print(f"generated {args.n:,} events ({jsonl.stat().st_size / 2**20:.1f} MiB) in {gen_s:.1f} s: "
              + ", ".join(f"{k} {v:,}" for k, v in counts.most_common()))
        print(f"ledger: {backend}, {'one batch' if not args.batch else f'batches of {args.batch:,}'}; "
              f"raw: sqlite3 executemany, one transaction; temp folder {workdir}")
        rss_start = rss_mib()

        ledger_runs = []
        for k, target in enumerate(main_targets):
            res = run_ledger(target, jsonl, args.batch)
            ledger_runs.append(res)
            print(f"  ledger run {k + 1}: {res['total_s']:.2f} s", flush=True)
        rss_ledger = rss_mib()

        raw_times = []
        events, log, names = select_rows(main_targets[0])
        for k in range(args.repeat):
            raw_path = workdir / f"raw-{k}.db"
            raw_times.append(run_raw(raw_path, events, log, names))
        drift = compare_schemas(main_targets[0].sqlite_path, workdir / "raw-0.db") \
            if main_targets[0].sqlite_path is not None else None
        n_rows = len(events)
        del events, log, names
        rss_end = rss_mib()

        res = sorted(ledger_runs, key=lambda r: r["total_s"])[len(ledger_runs) // 2]
        raw_s = statistics.median(raw_times)
        ledger_eps, raw_eps = res["events"] / res["total_s"], n_rows / raw_s
        ratio = ledger_eps / raw_eps
        print()
        print_table([
            ["events", "batches", "ledger s", "ledger events/s", "raw s", "raw events/s",
             "ratio", f"target >= {TARGET_RATIO:.2f}", "peak RSS MiB"],
            [f"{res['events']:,}", f"{res['batches']:,}", f"{res['total_s']:.2f}", f"{ledger_eps:,.0f}",
             f"{raw_s:.3f}", f"{raw_eps:,.0f}", f"{ratio:.3f}", "met" if ratio >= TARGET_RATIO else "NOT met",
             f"{rss_ledger:,.0f}"],
        ])
        print(f"ledger time: parse {res['parse_s']:.2f} s ({res['parse_s'] / res['total_s']:.0%}), "
              f"checks + encoding + hashing {res['check_s']:.2f} s ({res['check_s'] / res['total_s']:.0%}), "
              f"insert transactions {res['insert_s']:.2f} s ({res['insert_s'] / res['total_s']:.0%})")
        print(f"peak RSS: {rss_start:,.0f} MiB before recording, {rss_ledger:,.0f} MiB after the ledger run, "
              f"{rss_end:,.0f} MiB at the end (raw rows held in memory)")
        if args.repeat > 1:
            print("runs: ledger " + ", ".join(f"{r['total_s']:.2f}" for r in ledger_runs)
                  + " s; raw " + ", ".join(f"{s:.3f}" for s in raw_times) + " s (medians above)")
        if drift:
            print(f"WARNING: {drift}")

        if profile_target is not None:
            pjsonl = workdir / "profile.jsonl"
            generate(pjsonl, args.profile_n, args.seed)
            profiler = cProfile.Profile()
            pres = run_ledger(profile_target, pjsonl, args.batch, profiler)
            print()
            print(f"cProfile of the ledger recording {pres['events']:,} events "
                  f"({pres['total_s']:.2f} s under the profiler, {pres['events'] / pres['total_s']:,.0f} events/s)")
            for key, top in (("cumulative", args.top), ("tottime", 15)):
                buf = io.StringIO()
                stats = pstats.Stats(profiler, stream=buf).strip_dirs().sort_stats(key)
                stats.print_stats(top)
                text = buf.getvalue()
                start = text.find("   ncalls")
                print(f"\ntop {top} by {key} time:")
                print(text[start:].rstrip() if start >= 0 else text.rstrip())
        return 0
    finally:
        clean_up(targets, workdir, keep=args.keep)


def clean_up(targets, workdir, *, keep: bool) -> None:
    """Drop the run's PostgreSQL schemas and temp folder, or say where they were kept."""
    if not keep:
        for t in targets:
            try:
                drop(t)
            except Exception as exc:  # report, do not hide the run's own outcome
                print(f"could not drop schema {t.drop_schema}: {exc}", file=sys.stderr)
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"kept {workdir}" + "".join(f", schema {t.drop_schema}" for t in targets if t.drop_schema),
              file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
