"""Answers "as of D, as known at K" from the events recorded at or before K (the pure reference fold)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Sequence

from ledger.events import Recorded
from projections.context import Context
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

    @property
    def breaches(self):
        if self._breaches is None:
            self._breaches = find_breaches(self.ctx)
        return self._breaches

    def liens(self, as_of: date):
        return liens_view(self.ctx, self.header(as_of))

    def eligibility(self, as_of: date):
        return eligibility_view(self.ctx, self.header(as_of))

    def balances(self, as_of: date):
        return balances_view(self.ctx, self.header(as_of))

    def defaults(self, as_of: date):
        return defaults_view(self.ctx, self.header(as_of), self.breaches)

    def availability(self, as_of: date):
        return availability_view(self.ctx, self.header(as_of))

    def status(self, as_of: date) -> StatusAnswer:
        header = self.header(as_of)
        eligibility = eligibility_view(self.ctx, header)
        return StatusAnswer(header, liens_view(self.ctx, header), eligibility, balances_view(self.ctx, header),
                            defaults_view(self.ctx, header, self.breaches),
                            availability_view(self.ctx, header, eligibility))

    def view(self, name: str, as_of: date):
        return getattr(self, name)(as_of)


class ReadModelSnapshot(Snapshot):
    """The same answers as `Snapshot`, from the materialised read models instead of a full fold.

    Liens and terms come from the few events that carry them (agreements,
    liens, consents, ...), folded as in `Snapshot`; collateral and loans come
    from the read model's tables as of D and known at position k; breaches
    from `rm_breaches`, kept by the breach engine.
    """

    def __init__(self, model, k: int, known_at: datetime):
        self.known_at = known_at
        self.model = model
        self.k = k
        from projections.readmodel import TERMS_TYPES

        self.ctx = model.terms_context(k)
        self._breaches = None

    @property
    def breaches(self):
        if self._breaches is None:
            self._breaches = self.model.breaches_at(self.k)
        return self._breaches

    def _opened(self):
        return {name: rec.event for name, rec in self.ctx.facilities.items()}

    def eligibility(self, as_of: date):
        return eligibility_view(self.ctx, self.header(as_of), self.model.items_on(as_of, self.k))

    def balances(self, as_of: date):
        return balances_view(self.ctx, self.header(as_of), self.model.loans_on(as_of, self.k, self._opened()))

    def availability(self, as_of: date):
        header = self.header(as_of)
        eligibility = eligibility_view(self.ctx, header, self.model.items_on(as_of, self.k))
        return availability_view(self.ctx, header, eligibility, self.model.loans_on(as_of, self.k, self._opened()))

    def status(self, as_of: date) -> StatusAnswer:
        header = self.header(as_of)
        loans = self.model.loans_on(as_of, self.k, self._opened())
        eligibility = eligibility_view(self.ctx, header, self.model.items_on(as_of, self.k))
        return StatusAnswer(header, liens_view(self.ctx, header), eligibility, balances_view(self.ctx, header, loans),
                            defaults_view(self.ctx, header, self.breaches),
                            availability_view(self.ctx, header, eligibility, loans))

    def defaults(self, as_of: date):
        return defaults_view(self.ctx, self.header(as_of), self.breaches)
