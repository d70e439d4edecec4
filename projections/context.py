"""What the known events say independently of the query date: voids, agreements, terms, registries.

Everything here is a pure function of the events known at K (a prefix of the
log). The views then read this context at the effective date D.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import Iterable, Sequence

import attrs

from ledger.events import (
    AgreementExecuted,
    Cap,
    CollateralRegistered,
    ConditionSatisfied,
    ConditionWaived,
    EventVoided,
    FacilityOpened,
    PartyRegistered,
    Recorded,
    RestrictedCollateral,
    Terms,
)
from ledger.values import CollateralKind, NoticeCategory, Role


def voided_ids(events: Sequence[Recorded]) -> set[str]:
    """Ids of events voided by a void that is not itself voided (a voided void restores its target)."""
    voided: set[str] = set()
    for rec in reversed(events):  # a void can only name an earlier event
        if isinstance(rec.event, EventVoided) and rec.event_id not in voided:
            voided.add(rec.event.event)
    return voided


def live_events(events: Sequence[Recorded]) -> list[Recorded]:
    """The known events minus the voided ones, in log order."""
    voided = voided_ids(events)
    if not voided:
        return [r for r in events if not isinstance(r.event, EventVoided)]
    return [r for r in events if r.event_id not in voided and not isinstance(r.event, EventVoided)]


def fold_key(rec: Recorded) -> tuple[date, int]:
    return (rec.event.effective_date, rec.position)


@attrs.frozen
class MergedTerms:
    """The terms in force on a date: every effective agreement's terms merged, the later controlling."""

    lender: str | None = None
    restricted_collateral: dict[str, RestrictedCollateral] = attrs.Factory(dict)
    protected_locations: frozenset[str] = frozenset()
    ineligible_locations: frozenset[str] = frozenset()
    caps: dict[tuple[str, str | None], Cap] = attrs.Factory(dict)
    representation_financings: frozenset[str] = frozenset()
    self_curing: frozenset[str] = frozenset()
    promptly_days: int | None = None
    grace_days: dict[str, int] = attrs.Factory(dict)
    exempt_notice_categories: dict[str, frozenset[NoticeCategory]] = attrs.Factory(dict)
    advance_rates: dict[str, str] = attrs.Factory(dict)
    borrowing_base_facilities: tuple[str, ...] = ()
    first_priority_required: frozenset[CollateralKind] = frozenset()
    clauses: dict[str, str] = attrs.Factory(dict)
    sources: tuple[str, ...] = ()  # the agreements merged, in order

    def grace(self, rule: str) -> int:
        return self.grace_days.get(rule, 0)

    def clause(self, rule: str) -> str | None:
        """The clause these terms give the rule's findings (DEALS.md section 1), else None: nothing is built in."""
        return self.clauses.get(rule)


def merge_terms(current: MergedTerms, terms: Terms, agreement: str) -> MergedTerms:
    """Lay a later agreement's terms over the current ones (CONTRACT.md: which keys merge)."""
    changes: dict = {"sources": current.sources + (agreement,)}
    if terms.lender is not None:
        changes["lender"] = terms.lender
    if terms.restricted_collateral is not None:
        changes["restricted_collateral"] = {**current.restricted_collateral,
                                            **{r.rule: r for r in terms.restricted_collateral}}
    if terms.caps is not None:
        changes["caps"] = {**current.caps, **{c.key: c for c in terms.caps}}
    if terms.grace_days is not None:
        changes["grace_days"] = {**current.grace_days, **dict(terms.grace_days)}
    if terms.clauses is not None:
        changes["clauses"] = {**current.clauses, **dict(terms.clauses)}
    if terms.advance_rates is not None:
        changes["advance_rates"] = {**current.advance_rates, **dict(terms.advance_rates)}
    if terms.exempt_notice_categories is not None:
        changes["exempt_notice_categories"] = {
            **current.exempt_notice_categories,
            **{fin: frozenset(cats) for fin, cats in terms.exempt_notice_categories},
        }
    for key in ("protected_locations", "ineligible_locations", "representation_financings",
                "self_curing", "first_priority_required"):
        value = getattr(terms, key)
        if value is not None:
            changes[key] = frozenset(value)
    if terms.promptly_days is not None:
        changes["promptly_days"] = terms.promptly_days
    if terms.borrowing_base_facilities is not None:
        changes["borrowing_base_facilities"] = tuple(terms.borrowing_base_facilities)
    return attrs.evolve(current, **changes)


