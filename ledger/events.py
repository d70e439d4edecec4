"""The event vocabulary: every fact the ledger records, as frozen attrs classes.

Each field carries its JSON name, its kind (how the reader parses it) and, for
ids, the namespace it declares or refers to. That one table serves the reader
(`ledger.reader`), the writer (`ledger.codec`) and the reference checks, so a
field is named in exactly one place.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import ClassVar

import attrs

from ledger.values import (
    CollateralKind,
    FacilityKind,
    LienKind,
    NoticeCategory,
    NoticeSubject,
    PaymentOrder,
    Role,
)

# Namespaces of the ids events declare and refer to.
PARTY, LOCATION, AGREEMENT, FACILITY, COLLATERAL, LIEN, CONSENT, NOTICE, EVENT = (
    "party", "location", "agreement", "facility", "collateral", "lien", "consent", "notice", "event",
)


def fld(kind: str, *, json: str | None = None, ref: str | None = None, declares: str | None = None,
        optional: bool = False, enum=None, default=attrs.NOTHING):
    """A field with its reader metadata. `optional` fields default to None (or `default`)."""
    meta = {"kind": kind, "json": json, "ref": ref, "declares": declares, "optional": optional, "enum": enum}
    if optional and default is attrs.NOTHING:
        default = None
    return attrs.field(default=default, metadata=meta, kw_only=True)


@attrs.frozen
class Installment:
    """One scheduled repayment of a term loan's principal."""

    due: date
    amount: Decimal


@attrs.frozen
class Allocation:
    """One step of a proceeds waterfall: a facility and how much of the receipt goes to it."""

    facility: str
    amount: str  # as given: a decimal string, "payoff" or "balance"
    order: PaymentOrder | None = None
    resolved: Decimal | None = None  # fixed when recorded, from the principal known then


@attrs.frozen
class RestrictedCollateral:
    """Items under a lien of `holder` may not leave `locations` without prior notice."""

    rule: str
    holder: str
    locations: tuple[str, ...]
    permitted: tuple[str, ...] | None = None  # where given, the only places a restricted item may go, on notice


@attrs.frozen
class Cap:
    """A ceiling on a financing's outstanding principal, optionally for one borrower."""

    financing: str
    amount: Decimal
    borrower: str | None = None
    clause: str | None = None  # the clause a breach of this cap cites (it wins over clauses["cap"])

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.financing, self.borrower)


@attrs.frozen
class Terms:
    """The deal's rule parameters carried by an agreement; None means the agreement does not set it."""

    lender: str | None = None
    restricted_collateral: tuple[RestrictedCollateral, ...] | None = None
    protected_locations: tuple[str, ...] | None = None
    ineligible_locations: tuple[str, ...] | None = None
    caps: tuple[Cap, ...] | None = None
    representation_financings: tuple[str, ...] | None = None
    self_curing: tuple[str, ...] | None = None
    promptly_days: int | None = None
    grace_days: tuple[tuple[str, int], ...] | None = None
    exempt_notice_categories: tuple[tuple[str, tuple[NoticeCategory, ...]], ...] | None = None
    conditions: tuple[str, ...] | None = None
    advance_rates: tuple[tuple[str, str], ...] | None = None
    borrowing_base_facilities: tuple[str, ...] | None = None
    first_priority_required: tuple[CollateralKind, ...] | None = None
    clauses: tuple[tuple[str, str], ...] | None = None  # {rule id: the clause its findings cite}


@attrs.frozen
class Event:
    """Something that happened or took legal effect on `effective_date`."""

    type_name: ClassVar[str] = ""
    effective_date: date = attrs.field(kw_only=True)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.type_name = cls.__name__


@attrs.frozen
class PartyRegistered(Event):
    """A party to the financing (lender, borrower or guarantor) became known to the ledger."""

    party: str = fld("id", declares=PARTY)
    name: str = fld("text")
    roles: tuple[Role, ...] = fld("enums", enum=Role)


@attrs.frozen
class LocationRegistered(Event):
    """A premises where collateral can be kept became known to the ledger."""

    location: str = fld("id", declares=LOCATION)
    address: str = fld("text")


