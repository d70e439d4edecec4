"""Reliability under crashes, concurrent writers, hostile input, clock faults and unreachable stores.

The shorter runs of `scripts/crash_loop.py` and `scripts/concurrency.py` (the
full runs are the scripts themselves), plus the failure modes a lender's
ledger must survive: it never loses an acknowledged event, never records half
a batch, never falls over on bad input, and says clearly when it cannot write.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import hashlib
import importlib.util
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

try:  # tests/ as a package, or tests/ on sys.path
    from tests.strategies import HOSTILE_CONTEXT, event_batches, hostile_lines, to_jsonl
except ImportError:
    from strategies import HOSTILE_CONTEXT, event_batches, hostile_lines, to_jsonl

ROOT = Path(__file__).resolve().parents[2]
PG_BASE = os.environ.get("CLEDGER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
EXAMPLES = int(os.environ.get("CLEDGER_RELIABILITY_EXAMPLES", "10"))


def _script(name: str):
    """Load scripts/NAME.py as a module (scripts/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"cledger_script_{name}", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


crash_loop = _script("crash_loop")
concurrency = _script("concurrency")


# --- helpers -----------------------------------------------------------------------------------


def cli(args: list[str], *, data: bytes | str | None = None, env: dict | None = None, preexec_fn=None,
        code: str | None = None) -> subprocess.CompletedProcess:
    """`cledger ARGS` in a subprocess (or `python -c CODE ARGS`); text output."""
    full_env = {k: v for k, v in os.environ.items() if k != "CLEDGER_DB"}
    full_env.update(env or {})
    head = ["-c", code] if code else ["-m", "ledger.cli"]
    if isinstance(data, str):
        data = data.encode()
    proc = subprocess.run([sys.executable, *head, *args], input=data, capture_output=True, env=full_env,
                          timeout=300, preexec_fn=preexec_fn)
    proc.stdout = proc.stdout.decode("utf-8", "replace")
    proc.stderr = proc.stderr.decode("utf-8", "replace")
    return proc


def no_traceback(proc) -> bool:
    return "Traceback" not in proc.stdout + proc.stderr


def log_rows(url: str) -> list[tuple]:
    """(position, event_id, recorded_at, chain) of every event, read through the store."""
    from ledger.store import open_store

    with open_store(url) as store:
        return [(r.position, r.event_id, r.recorded_at, r.chain) for r in store.log_rows()]


def head_of(url: str) -> str:
    from ledger.store import open_store

    with open_store(url) as store:
        tail = store.tail()
    return f"{tail.position}:{tail.chain}"


def verify(url: str) -> tuple[int, str]:
    from ledger.audit import verify_chain
    from ledger.store import open_store

    with open_store(url) as store:
        return verify_chain(store)


def record_api(url: str, events: list[dict], **kwargs):
    from ledger import open_ledger

    with open_ledger(url) as lg:
        return lg.record(events, **kwargs)


def create_ledger(url: str) -> None:
    from ledger.store import open_store

    with open_store(url, create=True):
        pass


def sqlite_path(url: str) -> Path:
    return Path(url[len("sqlite:///"):])


def pg_connect(url: str = PG_BASE):
    import psycopg
    from ledger.store import parse_url

    loc = parse_url(url)
    return psycopg.connect(host=loc.host, port=loc.port, user=loc.user, password=loc.password, dbname=loc.dbname,
                           autocommit=True)


def pg_schema(url: str) -> str:
    from ledger.store import parse_url

    return parse_url(url).schema


class Schemas:
    """New PostgreSQL schemas on demand (one ledger each), dropped at the end."""

    def __init__(self):
        self.made: list[str] = []

    def url(self) -> str:
        name = "rel_" + uuid.uuid4().hex[:12]
        with pg_connect() as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')
        self.made.append(name)
        return f"{PG_BASE}?schema={name}"

    def drop(self) -> None:
        if self.made:
            with pg_connect() as conn:
                for name in self.made:
                    conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture
def fresh_urls(request, tmp_path):
    """A function giving a new, empty ledger URL on the test's backend each time it is called."""
    backend = request.param if hasattr(request, "param") else "sqlite"
    if backend == "sqlite":
        counter = iter(range(10**6))
        yield lambda: f"sqlite:///{tmp_path / f'ledger-{next(counter)}.db'}"
        return
    schemas = Schemas()
    try:
        yield schemas.url
    finally:
        schemas.drop()


def lines_named(text: str, line: int) -> bool:
    return re.search(rf"\bline {line}\b", text) is not None


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- crash loop --------------------------------------------------------------------------------


def _assert_crash_report(report, cycles: int) -> None:
    assert report.ok, "\n".join(report.violations)
    assert report.cycles == cycles
    # the loop really crashed writers, mid-work and right after a commit, and resent what was in flight
    assert report.killed >= cycles // 2, report
    assert report.batches_acked > 0 and report.events_acked > 0, report
    assert report.acked_found == report.events_acked, report
    assert report.events_found >= report.events_acked, report
    assert report.chain_checks >= 1 and report.audit_exit == 0, report


def test_crash_loop_on_sqlite_keeps_every_acknowledged_event_and_no_partial_batch(tmp_path):
    """SIGKILL at random moments, 8 seeded cycles: integrity check ok, acked events present, batches whole."""
    report = crash_loop.run(f"sqlite:///{tmp_path / 'crash.db'}", cycles=8, seed=17, max_batches=40)
    _assert_crash_report(report, 8)
    assert report.integrity_checks == 8
    # seed 17 plans cycles 2, 4 and 5 as "die right after a commit": the next child resends that batch
    assert report.died_after_commit >= 1 and report.resent_already >= 1, report


def test_crash_loop_with_two_writers_killed_independently_on_sqlite(tmp_path):
    """Two children per cycle, each killed at its own moment: every lane keeps exactly its committed batches."""
    report = crash_loop.run(f"sqlite:///{tmp_path / 'crash2.db'}", cycles=5, seed=11, writers=2, max_batches=30)
    _assert_crash_report(report, 5)
    assert report.integrity_checks == 5


@pytest.mark.postgres
def test_crash_loop_on_postgres_with_two_writers(postgres_url):
    """The same crash loop on PostgreSQL: a killed client's transaction leaves nothing behind."""
    create_ledger(postgres_url)  # concurrent creation is its own test below
    report = crash_loop.run(postgres_url, cycles=4, seed=5, writers=2, max_batches=20)
    _assert_crash_report(report, 4)


def test_crash_loop_detects_a_batch_recorded_in_pieces(tmp_path, monkeypatch):
    """Control: a writer that records a batch one event at a time, killed mid-batch, is caught as partial."""
    source = (ROOT / "scripts" / "crash_loop.py").read_text()
    broken = source.replace("result = lg.record(work.batch(n))",
                            "result = [lg.record([e]) for e in work.batch(n)][-1]")
    assert broken != source
    script = tmp_path / "crash_loop_broken.py"
    script.write_text(broken)
    module = crash_loop
    monkeypatch.setattr(module, "SCRIPT", script)
    report = module.run(f"sqlite:///{tmp_path / 'broken.db'}", cycles=8, seed=3, max_batches=40)
    assert any("partial" in v or "expected" in v for v in report.violations), report


@pytest.mark.parametrize("backend", BACKENDS)
def test_client_killed_after_commit_before_ack_resends_and_one_copy_exists(backend, request, tmp_path):
    """A client dies after its commit, before acknowledging: resending the same ids records nothing twice."""
    url = request.getfixturevalue(f"{backend}_url")
    work = crash_loop.Lane(seed=2, lane=0)
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "crash_loop.py"), "child", "--db", url,
                           "--seed", "2", "--start", "1", "--stop", "3", "--die-after-commit", "2"],
                          capture_output=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc
    assert proc.stdout.decode().split() == ["ack", "0", "1", "new"]  # batch 2 committed, never acknowledged
    committed = work.ids(1) + work.ids(2)
    assert [r[1] for r in log_rows(url)] == committed

    batch = tmp_path / "batch2.jsonl"
    batch.write_text(to_jsonl(work.batch(2)))
    again = cli(["record", str(batch), "--db", url])
    assert again.returncode == 0, again
    assert f"recorded 0 event(s); {len(work.ids(2))} already recorded" in again.stderr
    ids = [r[1] for r in log_rows(url)]
    assert ids == committed and len(set(ids)) == len(ids)

    batch.write_text(to_jsonl(work.batch(3)))
    assert cli(["record", str(batch), "--db", url]).returncode == 0
    assert [r[1] for r in log_rows(url)] == committed + work.ids(3)
    assert verify(url)[0] == len(committed) + len(work.ids(3))


