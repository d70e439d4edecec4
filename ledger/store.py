"""The event store: the `eventsourcing` library's recorders, on SQLite or PostgreSQL, plus the ledger's log.

The whole ledger is one event stream. Its originator id is fixed and each
event's originator version is its log position, so the library's primary key
(originator_id, originator_version) makes positions gap-free and turns two
writers racing for the same position into an `IntegrityError` (optimistic
concurrency: the loser re-validates and tries again).

Beside the library's table, recorder subclasses write in the same transaction:
- `cledger_log`: one row an event (position, event id unique, type, dates,
  actor, chain hash), for retries, knowledge-time cuts and the audit;
- `cledger_names`: the ids each event declares (parties, liens, ...), for the
  reference checks of `record`.
Triggers refuse UPDATE, DELETE (and on PostgreSQL TRUNCATE) on all three.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import uuid
from datetime import datetime
from pathlib import Path
from typing import Iterable, Iterator, Sequence
from urllib.parse import parse_qs, unquote, urlparse

import attrs
from eventsourcing.persistence import (
    IntegrityError,
    OperationalError,
    PersistenceError,
    StoredEvent,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore

from ledger.codec import decode
from ledger.errors import ConcurrentWrite, StoreUnavailable, UsageError
from ledger.events import Recorded
from ledger.values import parse_time

LEDGER_STREAM = uuid.uuid5(uuid.NAMESPACE_URL, "urn:cledger:ledger")
GENESIS = "0" * 64
TOPIC_PREFIX = "cledger:"
IMMUTABLE = "ledger events are immutable: record a correcting event (EventVoided) instead"
SIDE_TABLES = ("cledger_log", "cledger_names")


@attrs.frozen
class Tail:
    """The last event of the log: where the next one goes and what it chains to."""

    position: int
    chain: str
    recorded_at: datetime | None


@attrs.frozen
class LogRow:
    """A row of `cledger_log`, as stored."""

    position: int
    event_id: str
    event_type: str
    effective_date: str
    recorded_at: str
    actor: str
    chain: str


@attrs.frozen
class LogEntry:
    """One stored event, not yet decoded: its position, chain hash and JSON body (what the read models follow)."""

    position: int
    chain: str
    body: dict


@attrs.frozen
class StoreUrl:
    backend: str  # "sqlite" or "postgres"
    path: str = ""
    host: str = "127.0.0.1"
    port: int = 5432
    user: str = ""
    password: str = ""
    dbname: str = ""
    schema: str = "public"
    read_only: bool = False  # sqlite:///file.db?mode=ro: answers and audits, never records


SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
SQLITE_MODES = {"ro": True, "rw": False, "rwc": False}


def _shown(text: str) -> str:
    """A user's text in a message: quoted, with control and escape characters written out (repr-style)."""
    return repr(text)


