"""Typed answers to the four questions (and availability), each with `to_json()` in the contract's shape."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import attrs

from ledger.values import iso_time, money


def _d(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _m(value: Decimal | None) -> str | None:
    return money(value) if value is not None else None


@attrs.frozen
class Header:
    as_of: date
    known_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "known_at": iso_time(self.known_at)}


# ---------------------------------------------------------------- liens

@attrs.frozen
class LienView:
    lien: str
    holder: str
    grantor: str
    kind: str
    collateral: tuple[str, ...]
    secures: tuple[str, ...]
    consent: str  # lender, consented, unconsented
    consent_effective: date | None
    events: tuple[str, ...] = ()  # the grant and the consent behind the answer

    def to_json(self) -> dict[str, Any]:
        return {"lien": self.lien, "holder": self.holder, "grantor": self.grantor, "kind": self.kind,
                "collateral": list(self.collateral), "secures": list(self.secures),
                "consent": self.consent, "consent_effective": _d(self.consent_effective)}


@attrs.frozen
class RankedLien:
    lien: str
    holder: str
    rank: int

    def to_json(self) -> dict[str, Any]:
        return {"lien": self.lien, "holder": self.holder, "rank": self.rank}


@attrs.frozen
class CollateralLiens:
    collateral: str
    liens: tuple[RankedLien, ...]

    def to_json(self) -> dict[str, Any]:
        return {"collateral": self.collateral, "liens": [l.to_json() for l in self.liens]}


@attrs.frozen
class LiensAnswer:
    header: Header
    liens: tuple[LienView, ...]
    by_collateral: tuple[CollateralLiens, ...]

    def to_json(self) -> dict[str, Any]:
        return {**self.header.to_json(), "liens": [l.to_json() for l in self.liens],
                "by_collateral": [c.to_json() for c in self.by_collateral]}


# ---------------------------------------------------------------- eligibility

@attrs.frozen
class Reason:
    rule: str
    clause: str | None  # the clause the terms give the rule (`clauses`), else None
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule, "clause": self.clause, "detail": self.detail}


@attrs.frozen
class ItemEligibility:
    collateral: str
    kind: str
    location: str
    eligible: bool
    reasons: tuple[Reason, ...]
    value: Decimal = Decimal("0.00")

    def to_json(self) -> dict[str, Any]:
        return {"collateral": self.collateral, "kind": self.kind, "location": self.location,
                "eligible": self.eligible, "reasons": [r.to_json() for r in self.reasons]}


@attrs.frozen
class EligibilityAnswer:
    header: Header
    collateral: tuple[ItemEligibility, ...]

    def to_json(self) -> dict[str, Any]:
        return {**self.header.to_json(), "collateral": [c.to_json() for c in self.collateral]}


# ---------------------------------------------------------------- balances

@attrs.frozen
class InstallmentView:
    due: date
    amount: Decimal

    def to_json(self) -> dict[str, Any]:
        return {"due": self.due.isoformat(), "amount": money(self.amount)}


@attrs.frozen
class FacilityBalance:
    facility: str
    lender: str
    borrower: str
    financing: str | None
    principal: Decimal
    limit: Decimal | None
    installments: tuple[InstallmentView, ...]

    def to_json(self) -> dict[str, Any]:
        return {"facility": self.facility, "lender": self.lender, "borrower": self.borrower,
                "financing": self.financing, "principal": money(self.principal), "limit": _m(self.limit),
                "installments": [i.to_json() for i in self.installments]}


@attrs.frozen
class CapView:
    financing: str
    borrower: str | None
    cap: Decimal
    principal: Decimal

    @property
    def headroom(self) -> Decimal:
        return self.cap - self.principal

    def to_json(self) -> dict[str, Any]:
        return {"financing": self.financing, "borrower": self.borrower, "cap": money(self.cap),
                "principal": money(self.principal), "headroom": money(self.headroom)}


@attrs.frozen
class BalancesAnswer:
    header: Header
    facilities: tuple[FacilityBalance, ...]
    caps: tuple[CapView, ...]

    def to_json(self) -> dict[str, Any]:
        return {**self.header.to_json(), "facilities": [f.to_json() for f in self.facilities],
                "caps": [c.to_json() for c in self.caps]}


# ---------------------------------------------------------------- defaults

@attrs.frozen
class BreachView:
    breach: str
    rule: str
    clause: str | None  # the clause the terms give the rule (a cap's own first), else None
    since: date
    event_of_default_from: date | None  # None: the grace runs past 9999-12-31, so never
    state: str  # default, event-of-default, cured, waived
    events: tuple[str, ...]
    detail: str
    ended_on: date | None = None  # the day a cure, waiver or self-cure ended it, if on or before the query date
    ended_by: str | None = None  # the event that ended it (None for a self-cure no event made, or not ended)

    def to_json(self) -> dict[str, Any]:
        return {"breach": self.breach, "rule": self.rule, "clause": self.clause,
                "since": self.since.isoformat(), "event_of_default_from": _d(self.event_of_default_from),
                "state": self.state, "events": list(self.events), "detail": self.detail,
                "ended_on": _d(self.ended_on), "ended_by": self.ended_by}


@attrs.frozen
class DefaultsAnswer:
    header: Header
    status: str
    breaches: tuple[BreachView, ...]

    def to_json(self) -> dict[str, Any]:
        return {**self.header.to_json(), "status": self.status, "breaches": [b.to_json() for b in self.breaches]}


# ---------------------------------------------------------------- availability

@attrs.frozen
class AvailabilityClass:
    kind: str
    gross: Decimal
    ineligible: Decimal
    advance_rate: str
    availability: Decimal
    ineligible_by_rule: tuple[tuple[str, Decimal], ...] = ()

    @property
    def eligible(self) -> Decimal:
        return self.gross - self.ineligible

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "gross": money(self.gross), "ineligible": money(self.ineligible),
                "eligible": money(self.eligible), "advance_rate": self.advance_rate,
                "availability": money(self.availability),
                "ineligible_by_rule": {rule: money(v) for rule, v in self.ineligible_by_rule}}


@attrs.frozen
class AvailabilityAnswer:
    header: Header
    classes: tuple[AvailabilityClass, ...]
    principal: Decimal
    facilities: tuple[str, ...] = ()

    @property
    def availability(self) -> Decimal:
        return sum((c.availability for c in self.classes), Decimal("0.00"))

    @property
    def excess(self) -> Decimal:
        return self.availability - self.principal

    def to_json(self) -> dict[str, Any]:
        return {**self.header.to_json(), "classes": [c.to_json() for c in self.classes],
                "availability": money(self.availability), "principal": money(self.principal),
                "excess": money(self.excess)}


@attrs.frozen
class StatusAnswer:
    header: Header
    liens: LiensAnswer
    eligibility: EligibilityAnswer
    balances: BalancesAnswer
    defaults: DefaultsAnswer
    availability: AvailabilityAnswer

    def to_json(self) -> dict[str, Any]:
        strip = lambda d: {k: v for k, v in d.items() if k not in ("as_of", "known_at")}  # noqa: E731
        return {**self.header.to_json(),
                "liens": strip(self.liens.to_json()),
                "eligibility": strip(self.eligibility.to_json()),
                "balances": strip(self.balances.to_json()),
                "defaults": strip(self.defaults.to_json()),
                "availability": strip(self.availability.to_json())}