@pytest.mark.parametrize("backend", BACKENDS)
def test_same_batch_committed_by_another_client_during_the_checks_is_a_retry(backend, request):
    """Another client commits the same batch while this one is between its reads: a no-op retry, not exit 2."""
    from ledger.reader import read_objects
    from ledger.recording import record
    from ledger.store import open_store

    url = request.getfixturevalue(f"{backend}_url")
    batch = [{"type": "PartyRegistered", "effective_date": "1996-01-02", "id": "twin-1", "party": "twin",
              "name": "Twin", "roles": ["lender"]}]
    with open_store(url, create=True) as mine, open_store(url) as theirs:
        read_names = mine.find_names

        def find_names_after_their_commit(pairs):
            mine.find_names = read_names
            record(theirs, list(read_objects(batch)))
            return read_names(pairs)

        mine.find_names = find_names_after_their_commit
        result = record(mine, list(read_objects(batch)))
    assert (len(result.recorded), result.already) == (0, ("twin-1",))
    assert [r[1] for r in log_rows(url)] == ["twin-1"]


# --- concurrent writers ------------------------------------------------------------------------


def _assert_concurrency_report(report) -> None:
    assert report.ok, "\n".join(report.violations)
    assert report.other == 0
    assert report.recorded + report.refused == report.attempts
    assert report.recorded == report.writers * report.batches_per_writer
    assert report.events_found == report.events_expected > 0
    assert (report.duplicate_recorded, report.duplicate_copies) == (1, 1)
    assert report.duplicate_recorded + report.duplicate_already + report.duplicate_refused == 3
    assert report.audit_exit == 0