def parse_url(url: str) -> StoreUrl:
    """`sqlite:///relative.db`, `sqlite:////abs/path.db` (optionally `?mode=ro`), a plain path (a SQLite file),
    `postgresql://user@host:port/db?schema=s`."""
    if url.startswith("sqlite:"):
        if not url.startswith("sqlite:///"):
            raise UsageError(f"--db {_shown(url)}: expected sqlite:///path/to/file.db (three slashes)")
        rest = url[len("sqlite:///"):]
        path, _, query = rest.partition("?")
        read_only = _sqlite_query(url, query)
        return StoreUrl("sqlite", path=_sqlite_path(url, path), read_only=read_only)
    if url.startswith(("postgresql://", "postgres://")):
        parts = urlparse(url)
        try:
            query = parse_qs(parts.query, strict_parsing=bool(parts.query))
        except ValueError:
            raise UsageError(f"--db {_shown(url)}: the query string is not name=value pairs") from None
        unknown = sorted(set(query) - {"schema"})
        if unknown:
            raise UsageError(f"--db {_shown(url)}: unknown option {_shown(unknown[0])} in the URL; only ?schema=NAME")
        dbname = unquote(parts.path.lstrip("/"))
        if not dbname:
            raise UsageError(f"--db {_shown(url)}: no database name after the host")
        try:
            port = parts.port if parts.port is not None else 5432
        except ValueError:
            port = 0
        if not 1 <= port <= 65535:
            raise UsageError(f"--db {_shown(url)}: the port must be a number from 1 to 65535")
        schemas = query.get("schema") or ["public"]
        schema = schemas[-1]
        if len(schemas) > 1 or not SCHEMA_NAME.fullmatch(schema):
            raise UsageError(f"--db {_shown(url)}: schema {_shown(schema)} is not a plain name (lower-case "
                             "letters, digits and _, not starting with a digit, at most 63 characters)")
        return StoreUrl(
            "postgres",
            host=parts.hostname or "127.0.0.1",
            port=port,
            user=unquote(parts.username or os.environ.get("PGUSER", "postgres")),
            password=unquote(parts.password or ""),
            dbname=dbname,
            schema=schema,
        )
    if "://" not in url and url.strip():
        return StoreUrl("sqlite", path=_sqlite_path(url, url))  # a plain path is a SQLite file
    raise UsageError(
        f"--db {_shown(url)}: expected sqlite:///path/to/file.db (or a plain path) or "
        "postgresql://user@host:port/dbname"
    )


def _sqlite_path(url: str, path: str) -> str:
    if not path:
        raise UsageError(f"--db {_shown(url)}: no file named after sqlite:///")
    if path == ":memory:" or path.startswith("file::memory:") or "mode=memory" in path:
        raise UsageError(f"--db {_shown(url)}: an in-memory database keeps nothing once the command ends; "
                         "a ledger needs a file")
    return unquote(path)


def _sqlite_query(url: str, query: str) -> bool:
    """The one option a SQLite URL may carry, `mode=ro` (or rw, rwc); anything else is refused, not made part of
    the file name. Returns whether the ledger is opened read-only."""
    if not query:
        return False
    try:
        options = parse_qs(query, strict_parsing=True)
    except ValueError:
        raise UsageError(f"--db {_shown(url)}: the query string is not name=value pairs") from None
    unknown = sorted(set(options) - {"mode"})
    if unknown:
        raise UsageError(f"--db {_shown(url)}: unknown option {_shown(unknown[0])} in a SQLite URL; only ?mode=ro")
    mode = options["mode"][-1]
    if mode == "memory":
        raise UsageError(f"--db {_shown(url)}: an in-memory database keeps nothing once the command ends; "
                         "a ledger needs a file")
    if mode not in SQLITE_MODES or len(options["mode"]) > 1:
        raise UsageError(f"--db {_shown(url)}: mode {_shown(mode)} is not one of ro, rw, rwc")
    return SQLITE_MODES[mode]


def quoted_schema(schema: str) -> str:
    """The schema as a quoted SQL identifier, quoted by the driver (psycopg.sql.Identifier), with its dot."""
    from psycopg.sql import Identifier

    return Identifier(schema).as_string(None) + "."


# ---------------------------------------------------------------- recorders

def _side_table_statements(q: str, key_type: str = "BIGINT") -> list[str]:
    """CREATE statements for the side tables; `q` is the schema prefix ('' on SQLite).

    On SQLite the position is `INTEGER PRIMARY KEY`, the rowid itself (one index fewer to write).
    """
    return [
        f"CREATE TABLE IF NOT EXISTS {q}cledger_log ("
        f"position {key_type} PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, event_type TEXT NOT NULL, "
        "effective_date TEXT NOT NULL, recorded_at TEXT NOT NULL, actor TEXT NOT NULL, chain TEXT NOT NULL)",
        f"CREATE INDEX IF NOT EXISTS cledger_log_recorded_at ON {q}cledger_log (recorded_at)",
        f"CREATE TABLE IF NOT EXISTS {q}cledger_names ("
        "namespace TEXT NOT NULL, name TEXT NOT NULL, position BIGINT NOT NULL)",
        f"CREATE INDEX IF NOT EXISTS cledger_names_lookup ON {q}cledger_names (namespace, name)",
    ]


