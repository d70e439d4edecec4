#!/usr/bin/env python
"""The ledger's performance at scale: record, read-model catch-up, queries, replay, audit, memory.

    .venv/bin/python scripts/bench.py --quick                  # 10,000 and 50,000 events: a few minutes
    .venv/bin/python scripts/bench.py                          # 100,000 and 1,000,000 events: ~20 minutes
    .venv/bin/python scripts/bench.py --n 200000 --also 0      # one size only
    .venv/bin/python scripts/bench.py --db postgresql://postgres@127.0.0.1:5432/postgres

For each size (default 100,000 then 1,000,000) it writes a synthetic ledger
with scripts/synth.py (`--n N --seed 7`) into a temp folder and measures, each
step in its own child process (multiprocessing, 'spawn'), so that the step's
peak resident memory (its `ru_maxrss`) is its own:

1. record: the lines are parsed with `ledger.reader.read_lines` and recorded
   with `ledger.recording.record`, `--batch` lines (default 50,000) a call, one
   transaction each; the file is streamed a batch at a time, as if
   `cledger record` were run once per 50,000-line file (the CLI itself reads a
   whole file before recording it). Opening the store is not timed; parsing,
   checks, encoding, hashing and the inserts are. The read models are not
   caught up here (see 3).
2. raw: the rows the ledger wrote are inserted again with sqlite3
   `executemany` in one transaction into a fresh SQLite file with the same
   schema (scripts/bench_record.py: `select_rows`, `run_raw`; only
   BEGIN..COMMIT is timed). Ratio record / raw: target >= 0.20. With a
   PostgreSQL `--db`, the same rows are also inserted with psycopg
   `executemany` into copies of the ledger's PostgreSQL tables (same keys and
   indexes, no triggers) in one transaction, and the target is read against
   that like-for-like baseline; the ratio to raw sqlite3 is printed beside it.
3. catch-up: `Ledger.refresh()` once after the whole load (the read models
   start empty), and the size of the projection file (`projection_path`).
4. queries: `--queries` (D, K) pairs, seeded (`--query-seed`): K is the
   recorded time of a uniformly drawn log position and D the effective date of
   another, independently drawn position, so both lie within the ledger's
   recorded and effective ranges and are spread as the events are. For each of
   liens, eligibility, balances, defaults and availability the time of
   `lg.snapshot(K).<view>(D).to_json()` (snapshot creation, which also checks
   the read models are current, + the answer + its JSON) is taken for every
   pair: p50 <= 20 ms and p99 <= 100 ms (nearest rank).
5. replay: the same query for the first `--replays` pairs answered by the
   reference fold (`open_ledger(url, reference=True)`, a fresh Ledger each
   time, so every answer reads and folds the whole log): speed-up = median
   replay time / median read-model time of the same pairs, target >= 100x.
   The answers of both paths are compared (a difference is reported).
6. audit: `ledger.audit.audit(store)` in events/s against a plain read of
   every stored event, decoded (`Store.read()` over everything): target >= 1/3.
   From 50,000 events on, the audit verifies the chain in a second process
   while it rebuilds the read models (the machine's second core); that
   process's peak RSS is reported beside the audit's.
7. memory: each step's peak RSS, target <= 300 MB (MiB here) for the ledger's
   own steps; the raw insert (which holds every row in memory) is the
   baseline and has none.

It prints one table per size, then the growth of every figure from the
smaller size to the larger (figure at the larger / figure at the smaller).

Nothing outside the temp folder is touched, except with `--db`: a sqlite:///
path must not exist (with two sizes, `-<N>` is added to its name); a
postgresql:// URL without `?schema=` gets a fresh schema per size, dropped at
the end unless `--keep` (the read models then go to the temp folder through
CLEDGER_PROJECTIONS, not to ~/.cache).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import multiprocessing
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
for _p in (str(ROOT), str(HERE)):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from bench_record import (  # noqa: E402  (the raw-executemany side, reused as is)
    AppendTimer,
    Target,
    clean_up,
    compare_schemas,
    make_targets,
    prepare,
    run_raw,
    run_raw_pg,
    select_rows,
)

VIEWS = ("liens", "eligibility", "balances", "defaults", "availability")
TARGET_RECORD_RATIO = 0.20
TARGET_P50_MS = 20.0
TARGET_P99_MS = 100.0
TARGET_SPEEDUP = 100.0
TARGET_AUDIT_RATIO = 1 / 3
TARGET_RSS_MIB = 300.0
SYNTH = HERE / "synth.py"


# ---------------------------------------------------------------- helpers run in the children

def _peak_rss_mib() -> float:
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return kib / 1024 if sys.platform != "darwin" else kib / 2**20


def _digest(answer: dict) -> str:
    return hashlib.sha256(json.dumps(answer, sort_keys=True, default=str).encode()).hexdigest()


def step_record(url: str, jsonl: str, batch: int) -> dict:
    """Stream the file `batch` lines at a time through read_lines + record (one transaction a batch)."""
    from ledger.reader import read_lines
    from ledger.recording import record
    from ledger.store import open_store

    store = open_store(url, create=True)  # creating the tables is not timed
    inserts = AppendTimer(store)
    recorded = lines = batches = 0
    try:
        t0 = time.perf_counter()
        with open(jsonl, "rb") as fh:
            incoming = read_lines(fh)
            while True:
                chunk = list(itertools.islice(incoming, batch))
                if not chunk:
                    break
                lines += len(chunk)
                result = record(store, chunk)
                recorded += len(result.recorded)
                batches += 1
                del chunk, result
        elapsed = time.perf_counter() - t0
        tail = store.tail().position
    finally:
        store.close()
    if recorded != lines or tail != lines:
        raise RuntimeError(f"the ledger recorded {recorded} of {lines} lines (tail at {tail})")
    return {"events": recorded, "seconds": elapsed, "insert_s": inserts.seconds, "batches": batches,
            "rss": _peak_rss_mib()}


def step_raw(url: str, sqlite_path: str | None, raw_path: str) -> dict:
    """bench_record's baseline: the ledger's own rows, raw executemany, one transaction."""
    target = Target(url, Path(sqlite_path) if sqlite_path else None, None)
    events, log, names = select_rows(target)
    seconds = run_raw(Path(raw_path), events, log, names)
    drift = compare_schemas(Path(sqlite_path), Path(raw_path)) if sqlite_path else None
    # on PostgreSQL, also the same rows into PostgreSQL itself: the like-for-like baseline of that backend
    pg_seconds = run_raw_pg(url, events, log, names) if sqlite_path is None else None
    n = len(events)
    del events, log, names
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(raw_path + suffix).unlink(missing_ok=True)
    return {"events": n, "seconds": seconds, "pg_seconds": pg_seconds, "drift": drift, "rss": _peak_rss_mib()}


def _projection_bytes(path: Path) -> tuple[int, int]:
    main = path.stat().st_size if path.exists() else 0
    wal = Path(str(path) + "-wal")
    return main, (wal.stat().st_size if wal.exists() else 0)


def step_catchup(url: str) -> dict:
    from ledger.api import open_ledger, projection_path

    lg = open_ledger(url, create=False)
    try:
        path = projection_path(lg.store)
        model = lg.model  # opening (creating) the projection file is not timed
        if model is None:
            raise RuntimeError(f"the read models cannot be kept at {path}")
        t0 = time.perf_counter()
        applied = lg.refresh()
        elapsed = time.perf_counter() - t0
        position, tail = model.position, lg.store.tail().position
    finally:
        lg.close()
    if position != tail:
        raise RuntimeError(f"refresh() left the read models at position {position} of {tail} "
                           f"({applied} applied; refresh() returns 0 on sqlite3.OperationalError)")
    main, wal = _projection_bytes(path)
    return {"events": applied, "seconds": elapsed, "path": str(path), "bytes": main, "wal_bytes": wal,
            "rss": _peak_rss_mib()}


def step_queries(url: str, pairs: list[tuple[date, datetime]], keep: int) -> dict:
    """Every view for every pair from the read models; latencies in ms, digests of the first `keep` answers."""
    from ledger.api import open_ledger
    from projections.query import ReadModelSnapshot

    lg = open_ledger(url, create=False)
    out: dict = {"ms": {}, "digests": {}, "rss": 0.0, "fallback": []}
    try:
        if lg.model is None:  # opening the projection file, like opening the store, is not timed
            raise RuntimeError("the read models cannot be opened")
        for view in VIEWS:
            times, digests = [], []
            for i, (d, k) in enumerate(pairs):
                t0 = time.perf_counter()
                snap = lg.snapshot(k)
                answer = getattr(snap, view)(d).to_json()
                times.append((time.perf_counter() - t0) * 1000)
                if not isinstance(snap, ReadModelSnapshot):
                    out["fallback"].append((view, i))
                if i < keep:
                    digests.append(_digest(answer))
            out["ms"][view] = times
            out["digests"][view] = digests
    finally:
        lg.close()
    out["rss"] = _peak_rss_mib()
    return out


def step_replay(url: str, pairs: list[tuple[date, datetime]]) -> dict:
    """The same queries from the reference fold: a fresh Ledger per answer, so each reads the whole log."""
    from ledger.api import open_ledger

    out: dict = {"ms": {}, "digests": {}}
    for view in VIEWS:
        times, digests = [], []
        for d, k in pairs:
            lg = open_ledger(url, create=False, reference=True)
            try:
                t0 = time.perf_counter()
                answer = getattr(lg.snapshot(k), view)(d).to_json()
                times.append((time.perf_counter() - t0) * 1000)
            finally:
                lg.close()
            digests.append(_digest(answer))
        out["ms"][view] = times
        out["digests"][view] = digests
    out["rss"] = _peak_rss_mib()
    return out


def step_audit(url: str) -> dict:
    from ledger.audit import audit
    from ledger.store import open_store

    store = open_store(url)
    try:
        t0 = time.perf_counter()
        report = audit(store)
        elapsed = time.perf_counter() - t0
    finally:
        store.close()
    # a large log's chain is verified by a second process beside the rebuild: its peak is reported too
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / (1024 if sys.platform != "darwin" else 2**20)
    return {"events": report.events, "seconds": elapsed, "dates": len(report.dates), "rss": _peak_rss_mib(),
            "chain_rss": child or None}


def step_read(url: str) -> dict:
    from ledger.store import open_store

    store = open_store(url)
    try:
        t0 = time.perf_counter()
        n = 0
        for _ in store.read():
            n += 1
        elapsed = time.perf_counter() - t0
    finally:
        store.close()
    return {"events": n, "seconds": elapsed, "rss": _peak_rss_mib()}


# ---------------------------------------------------------------- the parent

def run_step(name: str, fn, *args) -> dict:
    """Run one step in a fresh spawned process; a failure comes back as {'error': ...}."""
    t0 = time.perf_counter()
    print(f"    {name} ...", end="", flush=True)
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as ex:
            result = ex.submit(fn, *args).result()
    except Exception as exc:  # the child's traceback is chained as the cause
        cause = exc.__cause__
        detail = "".join(traceback.format_exception(exc)) + (str(cause) if cause else "")
        print(f" FAILED after {time.perf_counter() - t0:.1f} s: {type(exc).__name__}: {exc}", flush=True)
        print(detail, flush=True)
        return {"error": f"{type(exc).__name__}: {exc}"}
    result["load"] = os.getloadavg()[0]
    print(f" {time.perf_counter() - t0:.1f} s (peak RSS {result['rss']:,.0f} MiB; load average "
          f"{result['load']:.1f} on {os.cpu_count()} CPUs)", flush=True)
    return result


def code_digest() -> str:
    """A digest of the ledger's Python sources: a change during the run would mix code versions."""
    h = hashlib.sha256()
    for folder in ("ledger", "projections"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            h.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def code_identity() -> str:
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "ledger", "projections"],
                               capture_output=True, text=True, check=True).stdout.strip()
        return f"git {head}" + (" + uncommitted changes in ledger/ or projections/" if dirty else " (clean)")
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"


