"""The Python API that the CLI, the audit scripts and point-in-time queries share.

    from ledger import open_ledger
    with open_ledger("sqlite:///cledger.db") as lg:
        lg.record_file("events.jsonl")
        print(lg.defaults(as_of=date(1996, 5, 1)).status)
        print(lg.liens(as_of=date(1996, 2, 1), known_at="1996-03-01").to_json())
"""

from __future__ import annotations

from datetime import date, datetime
import os
import sqlite3
from pathlib import Path
from typing import IO, Any, Iterable, Iterator, Sequence

from ledger.errors import UsageError
from ledger.events import Recorded
from ledger.reader import read_lines, read_objects
from ledger.recording import RecordResult, record
from ledger.store import Store, open_store
from ledger.values import ValueProblem, parse_date, parse_known_at, utc_now
from projections.query import ReplaySnapshot, Snapshot


def _as_date(value: date | str | None) -> date:
    if value is None:
        return utc_now().date()
    if isinstance(value, datetime):
        raise UsageError("as_of is a date, not a time")
    if isinstance(value, date):
        return value
    try:
        return parse_date(value)
    except ValueProblem as exc:
        raise UsageError(f"--as-of: {exc}") from None


def _as_time(value: datetime | date | str | None) -> datetime:
    if value is None:
        return utc_now()
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise UsageError("known_at must be an aware datetime (UTC)")
        return value
    if isinstance(value, date):
        return parse_known_at(value.isoformat())
    try:
        return parse_known_at(value)
    except ValueProblem as exc:
        raise UsageError(f"--known-at: {exc}") from None


def projection_path(store: Store) -> Path:
    """Where the read models of a ledger live: beside a SQLite ledger; in a per-user cache for PostgreSQL."""
    override = os.environ.get("CLEDGER_PROJECTIONS")
    if override:
        return Path(override)
    loc = store.location
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cledger"
    if loc.backend == "sqlite":
        path = Path(loc.path)
        if getattr(store, "read_only", False):
            # nothing is written beside a read-only ledger: its read models live in the user's cache
            import hashlib

            key = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
            return cache / f"sqlite-{path.name}-{key}.projections"
        return path.with_name(path.name + ".projections")
    return cache / f"{loc.host}-{loc.port}-{loc.dbname}-{loc.schema}.projections"