def test_concurrent_writers_on_sqlite_are_recorded_or_refused_retryably(tmp_path):
    """Four `cledger record` processes at once, a lock held past their timeout now and then: no gap, no twin."""
    report = concurrency.run(f"sqlite:///{tmp_path / 'conc.db'}", writers=4, batches=3, seed=3, lock_timeout=1,
                             lock_holder=True, lock_pause=0.3, lock_hold=2.5)
    _assert_concurrency_report(report)
    assert report.lock_holds >= 1
    assert report.refused >= 1, report  # whoever starts waiting in the first 1.5 s of a 2.5 s hold is refused
    assert all("try again" in m for m in report.refusal_messages)


@pytest.mark.postgres
def test_concurrent_writers_on_postgres_are_recorded_once_each(postgres_url):
    """Three writers at once on PostgreSQL: positions gap-free, every batch once, the chain verifies."""
    create_ledger(postgres_url)
    report = concurrency.run(postgres_url, writers=3, batches=3, seed=4, lock_holder=False)
    _assert_concurrency_report(report)


@pytest.mark.parametrize("fresh_urls", [
    "sqlite",
    pytest.param("postgres", marks=pytest.mark.postgres),
], indirect=True)
def test_concurrent_first_records_on_a_new_ledger_all_succeed(fresh_urls, tmp_path):
    """Several processes recording the very first events of a new ledger at once: each exits 0 or 3, never 4."""
    problems = []
    for round_ in range(2):
        url = fresh_urls()
        files = []
        for i in range(4):
            f = tmp_path / f"first-{round_}-{i}.jsonl"
            f.write_text(to_jsonl([{"type": "PartyRegistered", "effective_date": "1996-01-02", "id": f"first-{i}",
                                    "party": f"first-party-{i}", "name": f"First {i}", "roles": ["lender"]}]))
            files.append(f)
        env = {k: v for k, v in os.environ.items() if k != "CLEDGER_DB"}
        procs = [subprocess.Popen([sys.executable, "-m", "ledger.cli", "record", str(f), "--db", url],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) for f in files]
        outcomes = [(p.wait(timeout=120), p.stderr.read().decode()) for p in procs]
        recorded = sum(code == 0 for code, _ in outcomes)
        problems += [f"round {round_}: exit {code}: {err.strip()[-300:]}" for code, err in outcomes
                     if code not in (0, 3) or (code == 3 and "try again" not in err)]
        found = len(log_rows(url)) if recorded else 0
        if found != recorded:
            problems.append(f"round {round_}: {recorded} processes said recorded, {found} events are in the log")
    assert not problems, "\n".join(problems)