def pick_pairs(url: str, count: int, seed: int) -> tuple[list[tuple[date, datetime]], dict]:
    """(D, K) pairs: K = recorded time of a random position, D = effective date of another."""
    import random

    from ledger.store import open_store
    from ledger.values import parse_time

    rng = random.Random(seed)
    store = open_store(url)
    try:
        total = store.tail().position

        def row(p: int):
            return next(store.log_rows(start=p, chunk=1))

        first, last = row(1), row(total)
        pairs = []
        for _ in range(count):
            k_row, d_row = row(rng.randint(1, total)), row(rng.randint(1, total))
            pairs.append((date.fromisoformat(d_row.effective_date), parse_time(k_row.recorded_at)))
        lo = hi = first.effective_date  # effective dates need not follow positions: scan the log once
        for r in store.log_rows(chunk=20_000):
            lo, hi = min(lo, r.effective_date), max(hi, r.effective_date)
    finally:
        store.close()
    ranges = {"effective": (lo, hi), "recorded": (first.recorded_at, last.recorded_at),
              "d": (min(p[0] for p in pairs).isoformat(), max(p[0] for p in pairs).isoformat()),
              "k": (min(p[1] for p in pairs).isoformat(), max(p[1] for p in pairs).isoformat())}
    return pairs, ranges


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def size_target(db: str | None, workdir: Path, n: int, several: bool) -> Target:
    if db is None:
        return make_targets(None, workdir, 1, f"ledger-{n}")[0]
    from ledger.store import parse_url

    loc = parse_url(db)
    if loc.backend == "sqlite" and several:
        path = Path(loc.path)
        db = f"sqlite:///{path.with_name(f'{path.stem}-{n}{path.suffix}')}"
    return make_targets(db, workdir, 1, f"ledger-{n}")[0]