def remove_model_files(path: Path) -> None:
    """Delete a projection file and its -wal and -shm (a cache of the log: it is made again)."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def own_files(store: Store) -> list[Path]:
    """Every file that is part of this ledger: a SQLite ledger with its -wal, -shm and -journal, and its read
    models (wherever they are kept) with theirs. Nothing the ledger writes for a user may land on one."""
    bases: list[Path] = []
    if store.location.backend == "sqlite":
        ledger = Path(store.location.path)
        bases += [ledger, ledger.with_name(ledger.name + ".projections")]
    bases.append(projection_path(store))
    return [Path(f"{base}{suffix}") for base in bases for suffix in ("", "-wal", "-shm", "-journal")]


def refuse_own_file(store: Store, target: str | os.PathLike, option: str) -> None:
    """UsageError (exit 2) if `target` is one of the ledger's own files (by name, through links, or the same
    file under another name)."""
    from ledger.errors import printable

    target = Path(target)
    resolved = target.resolve()
    for own in own_files(store):
        same = own.resolve() == resolved
        if not same and target.exists() and own.exists():
            try:
                same = os.path.samefile(target, own)
            except OSError:
                same = False
        if same:
            what = ("the ledger's own database" if store.location.backend == "sqlite" and own == Path(store.location.path)
                    else f"one of the ledger's own files ({own.name})")
            raise UsageError(f"{option} {printable(str(target))} is {what}; writing there would destroy it: "
                             "name another file")


class Ledger:
    """An open ledger: record events, ask the four questions as of any date, as known at any time.

    Answers come from the read models (`projections.readmodel`), caught up with
    the log before each answer; `reference=True` answers from the pure fold of
    the whole log instead (what the read models are tested against).
    """

    def __init__(self, store: Store, *, reference: bool = False):
        self.store = store
        self.reference = reference or os.environ.get("CLEDGER_REFERENCE") == "1"
        self._cache: tuple[int, list[Recorded]] | None = None
        self._model = None

    def close(self) -> None:
        if self._model:
            self._model.close()
        self.store.close()

    @property
    def model(self):
        """The read models, opened (and created) on first use; None where they cannot be kept."""
        if self._model is None:
            from projections.readmodel import ReadModel

            path = projection_path(self.store)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                try:
                    self._model = ReadModel(path)
                except sqlite3.DatabaseError as exc:
                    if isinstance(exc, sqlite3.OperationalError) or os.environ.get("CLEDGER_PROJECTIONS"):
                        raise
                    # the file is not a database any more (damaged): it is a cache of the log, made again
                    remove_model_files(path)
                    self._model = ReadModel(path)
            except OSError:
                self._model = False  # a read-only place: answer from the fold
            except sqlite3.OperationalError as exc:
                if not any(word in str(exc) for word in ("unable to open", "readonly", "read-only")):
                    raise
                self._model = False
        return self._model or None

    def refresh(self, *, progress=None) -> int:
        """Bring the read models up to the log's tail (resumable; rebuilt if the ledger was replaced)."""
        try:
            model = self.model
            if model is None:
                return 0
            return model.catch_up(self.store, progress=progress)
        except sqlite3.Error:
            return 0  # another process is catching up the same models: it (or the next answer) gets there

    def rebuild(self, *, progress=None) -> int:
        """Build the read models again from the whole log."""
        model = self.model
        if model is None:
            return 0
        try:
            model.clear()
            return model.catch_up(self.store, progress=progress)
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and "malformed" not in str(exc):
                raise
            # a damaged projection file: delete it and make it again from the log
            model.close()
            remove_model_files(model.path)
            self._model = None
            model = self.model
            if model is None:
                return 0
            return model.catch_up(self.store, progress=progress)

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- writing

    def record_lines(self, lines: Iterable[str | bytes], *, actor: str | None = None,
                     strict: bool = False) -> RecordResult:
        """Record JSON Lines; the result's `warnings` are (line, message); `strict` refuses a batch that warns."""
        return self.after_record(record(self.store, list(read_lines(lines)), actor=actor, strict=strict))

    def after_record(self, result: RecordResult, *, progress=None) -> RecordResult:
        """Bring the read models up to date after a record (they also catch up before any answer)."""
        if result.recorded and not self.reference:
            try:
                self.refresh(progress=progress)
            except Exception:  # the batch is committed; the read models catch up before the next answer
                pass
        return result

    def record_file(self, path: str | Path, *, actor: str | None = None, strict: bool = False) -> RecordResult:
        with open(path, "rb") as fh:
            return self.record_lines(fh, actor=actor, strict=strict)

    def record_stream(self, stream: IO[bytes], *, actor: str | None = None, strict: bool = False) -> RecordResult:
        return self.record_lines(stream, actor=actor, strict=strict)

    def record(self, events: Sequence[dict[str, Any]], *, actor: str | None = None,
               strict: bool = False) -> RecordResult:
        return self.after_record(record(self.store, list(read_objects(events)), actor=actor, strict=strict))

    # -- reading

    def events(self, *, stop: int | None = None) -> list[Recorded]:
        tail = self.store.tail().position
        if self._cache is None or self._cache[0] != tail:
            self._cache = (tail, list(self.store.read()))
        events = self._cache[1]
        return events if stop is None else [e for e in events if e.position <= stop]

    def event_bodies(self, where=None) -> Iterator[dict]:
        """Every event in log order, in the input shape with its position, recorded time and actor; streamed
        from the store a chunk at a time, so a long log is never held whole (`cledger events --json`); `where(recorded)`
        keeps only the events it accepts."""
        from ledger.recording import record_body

        for r in self.store.read():
            if where is None or where(r):
                yield record_body(r.event, r.event_id, r.position, r.recorded_at, r.actor)

    def snapshot(self, known_at: datetime | date | str | None = None) -> Snapshot:
        k = _as_time(known_at)
        if not self.reference:
            from projections.query import ReadModelSnapshot

            self.refresh()
            try:
                model = self.model
                if model is not None:
                    # each answer checks, in its own read transaction, that the models hold k; if not (being
                    # made or rebuilt by another process), or if the file is damaged, the fold answers
                    return ReadModelSnapshot(model, self.store.position_known_at(k), k,
                                             fallback=lambda: ReplaySnapshot(self.store, k))
            except sqlite3.Error:
                pass  # the read models cannot be opened: the fold gives the same answer
        return ReplaySnapshot(self.store, k)

    def liens(self, as_of=None, known_at=None):
        return self.snapshot(known_at).liens(_as_date(as_of))

    def eligibility(self, as_of=None, known_at=None):
        return self.snapshot(known_at).eligibility(_as_date(as_of))

    def balances(self, as_of=None, known_at=None):
        return self.snapshot(known_at).balances(_as_date(as_of))

    def defaults(self, as_of=None, known_at=None):
        return self.snapshot(known_at).defaults(_as_date(as_of))

    def availability(self, as_of=None, known_at=None):
        return self.snapshot(known_at).availability(_as_date(as_of))

    def status(self, as_of=None, known_at=None):
        return self.snapshot(known_at).status(_as_date(as_of))

    def head(self) -> str:
        tail = self.store.tail()
        return f"{tail.position}:{tail.chain}"


def open_ledger(url: str, *, create: bool = True, reference: bool = False) -> Ledger:
    """Open (by default creating) the ledger at `url` (sqlite:///file.db or postgresql://...)."""
    return Ledger(open_store(url, create=create), reference=reference)