@attrs.frozen
class AgreementExecuted(Event):
    """An agreement (financing, amendment, subordination, intercreditor) was executed, with its terms."""

    agreement: str = fld("id", declares=AGREEMENT)
    title: str = fld("text")
    parties: tuple[str, ...] = fld("ids", ref=PARTY)
    terms: Terms | None = fld("terms", optional=True)


@attrs.frozen
class ConditionSatisfied(Event):
    """A condition precedent of an agreement was satisfied."""

    agreement: str = fld("id", ref=AGREEMENT)
    condition: str = fld("text")


@attrs.frozen
class ConditionWaived(Event):
    """The lender waived a condition precedent, which then counts as met."""

    agreement: str = fld("id", ref=AGREEMENT)
    condition: str = fld("text")
    by: str = fld("id", ref=PARTY)


@attrs.frozen
class FacilityOpened(Event):
    """A loan facility (revolver or term loan) was opened for a borrower."""

    facility: str = fld("id", declares=FACILITY)
    lender: str = fld("id", ref=PARTY)
    borrower: str = fld("id", ref=PARTY)
    kind: FacilityKind = fld("enum", enum=FacilityKind)
    limit: Decimal | None = fld("amount", optional=True)
    financing: str | None = fld("id", optional=True)
    installments: tuple[Installment, ...] | None = fld("installments", optional=True)


@attrs.frozen
class LoanAdvanced(Event):
    """Principal was advanced under a facility."""

    facility: str = fld("id", ref=FACILITY)
    amount: Decimal = fld("amount")


@attrs.frozen
class PaymentReceived(Event):
    """A repayment of principal was received on a facility."""

    facility: str = fld("id", ref=FACILITY)
    amount: Decimal = fld("amount")
    order: PaymentOrder | None = fld("enum", enum=PaymentOrder, optional=True)


@attrs.frozen
class ProceedsReceived(Event):
    """Money was received from a party and applied down a waterfall of facilities."""

    sender: str = fld("id", json="from", ref=PARTY)
    amount: Decimal = fld("amount")
    allocations: tuple[Allocation, ...] = fld("allocations", json="apply")


@attrs.frozen
class CollateralRegistered(Event):
    """An item of collateral became known: its kind, owner and where it is kept."""

    collateral: str = fld("id", declares=COLLATERAL)
    kind: CollateralKind = fld("enum", enum=CollateralKind)
    owner: str = fld("id", ref=PARTY)
    location: str = fld("id", ref=LOCATION)
    serial: str | None = fld("text", optional=True)
    description: str | None = fld("text", optional=True)
    value: Decimal | None = fld("value", optional=True)


@attrs.frozen
class CollateralValued(Event):
    """An item of collateral was appraised or revalued."""

    collateral: str = fld("id", ref=COLLATERAL)
    value: Decimal = fld("value")


@attrs.frozen
class CollateralMoved(Event):
    """An item of collateral was moved to another location."""

    collateral: str = fld("id", ref=COLLATERAL)
    to: str = fld("id", ref=LOCATION)


@attrs.frozen
class CollateralDisposed(Event):
    """An item of collateral was sold, scrapped or otherwise left the borrower's hands."""

    collateral: str = fld("id", ref=COLLATERAL)


@attrs.frozen
class LienGranted(Event):
    """A grantor gave a holder a security interest or mortgage on items of collateral."""

    lien: str = fld("id", declares=LIEN)
    grantor: str = fld("id", ref=PARTY)
    holder: str = fld("id", ref=PARTY)
    collateral: tuple[str, ...] = fld("ids", ref=COLLATERAL)
    kind: LienKind = fld("enum", enum=LienKind)
    secures: tuple[str, ...] | None = fld("ids", ref=FACILITY, optional=True)
    perfected_on: date | None = fld("date", optional=True)


@attrs.frozen
class LienReleased(Event):
    """A lien was released."""

    lien: str = fld("id", ref=LIEN)


@attrs.frozen
class PriorityAgreed(Event):
    """By a subordination or intercreditor agreement, one lien ranks above another."""

    senior: str = fld("id", ref=LIEN)
    junior: str = fld("id", ref=LIEN)
    agreement: str = fld("id", ref=AGREEMENT)


