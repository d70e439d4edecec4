"""Pure folds of the known events up to an effective date: collateral, liens, loans.

`apply(state, event) -> state` style: each fold walks events in (effective date,
log position) order and stops after the date asked for.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Iterable

import attrs

from ledger.events import (
    Allocation,
    CollateralDisposed,
    CollateralMoved,
    CollateralRegistered,
    CollateralValued,
    FacilityOpened,
    Installment,
    LienGranted,
    LienReleased,
    LoanAdvanced,
    PaymentReceived,
    ProceedsReceived,
    Recorded,
)
from ledger.values import CollateralKind, PaymentOrder

ZERO = Decimal("0.00")


# ---------------------------------------------------------------- collateral

@attrs.define
class Item:
    """One item of collateral as of a date."""

    collateral: str
    kind: CollateralKind
    owner: str
    location: str
    serial: str | None
    value: Decimal
    registered_by: str
    disposed: bool = False
    moved_by: list[str] = attrs.Factory(list)


def apply_collateral(items: dict[str, Item], rec: Recorded) -> None:
    ev = rec.event
    if isinstance(ev, CollateralRegistered):
        if ev.collateral not in items:
            items[ev.collateral] = Item(ev.collateral, ev.kind, ev.owner, ev.location, ev.serial,
                                        ev.value if ev.value is not None else ZERO, rec.event_id)
        return
    item = items.get(getattr(ev, "collateral", None)) if not isinstance(ev, LienGranted) else None
    if item is None:
        return
    if isinstance(ev, CollateralValued):
        item.value = ev.value
    elif isinstance(ev, CollateralMoved):
        item.location = ev.to
        item.moved_by.append(rec.event_id)
    elif isinstance(ev, CollateralDisposed):
        item.disposed = True


def fold_until(folded: Iterable[Recorded], day: date, apply) -> dict:
    """Apply `apply(state, event)` to the events effective on or before `day` (they come in fold order)."""
    state: dict = {}
    for rec in folded:
        if rec.event.effective_date > day:
            break
        apply(state, rec)
    return state


def collateral_on(folded: Iterable[Recorded], day: date) -> dict[str, Item]:
    return fold_until(folded, day, apply_collateral)


# ---------------------------------------------------------------- liens

@attrs.define
class LienState:
    lien: str
    event: LienGranted
    record: Recorded
    released: bool = False


def apply_lien(liens: dict[str, LienState], rec: Recorded) -> None:
    ev = rec.event
    if isinstance(ev, LienGranted) and ev.lien not in liens:
        liens[ev.lien] = LienState(ev.lien, ev, rec)
    elif isinstance(ev, LienReleased) and ev.lien in liens:
        liens[ev.lien].released = True


def liens_on(folded: Iterable[Recorded], day: date) -> dict[str, LienState]:
    """The liens granted and not released by `day`."""
    return {k: v for k, v in fold_until(folded, day, apply_lien).items() if not v.released}


# ---------------------------------------------------------------- loans

@attrs.define
class Loan:
    """A facility's principal and what remains unpaid of each scheduled installment."""

    facility: str
    opened: FacilityOpened
    principal: Decimal = ZERO
    installments: list[list] = attrs.Factory(list)  # [due, remaining]

    def advance(self, amount: Decimal) -> None:
        self.principal += amount

    def repay(self, amount: Decimal, order: PaymentOrder | None) -> None:
        self.principal -= amount
        if not self.installments:
            return
        schedule = self.installments if order != PaymentOrder.INVERSE_MATURITY else list(reversed(self.installments))
        left = amount
        for inst in schedule:
            if left <= 0:
                break
            take = min(inst[1], left)
            inst[1] -= take
            left -= take


def new_loan(ev: FacilityOpened) -> Loan:
    return Loan(ev.facility, ev, installments=[[i.due, i.amount] for i in (ev.installments or ())])


def apply_loan(loans: dict[str, Loan], rec: Recorded) -> None:
    ev = rec.event
    if isinstance(ev, FacilityOpened):
        loans.setdefault(ev.facility, new_loan(ev))
    elif isinstance(ev, LoanAdvanced):
        if ev.facility in loans:
            loans[ev.facility].advance(ev.amount)
    elif isinstance(ev, PaymentReceived):
        if ev.facility in loans:
            loans[ev.facility].repay(ev.amount, ev.order)
    elif isinstance(ev, ProceedsReceived):
        for step in ev.allocations:
            if step.facility in loans and step.resolved:
                loans[step.facility].repay(step.resolved, step.order)


def loans_on(folded: Iterable[Recorded], day: date) -> dict[str, Loan]:
    return fold_until(folded, day, apply_loan)


LOAN_TYPES = ("FacilityOpened", "LoanAdvanced", "PaymentReceived", "ProceedsReceived", "EventVoided")


def remaining_installments(loan: Loan) -> tuple[Installment, ...]:
    return tuple(Installment(due, amount) for due, amount in loan.installments)


__all__ = ["Allocation", "Item", "Loan", "LienState", "collateral_on", "liens_on", "loans_on",
           "apply_loan", "apply_collateral", "LOAN_TYPES"]
