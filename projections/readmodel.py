"""Materialised bitemporal read models in a SQLite projection database (sqlite-utils).

The fold in `projections.query` is the reference; these tables make the same
answers fast on a large ledger. Every row is one event's fact with both time
axes on it:

- `effective` (D axis): the event's effective date;
- `position` (fold order) and `known_from`/`voided_at` (K axis): the row counts
  for a query known at log position k when `known_from <= k` and it was not
  voided by then (`voided_at IS NULL OR voided_at > k`). A void sets
  `voided_at`; voiding the void re-inserts the row with `known_from` at the
  second void, so every (D, K) stays answerable.

Tables (open the file in datasette or any SQLite tool):
- `rm_tracking`: the log position applied so far and its chain hash (resumable,
  and a rewritten ledger is detected and the models rebuilt);
- `rm_events`: every event except valuations, as its canonical JSON body;
- `rm_items`: collateral registrations;
- `rm_values` (revaluations: most of a book), `rm_moves`, `rm_disposals`: each
  one B-tree keyed by (collateral, effective, position, known_from), WITHOUT
  ROWID, so a query's seek for an item's latest row reads it in place; a void
  finds what it names through the ledger's own log;
- `rm_loans`: principal changes in cents (advances +, payments and applied
  proceeds −) with the payment order, per facility;
- `rm_breaches`: every version of every breach, valid for the log positions
  `known_from` ≤ k < `known_to` (NULL: still current), kept one event at a
  time by `projections.breach_engine`; `data` holds the breach as JSON;
- `rm_voids`: each void's position, id and the event it names (whether an event
  counts at k is judged against every void naming it);
- `rm_horizon`: for each chunk's last position, the latest effective date known
  by then (bounds the value and move seeks of a query known at k).
Money is kept in integer cents, so sums are exact in SQL.

Each catch-up chunk is one transaction that also moves `rm_tracking`, so a
crash leaves the models at a chunk boundary and the next run resumes there.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Iterable

import sqlite_utils

from ledger.events import (
    CollateralDisposed,
    CollateralMoved,
    CollateralRegistered,
    EventVoided,
    FacilityOpened,
    LoanAdvanced,
    PaymentReceived,
    ProceedsReceived,
    Recorded,
)
from ledger.store import LogEntry, recorded_of
from ledger.values import PaymentOrder
from projections.state import Item, Loan, new_loan

class _Overtaken(Exception):
    """Another process applied the same events to the read models first."""


class ModelBehind(Exception):
    """The read models do not hold the position an answer needs (being built, or cleared): use the fold."""


LIVE = "known_from <= :k AND (voided_at IS NULL OR voided_at > :k)"
FACT_TABLES = ("rm_events", "rm_items", "rm_moves", "rm_disposals", "rm_values", "rm_loans")
# What the liens, eligibility, balances and availability answers need beyond the fact tables.
TERMS_TYPES = ("PartyRegistered", "LocationRegistered", "AgreementExecuted", "ConditionSatisfied", "ConditionWaived",
               "FacilityOpened", "LienGranted", "LienReleased", "PriorityAgreed", "ConsentGranted")
SCHEMA_VERSION = 6  # bump when the tables change: older projection files are then built again
FACT = ("position", "known_from", "voided_at", "effective")
COLUMNS = {
    "rm_events": (*FACT, "type", "body"),
    "rm_items": (*FACT, "collateral", "kind", "owner", "location", "serial", "value_cents"),
    "rm_moves": (*FACT, "collateral", "to_location"),
    "rm_disposals": (*FACT, "collateral"),
    "rm_values": (*FACT, "collateral", "value_cents"),
    "rm_loans": (*FACT, "facility", "cents", "payment_order"),
    "rm_breaches": ("breach", "known_from", "known_to", "since", "data"),
    "rm_voids": ("position", "event_id", "target"),
}
COLUMN_TYPES = {"position": int, "known_from": int, "voided_at": int, "known_to": int, "value_cents": int,
                "cents": int}
CLUSTERED = ("rm_values", "rm_moves", "rm_disposals")  # WITHOUT ROWID, keyed by CLUSTER_KEY
CLUSTER_KEY = ("collateral", "effective", "position", "known_from")
ROWS_OF_TYPE = {"CollateralRegistered": "rm_items", "CollateralMoved": "rm_moves",
                "CollateralDisposed": "rm_disposals", "LoanAdvanced": "rm_loans", "PaymentReceived": "rm_loans",
                "ProceedsReceived": "rm_loans"}


def cents(amount: Decimal) -> int:
    return int(amount * 100)


def from_cents(value: int) -> Decimal:
    return Decimal(value).scaleb(-2)  # exact: 12345 -> 123.45, 100 -> 1.00


class ReadModel:
    """The projection database of one ledger."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.db = sqlite_utils.Database(self.path)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        # a query seeks once an item into tables of millions of rows: read pages in place, keep the hot ones
        self.db.execute("PRAGMA mmap_size=1073741824")
        self.db.execute("PRAGMA cache_size=-65536")
        self._create()

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------ schema

    def _create(self) -> None:
        db = self.db
        if "rm_tracking" in db.table_names():
            row = db.execute("SELECT version FROM rm_tracking WHERE name = 'log'").fetchone()
            if row is not None and row[0] == SCHEMA_VERSION:
                return
            # made by another version of the ledger: a cache, so build it again from the log
            with db.conn:
                db.conn.execute("BEGIN IMMEDIATE")
                for table in [t for t in db.table_names() if t.startswith("rm_")]:
                    db.conn.execute(f"DROP TABLE {table}")
        # several processes may open a new projection file at once: create it whole, under the write lock
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            self._create_tables(db)
        except BaseException:
            if db.conn.in_transaction:
                db.conn.execute("ROLLBACK")
            raise
        db.conn.execute("COMMIT")

    def _create_tables(self, db) -> None:
        if "rm_tracking" not in db.table_names():
            db["rm_tracking"].create({"name": str, "position": int, "chain": str, "version": int}, pk="name")
            for table in ("rm_events", "rm_items", "rm_loans", "rm_breaches", "rm_voids"):
                db[table].create({c: COLUMN_TYPES.get(c, str) for c in COLUMNS[table]})
            # values, moves and disposals (most of a book) are each one B-tree clustered by item and date: a
            # query's seek for an item's latest row reads it in place, and a void finds its row by the same key
            for table in CLUSTERED:
                columns = ", ".join(f"{c} {'INTEGER' if COLUMN_TYPES.get(c) is int else 'TEXT'}"
                                    f"{' NOT NULL' if c in CLUSTER_KEY else ''}" for c in COLUMNS[table])
                db.execute(f"CREATE TABLE {table} ({columns}, PRIMARY KEY ({', '.join(CLUSTER_KEY)})) WITHOUT ROWID")
            db["rm_events"].create_index(["type", "position"])
            db["rm_events"].create_index(["position"])
            db["rm_items"].create_index(["collateral", "effective", "position"])
            db["rm_items"].create_index(["position"])
            db["rm_loans"].create_index(["effective", "facility"])
            db["rm_loans"].create_index(["facility", "effective", "position"])
            db["rm_loans"].create_index(["position"])
            db["rm_horizon"].create({"position": int, "effective": str}, pk="position")
            db["rm_breaches"].create_index(["known_from"])
            db["rm_breaches"].create_index(["breach", "known_to"])
            db["rm_voids"].create_index(["target", "position"])
            db.conn.execute("INSERT INTO rm_tracking (name, position, chain, version) VALUES ('log', 0, '', ?)",
                            [SCHEMA_VERSION])

    def tracking(self) -> tuple[int, str]:
        """The position applied and its chain hash, read together (one statement, so never a mix of two chunks)."""
        row = self.db.execute("SELECT position, chain FROM rm_tracking WHERE name = 'log'").fetchone()
        return (int(row[0]), row[1]) if row is not None else (0, "")

    @property
    def position(self) -> int:
        return self.tracking()[0]

    @property
    def chain(self) -> str:
        return self.tracking()[1]

    def clear(self, *, only_if: tuple[int, str] | None = None) -> bool:
        """Empty the models, under the write lock; with `only_if`, only while they still stand at that
        (position, chain): another process may have moved them on (or rebuilt them) since it was read."""
        self.__dict__.pop("_contexts", None)
        conn = self.db.conn
        with conn:
            conn.execute("BEGIN IMMEDIATE")
            if only_if is not None and self.tracking() != only_if:
                return False
            for table in (*FACT_TABLES, "rm_breaches", "rm_voids", "rm_horizon"):
                conn.execute(f"DELETE FROM {table}")
            conn.execute("UPDATE rm_tracking SET position = 0, chain = '' WHERE name = 'log'")
        return True

    @contextmanager
    def reading(self, k: int):
        """One read transaction for a whole answer: every statement sees the same state of the file, which
        holds position k (else `ModelBehind`: a clear or a rebuild elsewhere is never seen half-made)."""
        conn = self.db.conn
        if conn.in_transaction:  # already inside one (an answer made of answers)
            yield
            return
        conn.execute("BEGIN")
        try:
            if self.tracking()[0] < k:
                raise ModelBehind(k)
            yield
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")  # nothing was written: ending the read is all

    # ------------------------------------------------------------ following the log

    def catch_up(self, store, *, stop: int | None = None, chunk: int = 20_000, progress=None) -> int:
        """Apply the events the models have not seen (up to `stop`), a chunk a transaction; returns how many."""
        for _ in range(5):
            position, chain = self.tracking()
            if not position:
                break
            logged = next(store.log_rows(start=position, chunk=1), None)
            if logged is not None and logged.position == position and logged.chain == chain:
                break
            # the ledger's row at that position has another chain (or is gone): the ledger behind these models
            # is not the one they were built from; clear them, unless another process moved them meanwhile
            if self.clear(only_if=(position, chain)):
                position = 0
                break
        else:
            return 0  # they keep moving under us: the next answer catches up
        return self.follow(store.read_log(start=position + 1, stop=stop, chunk=chunk), store, chunk=chunk,
                           progress=progress)

    def follow(self, entries: Iterable[LogEntry], store, *, chunk: int = 20_000, progress=None) -> int:
        """Apply these log entries (the next positions, in order); `store` resolves what voids name."""
        applied = 0
        self._engine = None
        batch: list[LogEntry] = []
        try:
            for entry in entries:
                batch.append(entry)
                if len(batch) >= chunk:
                    applied += self._apply_chunk(batch, store)
                    batch = []
                    if progress:
                        progress(self.position)
            if batch:
                applied += self._apply_chunk(batch, store)
        except _Overtaken:
            pass  # another process applied them first; the next answer catches up from where it got
        return applied

    def _apply_chunk(self, entries: list[LogEntry], store) -> int:
        rows: dict[str, list[tuple]] = {t: [] for t in (*FACT_TABLES, "rm_voids")}
        records: list[Recorded] = []
        values = rows["rm_values"]
        for entry in entries:
            body = entry.body
            if body["type"] == "CollateralValued":
                # nine in ten events of a real book: straight from the stored JSON (it was checked when recorded)
                values.append((entry.position, entry.position, None, body["effective_date"], body["collateral"],
                               cents(Decimal(body["value"]))))
            else:
                rec = recorded_of(body)
                records.append(rec)
                self._rows_of(rec, rows)
        voids = [r for r in records if isinstance(r.event, EventVoided)]
        targets = store.bodies(r.event.event for r in voids) if voids else {}
        breach_rows = self._breach_changes(records, entries[0].position - 1)
        with self.db.conn:
            # another process may have applied these events meanwhile: take the write lock and look again
            self.db.conn.execute("BEGIN IMMEDIATE")
            if self.position != entries[0].position - 1:
                raise _Overtaken()
            for table, items in rows.items():
                self._insert(table, items)
            for rec in voids:
                self._apply_void(rec, targets.get(rec.event.event), store)
            for position, closed, opened in breach_rows:
                for breach in closed:
                    self.db.execute("UPDATE rm_breaches SET known_to = ? WHERE breach = ? AND known_to IS NULL",
                                    [position, breach])
                self._insert("rm_breaches", opened)
            # the latest effective date of anything known by this chunk's end: a bound for the seeks
            # of `items_on` (no row known at k can be effective later than the bound of k's chunk)
            latest = max(e.body["effective_date"] for e in entries)
            previous = self.db.execute("SELECT MAX(effective) FROM rm_horizon").fetchone()[0] or ""
            self.db.conn.execute("INSERT INTO rm_horizon (position, effective) VALUES (?, ?)",
                                 [entries[-1].position, max(latest, previous)])
            self.db.execute("UPDATE rm_tracking SET position = ?, chain = ? WHERE name = 'log'",
                            [entries[-1].position, entries[-1].chain])
        return len(entries)

    def _insert(self, table: str, rows: list[tuple]) -> None:
        """Insert inside the caller's transaction (sqlite-utils' insert_all would commit it part-way)."""
        if rows:
            marks = ", ".join("?" for _ in COLUMNS[table])
            self.db.conn.executemany(f"INSERT INTO {table} ({', '.join(COLUMNS[table])}) VALUES ({marks})", rows)

    def _breach_changes(self, records: list[Recorded], upto: int):
        """For each event that changes the breaches: its position, the ids that end there, the versions that begin."""
        from projections.breach_engine import IRRELEVANT, signature

        relevant = [r for r in records if r.event.type_name not in IRRELEVANT]
        if not relevant:
            return []
        engine = self._breach_engine(upto)
        current = {b.breach: signature(b) for b in engine.breaches()}
        engine.take_changes()
        changes = []
        for rec in relevant:
            if not engine.add(rec):
                continue
            ids = engine.take_changes()
            now = {b.breach: b for b in engine.breaches()} if ids is None else {
                b.breach: b for b in engine.breaches() if b.breach in ids} if len(ids) > 50 else engine.find(ids)
            names = set(current) | set(now) if ids is None else ids
            signatures = {name: signature(now[name]) for name in names if name in now}
            closed = [name for name in names if name in current and signatures.get(name) != current[name]]
            opened = [(name, rec.position, None, now[name].since.isoformat(), json.dumps(_breach_json(now[name])))
                      for name in names if name in now and current.get(name) != signatures[name]]
            if closed or opened:
                changes.append((rec.position, closed, opened))
            for name in names:
                if name in signatures:
                    current[name] = signatures[name]
                else:
                    current.pop(name, None)
        return changes

    def _breach_engine(self, upto: int):
        """The engine over every event the models hold up to `upto` (built once per catch-up)."""
        if self._engine is None:
            from projections.breach_engine import IRRELEVANT, BreachEngine

            marks = ",".join("?" for _ in IRRELEVANT)
            rows = self.db.execute(
                f"SELECT body FROM rm_events WHERE known_from = position AND position <= ? AND type NOT IN ({marks}) "
                "ORDER BY position", [upto, *IRRELEVANT]).fetchall()
            self._engine = BreachEngine(recorded_of(json.loads(body)) for (body,) in rows)
        return self._engine

    def breaches_at(self, k: int):
        """Every breach as known at position k (whatever its since), for the defaults view."""
        return [_breach_of(json.loads(row[0])) for row in self.db.execute(
            "SELECT data FROM rm_breaches WHERE known_from <= ? AND (known_to IS NULL OR known_to > ?)", [k, k])]

    def _rows_of(self, rec: Recorded, rows: dict[str, list[tuple]]) -> None:
        """The rows of one event other than a valuation (those are made straight from the JSON)."""
        from ledger.recording import record_body

        ev = rec.event
        base = (rec.position, rec.position, None, ev.effective_date.isoformat())
        body = record_body(ev, rec.event_id, rec.position, rec.recorded_at, rec.actor)
        rows["rm_events"].append((*base, ev.type_name, json.dumps(body, separators=(",", ":"), ensure_ascii=False)))
        if isinstance(ev, CollateralRegistered):
            rows["rm_items"].append((*base, ev.collateral, ev.kind.value, ev.owner, ev.location, ev.serial,
                                     cents(ev.value) if ev.value is not None else 0))
        elif isinstance(ev, CollateralMoved):
            rows["rm_moves"].append((*base, ev.collateral, ev.to))
        elif isinstance(ev, CollateralDisposed):
            rows["rm_disposals"].append((*base, ev.collateral))
        elif isinstance(ev, LoanAdvanced):
            rows["rm_loans"].append((*base, ev.facility, cents(ev.amount), None))
        elif isinstance(ev, PaymentReceived):
            rows["rm_loans"].append((*base, ev.facility, -cents(ev.amount), ev.order.value if ev.order else None))
        elif isinstance(ev, EventVoided):
            rows["rm_voids"].append((rec.position, rec.event_id, ev.event))
        elif isinstance(ev, ProceedsReceived):
            for step in ev.allocations:
                if step.resolved:
                    rows["rm_loans"].append((*base, step.facility, -cents(step.resolved),
                                             step.order.value if step.order else None))

    def _apply_void(self, rec: Recorded, target: dict | None, store) -> None:
        """Bring the rows of every event whose standing this void changes in line, from this position on.

        An event counts when no void in force names it; a void is in force when no void in force names it.
        So a void can change the standing of what it names, of what that names (if a void), and so on down
        the chain; each is judged against every void known so far that names it (`rm_voids`), since one
        event may be voided, restored and voided again by different voids."""
        now = rec.position
        chain: list[dict] = []
        while target is not None:
            chain.append(target)
            target = store.bodies([target["event"]]).get(target["event"]) if target["type"] == "EventVoided" else None
        standing: dict[str, bool] = {}
        for body in chain:
            counts = self._counts(body["id"], now, standing)
            for table in _tables_of(body["type"]):
                keys = {"now": now, **_keys_of(body)}
                live = self.db.execute(f"SELECT 1 FROM {table} WHERE {_row_in(table)} AND voided_at IS NULL LIMIT 1",
                                       keys).fetchone() is not None
                if live and not counts:
                    self.db.execute(f"UPDATE {table} SET voided_at = :now WHERE {_row_in(table)} "
                                    "AND voided_at IS NULL", keys)
                elif counts and not live:  # back in force: a copy of its rows, known from now
                    columns = COLUMNS[table]
                    chosen = ", ".join(":now" if c == "known_from" else "NULL" if c == "voided_at" else c
                                       for c in columns)
                    self.db.execute(f"INSERT INTO {table} ({', '.join(columns)}) SELECT {chosen} FROM {table} "
                                    f"WHERE {_row_in(table)} AND known_from = (SELECT MAX(known_from) FROM {table} "
                                    f"WHERE {_row_in(table)})", keys)

    def _counts(self, event_id: str, now: int, standing: dict[str, bool]) -> bool:
        """Whether the event counts as known at `now`: no void known by then and in force names it."""
        if event_id not in standing:
            voids = self.db.execute("SELECT event_id FROM rm_voids WHERE target = ? AND position <= ?",
                                    [event_id, now]).fetchall()
            standing[event_id] = not any(self._counts(void, now, standing) for (void,) in voids)
        return standing[event_id]

    # ------------------------------------------------------------ answering

    def events_of(self, types: Iterable[str], k: int) -> list[Recorded]:
        """The unvoided events of these types known at position k, in log order."""
        types = list(types)
        marks = ",".join("?" for _ in types)
        sql = (f"SELECT body FROM rm_events WHERE type IN ({marks}) AND known_from <= ? "
               "AND (voided_at IS NULL OR voided_at > ?) ORDER BY position")
        return [recorded_of(json.loads(row[0])) for row in self.db.execute(sql, [*types, k, k]).fetchall()]

    def terms_context(self, k: int):
        """The Context of the terms, lien and facility events known at k, shared by every k that knows the same."""
        from projections.context import Context

        marks = ",".join("?" for _ in TERMS_TYPES)
        key = tuple(self.db.execute(
            f"SELECT MAX(CASE WHEN known_from <= ? THEN known_from END), "
            f"MAX(CASE WHEN voided_at <= ? THEN voided_at END) FROM rm_events WHERE type IN ({marks})",
            [k, k, *TERMS_TYPES]).fetchone())
        cache = self.__dict__.setdefault("_contexts", {})
        if key not in cache:
            if len(cache) > 64:
                cache.clear()
            cache[key] = Context(self.events_of(TERMS_TYPES, k))
        return cache[key]

    def items_on(self, day: date, k: int) -> dict[str, Item]:
        """Collateral as of `day`, as known at k: kind, owner, location, value, disposed."""
        from ledger.values import CollateralKind

        params = {"d": day.isoformat(), "k": k}
        # seek no later than what could be known at k: rows recorded after k are not skipped one by one
        bound = self.db.execute("SELECT effective FROM rm_horizon WHERE position >= ? ORDER BY position LIMIT 1",
                                [k]).fetchone()
        params["b"] = min(params["d"], bound[0]) if bound else params["d"]
        latest = "ORDER BY t.effective DESC, t.position DESC LIMIT 1"
        live_t = "t.known_from <= :k AND (t.voided_at IS NULL OR t.voided_at > :k) AND t.effective <= :b"
        live_i = "i.known_from <= :k AND (i.voided_at IS NULL OR i.voided_at > :k)"
        kinds = CollateralKind._value2member_map_
        items: dict[str, Item] = {}
        # each registration with its latest move and value: one index seek each, in one statement
        for collateral, kind, owner, location, serial, value_cents, position, moved, valued in self.db.execute(
                f"SELECT i.collateral, i.kind, i.owner, i.location, i.serial, i.value_cents, i.position, "
                f"(SELECT t.to_location FROM rm_moves t WHERE t.collateral = i.collateral AND {live_t} {latest}), "
                f"(SELECT t.value_cents FROM rm_values t WHERE t.collateral = i.collateral AND {live_t} {latest}) "
                f"FROM rm_items i WHERE {live_i} AND i.effective <= :d ORDER BY i.effective, i.position", params):
            if collateral not in items:
                items[collateral] = Item(collateral, kinds[kind], owner, moved if moved is not None else location,
                                         serial, from_cents(valued if valued is not None else value_cents),
                                         str(position))
        if items:  # disposals are few: one pass
            for (collateral,) in self.db.execute(
                    f"SELECT DISTINCT collateral FROM rm_disposals WHERE {LIVE} AND effective <= :b", params):
                if collateral in items:
                    items[collateral].disposed = True
        return items

    def loans_on(self, day: date, k: int, opened: dict[str, FacilityOpened]) -> dict[str, Loan]:
        """Every facility opened by `day` with its principal and what remains of its installments."""
        params = {"d": day.isoformat(), "k": k}
        loans = {name: new_loan(ev) for name, ev in opened.items() if ev.effective_date <= day}
        totals = {row["facility"]: row["total"] for row in self.db.query(
            f"SELECT facility, SUM(cents) AS total FROM rm_loans WHERE {LIVE} AND effective <= :d GROUP BY facility",
            params)}
        scheduled = [f for f, loan in loans.items() if loan.installments]
        if scheduled:
            marks = ",".join(f":f{i}" for i in range(len(scheduled)))
            params.update({f"f{i}": f for i, f in enumerate(scheduled)})
            for row in self.db.query(
                    f"SELECT facility, cents, payment_order FROM rm_loans WHERE {LIVE} AND effective <= :d "
                    f"AND cents < 0 AND facility IN ({marks}) ORDER BY effective, position, rowid", params):
                order = PaymentOrder(row["payment_order"]) if row["payment_order"] else None
                loans[row["facility"]].repay(from_cents(-row["cents"]), order)
        for name, loan in loans.items():
            loan.principal = from_cents(totals.get(name, 0))
        return loans