# --- hostile input -----------------------------------------------------------------------------


@pytest.mark.parametrize("fresh_urls", BACKENDS, indirect=True)
def test_hostile_lines_among_valid_events_exit_2_naming_the_line_and_change_nothing(fresh_urls):
    """Hypothesis: a valid batch with maybe one hostile line anywhere: exit 0 (all recorded) or 2 (line named, log as it was)."""
    tried = {"valid": 0, "hostile": 0}

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(batch=event_batches(max_size=8), hostile=st.none() | hostile_lines(), where=st.integers(0, 8))
    def check(batch, hostile, where):
        url = fresh_urls()
        record_api(url, HOSTILE_CONTEXT)
        before = log_rows(url)
        lines = [json.dumps(e, ensure_ascii=False).encode() for e in batch]
        at = min(where, len(lines))
        if hostile is not None:
            lines.insert(at, hostile if isinstance(hostile, bytes) else hostile.encode("utf-8"))
        result = cli(["record", "-", "--db", url], data=b"\n".join(lines) + b"\n")
        assert no_traceback(result), result.stderr
        if hostile is None:
            tried["valid"] += 1
            assert result.returncode == 0, result.stderr
            after = log_rows(url)
            assert after[:len(before)] == before and len(after) == len(before) + len(batch)
        else:
            tried["hostile"] += 1
            assert result.returncode == 2, result.stderr
            assert lines_named(result.stderr, at + 1), result.stderr
            assert log_rows(url) == before

    check()
    print(f"hostile-input examples: {tried}")
    assert tried["hostile"] > 0


def _context_url(url: str) -> str:
    record_api(url, HOSTILE_CONTEXT)
    return url


def test_enormous_and_malformed_files_are_refused_with_the_line_named(sqlite_url, tmp_path):
    """A 2 MB line, a byte-order mark, binary garbage, 5000 good lines then a bad one: exit 2, nothing recorded."""
    url = _context_url(sqlite_url)
    before = log_rows(url)
    good = [{"type": "PartyRegistered", "effective_date": "1996-02-01", "id": f"bulk-{i}", "party": f"bulk-{i}",
             "name": f"Bulk {i}", "roles": ["guarantor"]} for i in range(5000)]
    cases = {
        "enormous line": (b'{"type": "PartyRegistered", "name": "' + b"x" * 2_000_000 + b'"}\n', 1),
        "byte-order mark": (("\ufeff" + to_jsonl(good[:1])).encode(), 1),
        "binary garbage": (bytes(range(256)) * 40, 1),
        "bad line after 5000 good ones": ((to_jsonl(good) + '{"type": "LoanAdvanced", "effective_date": '
                                           '"1996-02-30", "facility": "h-rev", "amount": "1.00"}\n').encode(), 5001),
        "a broken line after CRLF blank lines": (to_jsonl(good[:1]).encode() + b"\r\n\r\n{\r\n", 4),
    }
    problems = []
    for name, (data, line) in cases.items():
        result = cli(["record", "-", "--db", url], data=data)
        if result.returncode != 2 or not lines_named(result.stderr, line) or not no_traceback(result):
            problems.append(f"{name}: exit {result.returncode}: {result.stderr[-300:]!r}")
    assert not problems, "\n".join(problems)
    assert log_rows(url) == before


def test_empty_input_and_crlf_line_endings_are_accepted(sqlite_url):
    """Control for the above: an empty file records nothing with exit 0; CRLF line endings are fine."""
    url = _context_url(sqlite_url)
    before = len(log_rows(url))
    assert cli(["record", "-", "--db", url], data=b"").returncode == 0
    event = {"type": "PartyRegistered", "effective_date": "1996-02-01", "id": "crlf", "party": "crlf",
             "name": "CRLF", "roles": ["guarantor"]}
    result = cli(["record", "-", "--db", url], data=(json.dumps(event) + "\r\n\r\n").encode())
    assert result.returncode == 0, result.stderr
    assert len(log_rows(url)) == before + 1


