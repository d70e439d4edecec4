"""`cledger backup`: a consistent copy of the ledger in a new SQLite file, safe to take while others record.

- From SQLite: the SQLite online backup API copies the ledger in one step
  inside one read transaction, so the copy is the log as of one commit.
- From PostgreSQL: the three tables are read in one REPEATABLE READ, READ ONLY
  transaction (one snapshot) and written into a new SQLite ledger made by
  `open_store(..., create=True)`, so the copy has the SQLite layout, triggers
  included, and `cledger audit --db sqlite:///FILE` reads it like any ledger.
  Commits to the ledger are serialised by the recorder's table lock and
  positions are gap-free, so a snapshot is always a prefix of the log.

The copy is built beside FILE under a temporary name, its hash chain verified,
switched to a rollback journal (one self-contained file), flushed to disk and
only then given its name, so FILE is either absent or a whole, verified
backup. An existing FILE is never overwritten. Last, the live log is checked
to still extend the copy's head digest (the copy is a prefix of the log).
"""

from __future__ import annotations

import glob
import os
import signal
import sqlite3
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import attrs

from ledger.errors import StoreUnavailable, UsageError
from ledger.store import Store, open_store

CHUNK = 5000


@attrs.frozen
class BackupResult:
    """A finished backup: where it is, how many events it holds, and its head digest."""

    path: Path
    events: int
    head: str

    def to_json(self) -> dict:
        return {"file": str(self.path), "events": self.events, "head": self.head}


def backup(store: Store, target: str | os.PathLike) -> BackupResult:
    """Copy the ledger behind `store` into the new SQLite file `target` and verify the copy."""
    target = Path(target)
    if target.exists() or target.is_symlink():
        raise UsageError(f"{target} already exists: a backup never overwrites a file; name a new one")
    if not target.parent.is_dir():
        raise UsageError(f"cannot write {target}: the folder {target.parent} does not exist")
    from ledger.api import refuse_own_file

    refuse_own_file(store, target, "the backup")  # the ledger, its -wal/-shm (even if absent now), its read models
    _remove_stale_partials(target)
    partial = target.with_name(f".{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.partial")
    with _signals_unwind():
        return _backup_into(store, target, partial)


def _backup_into(store: Store, target: Path, partial: Path) -> BackupResult:
    from ledger.audit import check_head, verify_chain

    try:
        if store.location.backend == "sqlite":
            _copy_sqlite(store, partial)
        else:
            _copy_postgres(store, partial)
        with open_store("sqlite:///" + quote(str(partial))) as copy:
            position, chain = verify_chain(copy)
        _settle(partial)
        _publish(partial, target)
    except OSError as exc:
        raise StoreUnavailable(f"could not write the backup {target}: {exc.strerror or exc}") from None
    except sqlite3.Error as exc:
        raise StoreUnavailable(f"could not write the backup {target}: {exc}") from None
    finally:
        for suffix in PARTIAL_SUFFIXES:
            Path(f"{partial}{suffix}").unlink(missing_ok=True)
    head = f"{position}:{chain}"
    check_head(store, head)
    return BackupResult(target, position, head)


PARTIAL_SUFFIXES = ("", "-wal", "-shm", "-journal")