@attrs.frozen
class ConsentGranted(Event):
    """A party (the lender) consented to liens, possibly under an agreement and retroactively."""

    consent: str = fld("id", declares=CONSENT)
    by: str = fld("id", ref=PARTY)
    liens: tuple[str, ...] = fld("ids", ref=LIEN)
    agreement: str | None = fld("id", ref=AGREEMENT, optional=True)


@attrs.frozen
class NoticeSent(Event):
    """A notice was sent: of a collateral move (to the lender) or on a financing (to another lender)."""

    notice: str = fld("id", declares=NOTICE)
    sender: str = fld("id", json="from", ref=PARTY)
    to: str = fld("id", ref=PARTY)
    subject: NoticeSubject = fld("enum", enum=NoticeSubject)
    collateral: tuple[str, ...] | None = fld("ids", ref=COLLATERAL, optional=True)
    serials: tuple[str, ...] | None = fld("texts", optional=True)
    financing: str | None = fld("id", optional=True)
    category: NoticeCategory | None = fld("enum", enum=NoticeCategory, optional=True)


@attrs.frozen
class NoticeReceived(Event):
    """The borrower received a notice or demand concerning a financing."""

    notice: str = fld("id", declares=NOTICE)
    sender: str = fld("id", json="from", ref=PARTY)
    to: str = fld("id", ref=PARTY)
    financing: str = fld("id")
    category: NoticeCategory = fld("enum", enum=NoticeCategory)


@attrs.frozen
class NoticeForwarded(Event):
    """The borrower furnished a notice to the lender."""

    notice: str = fld("id", ref=NOTICE)
    to: str = fld("id", ref=PARTY)


@attrs.frozen
class DefaultWaived(Event):
    """The lender waived a breach."""

    breach: str = fld("breach")
    by: str = fld("id", ref=PARTY)


@attrs.frozen
class DefaultCured(Event):
    """A breach was cured."""

    breach: str = fld("breach")


@attrs.frozen
class EventVoided(Event):
    """A correction: an earlier event stops counting from this event's recorded time on."""

    event: str = fld("id", ref=EVENT)
    reason: str = fld("text")


EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in (
        PartyRegistered, LocationRegistered, AgreementExecuted, ConditionSatisfied, ConditionWaived,
        FacilityOpened, LoanAdvanced, PaymentReceived, ProceedsReceived, CollateralRegistered,
        CollateralValued, CollateralMoved, CollateralDisposed, LienGranted, LienReleased,
        PriorityAgreed, ConsentGranted, NoticeSent, NoticeReceived, NoticeForwarded,
        DefaultWaived, DefaultCured, EventVoided,
    )
}


@attrs.frozen
class FieldSpec:
    """How one attribute of an event appears in JSON and how the reader checks it."""

    attr: str
    json: str
    kind: str
    ref: str | None
    declares: str | None
    optional: bool
    enum: object


def field_specs(cls: type[Event]) -> tuple[FieldSpec, ...]:
    """The JSON-to-attribute table of an event type (effective_date excluded)."""
    cached = _SPECS.get(cls)
    if cached is None:
        cached = tuple(
            FieldSpec(a.name, a.metadata["json"] or a.name, a.metadata["kind"], a.metadata["ref"],
                      a.metadata["declares"], a.metadata["optional"], a.metadata["enum"])
            for a in attrs.fields(cls)
            if a.name != "effective_date"
        )
        _SPECS[cls] = cached
    return cached


_SPECS: dict[type, tuple[FieldSpec, ...]] = {}


@attrs.frozen
class Recorded:
    """An event as the log holds it: its position, id, recorded time, actor and chain hash."""

    position: int
    event_id: str
    recorded_at: "datetime"
    actor: str
    event: Event
    chain: str = ""

    @property
    def effective_date(self) -> date:
        return self.event.effective_date

    @property
    def type_name(self) -> str:
        return self.event.type_name


from datetime import datetime  # noqa: E402  (used in the annotation above)