class LedgerSQLiteRecorder(SQLiteApplicationRecorder):
    """The library's SQLite recorder, writing the ledger's log rows in the same transaction."""

    def construct_create_table_statements(self) -> list[str]:
        statements = super().construct_create_table_statements() + _side_table_statements("", "INTEGER")
        for table in (self.events_table_name, *SIDE_TABLES):
            for action in ("UPDATE", "DELETE"):
                statements.append(
                    f"CREATE TRIGGER IF NOT EXISTS {table}_no_{action.lower()} BEFORE {action} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{IMMUTABLE}'); END"
                )
        return statements

    def _insert_events(self, c, stored_events, *, log_rows=(), name_rows=(), **_):
        params = [(s.originator_id.hex, s.originator_version, s.topic, s.state) for s in stored_events]
        c.executemany(self.insert_events_statement, params)
        c.executemany("INSERT INTO cledger_log VALUES (?,?,?,?,?,?,?)", log_rows)
        c.executemany("INSERT INTO cledger_names VALUES (?,?,?)", name_rows)
        return None


def _postgres_recorder_class():
    from eventsourcing.postgres import PostgresApplicationRecorder
    from psycopg.sql import SQL

    class LedgerPostgresRecorder(PostgresApplicationRecorder):
        """The library's PostgreSQL recorder, writing the ledger's log rows under its table lock."""

        def __init__(self, datastore, *, events_table_name: str = "cledger_events"):
            super().__init__(datastore, events_table_name=events_table_name)
            from psycopg.sql import Identifier

            schema = self.datastore.schema
            q = quoted_schema(schema)
            self.sql_create_statements.insert(0, SQL("CREATE SCHEMA IF NOT EXISTS {}").format(Identifier(schema)))
            for statement in _side_table_statements(q):
                self.sql_create_statements.append(SQL(statement))
            self.sql_create_statements.append(SQL(
                f"CREATE OR REPLACE FUNCTION {q}cledger_refuse_change() RETURNS trigger "
                f"LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{IMMUTABLE}'; END $$"
            ))
            for table in (events_table_name, *SIDE_TABLES):
                self.sql_create_statements.append(SQL(
                    f"CREATE OR REPLACE TRIGGER {table}_immutable BEFORE UPDATE OR DELETE ON {q}{table} "
                    f"FOR EACH ROW EXECUTE FUNCTION {q}cledger_refuse_change()"
                ))
                self.sql_create_statements.append(SQL(
                    f"CREATE OR REPLACE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {q}{table} "
                    f"FOR EACH STATEMENT EXECUTE FUNCTION {q}cledger_refuse_change()"
                ))
            self._q = q

        def _insert_stored_events(self, curs, stored_events, *, log_rows=(), name_rows=(), **kwargs):
            super()._insert_stored_events(curs, stored_events, **kwargs)
            if log_rows:
                curs.executemany(f"INSERT INTO {self._q}cledger_log VALUES (%s,%s,%s,%s,%s,%s,%s)", list(log_rows))
            if name_rows:
                curs.executemany(f"INSERT INTO {self._q}cledger_names VALUES (%s,%s,%s)", list(name_rows))

        def _fetch_ids_after_insert_events(self, curs, stored_events, **kwargs):
            return None

        def insert_events(self, stored_events, **kwargs):
            # One plain transaction, not the library's pipelined one: there, a position taken by another
            # writer could surface as "pipeline aborted" instead of the IntegrityError that makes `record`
            # check again; and the library retries every OperationalError ten times, so a lock timeout of
            # 10 s would wait 100 s before exit 3. `record` has its own retry loop.
            with self.datastore.transaction(commit=True) as curs:
                self._insert_stored_events(curs, stored_events, **kwargs)
            return None

    return LedgerPostgresRecorder


# ---------------------------------------------------------------- the store