def synthesize(path: Path, n: int, seed: int) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, str(SYNTH), "--n", str(n), "--seed", str(seed), "--out", str(path), "--quiet"],
                   check=True)
    return time.perf_counter() - t0


def measure_size(n: int, args, workdir: Path, several: bool, targets: list[Target]) -> dict:
    folder = workdir / f"n{n}"
    folder.mkdir()
    jsonl = folder / "synth.jsonl"
    print(f"\n== {n:,} events ({folder})", flush=True)
    gen_s = synthesize(jsonl, n, args.seed)
    print(f"    synth.py --n {n} --seed {args.seed}: {jsonl.stat().st_size / 2**20:,.1f} MiB in {gen_s:.1f} s",
          flush=True)
    target = size_target(args.db, folder, n, several)
    targets.append(target)
    prepare(target)
    # the read models go to the temp folder whatever the backend (PostgreSQL would use ~/.cache)
    os.environ["CLEDGER_PROJECTIONS"] = str(folder / "ledger.projections")
    res: dict = {"n": n, "seed": args.seed, "gen_s": gen_s, "backend": "sqlite" if target.sqlite_path else "postgresql"}

    res["record"] = run_step("record", step_record, target.url, str(jsonl), args.batch)
    if "error" in res["record"]:
        res["code_after"] = code_digest()
        return res
    jsonl.unlink()  # the file is not needed any more: free the disk
    res["raw"] = run_step("raw executemany", step_raw, target.url,
                          str(target.sqlite_path) if target.sqlite_path else None, str(folder / "raw.db"))
    res["catchup"] = run_step("catch-up", step_catchup, target.url)
    if "error" not in res["catchup"]:
        pairs, ranges = pick_pairs(target.url, args.queries, args.query_seed)
        res["ranges"] = ranges
        replays = min(args.replays, len(pairs))
        res["queries"] = run_step(f"queries ({len(pairs)} pairs x {len(VIEWS)} views)", step_queries,
                                  target.url, pairs, replays)
        res["replay"] = run_step(f"reference replay ({replays} x {len(VIEWS)} views)", step_replay,
                                 target.url, pairs[:replays])
        res["replayed_pairs"] = pairs[:replays]
    res["audit"] = run_step("audit", step_audit, target.url)
    res["read"] = run_step("raw read (Store.read, decoded)", step_read, target.url)
    res["code_after"] = code_digest()
    return res


