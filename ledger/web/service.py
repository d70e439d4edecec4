"""The server's one reader of a ledger: one set of read models for everyone who connects.

A follower thread owns a `Ledger` and calls `refresh()` about once a second,
so the read models follow the log whoever writes it (another `cledger record`,
another machine on the same PostgreSQL). Requests never catch up themselves:
they run on a small pool of worker threads, each with a `Ledger` of its own
(the read models' SQLite connection belongs to the thread that opened it; the
store's connection pool is thread-safe), and answer from the read models as
soon as those hold every event known at the time asked for. Until then a small
log is answered from the fold (the reference, the same bytes) and a large one
gets a "catching up: position P of N" page.

Rows only ever get added to the read models for positions after the ones
applied (a void sets `voided_at` to its own, later, position), so an answer as
known at position k reads the same rows while the follower commits chunks
after k: readers take no lock. Matplotlib is not thread-safe: the charts are
drawn one at a time, and kept (by log position) so a chart is drawn once.
"""

from __future__ import annotations

import io
import json
import sqlite3
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from typing import Any, Callable, Sequence

import attrs

from ledger.api import Ledger, open_ledger
from ledger.errors import LedgerError
from ledger.events import Recorded
from projections.query import ReadModelSnapshot, ReplaySnapshot, Snapshot

FOLD_LIMIT = 5_000  # a log this short is folded in well under a second: answer from it while the models catch up
CHART_CACHE = 64
# a restatement folds the log known at K2 twice for each event recorded between K1 and K2: at most this many
# event-folds a request, some 5 s on the project's VM (the whole 1996 scenario, 1990 to 1997, is 24,000 and
# 0.4 s; a 1,000-event log allows 150 events between K1 and K2)
RESTATEMENT_BUDGET = 300_000


class TooCostly(Exception):
    """A restatement whose window would take the server minutes: `cledger restatement` answers it instead."""

    def __init__(self, between: int, known: int):
        super().__init__(f"{between:,} events were recorded between from and to, in a log of {known:,}: a "
                         "restatement replays each of them over the whole log, which would hold this server for "
                         f"a long time; narrow the window, or ask `cledger restatement`")
        self.between = between
        self.known = known


class Behind(Exception):
    """The read models have not reached the events known at the time asked for, and the log is too long to fold."""

    def __init__(self, position: int, tail: int):
        super().__init__(f"catching up: position {position} of {tail}")
        self.position = position
        self.tail = tail


@attrs.frozen
class Progress:
    """How far the shared read models are: `position` of `tail`, and what stopped the follower last, if anything."""

    position: int
    tail: int
    error: str | None

    @property
    def behind(self) -> bool:
        return self.position < self.tail