# --- clock faults ------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_clock_stepping_backwards_never_makes_recorded_times_go_backwards(backend, request):
    """record() with a clock an hour, then a day, behind the last recorded time: times stay non-decreasing."""
    from ledger.reader import read_objects
    from ledger.recording import record
    from ledger.store import open_store

    url = request.getfixturevalue(f"{backend}_url")
    real = dt.datetime.now(dt.timezone.utc)
    steps = [real, real - dt.timedelta(hours=1), real - dt.timedelta(days=1), real + dt.timedelta(seconds=1)]
    with open_store(url, create=True) as store:
        for i, moment in enumerate(steps):
            event = {"type": "PartyRegistered", "effective_date": "1996-01-02", "id": f"clock-{i}",
                     "party": f"clock-{i}", "name": f"Clock {i}", "roles": ["lender"]}
            record(store, list(read_objects([event])), now=lambda moment=moment: moment)
    times = [dt.datetime.fromisoformat(r[2]) for r in log_rows(url)]
    assert times == [real, real, real, real + dt.timedelta(seconds=1)]
    assert verify(url)[0] == 4


# Runs `cledger` with the clock that `record` reads set CLEDGER_TEST_CLOCK_SHIFT seconds off the machine's.
SHIFTED_CLOCK_CLI = """
import datetime as dt, os, sys
import ledger.recording
shift = dt.timedelta(seconds=float(os.environ["CLEDGER_TEST_CLOCK_SHIFT"]))
ledger.recording.record.__kwdefaults__["now"] = lambda: dt.datetime.now(dt.timezone.utc) + shift
from ledger.cli import main
main()
"""


def test_cli_record_with_a_clock_stepped_back_keeps_times_monotonic_and_says_so(sqlite_url, tmp_path):
    """`cledger record` on a machine whose clock jumped back an hour: recorded at the last time, with a note."""
    first = tmp_path / "first.jsonl"
    first.write_text(to_jsonl([{"type": "PartyRegistered", "effective_date": "1996-01-02", "id": "before",
                                "party": "before", "name": "Before", "roles": ["lender"]}]))
    second = tmp_path / "second.jsonl"
    second.write_text(to_jsonl([{"type": "PartyRegistered", "effective_date": "1996-01-02", "id": f"after-{i}",
                                 "party": f"after-{i}", "name": "After", "roles": ["guarantor"]} for i in range(2)]))
    assert cli(["record", str(first), "--db", sqlite_url]).returncode == 0
    stepped = cli(["record", str(second), "--db", sqlite_url], code=SHIFTED_CLOCK_CLI,
                  env={"CLEDGER_TEST_CLOCK_SHIFT": "-3600"})
    assert stepped.returncode == 0, stepped.stderr
    rows = log_rows(sqlite_url)
    assert [r[1] for r in rows] == ["before", "after-0", "after-1"]
    times = [dt.datetime.fromisoformat(r[2]) for r in rows]
    assert times[0] == times[1] == times[2]
    assert cli(["audit", "--db", sqlite_url]).returncode == 0
    assert "clock" in stepped.stderr.lower()  # and it says so


# --- stores that cannot be reached -------------------------------------------------------------

ONE_EVENT = to_jsonl([{"type": "PartyRegistered", "effective_date": "1996-01-02", "id": "one", "party": "one",
                       "name": "One", "roles": ["lender"]}])


@pytest.mark.postgres
def test_record_to_postgres_that_is_down_exits_3_with_a_clear_message():
    """PostgreSQL not listening (port 1): `record` exits 3 saying the store could not be reached, no traceback."""
    started = time.monotonic()
    result = cli(["record", "-", "--db", "postgresql://postgres@127.0.0.1:1/test?schema=nope"], data=ONE_EVENT)
    assert result.returncode == 3, result
    assert "could not be reached" in result.stderr and no_traceback(result)
    assert "is PostgreSQL running" in result.stderr and "pool" not in result.stderr  # not the driver's words
    assert time.monotonic() - started < 30