class Store:
    """An open ledger store. Reads stream in chunks; `append` is one transaction."""

    def __init__(self, url: str, *, create: bool):
        self.url = url
        self.location = parse_url(url)
        if self.location.backend == "sqlite":
            self._open_sqlite(create)
        else:
            self._open_postgres(create)

    # -- opening

    def _open_sqlite(self, create: bool) -> None:
        loc = self.location
        path = Path(loc.path)
        if not path.exists():
            if not create or loc.read_only:
                raise StoreUnavailable(f"no ledger at {_shown(str(path))}: record events first (cledger record FILE)")
            if not path.parent.exists():
                raise StoreUnavailable(f"cannot create {_shown(str(path))}: the folder {_shown(str(path.parent))} "
                                       "does not exist")
        self.read_only = loc.read_only or (path.exists() and not _writable(path))
        uri = path.resolve().as_uri()
        if self.read_only:
            uri = _read_only_uri(path)
        elif path.exists() and not create and not _has_sqlite_ledger(_read_only_uri(path), path):
            raise StoreUnavailable(f"{_shown(str(path))} is not a ledger (no event table)")
        if self.read_only and not _has_sqlite_ledger(uri, path):
            raise StoreUnavailable(f"{_shown(str(path))} is not a ledger (no event table)")
        self.q = ""
        self.param = "?"
        self.datastore = SQLiteDatastore(uri, lock_timeout=int(os.environ.get("CLEDGER_LOCK_TIMEOUT", "10")))
        if self.read_only:
            # the library turns a file's journal to WAL on first connect: a write, which a read-only file refuses
            self.datastore.pool.is_journal_mode_wal = True
        self.recorder = LedgerSQLiteRecorder(self.datastore, events_table_name="stored_events")
        self.events_table = "stored_events"
        if create and not self.read_only:
            self._guard(self.recorder.create_table)

    def _open_postgres(self, create: bool) -> None:
        from eventsourcing.postgres import PostgresDatastore

        self.read_only = False  # the server's grants decide; a refused write says so
        loc = self.location
        self._resolve_host(loc)
        self.q = quoted_schema(loc.schema)
        self.param = "%s"
        self.datastore = PostgresDatastore(
            dbname=loc.dbname, host=loc.host, port=loc.port, user=loc.user, password=loc.password,
            schema=loc.schema, connect_timeout=float(os.environ.get("CLEDGER_CONNECT_TIMEOUT", "5")),
            lock_timeout=int(os.environ.get("CLEDGER_LOCK_TIMEOUT", "10")), pool_open_timeout=5.0,
        )
        self.events_table = "cledger_events"
        try:
            exists = self._query_one("SELECT to_regclass(?) IS NOT NULL", [f"{self.q}cledger_log"])[0]
        except StoreUnavailable as exc:
            raise StoreUnavailable(f"PostgreSQL at {loc.host}:{loc.port} (database {loc.dbname}): {exc}") from None
        if not exists and not create:
            raise StoreUnavailable(f"no ledger in schema {loc.schema} of {loc.dbname}: record events first")
        self.recorder = _postgres_recorder_class()(self.datastore, events_table_name=self.events_table)
        if create and not exists:
            self._create_postgres_tables()
        else:
            self._guard(self.datastore.register_type_adapters)

    @staticmethod
    def _resolve_host(loc: StoreUrl) -> None:
        """A host name that does not resolve is said at once (the driver would wait out its timeout first)."""
        if loc.host.startswith("/"):
            return  # a Unix socket folder
        try:
            socket.getaddrinfo(loc.host, loc.port, type=socket.SOCK_STREAM)
        except socket.gaierror:
            raise StoreUnavailable(f"PostgreSQL host {_shown(loc.host)} was not found (the name does not resolve): "
                                   "check the host in --db") from None
        except (UnicodeError, ValueError):
            raise UsageError(f"--db: {_shown(loc.host)} is not a host name") from None

    def _create_postgres_tables(self) -> None:
        """Create the tables, one creator at a time.

        Several first records on a new schema at once race on CREATE ... IF NOT EXISTS (a unique violation on
        pg_type, or a deadlock between the triggers): the creator holds an advisory lock on a connection of
        its own, and whoever waited for it finds the tables made.
        """
        import psycopg
        import psycopg.sql

        loc = self.location
        try:
            lock = psycopg.connect(host=loc.host, port=loc.port, user=loc.user, password=loc.password,
                                   dbname=loc.dbname, autocommit=True, connect_timeout=5)
        except psycopg.Error as exc:
            raise StoreUnavailable(f"PostgreSQL at {loc.host}:{loc.port} could not be reached: "
                                   f"{str(exc).strip()}") from None
        with lock:
            lock.execute("SELECT pg_advisory_lock(hashtext(%s))", [f"cledger-create:{loc.schema}"])
            # a new schema is made first: the library creates its composite type before its other statements
            try:
                lock.execute(psycopg.sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(psycopg.sql.Identifier(loc.schema)))
            except psycopg.Error as exc:
                raise StoreUnavailable(f"cannot create schema {loc.schema} in {loc.dbname}: {str(exc).strip()}") from None
            exists = self._query_one("SELECT to_regclass(?) IS NOT NULL", [f"{self.q}cledger_log"])[0]
            self._guard(self.datastore.register_type_adapters if exists else self.recorder.create_table)

    def close(self) -> None:
        self.datastore.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- low-level SQL through the library's datastore

    def _guard(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except IntegrityError:
            raise
        except (OperationalError, PersistenceError, sqlite3.Error, OSError) as exc:
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if "locked" in text or "lock timeout" in text:
                raise ConcurrentWrite(f"the ledger is locked by another writer: {text}; try again") from None
            if "readonly" in text or "read-only" in text:
                raise StoreUnavailable(f"the ledger cannot be written: {text}") from None
            raise StoreUnavailable(f"the store could not be reached: {_plain(text)}") from None
        except Exception as exc:
            if type(exc).__module__.startswith("psycopg"):
                raise StoreUnavailable(f"the store could not be reached: {_plain(str(exc).strip())}") from None
            raise

    def _query(self, sql: str, params: Sequence = ()) -> list[tuple]:
        def run():
            with self.datastore.transaction(commit=False) as c:
                c.execute(sql.replace("?", self.param), list(params))
                rows = c.fetchall()
            return [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in rows]

        return self._guard(run)

    def _query_one(self, sql: str, params: Sequence = ()) -> tuple:
        rows = self._query(sql, params)
        return rows[0] if rows else ()

    # -- reading

    def tail(self) -> Tail:
        row = self._query_one(f"SELECT position, chain, recorded_at FROM {self.q}cledger_log ORDER BY position DESC LIMIT 1")
        if not row:
            return Tail(0, GENESIS, None)
        return Tail(int(row[0]), row[1], parse_time(row[2]))

    def position_known_at(self, known_at: datetime) -> int:
        """The last position recorded at or before `known_at` (recorded times never go backwards)."""
        from ledger.values import iso_time

        # recorded times rise with positions: the last row at or before K, found by one index seek
        row = self._query_one(f"SELECT position FROM {self.q}cledger_log WHERE recorded_at <= ? "
                              "ORDER BY recorded_at DESC, position DESC LIMIT 1", [iso_time(known_at)])
        return int(row[0]) if row else 0

    def read(self, *, start: int = 1, stop: int | None = None, chunk: int = 5000) -> Iterator[Recorded]:
        """Recorded events from `start` to `stop` (inclusive) in log order, streamed in chunks."""
        for stored in self.read_stored(start=start, stop=stop, chunk=chunk):
            yield decode_stored(stored)

    def read_stored(self, *, start: int = 1, stop: int | None = None, chunk: int = 5000) -> Iterator[StoredEvent]:
        after = start - 1
        while True:
            limit = chunk if stop is None else min(chunk, stop - after)
            if limit <= 0:
                return
            batch = self._guard(self.recorder.select_events, LEDGER_STREAM, gt=after, limit=limit)
            if not batch:
                return
            yield from batch
            after = batch[-1].originator_version
            if len(batch) < limit:
                return

    def read_joined(self, *, start: int = 1, stop: int | None = None,
                    chunk: int = 20_000) -> Iterator[tuple[int, str, bytes, LogRow | None]]:
        """(position, topic, state, its cledger_log row or None) of the stored events from `start` to `stop`.

        In log order, one plain query a chunk (the audit's and the read models' pass over the whole log)."""
        after = start - 1
        stop = stop if stop is not None else 2**62
        sql = (f"SELECT e.originator_version, e.topic, e.state, l.position, l.event_id, l.event_type, "
               f"l.effective_date, l.recorded_at, l.actor, l.chain FROM {self.q}{self.events_table} e "
               f"LEFT JOIN {self.q}cledger_log l ON l.position = e.originator_version "
               "WHERE e.originator_id = ? AND e.originator_version > ? AND e.originator_version <= ? "
               "ORDER BY e.originator_version LIMIT ?")
        while True:
            rows = self._query(sql, [self._stream_key(), after, stop, chunk])
            for r in rows:
                yield int(r[0]), r[1], bytes(r[2]), (LogRow(int(r[3]), *r[4:]) if r[3] is not None else None)
            if len(rows) < chunk:
                return
            after = int(rows[-1][0])

    def read_log(self, *, start: int = 1, stop: int | None = None, chunk: int = 20_000) -> Iterator[LogEntry]:
        """The events from `start` to `stop` with their chain hashes, as parsed JSON (what the read models follow)."""
        for position, _topic, state, log in self.read_joined(start=start, stop=stop, chunk=chunk):
            if log is None:
                raise StoreUnavailable(f"the ledger is damaged: the event at position {position} has no row in "
                                       "cledger_log; run `cledger audit`")
            yield LogEntry(position, log.chain, json.loads(state))

    def bodies(self, event_ids: Iterable[str]) -> dict[str, dict]:
        """The JSON bodies of these events, by id (those not in the log are left out)."""
        ids = sorted(set(event_ids))
        found: dict[str, dict] = {}
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            marks = ",".join("?" for _ in part)
            for (state,) in self._query(
                    f"SELECT state FROM {self.q}{self.events_table} WHERE originator_id = ? AND originator_version "
                    f"IN (SELECT position FROM {self.q}cledger_log WHERE event_id IN ({marks}))",  # (a join scans)
                    [self._stream_key(), *part]):
                body = json.loads(bytes(state))
                found[body["id"]] = body
        return found

    def read_types(self, type_names: Iterable[str], *, stop: int | None = None) -> list[Recorded]:
        """Every stored event of the given types (in log order), for record-time checks."""
        topics = [TOPIC_PREFIX + t for t in type_names]
        marks = ",".join("?" for _ in topics)
        sql = f"SELECT state FROM {self.q}{self.events_table} WHERE originator_id = ? AND topic IN ({marks})"
        params: list = [self._stream_key(), *topics]
        if stop is not None:
            sql += " AND originator_version <= ?"
            params.append(stop)
        sql += " ORDER BY originator_version"
        return [decode_state(bytes(r[0])) for r in self._query(sql, params)]

    def _stream_key(self):
        return LEDGER_STREAM.hex if self.location.backend == "sqlite" else LEDGER_STREAM

    def find_events(self, event_ids: Iterable[str]) -> dict[str, Recorded]:
        return {event_id: recorded_of(body) for event_id, body in self.bodies(event_ids).items()}

    def find_names(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], list[int]]:
        """For each (namespace, name), the positions of the events that declared it."""
        wanted = sorted(set(pairs))
        out: dict[tuple[str, str], list[int]] = {}
        by_ns: dict[str, list[str]] = {}
        for ns, name in wanted:
            by_ns.setdefault(ns, []).append(name)
        for ns, names in by_ns.items():
            for i in range(0, len(names), 500):
                part = names[i:i + 500]
                marks = ",".join("?" for _ in part)
                rows = self._query(
                    f"SELECT name, position FROM {self.q}cledger_names WHERE namespace = ? AND name IN ({marks})",
                    [ns, *part])
                for name, position in rows:
                    out.setdefault((ns, name), []).append(int(position))
        return out

    def log_rows(self, *, start: int = 1, chunk: int = 5000) -> Iterator[LogRow]:
        after = start - 1
        while True:
            rows = self._query(
                f"SELECT position, event_id, event_type, effective_date, recorded_at, actor, chain "
                f"FROM {self.q}cledger_log WHERE position > ? ORDER BY position LIMIT ?", [after, chunk])
            if not rows:
                return
            for r in rows:
                yield LogRow(int(r[0]), *r[1:])
            after = int(rows[-1][0])

    def last_position(self) -> int:
        """The highest position in the events table or in cledger_log (the same, unless the log was tampered with)."""
        row = self._query_one(
            f"SELECT MAX(p) FROM (SELECT MAX(position) AS p FROM {self.q}cledger_log UNION ALL "
            f"SELECT MAX(originator_version) FROM {self.q}{self.events_table} WHERE originator_id = ?) AS ends",
            [self._stream_key()])
        return int(row[0]) if row and row[0] is not None else 0

    def count(self) -> int:
        return int(self._query_one(f"SELECT COUNT(*) FROM {self.q}cledger_log")[0])

    # -- writing

    def refuse_if_read_only(self) -> None:
        if self.read_only:
            why = "opened with ?mode=ro" if self.location.read_only else "the file or its folder cannot be written"
            raise StoreUnavailable(f"the ledger {_shown(self.location.path)} is read-only ({why}): cannot record")

    def append(self, stored: list[StoredEvent], log_rows: list[tuple], name_rows: list[tuple]) -> None:
        """Insert one batch in one transaction; IntegrityError means another writer took the position."""
        self.refuse_if_read_only()
        self._guard(self.recorder.insert_events, stored, log_rows=log_rows, name_rows=name_rows)