# ---------------------------------------------------------------- output

def verdict(ok: bool | None) -> str:
    return "" if ok is None else ("met" if ok else "NOT met")


def figures(res: dict) -> list[tuple[str, str, float | None, str, str, str]]:
    """(section, label, value, formatted, target, verdict) rows of one size; value None when failed."""
    rows: list = []

    def add(section, label, value, fmt, target="", ok=None):
        rows.append((section, label, value, "failed" if value is None else fmt.format(value), target,
                     verdict(ok) if value is not None else ("NOT met" if target else "")))

    rec, raw = res.get("record", {}), res.get("raw", {})
    rec_eps = rec["events"] / rec["seconds"] if "seconds" in rec else None
    raw_eps = raw["events"] / raw["seconds"] if "seconds" in raw else None
    add("record", f"cledger record path, events/s (batches of {BATCH_LABEL} lines)", rec_eps, "{:,.0f}")
    if "seconds" in rec:
        add("record", "  batches (transactions)", rec["batches"], "{:,}")
        add("record", "  of which insert transactions, s", rec["insert_s"], "{:.2f}")
        add("record", "  total, s", rec["seconds"], "{:.2f}")
    add("record", "raw sqlite3 executemany, events/s (one transaction)", raw_eps, "{:,.0f}")
    ratio = rec_eps / raw_eps if rec_eps and raw_eps else None
    if raw.get("pg_seconds"):  # a PostgreSQL ledger: its target is against raw inserts into PostgreSQL
        add("record", "ratio record / raw sqlite3", ratio, "{:.3f}")
        pg_eps = raw["events"] / raw["pg_seconds"]
        add("record", "raw psycopg executemany into PostgreSQL, events/s (one transaction)", pg_eps, "{:,.0f}")
        ratio = rec_eps / pg_eps if rec_eps else None
        add("record", "ratio record / raw PostgreSQL", ratio, "{:.3f}", f">= {TARGET_RECORD_RATIO:.2f}",
            ratio is not None and ratio >= TARGET_RECORD_RATIO)
    else:
        add("record", "ratio record / raw", ratio, "{:.3f}", f">= {TARGET_RECORD_RATIO:.2f}",
            ratio is not None and ratio >= TARGET_RECORD_RATIO)

    cu = res.get("catchup", {})
    add("catch-up", "Ledger.refresh() after the load, s", cu.get("seconds"), "{:.2f}")
    add("catch-up", "  events/s", cu["events"] / cu["seconds"] if "seconds" in cu and cu["seconds"] else None,
        "{:,.0f}")
    add("catch-up", "projection file, MiB", cu["bytes"] / 2**20 if "bytes" in cu else None, "{:,.1f}")

    q, rp = res.get("queries", {}), res.get("replay", {})
    for view in VIEWS:
        ms = q.get("ms", {}).get(view)
        p50 = statistics.median(ms) if ms else None
        p99 = percentile(ms, 99) if ms else None
        add("queries", f"{view}: read models p50, ms", p50, "{:.2f}", f"<= {TARGET_P50_MS:g}",
            p50 is not None and p50 <= TARGET_P50_MS)
        add("queries", f"{view}: read models p99, ms", p99, "{:.2f}", f"<= {TARGET_P99_MS:g}",
            p99 is not None and p99 <= TARGET_P99_MS)
        rms = rp.get("ms", {}).get(view)
        rep = statistics.median(rms) if rms else None
        add("queries", f"{view}: reference replay, ms (median of {len(rms) if rms else 0})", rep, "{:,.0f}")
        same = statistics.median(ms[:len(rms)]) if ms and rms else None
        speed = rep / same if rep and same else None
        add("queries", f"{view}: speed-up replay / read models (same pairs)", speed, "{:,.0f}x",
            f">= {TARGET_SPEEDUP:g}x", speed is not None and speed >= TARGET_SPEEDUP)

    au, rd = res.get("audit", {}), res.get("read", {})
    au_eps = au["events"] / au["seconds"] if "seconds" in au else None
    rd_eps = rd["events"] / rd["seconds"] if "seconds" in rd else None
    add("audit", "cledger audit, events/s", au_eps, "{:,.0f}")
    if "seconds" in au:
        add("audit", "  total, s", au["seconds"], "{:.2f}")
    add("audit", "raw read (Store.read, decoded), events/s", rd_eps, "{:,.0f}")
    ar = au_eps / rd_eps if au_eps and rd_eps else None
    add("audit", "ratio audit / raw read", ar, "{:.3f}", ">= 0.333", ar is not None and ar >= TARGET_AUDIT_RATIO)

    for key, label, has_target in (("record", "record", True), ("raw", "raw executemany (baseline)", False),
                                   ("catchup", "catch-up", True), ("queries", "queries (read models)", True),
                                   ("replay", "reference replay", True), ("audit", "audit", True),
                                   ("read", "raw read (Store.read)", True)):
        step = res.get(key)
        if step is None:
            continue
        rss = step.get("rss")
        add("peak RSS", f"{label}, MiB", rss, "{:,.0f}", f"<= {TARGET_RSS_MIB:g}" if has_target else "n/a",
            (rss is not None and rss <= TARGET_RSS_MIB) if has_target else None)
        if key == "audit" and step.get("chain_rss"):
            add("peak RSS", "  audit's chain check (its own process), MiB", step["chain_rss"], "{:,.0f}",
                f"<= {TARGET_RSS_MIB:g}", step["chain_rss"] <= TARGET_RSS_MIB)
    return rows


