"""The audit: prove the log was not altered and that the state follows from it.

1. The chain: every stored event, in position order, must sit at its position
   (no gap, no extra row), decode, agree with its `cledger_log` row, keep
   recorded times non-decreasing, and hash (with the hash before it) to the
   chain value it carries (docs/hashing.md).
2. The head: `--expect-head P:H` proves the log still extends a digest kept
   outside the database (catches a cut or rewritten tail).
3. The replay: the read models are rebuilt from the log into a fresh file and
   compared, table by table, with the stored ones; the digests of the rebuilt
   answers at every date the terms change, and at the last effective date, are
   reported (the same log gives the same digests on SQLite and PostgreSQL).
   That the read models give the reference fold's answers is what the property
   tests prove.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Callable

import attrs

from ledger.codec import canonical_bytes
from ledger.errors import AuditFailure, StoreUnavailable, UsageError
from ledger.recording import chain_hash
from ledger.store import GENESIS, TOPIC_PREFIX, Store, recorded_of
from ledger.values import parse_time


@attrs.frozen
class AuditReport:
    events: int
    head: str
    digests: tuple[tuple[str, str], ...]  # (date, digest) of the replayed projections
    dates: tuple[str, ...]
    # whether the stored read models were compared with the rebuild (not when none were given, or when they
    # had already followed events recorded after the audit began)
    models_compared: bool = False

    def to_json(self) -> dict:
        return {"ok": True, "events": self.events, "head": self.head,
                "projection_digests": [{"as_of": d, "digest": h} for d, h in self.digests],
                "read_models_compared": self.models_compared}


def parse_head(digest: str) -> tuple[int, str]:
    try:
        position, chain = digest.strip().split(":")
        position_n = int(position)
        if len(chain) != 64 or int(chain, 16) < 0 or position_n < 0:
            raise ValueError
    except ValueError:
        raise UsageError(f"--expect-head {digest!r}: expected POSITION:SHA256HEX as printed by `cledger audit --head`") from None
    return position_n, chain.lower()


def verify_chain(store: Store, progress: Callable[[int], None] | None = None, *,
                 stop: int | None = None) -> tuple[int, str]:
    """Walk the log (to `stop`); raise AuditFailure naming the first bad event. Returns (position, chain) of the head."""
    expected = 1
    previous = GENESIS
    last_time = None
    rules = LogRules()
    for version, topic, state, log in store.read_joined(stop=stop):
        where = f"position {expected}"
        if version != expected:
            if version > expected:
                raise AuditFailure(f"{where}: the event is missing (the next stored event is at position "
                                   f"{version}); an event was deleted")
            raise AuditFailure(f"{where}: found a second event at position {version}")
        try:
            body = json.loads(state)
            rec = recorded_of(body)
        except Exception as exc:
            event_id = log.event_id if log is not None else "?"
            raise AuditFailure(f"{where} (event {event_id}): the stored event cannot be read ({exc}); "
                               "its bytes were altered") from None
        where = f"position {expected} (event {rec.event_id})"
        if body.get("position") != expected:
            raise AuditFailure(f"{where}: the event says it belongs at position {body.get('position')}; "
                               "events were moved or copied")
        if topic != TOPIC_PREFIX + rec.event.type_name:
            raise AuditFailure(f"{where}: stored topic {topic} does not match its type {rec.event.type_name}")
        if log is None:
            raise AuditFailure(f"{where}: its row in cledger_log is missing")
        claimed = log.chain
        recomputed = chain_hash(previous, state)
        if recomputed != claimed:
            raise AuditFailure(f"{where}: the hash chain breaks here (logged {claimed[:12]}…, computed "
                               f"{recomputed[:12]}…); the event or one before it was altered, swapped or replaced")
        if canonical_bytes(body) != state:
            raise AuditFailure(f"{where}: the stored bytes are not in canonical form; they were rewritten")
        if (log.event_id, log.recorded_at, log.event_type, log.actor, log.effective_date) != (
                rec.event_id, body["recorded_at"], rec.event.type_name, rec.actor, body["effective_date"]):
            raise AuditFailure(f"{where}: cledger_log disagrees with the stored event")
        if last_time is not None and rec.recorded_at < last_time:
            raise AuditFailure(f"{where}: recorded time {body['recorded_at']} is earlier than the event before it")
        last_time = rec.recorded_at
        rules.add(rec, where)
        previous = claimed
        if progress:
            progress(expected)
        expected += 1
    extra = next(store.log_rows(start=expected, chunk=1), None)
    if extra is not None and (stop is None or extra.position <= stop):
        raise AuditFailure(f"position {extra.position} (event {extra.event_id}): listed in cledger_log but the "
                           "stored event is missing; an event was deleted")
    rules.finish(store, expected - 1)
    return expected - 1, previous


class LogRules:
    """The log's own rules, replayed event by event as `record` applied them: every id an event names was
    declared (by a declaration not voided) before it, no id is declared twice unless its earlier declaration
    was voided, a void names an earlier event; and `cledger_names` holds exactly the declarations."""

    def __init__(self):
        self.declared: dict[tuple[str, str], list[tuple[int, str]]] = {}  # -> (position, event id)
        self.voids: list = []  # the void events so far (few), for `voided_ids`
        self._voided: set[str] | None = set()
        self.void_targets: list[tuple[int, str, str]] = []  # (position, void id, target id)
        self.targets: set[str] = set()  # every id a void names

    def _voided_now(self) -> set[str]:
        from projections.context import voided_ids

        if self._voided is None:
            self._voided = voided_ids(self.voids)
        return self._voided

    def _live(self, key: tuple[str, str]) -> bool:
        found = self.declared.get(key)
        if not found:
            return False
        if not any(event_id in self.targets for _, event_id in found):
            return True  # no void ever named its declaration (the common case: no need to judge the voids)
        voided = self._voided_now()
        return any(event_id not in voided for _, event_id in found)

    def add(self, rec, where: str) -> None:
        from ledger.events import EVENT, AgreementExecuted, EventVoided
        from ledger.recording import names_of, terms_refs

        ev = rec.event
        declares = []
        for spec, name in names_of(ev):
            if spec.ref == EVENT:
                self.void_targets.append((rec.position, rec.event_id, name))
                continue
            namespace = spec.ref or spec.declares
            key = (namespace, name)
            # a reference needs a declaration before it; whether that was voided is not judged here: within one
            # batch `record` lets a line name what an earlier line of it declared, even if voided in between
            if spec.ref and key not in self.declared and key not in declares:
                raise AuditFailure(f"{where}: its field '{spec.json}' names {namespace} {name!r}, which no event "
                                   "before it declares; the log was altered")
            if spec.declares:
                if self._live(key) or key in declares:
                    raise AuditFailure(f"{where}: declares {namespace} {name!r} again, while an earlier declaration "
                                       "still stands; the log was altered")
                declares.append((namespace, name))
        if isinstance(ev, AgreementExecuted) and ev.terms is not None:
            for namespace, name, field in terms_refs(ev.terms):
                if (namespace, name) not in self.declared and (namespace, name) not in declares:
                    raise AuditFailure(f"{where}: its field '{field}' names {namespace} {name!r}, which no event "
                                       "before it declares; the log was altered")
        for key in declares:
            self.declared.setdefault(key, []).append((rec.position, rec.event_id))
        if isinstance(ev, EventVoided):
            self.voids.append(rec)
            self.targets.add(ev.event)
            self._voided = None

    def finish(self, store: Store, stop: int) -> None:
        """The checks that need the whole log: void targets, and `cledger_names` against the declarations."""
        from collections import Counter

        for i in range(0, len(self.void_targets), 500):
            part = self.void_targets[i:i + 500]
            marks = ",".join("?" for _ in part)
            found = dict(store._query(f"SELECT event_id, position FROM {store.q}cledger_log WHERE event_id IN "
                                      f"({marks})", [t for _, _, t in part]))
            for position, void_id, target in part:
                if target not in found or int(found[target]) >= position:
                    raise AuditFailure(f"position {position} (event {void_id}): voids event {target!r}, which is "
                                       "not recorded before it; the log was altered")
        expected = Counter((ns, name, position) for (ns, name), found in self.declared.items()
                           for position, _ in found)
        stored = Counter((ns, name, int(position)) for ns, name, position in store._query(
            f"SELECT namespace, name, position FROM {store.q}cledger_names WHERE position <= ?", [stop]))
        if stored != expected:
            extra = sorted(stored - expected)
            missing = sorted(expected - stored)
            if missing:
                ns, name, position = missing[0]
                raise AuditFailure(f"cledger_names lacks {ns} {name!r}, declared at position {position}"
                                   f"{f' (and {len(missing) - 1} more)' if len(missing) > 1 else ''}: "
                                   "the ledger's side table was altered")
            ns, name, position = extra[0]
            raise AuditFailure(f"cledger_names holds {ns} {name!r} at position {position}, which no event declares"
                               f"{f' (and {len(extra) - 1} more)' if len(extra) > 1 else ''}: "
                               "the ledger's side table was altered")
        twice = store._query(f"SELECT event_id, COUNT(*) FROM {store.q}cledger_log WHERE position <= ? "
                             "GROUP BY event_id HAVING COUNT(*) > 1 LIMIT 1", [stop])
        if twice:
            raise AuditFailure(f"event id {twice[0][0]!r} is in the log {twice[0][1]} times; the log was altered")


def check_head(store: Store, digest: str) -> None:
    """Prove the log still extends `digest`: the event at its position carries its hash."""
    position, chain = parse_head(digest)
    if position == 0:
        return
    rows = [r for r in store.log_rows(start=position) if r.position == position][:1]
    if not rows:
        raise AuditFailure(f"the log no longer reaches position {position} of the expected head {digest}: "
                           "its tail was cut")
    if rows[0].chain != chain:
        raise AuditFailure(f"position {position} (event {rows[0].event_id}) no longer carries the expected hash "
                           f"{chain[:12]}… (it carries {rows[0].chain[:12]}…): the log was rewritten")


def audit_dates(snapshot, model) -> list[date]:
    """The dates the replay is compared at: every date the terms change, and the last effective date."""
    dates = set(snapshot.ctx.terms_change_dates())
    last = model.db.execute("SELECT MAX(effective) FROM (SELECT MAX(effective) AS effective FROM rm_events "
                            "UNION ALL SELECT MAX(effective) FROM rm_values)").fetchone()[0]
    if last:
        dates.add(date.fromisoformat(last))
    return sorted(dates)


def check_horizon(model, store: Store) -> None:
    """`rm_horizon` depends on where each catch-up's chunks ended, so it is derived, not compared: each row
    must hold the latest effective date of the log up to its position, and the last chunk must have one."""
    rows = model.db.execute("SELECT position, effective FROM rm_horizon ORDER BY position").fetchall()
    tracked = model.db.execute("SELECT position FROM rm_tracking WHERE name = 'log'").fetchone()[0]
    if tracked and (not rows or rows[-1][0] != tracked):
        raise AuditFailure(f"the stored read models differ from a rebuild from the log in rm_horizon: no row for "
                           f"position {tracked}, where they stand; run `cledger rebuild`")
    latest = ""
    log = _effective_dates(store, rows[-1][0] if rows else 0)
    for position, effective in rows:
        for at, day in log:
            latest = max(latest, day)
            if at >= position:
                break
        if effective != latest:
            raise AuditFailure(f"the stored read models differ from a rebuild from the log in rm_horizon: stored "
                               f"{(position, effective)!r}, the log's latest effective date by then is {latest!r}; "
                               "run `cledger rebuild`")


def _effective_dates(store: Store, stop: int, chunk: int = 50_000):
    """(position, effective date) of the log up to `stop`, streamed: two columns of cledger_log."""
    after = 0
    while after < stop:
        rows = store._query(f"SELECT position, effective_date FROM {store.q}cledger_log WHERE position > ? "
                            "AND position <= ? ORDER BY position LIMIT ?", [after, stop, chunk])
        if not rows:
            return
        for position, day in rows:
            yield int(position), day
        after = int(rows[-1][0])


def compare_models(stored, rebuilt, store: Store | None = None) -> None:
    """Every table of the stored read models must hold exactly the rows a rebuild from the log gives."""
    from projections.readmodel import FACT_TABLES

    ours = stored.db.execute("SELECT position, chain, version FROM rm_tracking WHERE name = 'log'").fetchone()
    theirs = rebuilt.db.execute("SELECT position, chain, version FROM rm_tracking WHERE name = 'log'").fetchone()
    if ours != theirs:
        raise AuditFailure(f"the stored read models differ from a rebuild from the log in rm_tracking: stored "
                           f"{ours!r}, rebuilt {theirs!r}; run `cledger rebuild`")
    if store is not None:
        check_horizon(stored, store)
    for table in (*FACT_TABLES, "rm_breaches", "rm_voids"):
        columns = ", ".join(c.name for c in rebuilt.db[table].columns)
        query = f"SELECT {columns} FROM {table} ORDER BY {columns}"
        ours, theirs = stored.db.execute(query), rebuilt.db.execute(query)
        while True:
            a, b = ours.fetchmany(5000), theirs.fetchmany(5000)
            if a != b:
                first = next(((x, y) for x, y in zip(a, b) if x != y), (a[len(b):][:1], b[len(a):][:1]))
                raise AuditFailure(f"the stored read models differ from a rebuild from the log in {table}: "
                                   f"stored {first[0]!r}, rebuilt {first[1]!r}; run `cledger rebuild`")
            if not a:
                break


PARALLEL_FROM = 50_000  # events: below this a second process costs more than it saves


def audit(store: Store, *, expect_head: str | None = None, progress=None, model=None,
          parallel: bool | None = None) -> AuditReport:
    """Verify the chain (and head), rebuild the read models from the log, compare them with the stored ones.

    On a large log (or `parallel=True`) the chain is verified in a second process while this one rebuilds
    the read models: the two passes are independent and each streams the log, so memory stays flat.
    `progress(position)` follows the chain, or the rebuild when the chain is verified beside it.
    """
    import tempfile
    from pathlib import Path

    from projections.readmodel import ReadModel

    # the log as it is now (either table's end): events recorded while the audit runs are left to the next one
    tail = store.last_position()
    if parallel is None:
        parallel = tail >= PARALLEL_FROM
    with tempfile.TemporaryDirectory(prefix="cledger-audit-") as folder:
        rebuilt = ReadModel(Path(folder) / "rebuilt.projections")
        try:
            if parallel:
                position, chain = _beside(lambda: rebuilt.catch_up(store, stop=tail, progress=progress),
                                          store.url, tail)
            else:
                position, chain = verify_chain(store, progress, stop=tail)
                rebuilt.catch_up(store, stop=tail)
            if expect_head:
                check_head(store, expect_head)
            if position != tail or rebuilt.position != tail:
                raise AuditFailure(f"the log ends at position {tail} but the chain reached {position} and the "
                                   f"rebuild {rebuilt.position}: events are missing")
            compared = False
            if model is not None:
                import sqlite3

                try:
                    model.catch_up(store, stop=tail)
                    if model.position == rebuilt.position:
                        compare_models(model, rebuilt, store)
                        compared = True
                except sqlite3.DatabaseError as exc:
                    if isinstance(exc, sqlite3.OperationalError) and "malformed" not in str(exc):
                        raise
                    raise AuditFailure(f"the stored read models in {model.path} cannot be read ({exc}): "
                                       "run `cledger rebuild`") from None
            digests = _digests(store, rebuilt, position)
        finally:
            rebuilt.close()
    return AuditReport(position, f"{position}:{chain}", tuple(digests), tuple(d for d, _ in digests), compared)


def _beside(work: Callable[[], object], url: str, stop: int) -> tuple[int, str]:
    """Run `work` here while a second Python process verifies the chain to `stop`; returns the chain's head.

    A plain subprocess (`python -m ledger.audit`, the URL on its stdin), not multiprocessing: a caller's script
    needs no `if __name__ == "__main__"` guard. A broken chain is the failure reported, even if `work` failed
    too (a damaged event may well stop the rebuild)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    # the child imports this same `ledger`, installed or not
    root = str(Path(__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    with subprocess.Popen([sys.executable, "-m", "ledger.audit", str(stop)], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) as proc:
        try:
            try:
                proc.stdin.write(url.encode())
                proc.stdin.close()
            except OSError:  # it stopped before reading: its stderr says why (below)
                try:
                    proc.stdin.close()
                except OSError:
                    pass
            proc.stdin = None  # written and closed: communicate() must not touch it again
            try:
                work()
            except Exception:
                _chain_result(proc)
                raise
            return _chain_result(proc)
        finally:
            if proc.poll() is None:
                proc.kill()


def _chain_result(proc) -> tuple[int, str]:
    out, err = proc.communicate()
    try:
        result = json.loads(out)
    except ValueError:
        raise StoreUnavailable(f"the chain check stopped (exit {proc.returncode}): "
                               f"{err.decode(errors='replace').strip()[-500:]}") from None
    if "failure" in result:
        raise AuditFailure(result["failure"])
    if "error" in result:
        raise StoreUnavailable(result["error"])
    return result["position"], result["chain"]


def _chain_main() -> int:
    """`python -m ledger.audit STOP` with the store URL on stdin: verify the chain, print the head as JSON."""
    import sys

    from ledger.errors import LedgerError
    from ledger.store import open_store

    try:
        with open_store(sys.stdin.read()) as store:
            position, chain = verify_chain(store, stop=int(sys.argv[1]))
        print(json.dumps({"position": position, "chain": chain}))
    except AuditFailure as exc:
        print(json.dumps({"failure": str(exc)}))
    except LedgerError as exc:
        print(json.dumps({"error": str(exc)}))
    return 0


def _digests(store: Store, rebuilt, position: int) -> list[tuple[str, str]]:
    """The digest of the rebuilt status at every audit date, as known at the head."""
    from projections.query import ReadModelSnapshot

    last = next(store.log_rows(start=position), None) if position else None
    if last is None:
        return []
    snapshot = ReadModelSnapshot(rebuilt, rebuilt.position, parse_time(last.recorded_at))
    return [(day.isoformat(), hashlib.sha256(json.dumps(snapshot.status(day).to_json(), sort_keys=True).encode())
             .hexdigest()) for day in audit_dates(snapshot, rebuilt)]


if __name__ == "__main__":
    raise SystemExit(_chain_main())