def _plain(text: str) -> str:
    """A driver's message, in a loan administrator's words where we know them."""
    if "pool initialization incomplete" in text:  # the connection pool's words for "no server answered"
        return "no server answered in time (is PostgreSQL running, and are the host, port and database right?)"
    return text


def _writable(path: Path) -> bool:
    """Whether a ledger file can be written: the file, and its folder (for the -wal and -shm files)."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def _read_only_uri(path: Path) -> str:
    """A read-only SQLite URI for the file. On a read-only mount with no -wal/-shm beside it, SQLite cannot
    open a WAL file even for reading unless it is told the file cannot change (`immutable=1`): true there."""
    uri = path.resolve().as_uri() + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=5)
        try:
            conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except sqlite3.OperationalError:
        if not _writable(path):
            return uri + "&immutable=1"
    except sqlite3.Error:
        pass  # not a database: said below, by the caller's check
    return uri


def _has_sqlite_ledger(uri: str, path: Path) -> bool:
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=5)
        try:
            row = conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name='cledger_log'").fetchone()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise StoreUnavailable(f"{_shown(str(path))} could not be opened: {exc}") from None
    return row is not None


def decode_state(state: bytes) -> Recorded:
    """A stored event's state (its canonical JSON) as a Recorded event; the chain hash is in cledger_log."""
    return recorded_of(json.loads(state))


def recorded_of(body: dict) -> Recorded:
    """A stored event's parsed JSON body as a Recorded event."""
    return Recorded(
        position=body["position"],
        event_id=body["id"],
        recorded_at=parse_time(body["recorded_at"]),
        actor=body["actor"],
        event=decode(body, allow_resolved=True),
    )


def decode_stored(stored: StoredEvent) -> Recorded:
    return decode_state(bytes(stored.state))


def open_store(url: str, *, create: bool = False) -> Store:
    return Store(url, create=create)