def answer_bytes(obj: Any) -> bytes:
    """What `cledger <view> --json` prints for this answer: indent 2, UTF-8, one newline at the end."""
    return (json.dumps(obj, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


class LedgerService:
    """One ledger, opened once for every request: the follower thread and the request workers."""

    def __init__(self, url: str, *, workers: int = 4, interval: float = 1.0, fold_limit: int = FOLD_LIMIT):
        self.url = url
        self.interval = interval
        self.fold_limit = fold_limit
        # a missing or unreachable ledger is the caller's error (exit 3), found before any thread starts
        probe = open_ledger(url, create=False)
        try:
            self._tail = probe.store.tail().position
            self._position = 0
        finally:
            probe.close()
        self._error: str | None = None
        self._local = threading.local()
        self._opened: list[Ledger] = []
        self._opened_lock = threading.Lock()
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="cledger-web")
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._follower = threading.Thread(target=self._follow, name="cledger-follower", daemon=True)
        self._journal: list[Recorded] = []
        self._journal_chain = ""
        self._journal_lock = threading.Lock()
        self._draw_lock = threading.Lock()  # matplotlib draws one figure at a time
        self._cache_lock = threading.Lock()
        self._charts: OrderedDict[tuple, Any] = OrderedDict()  # drawn charts and restatements, by log position

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        self._follower.start()
        self._ready.wait(timeout=30)  # the projection file exists (created by the follower) before any request

    def close(self) -> None:
        self._stop.set()
        if self._follower.is_alive():
            self._follower.join(timeout=30)
        self.executor.shutdown(wait=False, cancel_futures=True)  # a long answer still running: the CLI ends it
        with self._opened_lock:
            for lg in self._opened:
                try:
                    lg.close()
                except Exception:  # a worker's SQLite connection can only be closed by its thread: the process ends it
                    pass
            self._opened.clear()

    def _follow(self) -> None:
        lg = None
        while not self._stop.is_set():
            try:
                if lg is None:
                    lg = open_ledger(self.url, create=False)
                    lg.model  # opens (or creates) the read models in this thread
                    self._ready.set()
                tail = lg.store.tail().position
                self._tail = tail
                if lg.model is None:  # nowhere to keep read models: every answer is the fold
                    self._position = tail
                elif lg.model.position < tail:
                    lg.refresh(progress=self._advanced)
                self._position = lg.model.position if lg.model is not None else tail
                self._error = None
            except LedgerError as exc:
                self._error = str(exc)
            except Exception as exc:  # keep following: the next turn may reach the store again
                self._error = f"{type(exc).__name__}: {exc}"
            finally:
                self._ready.set()
            self._stop.wait(self.interval)
        if lg is not None:
            lg.close()

    def _advanced(self, position: int) -> None:
        self._position = position

    @property
    def progress(self) -> Progress:
        return Progress(self._position, self._tail, self._error)

    # ------------------------------------------------------------ per-thread ledgers

    def ledger(self) -> Ledger:
        """This worker thread's own `Ledger` (its own SQLite connection to the read models)."""
        lg = getattr(self._local, "ledger", None)
        if lg is None:
            lg = open_ledger(self.url, create=False)
            self._local.ledger = lg
            with self._opened_lock:
                self._opened.append(lg)
        return lg

    def progress_here(self) -> Progress:
        """How far the read models are, read afresh on this thread (not the follower's last word)."""
        lg = self.ledger()
        tail = lg.store.tail().position
        model = lg.model
        try:
            position = model.position if model is not None else tail
        except sqlite3.Error:
            position = self._position
        return Progress(position, tail, self._error)

    # ------------------------------------------------------------ answers

    def snapshot(self, known_at: datetime) -> tuple[Snapshot, str]:
        """The answers as known at `known_at`, and where they come from ("read models" or "fold").

        Never catches up: the follower does. Raises `Behind` when the read models lack events known then
        and the log is too long to fold quickly."""
        lg = self.ledger()
        k = lg.store.position_known_at(known_at)
        model = lg.model
        position = None
        if model is not None:
            try:
                position = model.position
                if position >= k:
                    return ReadModelSnapshot(model, k, known_at), "read models"
            except sqlite3.Error:
                pass  # the models are being made: the fold gives the same answer
        tail = lg.store.tail().position
        if model is None or tail <= self.fold_limit:
            return ReplaySnapshot(lg.store, known_at), "fold"
        raise Behind(position or 0, tail)

    def view(self, name: str, as_of: date, known_at: datetime):
        snapshot, _source = self.snapshot(known_at)
        return snapshot.view(name, as_of)

    def view_bytes(self, name: str, as_of: date, known_at: datetime) -> bytes:
        return answer_bytes(self.view(name, as_of, known_at).to_json())

    def restatement(self, as_of: date, k1: datetime, k2: datetime):
        """`cledger restatement`'s report (two folds and a replay between them: kept, by log positions)."""
        from projections.restatement import restatement

        p1, p2 = self.position_known_at(k1), self.position_known_at(k2)
        key = ("restatement", as_of, k1, k2, p1, p2)
        with self._cache_lock:
            if key in self._charts:
                return self._charts[key]
        if 2 * (p2 - p1) * p2 > RESTATEMENT_BUDGET:
            raise TooCostly(p2 - p1, p2)
        report = restatement(self.journal(), as_of, k1, k2)
        with self._cache_lock:
            self._keep(key, report)
        return report

    def _keep(self, key: tuple, value) -> None:
        self._charts[key] = value
        while len(self._charts) > CHART_CACHE:
            self._charts.popitem(last=False)

    # ------------------------------------------------------------ the whole log (journal, charts, restatement)

    def journal(self) -> list[Recorded]:
        """Every event of the log, decoded once and extended as the log grows (shared by all threads)."""
        lg = self.ledger()
        with self._journal_lock:
            tail = lg.store.tail()
            held = len(self._journal)
            if held:
                row = next(lg.store.log_rows(start=held, chunk=1), None)
                if row is None or row.position != held or row.chain != self._journal_chain or tail.position < held:
                    self._journal, held = [], 0  # not the log these events came from: read it again
            if tail.position > held:
                self._journal.extend(lg.store.read(start=held + 1, stop=tail.position))
                self._journal_chain = tail.chain
            return self._journal[:tail.position]

    def fold(self, known_at: datetime) -> Snapshot:
        """The reference fold of the whole known context (what the charts walk), from the shared journal."""
        return Snapshot(self.journal(), known_at)

    def position_known_at(self, known_at: datetime) -> int:
        return self.ledger().store.position_known_at(known_at)

    def chart_svg(self, chart: str, start: date, end: date, known_at: datetime, *, explicit: bool,
                  kinds: Sequence[str] = ()) -> bytes:
        """One of `ledger.charts`' figures as SVG (its drawing functions, matplotlib's SVG backend)."""
        key = (chart, start, end, self.position_known_at(known_at), explicit, tuple(sorted(kinds)),
               known_at if explicit else None)
        with self._cache_lock:
            if key in self._charts:
                self._charts.move_to_end(key)
                return self._charts[key]
        snapshot = self.fold(known_at)
        with self._draw_lock:
            data = _draw_svg(snapshot, chart, start, end, explicit, kinds)
        with self._cache_lock:
            self._keep(key, data)
        return data

    def run(self, fn: Callable, *args, **kwargs):
        """`fn(*args)` on a worker thread (for the event loop: `await loop.run_in_executor(...)`)."""
        return self.executor.submit(fn, *args, **kwargs)


def _draw_svg(snapshot, chart: str, start: date, end: date, explicit: bool, kinds: Sequence[str]) -> bytes:
    import matplotlib.style

    from ledger import charts

    # text drawn as glyph paths (the default): a browser's own fonts would measure differently from the
    # layout matplotlib made, and labels would overlap; a fixed salt keeps the ids, so the bytes, the same
    with matplotlib.style.context("default"), matplotlib.rc_context({"svg.hashsalt": "cledger"}):
        if chart == "timeline":
            fig = charts.draw_timeline(charts.timeline_data(snapshot, start, end, explicit_known_at=explicit))
        else:
            fig = charts.draw_collateral(charts.collateral_data(snapshot, start, end, kinds=kinds,
                                                                explicit_known_at=explicit))
        buffer = io.BytesIO()
        # no date in the file: the same ledger and question give the same bytes
        fig.savefig(buffer, format="svg", dpi=charts.DPI, metadata={"Date": None}, facecolor="white")
    return buffer.getvalue()