@contextmanager
def _signals_unwind():
    """SIGTERM and SIGHUP end the backup by raising SystemExit (SIGINT already raises KeyboardInterrupt), so its
    `finally` removes the partial file instead of the process vanishing with it left behind."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, _frame):
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _remove_stale_partials(target: Path) -> None:
    """Partial files of earlier backups to this name whose process is gone (killed outright, SIGKILL)."""
    for stale in target.parent.glob(f".{glob.escape(target.name)}.*.partial"):
        pid = stale.name[len(target.name) + 2:].split("-", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        for suffix in PARTIAL_SUFFIXES:
            Path(f"{stale}{suffix}").unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _copy_sqlite(store: Store, partial: Path) -> None:
    timeout = float(os.environ.get("CLEDGER_LOCK_TIMEOUT", "10"))
    try:
        source = sqlite3.connect(f"{Path(store.location.path).resolve().as_uri()}?mode=ro", uri=True,
                                 timeout=timeout)
    except sqlite3.Error as exc:
        raise StoreUnavailable(f"the ledger {store.location.path} could not be read: {exc}") from None
    try:
        dest = sqlite3.connect(partial)
        try:
            try:
                source.backup(dest)  # pages=-1: the whole file in one step, under one read transaction
            except sqlite3.OperationalError as exc:
                if "locked" in str(exc) or "busy" in str(exc):
                    from ledger.errors import ConcurrentWrite

                    raise ConcurrentWrite(f"the ledger is locked by another writer: {exc}; try again") from None
                raise
        finally:
            dest.close()
    finally:
        source.close()


def _copy_postgres(store: Store, partial: Path) -> None:
    with open_store("sqlite:///" + quote(str(partial)), create=True):
        pass  # the SQLite ledger's tables, indexes and triggers, exactly as `record` makes them
    dest = sqlite3.connect(partial, isolation_level=None)
    try:
        dest.execute("BEGIN")
        store._guard(_read_snapshot, store, dest)
        dest.execute("COMMIT")
    finally:
        dest.close()


#: (PostgreSQL table, its columns, the key to page by, the SQLite insert); events come first.
_TABLES = (
    (None, ("originator_id", "originator_version", "topic", "state"), ("originator_id", "originator_version"),
     "INSERT INTO stored_events VALUES (?,?,?,?)"),
    ("cledger_log", ("position", "event_id", "event_type", "effective_date", "recorded_at", "actor", "chain"),
     ("position",), "INSERT INTO cledger_log VALUES (?,?,?,?,?,?,?)"),
    ("cledger_names", ("namespace", "name", "position"), ("position", "namespace", "name"),
     "INSERT INTO cledger_names VALUES (?,?,?)"),
)


def _read_snapshot(store: Store, dest: sqlite3.Connection) -> None:
    """Copy the three tables as of one snapshot: all reads run in one PostgreSQL transaction."""
    with store.datastore.transaction(commit=False) as c:
        c.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        for table, columns, key, insert in _TABLES:
            source = f"{store.q}{table or store.events_table}"
            select = f"SELECT {', '.join(columns)} FROM {source}"
            order = f" ORDER BY {', '.join(key)} LIMIT {CHUNK}"
            after: tuple | None = None
            while True:
                where = f" WHERE ({', '.join(key)}) > ({', '.join('%s' for _ in key)})" if after else ""
                c.execute(select + where + order, list(after or ()))
                rows = [tuple(r.values()) if isinstance(r, dict) else tuple(r) for r in c.fetchall()]
                if not rows:
                    break
                if table is None:  # the SQLite layout keeps the UUID as hex text and the state as a blob
                    rows = [(_hex(r[0]), r[1], r[2], bytes(r[3])) for r in rows]
                dest.executemany(insert, rows)
                after = tuple(rows[-1][columns.index(k)] for k in key)
                if table is None:
                    after = (uuid.UUID(after[0]), after[1])
                if len(rows) < CHUNK:
                    break


def _hex(originator_id) -> str:
    return originator_id.hex if isinstance(originator_id, uuid.UUID) else uuid.UUID(str(originator_id)).hex


def _settle(partial: Path) -> None:
    """One self-contained file: back to a rollback journal (no -wal beside it), flushed to disk."""
    conn = sqlite3.connect(partial, isolation_level=None)
    try:
        mode = conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
        if mode.lower() != "delete":
            raise StoreUnavailable(f"could not finish the backup: the copy stayed in {mode} journal mode")
    finally:
        conn.close()
    fd = os.open(partial, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(partial: Path, target: Path) -> None:
    """Give the finished copy its name without ever replacing a file that appeared meanwhile."""
    try:
        os.link(partial, target)
    except FileExistsError:
        raise UsageError(f"{target} already exists: a backup never overwrites a file; name a new one") from None
    except OSError:  # a file system without hard links
        if target.exists():
            raise UsageError(f"{target} already exists: a backup never overwrites a file; name a new one") from None
        os.replace(partial, target)
    try:
        fd = os.open(target.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