BATCH_LABEL = "50,000"
STEPS = ("record", "raw", "catchup", "queries", "replay", "audit", "read")


def print_table(rows: list[list[str]], right: set[int]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for k, row in enumerate(rows):
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))]
        print("| " + " | ".join(cells) + " |")
        if k == 0:
            print("|" + "|".join("-" * (w + 1) + (":" if i in right else "-") for i, w in enumerate(widths)) + "|")


def report_size(res: dict) -> list:
    n = res["n"]
    loads = [res[k]["load"] for k in STEPS if "load" in res.get(k, {})]
    load = f"; load average after each step {min(loads):.1f} .. {max(loads):.1f} on {os.cpu_count()} CPUs" if loads else ""
    print(f"\n### {n:,} events ({res['backend']}; synth.py --n {n} --seed {res['seed']}, "
          f"generated in {res['gen_s']:.1f} s{load})\n")
    rows = figures(res)
    print_table([["step", "figure", "value", "target", "verdict"]]
                + [[s, label, shown, target, v] for s, label, _, shown, target, v in rows], {2})
    if "ranges" in res:
        r = res["ranges"]
        print(f"\nqueries: D drawn from {r['d'][0]} .. {r['d'][1]} (ledger's effective range {r['effective'][0]} .. "
              f"{r['effective'][1]}); K from {r['k'][0]} .. {r['k'][1]} (recorded range {r['recorded'][0]} .. "
              f"{r['recorded'][1]})")
    q, rp = res.get("queries", {}), res.get("replay", {})
    if q.get("fallback"):
        print(f"WARNING: {len(q['fallback'])} query(ies) were answered by the fold, not the read models "
              f"(the snapshot was not a ReadModelSnapshot): first {q['fallback'][:5]}")
    if "digests" in q and "digests" in rp:
        diffs = [(view, i) for view in VIEWS
                 for i, (a, b) in enumerate(zip(q["digests"][view], rp["digests"][view])) if a != b]
        checked = sum(len(rp["digests"][v]) for v in VIEWS)
        if diffs:
            print(f"WARNING: the read models and the reference fold answer {len(diffs)} of the {checked} replayed "
                  f"queries differently:")
            for view, i in diffs[:10]:
                d, k = res["replayed_pairs"][i]
                print(f"  {view} as of {d.isoformat()} known at {k.isoformat()}: "
                      f"lg.snapshot(K).{view}(D).to_json() differs between open_ledger(url) and "
                      f"open_ledger(url, reference=True)")
        else:
            print(f"read models and reference fold give identical answers for the {checked} replayed queries")
    if res.get("raw", {}).get("drift"):
        print(f"WARNING: {res['raw']['drift']}")
    for key in STEPS:
        if key in res and "error" in res[key]:
            print(f"step {key} FAILED: {res[key]['error']}")
    if "audit" in res and "dates" in res["audit"]:
        print(f"audit: chain verified and projections replayed twice at {res['audit']['dates']} date(s)")
    if "catchup" in res and "wal_bytes" in res["catchup"] and res["catchup"]["wal_bytes"]:
        print(f"projection WAL left after close: {res['catchup']['wal_bytes'] / 2**20:.1f} MiB")
    return rows


