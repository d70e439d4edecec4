"""Answers "as of D, as known at K" from the events recorded at or before K (the pure reference fold)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Iterable, Sequence

from ledger.events import CollateralValued, Recorded
from projections.context import Context, fold_key, voided_ids
from projections.defaults import defaults_view, find_breaches
from projections.results import Header, StatusAnswer
from projections.views import availability_view, balances_view, eligibility_view, liens_view

VIEWS = ("liens", "eligibility", "balances", "defaults", "availability")


class Snapshot:
    """The known events at K, ready to answer for any date D."""

    def __init__(self, events: Sequence[Recorded], known_at: datetime):
        self.known_at = known_at
        self.ctx = Context([e for e in events if e.recorded_at <= known_at])
        self._breaches = None

    def header(self, as_of: date) -> Header:
        return Header(as_of, self.known_at)

    def context(self, as_of: date) -> Context:
        """The folded events an answer as of D reads."""
        return self.ctx

    @property
    def breaches(self):
        if self._breaches is None:
            self._breaches = find_breaches(self.ctx)
        return self._breaches

    def liens(self, as_of: date):
        return liens_view(self.context(as_of), self.header(as_of))

    def eligibility(self, as_of: date):
        return eligibility_view(self.context(as_of), self.header(as_of))

    def balances(self, as_of: date):
        return balances_view(self.context(as_of), self.header(as_of))

    def defaults(self, as_of: date):
        return defaults_view(self.context(as_of), self.header(as_of), self.breaches)

    def availability(self, as_of: date):
        return availability_view(self.context(as_of), self.header(as_of))

    def status(self, as_of: date) -> StatusAnswer:
        header, ctx = self.header(as_of), self.context(as_of)
        eligibility = eligibility_view(ctx, header)
        return StatusAnswer(header, liens_view(ctx, header), eligibility, balances_view(ctx, header),
                            defaults_view(ctx, header, self.breaches), availability_view(ctx, header, eligibility))

    def view(self, name: str, as_of: date):
        return getattr(self, name)(as_of)


def needed_on(events: Iterable[Recorded], voided: set[str], as_of: date) -> list[Recorded]:
    """The events a fold as of D reads: all of them but the valuations, and of those each item's latest live one
    on or before D. No answer as of D looks at an earlier or a later value (the breaches never look at values);
    the property tests hold the answers to those of the whole log."""
    kept: list[Recorded] = []
    latest: dict[str, Recorded] = {}
    for rec in events:
        ev = rec.event
        if isinstance(ev, CollateralValued):
            if ev.effective_date > as_of or rec.event_id in voided:
                continue
            best = latest.get(ev.collateral)
            if best is None or fold_key(rec) > fold_key(best):
                latest[ev.collateral] = rec
        else:
            kept.append(rec)
    return sorted([*kept, *latest.values()], key=lambda r: r.position)


class ReplaySnapshot(Snapshot):
    """The reference fold, streamed: each answer reads the whole log known at K from the store and folds what
    `needed_on` keeps for its date, so a long history is never held in memory. `ctx` (the whole known context,
    which the charts walk) is read and held only when asked for."""

    def __init__(self, store, known_at: datetime):
        self.known_at = known_at
        self.store = store
        self.k = store.position_known_at(known_at)
        self._voided = voided_ids(store.read_types(["EventVoided"], stop=self.k))
        self._breaches = None
        self._full: Context | None = None
        self._day: tuple[date, Context] | None = None

    @property
    def ctx(self) -> Context:
        if self._full is None:
            self._full = Context(list(self.store.read(stop=self.k)))
        return self._full

    def context(self, as_of: date) -> Context:
        if self._full is not None:
            return self._full
        if self._day is None or self._day[0] != as_of:
            self._day = (as_of, Context(needed_on(self.store.read(stop=self.k), self._voided, as_of)))
        return self._day[1]

    @property
    def breaches(self):
        if self._breaches is None:  # values never make or end a breach: any day's context gives them all
            self._breaches = find_breaches(self._full or (self._day[1] if self._day else self.context(date.max)))
        return self._breaches


class ReadModelSnapshot(Snapshot):
    """The same answers as `Snapshot`, from the materialised read models instead of a full fold.

    Liens and terms come from the few events that carry them (agreements,
    liens, consents, ...), folded as in `Snapshot`; collateral and loans come
    from the read model's tables as of D and known at position k; breaches
    from `rm_breaches`, kept by the breach engine.
    """

    def __init__(self, model, k: int, known_at: datetime, fallback=None):
        self.known_at = known_at
        self.model = model
        self.k = k
        self._ctx = None
        self._breaches = None
        self._fallback = fallback  # makes the fold's snapshot, for when the models cannot answer for k
        self._fold = None

    @property
    def ctx(self):
        if self._ctx is None:
            with self.model.reading(self.k):
                self._ctx = self.model.terms_context(self.k)
        return self._ctx

    def _answer(self, name: str, as_of: date, make):
        """`make()` inside one read transaction of the models; from the fold if they cannot give it."""
        import sqlite3

        from projections.readmodel import ModelBehind

        try:
            with self.model.reading(self.k):
                if self._ctx is None:
                    self._ctx = self.model.terms_context(self.k)
                return make()
        except (ModelBehind, sqlite3.DatabaseError):
            # being rebuilt by another process, or damaged: the fold gives the same answer
            if self._fallback is None:
                raise
            if self._fold is None:
                self._fold = self._fallback()
            return getattr(self._fold, name)(as_of)

    @property
    def breaches(self):
        if self._breaches is None:
            self._breaches = self.model.breaches_at(self.k)
        return self._breaches

    def _opened(self):
        return {name: rec.event for name, rec in self._ctx.facilities.items()}

    def liens(self, as_of: date):
        return self._answer("liens", as_of, lambda: liens_view(self._ctx, self.header(as_of)))

    def eligibility(self, as_of: date):
        return self._answer("eligibility", as_of, lambda: eligibility_view(
            self._ctx, self.header(as_of), self.model.items_on(as_of, self.k)))

    def balances(self, as_of: date):
        return self._answer("balances", as_of, lambda: balances_view(
            self._ctx, self.header(as_of), self.model.loans_on(as_of, self.k, self._opened())))

    def availability(self, as_of: date):
        def make():
            header = self.header(as_of)
            eligibility = eligibility_view(self._ctx, header, self.model.items_on(as_of, self.k))
            return availability_view(self._ctx, header, eligibility,
                                     self.model.loans_on(as_of, self.k, self._opened()))
        return self._answer("availability", as_of, make)

    def status(self, as_of: date) -> StatusAnswer:
        def make():
            header = self.header(as_of)
            loans = self.model.loans_on(as_of, self.k, self._opened())
            eligibility = eligibility_view(self._ctx, header, self.model.items_on(as_of, self.k))
            return StatusAnswer(header, liens_view(self._ctx, header), eligibility,
                                balances_view(self._ctx, header, loans), defaults_view(self._ctx, header, self.breaches),
                                availability_view(self._ctx, header, eligibility, loans))
        return self._answer("status", as_of, make)

    def defaults(self, as_of: date):
        return self._answer("defaults", as_of, lambda: defaults_view(self._ctx, self.header(as_of), self.breaches))