def _without_dac_override():
    """preexec_fn: drop CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and CAP_FOWNER, so root obeys file modes too."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2, 3):
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP; takes effect at exec
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def test_record_to_a_read_only_sqlite_file_exits_3_and_leaves_it_untouched(sqlite_url):
    """A ledger file without write permission: `record` exits 3 naming it read-only; the bytes are unchanged."""
    record_api(sqlite_url, HOSTILE_CONTEXT[:2])
    path = sqlite_path(sqlite_url)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    conn.close()
    path.chmod(0o444)
    digest = _file_digest(path)
    try:
        result = cli(["record", "-", "--db", sqlite_url], data=ONE_EVENT,
                     preexec_fn=_without_dac_override if os.geteuid() == 0 else None)
        assert result.returncode == 3, result
        assert "read-only" in result.stderr and no_traceback(result)
        assert _file_digest(path) == digest
        # still readable: a query works on it
        listed = cli(["events", "--json", "--db", sqlite_url],
                     preexec_fn=_without_dac_override if os.geteuid() == 0 else None)
        assert listed.returncode == 0 and len(json.loads(listed.stdout)) == 2
    finally:
        path.chmod(0o644)


def test_record_into_a_file_that_is_not_a_ledger_exits_3_and_leaves_it_untouched(tmp_path):
    """Garbage bytes or a truncated ledger: exit 3 with the reason, the file unchanged, no traceback."""
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(bytes(range(256)) * 20)
    ledger = tmp_path / "ledger.db"
    url = f"sqlite:///{ledger}"
    record_api(url, HOSTILE_CONTEXT)
    conn = sqlite3.connect(ledger)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.close()
    truncated = tmp_path / "truncated.db"
    truncated.write_bytes(ledger.read_bytes()[: ledger.stat().st_size // 2])
    for path in (garbage, truncated):
        digest = _file_digest(path)
        result = cli(["record", "-", "--db", f"sqlite:///{path}"], data=ONE_EVENT)
        assert result.returncode == 3, (path.name, result)
        assert no_traceback(result) and result.stderr.strip()
        assert _file_digest(path) == digest


def test_record_while_another_process_holds_the_sqlite_lock_exits_3_then_succeeds(sqlite_url):
    """A write lock held past CLEDGER_LOCK_TIMEOUT: exit 3 'try again' in about that time; nothing written; a retry works."""
    record_api(sqlite_url, HOSTILE_CONTEXT[:2])
    before = log_rows(sqlite_url)
    holder = sqlite3.connect(sqlite_path(sqlite_url), isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        result = cli(["record", "-", "--db", sqlite_url], data=ONE_EVENT, env={"CLEDGER_LOCK_TIMEOUT": "1"})
        elapsed = time.monotonic() - started
        assert result.returncode == 3, result
        assert "locked" in result.stderr and "try again" in result.stderr and no_traceback(result)
        assert elapsed < 8, elapsed
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert log_rows(sqlite_url) == before
    assert cli(["record", "-", "--db", sqlite_url], data=ONE_EVENT).returncode == 0
    assert len(log_rows(sqlite_url)) == len(before) + 1


@pytest.mark.postgres
def test_record_while_another_session_locks_the_postgres_table_exits_3_then_succeeds(postgres_url):
    """The events table locked by another session past the lock timeout: exit 3 'try again'; nothing written."""
    record_api(postgres_url, HOSTILE_CONTEXT[:2])
    before = log_rows(postgres_url)
    with pg_connect() as conn:
        conn.autocommit = False
        conn.execute(f'LOCK TABLE "{pg_schema(postgres_url)}".cledger_events IN EXCLUSIVE MODE')
        started = time.monotonic()
        result = cli(["record", "-", "--db", postgres_url], data=ONE_EVENT, env={"CLEDGER_LOCK_TIMEOUT": "1"})
        elapsed = time.monotonic() - started
        conn.rollback()
    assert result.returncode == 3, result
    assert "try again" in result.stderr and no_traceback(result)
    assert log_rows(postgres_url) == before
    assert cli(["record", "-", "--db", postgres_url], data=ONE_EVENT).returncode == 0
    assert len(log_rows(postgres_url)) == len(before) + 1
    assert elapsed < 8, f"a 1 s lock timeout took {elapsed:.0f} s to be reported"


# --- backup ------------------------------------------------------------------------------------


def _writers(url: str, lanes: int, batches: int, seed: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, str(ROOT / "scripts" / "crash_loop.py"), "child", "--db", url,
                              "--seed", str(seed), "--lane", str(lane), "--start", "1", "--stop", str(batches)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for lane in range(lanes)]


def _assert_whole_batches(ids: list[str], lanes: int, seed: int) -> None:
    """Every lane's events in `ids` are exactly its batches 1..k for some k."""
    present = set(ids)
    total = 0
    for lane in range(lanes):
        work = crash_loop.Lane(seed, lane)
        n = 1
        while all(i in present for i in work.ids(n)):
            total += len(work.ids(n))
            n += 1
        assert not any(i in present for i in work.ids(n)), f"lane {lane} batch {n} is partial in the copy"
    assert total == len(ids)