def report_growth(small: dict, large: dict, rows_small: list, rows_large: list) -> None:
    ns, nl = small["n"], large["n"]
    print(f"\n### growth: figure at {nl:,} / figure at {ns:,} (events x{nl / ns:g})\n")
    table = [["step", "figure", f"at {ns:,}", f"at {nl:,}", "growth"]]
    for a, b in zip(rows_small, rows_large):
        label = a[1]
        if a[1] != b[1]:
            continue
        growth = f"{b[2] / a[2]:.2f}x" if a[2] and b[2] is not None else "n/a"
        table.append([a[0], label, a[3], b[3], growth])
    print_table(table, {2, 3, 4})


def main(argv: list[str] | None = None) -> int:
    global BATCH_LABEL
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=None, help="the larger size (default 1,000,000; --quick 50,000)")
    ap.add_argument("--also", type=int, default=None,
                    help="the smaller size, measured first (default 100,000; --quick 10,000; 0: only --n)")
    ap.add_argument("--db", default=None,
                    help="sqlite:///new-file.db or postgresql://user@host:port/db[?schema=s] "
                         "(default: fresh SQLite files in the temp folder)")
    ap.add_argument("--queries", type=int, default=None, help="(D, K) pairs per view (default 200; --quick 20)")
    ap.add_argument("--replays", type=int, default=None,
                    help="reference-fold answers per view (default 3; --quick 1)")
    ap.add_argument("--batch", type=int, default=50_000, help="lines per record() call / transaction")
    ap.add_argument("--seed", type=int, default=7, help="synth.py's seed")
    ap.add_argument("--query-seed", type=int, default=1996, help="seed of the (D, K) pairs")
    ap.add_argument("--quick", action="store_true", help="10,000 and 50,000 events, 20 queries, 1 replay")
    ap.add_argument("--workdir", default=None, help="folder for the temp folder (default: system temp)")
    ap.add_argument("--keep", action="store_true", help="keep the temp files (and fresh PostgreSQL schemas)")
    args = ap.parse_args(argv)
    quick = args.quick
    args.n = args.n if args.n is not None else (50_000 if quick else 1_000_000)
    args.also = args.also if args.also is not None else (10_000 if quick else 100_000)
    args.queries = args.queries if args.queries is not None else (20 if quick else 200)
    args.replays = args.replays if args.replays is not None else (1 if quick else 3)
    if args.n < 100 or (args.also and args.also < 100):
        ap.error("sizes must be at least 100 events")
    if args.queries < 1 or args.replays < 1 or args.batch < 1:
        ap.error("--queries, --replays and --batch must be at least 1")
    sizes = sorted({args.n, *([args.also] if args.also else [])})
    several = len(sizes) > 1
    if args.db and several and args.db.startswith("postgres") and "schema=" in args.db:
        ap.error("a --db URL with ?schema= names one schema: measure one size (--also 0) or leave the schema out")
    BATCH_LABEL = f"{args.batch:,}"
    os.environ.pop("CLEDGER_REFERENCE", None)  # the read-model steps must not fall back to the fold

    workdir = Path(tempfile.mkdtemp(prefix="cledger-bench-", dir=args.workdir))
    targets: list[Target] = []
    started = time.perf_counter()
    digest = code_digest()
    print(f"cledger bench: sizes {', '.join(f'{n:,}' for n in sizes)}; {args.queries} (D, K) pairs, "
          f"{args.replays} replay(s) per view; record batches of {args.batch:,}; temp folder {workdir}", flush=True)
    print(f"code: {ROOT} ({code_identity()}; sources digest {digest}); Python {sys.version.split()[0]}, "
          f"SQLite {__import__('sqlite3').sqlite_version}", flush=True)
    try:
        results = [measure_size(n, args, workdir, several, targets) for n in sizes]
        print(f"\n(all steps: {time.perf_counter() - started:,.0f} s)")
        changed = [res["n"] for res in results if res.get("code_after", digest) != digest]
        if changed:
            print(f"WARNING: the ledger's sources (ledger/, projections/) changed during the run (seen after the "
                  f"{', '.join(f'{n:,}' for n in changed)}-event size): steps ran different code; do not trust "
                  "these figures, run again on a quiet tree", flush=True)
        tables = [report_size(res) for res in results]
        if several:
            report_growth(results[0], results[-1], tables[0], tables[-1])
        failed = any("error" in res.get(k, {}) for res in results for k in res if isinstance(res[k], dict))
        return 1 if failed else 0
    finally:
        clean_up(targets, workdir, keep=args.keep)


if __name__ == "__main__":
    sys.exit(main())