def _tables_of(type_name: str) -> tuple[str, ...]:
    """The fact tables an event of this type has rows in."""
    if type_name == "CollateralValued":
        return ("rm_values",)
    extra = ROWS_OF_TYPE.get(type_name)
    return ("rm_events", extra) if extra else ("rm_events",)


def _row_in(table: str) -> str:
    """How to find an event's rows in a table: by the clustered key, or by position."""
    if table in CLUSTERED:
        return "collateral = :c AND effective = :e AND position = :p"
    return "position = :p"


def _keys_of(body: dict) -> dict:
    return {"p": body["position"], "c": body.get("collateral"), "e": body["effective_date"]}


def _breach_json(b) -> dict:
    return {"breach": b.breach, "rule": b.rule, "since": b.since.isoformat(), "grace": b.grace,
            "cause": [b.cause[0].isoformat(), b.cause[1]], "events": list(b.events), "detail": b.detail,
            "end": b.end.isoformat() if b.end else None, "end_state": b.end_state, "ended_by": b.ended_by,
            "place": b.place, "clause": b.clause}


def _breach_of(data: dict):
    from projections.defaults import Breach

    return Breach(data["breach"], data["rule"], date.fromisoformat(data["since"]), data["grace"],
                  (date.fromisoformat(data["cause"][0]), data["cause"][1]), tuple(data["events"]), data["detail"],
                  date.fromisoformat(data["end"]) if data["end"] else None, data["end_state"], data["ended_by"],
                  data["place"], data["clause"])