@pytest.mark.parametrize("backend", BACKENDS)
def test_backup_taken_while_writers_run_passes_audit_and_is_a_prefix_of_the_log(backend, request, tmp_path):
    """`cledger backup` three times while two processes record: each copy audits clean and is a prefix."""
    url = request.getfixturevalue(f"{backend}_url")
    create_ledger(url)
    seed, lanes = 9, 2
    writers = _writers(url, lanes, batches=400, seed=seed)
    copies = []
    try:
        for i in range(3):
            time.sleep(0.3)
            target = tmp_path / f"backup-{i}.db"
            result = cli(["backup", str(target), "--db", url, "--json"])
            assert result.returncode == 0, result
            copies.append((target, json.loads(result.stdout)))
        running = [w.poll() is None for w in writers]
    finally:
        for w in writers:  # a writer killed mid-batch is part of the test: the ledger keeps whole batches
            w.kill()
            w.wait(timeout=60)
    assert all(running), [w.stderr.read() for w in writers]  # the copies were taken while both wrote
    live = log_rows(url)
    _assert_whole_batches([r[1] for r in live], lanes, seed)
    assert verify(url)[0] == len(live)
    sizes = []
    for target, reported in copies:
        copy_url = f"sqlite:///{target}"
        rows = log_rows(copy_url)
        assert rows == live[:len(rows)], f"{target.name} is not a prefix of the live log"
        assert reported["events"] == len(rows)
        assert reported["head"] == (f"{rows[-1][0]}:{rows[-1][3]}" if rows else "0:" + "0" * 64)
        _assert_whole_batches([r[1] for r in rows], lanes, seed)
        audit = cli(["audit", "--db", copy_url])
        assert audit.returncode == 0, audit
        sizes.append(len(rows))
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1] <= len(live), (sizes, len(live))
    assert sizes[-1] > 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_backup_leaves_out_a_transaction_still_open(backend, request, tmp_path):
    """A writer mid-transaction (rows inserted, not committed): the copy is the log as of the last commit."""
    url = request.getfixturevalue(f"{backend}_url")
    record_api(url, HOSTILE_CONTEXT)
    rows = log_rows(url)
    target = tmp_path / "copy.db"
    insert = ("INSERT INTO {q}cledger_log VALUES ({p},'uncommitted','PartyRegistered','1996-01-02',"
              "'2000-01-01T00:00:00+00:00','x','{chain}')")
    if backend == "sqlite":
        conn = sqlite3.connect(sqlite_path(url), isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(insert.format(q="", p=len(rows) + 1, chain="0" * 64))
        try:
            result = cli(["backup", str(target), "--db", url])
        finally:
            conn.execute("ROLLBACK")
            conn.close()
    else:
        with pg_connect() as conn:
            conn.autocommit = False
            conn.execute(insert.format(q=f'"{pg_schema(url)}".', p=len(rows) + 1, chain="0" * 64))
            result = cli(["backup", str(target), "--db", url])
            conn.rollback()
    assert result.returncode == 0, result
    assert log_rows(f"sqlite:///{target}") == rows
    assert cli(["audit", "--db", f"sqlite:///{target}"]).returncode == 0


def test_backup_never_overwrites_and_leaves_nothing_when_it_cannot_copy(sqlite_url, tmp_path):
    """An existing FILE (exit 2, untouched), a missing folder (exit 2), a missing ledger (exit 3): no file made."""
    record_api(sqlite_url, HOSTILE_CONTEXT[:2])
    existing = tmp_path / "existing.db"
    existing.write_bytes(b"keep me")
    result = cli(["backup", str(existing), "--db", sqlite_url])
    assert result.returncode == 2 and "already exists" in result.stderr, result
    assert existing.read_bytes() == b"keep me"
    result = cli(["backup", str(tmp_path / "no" / "such" / "folder.db"), "--db", sqlite_url])
    assert result.returncode == 2, result
    missing_ledger = cli(["backup", str(tmp_path / "copy.db"), "--db", f"sqlite:///{tmp_path / 'absent.db'}"])
    assert missing_ledger.returncode == 3, missing_ledger
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("ledger.db")) == ["existing.db"]
    assert all(no_traceback(r) for r in (result, missing_ledger))