@attrs.frozen
class AgreementState:
    """An agreement as known at K: when it took effect (None: not yet, some condition unmet)."""

    record: Recorded
    effective: date | None
    unmet: tuple[str, ...]
    met: tuple[tuple[str, str], ...]  # (condition, event id that met it)

    @property
    def agreement(self) -> AgreementExecuted:
        return self.record.event  # type: ignore[return-value]


class Context:
    """The known, unvoided events and what follows from them whatever the query date."""

    def __init__(self, events: Sequence[Recorded]):
        self.known = list(events)
        self.events = live_events(self.known)
        self.folded = sorted(self.events, key=fold_key)
        self.by_id = {r.event_id: r for r in self.events}

    @cached_property
    def lender(self) -> str | None:
        """The `lender` of the first agreement known at K that names one, whatever D."""
        for rec in self.events:
            ev = rec.event
            if isinstance(ev, AgreementExecuted) and ev.terms is not None and ev.terms.lender:
                return ev.terms.lender
        return None

    @cached_property
    def agreements(self) -> dict[str, AgreementState]:
        executed = {r.event.agreement: r for r in self.events if isinstance(r.event, AgreementExecuted)}
        met: dict[str, dict[str, tuple[date, int, str]]] = {}
        for rec in self.events:
            ev = rec.event
            counts = isinstance(ev, ConditionSatisfied) or (
                isinstance(ev, ConditionWaived) and ev.by == self.lender)
            if counts:
                first = met.setdefault(ev.agreement, {})
                key = (ev.effective_date, rec.position, rec.event_id)
                if ev.condition not in first or key < first[ev.condition]:
                    first[ev.condition] = key
        out = {}
        for agreement_id, rec in executed.items():
            ev: AgreementExecuted = rec.event  # type: ignore[assignment]
            conditions = (ev.terms.conditions if ev.terms and ev.terms.conditions else ())
            satisfied = met.get(agreement_id, {})
            unmet = tuple(c for c in conditions if c not in satisfied)
            effective = None
            if not unmet:
                effective = max([ev.effective_date] + [satisfied[c][0] for c in conditions])
            out[agreement_id] = AgreementState(
                rec, effective, unmet, tuple((c, satisfied[c][2]) for c in conditions if c in satisfied))
        return out

    def agreement_effective(self, agreement_id: str | None) -> date | None:
        state = self.agreements.get(agreement_id) if agreement_id else None
        return state.effective if state else None

    @cached_property
    def _terms_timeline(self) -> tuple[list[date], list[MergedTerms]]:
        effective = sorted(
            (state.effective, state.record.position, state)
            for state in self.agreements.values()
            if state.effective is not None and state.agreement.terms is not None
        )
        dates: list[date] = []
        merged: list[MergedTerms] = []
        current = MergedTerms()
        for day, _, state in effective:
            current = merge_terms(current, state.agreement.terms, state.agreement.agreement)
            if dates and dates[-1] == day:
                merged[-1] = current
            else:
                dates.append(day)
                merged.append(current)
        return dates, merged

    def terms_on(self, day: date) -> MergedTerms:
        """The terms in force on `day` (agreements effective on or before it)."""
        dates, merged = self._terms_timeline
        i = bisect_right(dates, day)
        return merged[i - 1] if i else MergedTerms()

    def terms_change_dates(self) -> list[date]:
        return list(self._terms_timeline[0])

    @cached_property
    def parties(self) -> dict[str, PartyRegistered]:
        return {r.event.party: r.event for r in self.events if isinstance(r.event, PartyRegistered)}

    def is_borrower(self, party: str) -> bool:
        reg = self.parties.get(party)
        return reg is not None and Role.BORROWER in reg.roles

    @cached_property
    def facilities(self) -> dict[str, Recorded]:
        return {r.event.facility: r for r in self.events if isinstance(r.event, FacilityOpened)}

    @cached_property
    def collateral(self) -> dict[str, Recorded]:
        out: dict[str, Recorded] = {}
        for rec in self.folded:
            if isinstance(rec.event, CollateralRegistered) and rec.event.collateral not in out:
                out[rec.event.collateral] = rec
        return out


def items_of(values: Iterable) -> tuple:
    return tuple(sorted(values))


ZERO = Decimal("0.00")
