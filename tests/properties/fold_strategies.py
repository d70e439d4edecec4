"""Hypothesis strategies for the bitemporal properties: one small, valid deal recorded over time.

`deals()` draws a deal as the contract's JSON event dicts, in log order, each
with an explicit `id` and a `recorded_at` that never goes backwards (ties
included, so "known at K" is tested as inclusive). Effective dates are drawn
around the recording day and often run backwards (a fact learned late), but
never before the effective date of what the event names: an advance is not
effective before its facility, a move not before its item's registration.

The deal is the Lexington/Congress shape in miniature: the lender `congress`
(named as `lender` in the only agreement's terms), the borrower `lpc`, the
other lender `cit`, two or three locations, a revolver under the borrowing
base and a CIT loan under a cap, then a random run of collateral, liens,
consents, moves with and without notices, financing notices forwarded or not,
advances, payments (never more than the principal on their date, nor on any
later date) and voids. A void only names an event whose absence leaves every
later event valid (a valuation, a move, a forward, a consent, or an advance on
a facility with no payment at all), so "the deal without the target and its
void" is itself a valid deal, as the void property needs.

The helpers at the bottom (`knowledge_times`, `query_dates`) draw the (D, K)
points a property asks at.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from hypothesis import strategies as st

from ledger.rules import BUILT_IN_RULE_IDS

UTC = dt.timezone.utc

LENDER, BORROWER, OTHER_LENDER = "congress", "lpc", "cit"
AGREEMENT = "amendment"
REVOLVER, CIT_LOAN = "rev", "cit-loan"
CIT = "cit"  # the financing the CIT loan belongs to, and the caps and notices name

FIRST_RECORDED = dt.datetime(1996, 1, 2, 9, 0, tzinfo=UTC)
SETUP_DAY = dt.date(1995, 12, 1)

COLLATERAL_KINDS = ("equipment", "inventory", "accounts")
NOTICE_CATEGORIES = ("material", "future-advance", "interest-rate", "interest-period")
CONDITIONS = ("6(a)", "6(b)", "6(c)")
GRACE_RULES = ("cit-location", "protected-location-out", "protected-location-in", "furnish-notices", "cap",
               "no-default-at-advance")
SELF_CURING_RULES = ("cap", "furnish-notices", "cit-location")

#: The event types a void may name (see the module docstring); advances only on an unpaid facility.
VOIDABLE_TYPES = frozenset({"CollateralValued", "CollateralMoved", "LoanAdvanced", "NoticeForwarded",
                            "ConsentGranted"})

# Gaps between recorded times, in seconds: ties, minutes, hours, days.
_GAPS = (0, 0, 60, 3 * 3600, 86400, 3 * 86400, 9 * 86400)


def iso_time(moment: dt.datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def recorded_time(event: dict) -> dt.datetime:
    return dt.datetime.fromisoformat(event["recorded_at"])


def effective_day(event: dict) -> dt.date:
    return dt.date.fromisoformat(event["effective_date"])


def dollars(thousands: int) -> str:
    return f"{thousands * 1000}.00"


@dataclass
class _Item:
    kind: str
    serial: str | None
    registered: dt.date
    location: str  # where the latest recorded move put it (moves pick another place)
    held: bool = True


@dataclass
class _Deal:
    """What has been drawn so far: enough to keep every next event valid."""

    clock: dt.datetime = FIRST_RECORDED
    events: list[dict] = field(default_factory=list)
    declared: dict[str, dt.date] = field(default_factory=dict)  # any declared name -> its effective date
    locations: list[str] = field(default_factory=list)
    collateral: dict[str, _Item] = field(default_factory=dict)
    liens: dict[str, str] = field(default_factory=dict)  # active lien -> holder
    loans: list[tuple[str, dt.date, int, str]] = field(default_factory=list)  # live (facility, eff, cents±, id)
    paid: set[str] = field(default_factory=set)  # facilities with any payment recorded
    to_forward: list[str] = field(default_factory=list)
    voidable: list[str] = field(default_factory=list)
    voided: set[str] = field(default_factory=set)
    pending_conditions: list[str] = field(default_factory=list)
    agreement_recorded: bool = False
    counter: int = 0

    def name(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter}"

    def held(self) -> list[str]:
        return sorted(c for c, item in self.collateral.items() if item.held)

    def by_id(self, event_id: str) -> dict:
        return next(e for e in self.events if e["id"] == event_id)

    def principal(self, facility: str, day: dt.date) -> int:
        return sum(cents for f, eff, cents, _ in self.loans if f == facility and eff <= day)

    def room(self, facility: str, day: dt.date) -> int:
        """The most a payment effective on `day` may be: principal never goes negative on any later date."""
        days = {day} | {eff for f, eff, _, _ in self.loans if f == facility and eff > day}
        return min(self.principal(facility, d) for d in days)


def _when(draw, deal: _Deal, floor: dt.date = SETUP_DAY) -> tuple[str, dt.date]:
    """Advance the recording clock; draw an effective date near it, often earlier, never before `floor`."""
    deal.clock += dt.timedelta(seconds=draw(st.sampled_from(_GAPS)))
    offset = draw(st.one_of(st.just(0), st.integers(-20, -1), st.integers(1, 3)))
    return iso_time(deal.clock), max(floor, deal.clock.date() + dt.timedelta(days=offset))


def _emit(deal: _Deal, kind: str, recorded_at: str, eff: dt.date, body: dict) -> dict:
    event = {"type": kind, "id": f"ev-{len(deal.events) + 1:03d}", "effective_date": eff.isoformat(),
             "recorded_at": recorded_at, **body}
    deal.events.append(event)
    for key in ("party", "location", "facility", "collateral", "lien", "consent", "notice", "agreement"):
        if key in body and isinstance(body[key], str) and kind not in _REFERRING.get(key, ()):
            deal.declared.setdefault(body[key], eff)
    if kind in VOIDABLE_TYPES:
        deal.voidable.append(event["id"])
    return event


# Types whose field of that name refers to (does not declare) an id.
_REFERRING = {
    "collateral": ("CollateralValued", "CollateralMoved", "CollateralDisposed"),
    "facility": ("LoanAdvanced", "PaymentReceived"),
    "notice": ("NoticeForwarded",),
    "agreement": ("ConditionSatisfied", "ConditionWaived", "ConsentGranted"),
}


def _setup(draw, deal: _Deal) -> None:
    """Parties, locations, the two facilities and one item: what every later event can name."""

    def setup_when():
        recorded_at, _ = _when(draw, deal)
        return recorded_at, SETUP_DAY + dt.timedelta(days=draw(st.integers(0, 10)))

    for party, name, roles in ((LENDER, "Congress Financial Corporation", ["lender"]),
                               (BORROWER, "Lexington Precision Corporation", ["borrower"]),
                               (OTHER_LENDER, "The CIT Group/Equipment Financing, Inc.", ["lender"])):
        _emit(deal, "PartyRegistered", *setup_when(), {"party": party, "name": name, "roles": roles})
    for i in range(draw(st.integers(2, 3))):
        location = f"loc-{'abc'[i]}"
        deal.locations.append(location)
        _emit(deal, "LocationRegistered", *setup_when(), {"location": location, "address": f"{i + 1} Plant Road"})
    revolver = {"facility": REVOLVER, "lender": LENDER, "borrower": BORROWER, "kind": "revolving"}
    if draw(st.booleans()):
        revolver["limit"] = dollars(draw(st.integers(50, 200)))
    _emit(deal, "FacilityOpened", *setup_when(), revolver)
    cit_loan = {"facility": CIT_LOAN, "lender": OTHER_LENDER, "borrower": BORROWER, "financing": CIT}
    if draw(st.booleans()):
        cit_loan["kind"] = "term"
        cit_loan["installments"] = [{"due": f"1997-0{m}-28", "amount": dollars(draw(st.integers(1, 20)))}
                                    for m in range(1, draw(st.integers(1, 3)) + 1)]
    else:
        cit_loan["kind"] = "revolving"
    _emit(deal, "FacilityOpened", *setup_when(), cit_loan)
    _register(draw, deal)


# ---------------------------------------------------------------- one step each


def _register(draw, deal: _Deal) -> None:
    collateral = deal.name("item")
    kind = draw(st.sampled_from(COLLATERAL_KINDS))
    body = {"collateral": collateral, "kind": kind, "owner": BORROWER,
            "location": draw(st.sampled_from(deal.locations))}
    serial = f"SN-{deal.counter:04d}" if kind == "equipment" and draw(st.booleans()) else None
    if serial:
        body["serial"] = serial
    if draw(st.integers(0, 4)):
        body["value"] = dollars(draw(st.integers(0, 300)))
    recorded_at, eff = _when(draw, deal)
    _emit(deal, "CollateralRegistered", recorded_at, eff, body)
    deal.collateral[collateral] = _Item(kind, serial, eff, body["location"])


def _valued(draw, deal: _Deal) -> None:
    collateral = draw(st.sampled_from(deal.held()))
    recorded_at, eff = _when(draw, deal, deal.collateral[collateral].registered)
    _emit(deal, "CollateralValued", recorded_at, eff,
          {"collateral": collateral, "value": dollars(draw(st.integers(0, 300)))})


def _moved(draw, deal: _Deal) -> None:
    collateral = draw(st.sampled_from(deal.held()))
    item = deal.collateral[collateral]
    recorded_at, eff = _when(draw, deal, item.registered)
    item.location = draw(st.sampled_from([place for place in deal.locations if place != item.location]))
    _emit(deal, "CollateralMoved", recorded_at, eff, {"collateral": collateral, "to": item.location})


def _disposed(draw, deal: _Deal) -> None:
    collateral = draw(st.sampled_from(deal.held()))
    recorded_at, eff = _when(draw, deal, deal.collateral[collateral].registered)
    _emit(deal, "CollateralDisposed", recorded_at, eff, {"collateral": collateral})
    deal.collateral[collateral].held = False


def _lien(draw, deal: _Deal) -> None:
    lien = deal.name("lien")
    holder = draw(st.sampled_from((LENDER, OTHER_LENDER, OTHER_LENDER)))
    items = draw(st.lists(st.sampled_from(deal.held()), min_size=1, max_size=3, unique=True))
    body = {"lien": lien, "grantor": BORROWER, "holder": holder, "collateral": items,
            "kind": "security-interest"}
    if draw(st.booleans()):
        body["secures"] = [REVOLVER if holder == LENDER else CIT_LOAN]
    recorded_at, eff = _when(draw, deal)
    if draw(st.booleans()):
        body["perfected_on"] = (eff + dt.timedelta(days=draw(st.integers(-5, 5)))).isoformat()
    _emit(deal, "LienGranted", recorded_at, eff, body)
    deal.liens[lien] = holder


def _released(draw, deal: _Deal) -> None:
    lien = draw(st.sampled_from(sorted(deal.liens)))
    recorded_at, eff = _when(draw, deal, deal.declared[lien])
    _emit(deal, "LienReleased", recorded_at, eff, {"lien": lien})
    del deal.liens[lien]


def _consent(draw, deal: _Deal) -> None:
    others = sorted(lien for lien, holder in deal.liens.items() if holder != LENDER) or sorted(deal.liens)
    body = {"consent": deal.name("consent"), "by": LENDER,
            "liens": draw(st.lists(st.sampled_from(others), min_size=1, max_size=2, unique=True))}
    if deal.agreement_recorded and draw(st.booleans()):
        body["agreement"] = AGREEMENT
    _emit(deal, "ConsentGranted", *_when(draw, deal), body)


def _move_notice(draw, deal: _Deal) -> None:
    collateral = draw(st.sampled_from(deal.held()))
    item = deal.collateral[collateral]
    body = {"notice": deal.name("notice"), "from": BORROWER, "to": LENDER, "subject": "collateral-move"}
    if item.serial and draw(st.booleans()):
        body["serials"] = [item.serial]
    else:
        body["collateral"] = [collateral]
    _emit(deal, "NoticeSent", *_when(draw, deal), body)


def _notice_received(draw, deal: _Deal) -> None:
    notice = deal.name("notice")
    _emit(deal, "NoticeReceived", *_when(draw, deal),
          {"notice": notice, "from": OTHER_LENDER, "to": BORROWER, "financing": CIT,
           "category": draw(st.sampled_from(NOTICE_CATEGORIES))})
    deal.to_forward.append(notice)


def _financing_notice_sent(draw, deal: _Deal) -> None:
    notice = deal.name("notice")
    _emit(deal, "NoticeSent", *_when(draw, deal),
          {"notice": notice, "from": BORROWER, "to": OTHER_LENDER, "subject": "financing", "financing": CIT,
           "category": draw(st.sampled_from(NOTICE_CATEGORIES))})
    deal.to_forward.append(notice)


def _forwarded(draw, deal: _Deal) -> None:
    notice = draw(st.sampled_from(deal.to_forward))
    deal.to_forward.remove(notice)
    _emit(deal, "NoticeForwarded", *_when(draw, deal, deal.declared[notice]), {"notice": notice, "to": LENDER})


def _advance(draw, deal: _Deal, facility: str | None = None) -> None:
    facility = facility or draw(st.sampled_from((REVOLVER, CIT_LOAN)))
    thousands = draw(st.integers(1, 60))
    recorded_at, eff = _when(draw, deal, deal.declared[facility])
    event = _emit(deal, "LoanAdvanced", recorded_at, eff, {"facility": facility, "amount": dollars(thousands)})
    deal.loans.append((facility, eff, thousands * 100_000, event["id"]))


def _owing(deal: _Deal) -> list[str]:
    return sorted({f for f, _, _, _ in deal.loans if deal.principal(f, dt.date.max) > 0})


def _payment(draw, deal: _Deal) -> None:
    facility = draw(st.sampled_from(_owing(deal)))
    recorded_at, eff = _when(draw, deal, deal.declared[facility])
    room = deal.room(facility, eff) // 100_000  # in thousands of dollars
    if room < 1:  # nothing owed on that date or later: lend instead, at the same moment
        event = _emit(deal, "LoanAdvanced", recorded_at, eff, {"facility": facility, "amount": dollars(10)})
        deal.loans.append((facility, eff, 10 * 100_000, event["id"]))
        return
    thousands = draw(st.integers(1, room))
    body = {"facility": facility, "amount": dollars(thousands)}
    if draw(st.integers(0, 3)) == 0:
        body["order"] = "inverse-maturity"
    event = _emit(deal, "PaymentReceived", recorded_at, eff, body)
    deal.loans.append((facility, eff, -thousands * 100_000, event["id"]))
    deal.paid.add(facility)


def _agreement(draw, deal: _Deal) -> None:
    locations = deal.locations
    subset = lambda min_size=0: draw(st.lists(st.sampled_from(locations), min_size=min_size,  # noqa: E731
                                              max_size=len(locations), unique=True))
    terms: dict = {
        "lender": LENDER,
        "restricted_collateral": [{"rule": "cit-location", "holder": OTHER_LENDER, "locations": subset(1)}],
        "protected_locations": subset(),
        "ineligible_locations": subset(),
        "caps": [{"financing": CIT, "amount": dollars(draw(st.integers(10, 80)))}],
        "representation_financings": [CIT],
        "advance_rates": {"equipment": "0.70", "inventory": "0.50",
                          **({"accounts": "0.85"} if draw(st.booleans()) else {})},
        "borrowing_base_facilities": [REVOLVER],
    }
    if draw(st.booleans()):
        terms["restricted_collateral"].append(
            {"rule": "protected-location-out", "holder": LENDER, "locations": subset(1)})
    if draw(st.booleans()):
        terms["caps"].append({"financing": CIT, "borrower": BORROWER, "amount": dollars(draw(st.integers(10, 100)))})
    if draw(st.integers(0, 3)):
        terms["promptly_days"] = draw(st.integers(0, 10))
    if draw(st.integers(0, 2)) == 0:  # DEALS.md §1: only the listed places are permitted, even on notice
        terms["restricted_collateral"][0]["permitted"] = subset()
    defined = {r["rule"] for r in terms["restricted_collateral"]}
    grace = draw(st.dictionaries(st.sampled_from(GRACE_RULES), st.integers(0, 15), max_size=4))
    grace = {rule: days for rule, days in grace.items() if rule in defined or rule in BUILT_IN_RULE_IDS}
    if draw(st.booleans()):  # DEALS.md §1: the clauses the findings cite; the others cite null
        terms["clauses"] = {rule: f"§{i + 1}" for i, rule in enumerate(
            draw(st.lists(st.sampled_from(sorted(defined | {r for r in GRACE_RULES if r in BUILT_IN_RULE_IDS})),
                          unique=True, max_size=4)))}
    if grace:
        terms["grace_days"] = grace
    if draw(st.integers(0, 3)) == 0:
        terms["self_curing"] = draw(st.lists(st.sampled_from(SELF_CURING_RULES), min_size=1, unique=True))
    if draw(st.integers(0, 3)) == 0:
        terms["exempt_notice_categories"] = {CIT: ["interest-rate", "interest-period"]}
    conditions = draw(st.lists(st.sampled_from(CONDITIONS), max_size=2, unique=True))
    if conditions:
        terms["conditions"] = conditions
    _emit(deal, "AgreementExecuted", *_when(draw, deal),
          {"agreement": AGREEMENT, "title": "Amendment to Financing Agreements and Consent",
           "parties": [LENDER, BORROWER], "terms": terms})
    deal.agreement_recorded = True
    deal.pending_conditions = list(conditions)


def _condition(draw, deal: _Deal) -> None:
    condition = draw(st.sampled_from(deal.pending_conditions))
    deal.pending_conditions.remove(condition)
    body = {"agreement": AGREEMENT, "condition": condition}
    if draw(st.integers(0, 3)) == 0:
        _emit(deal, "ConditionWaived", *_when(draw, deal), {**body, "by": LENDER})
    else:
        _emit(deal, "ConditionSatisfied", *_when(draw, deal), body)


def _voidable_now(deal: _Deal) -> list[str]:
    out = []
    for event_id in deal.voidable:
        if event_id in deal.voided:
            continue
        event = deal.by_id(event_id)
        if event["type"] == "LoanAdvanced" and event["facility"] in deal.paid:
            continue  # a later payment may lean on it
        out.append(event_id)
    return out


def _void(draw, deal: _Deal) -> None:
    target = draw(st.sampled_from(_voidable_now(deal)))
    deal.voided.add(target)
    deal.loans = [loan for loan in deal.loans if loan[3] != target]
    recorded_at, eff = _when(draw, deal)
    _emit(deal, "EventVoided", recorded_at, eff, {"event": target, "reason": "recorded in error"})


_STEPS = {
    "register": (lambda d: len(d.collateral) < 4, _register),
    "value": (lambda d: d.held(), _valued),
    "move": (lambda d: d.held(), _moved),
    "move-again": (lambda d: d.held(), _moved),
    "move-once-more": (lambda d: d.held(), _moved),
    "dispose": (lambda d: len(d.held()) > 1, _disposed),
    "lien": (lambda d: d.held() and len(d.liens) < 4, _lien),
    "lien-again": (lambda d: d.held() and len(d.liens) < 4, _lien),
    "release": (lambda d: d.liens, _released),
    "consent": (lambda d: d.liens, _consent),
    "move-notice": (lambda d: d.held(), _move_notice),
    "notice-received": (lambda d: True, _notice_received),
    "financing-notice": (lambda d: True, _financing_notice_sent),
    "forward": (lambda d: d.to_forward, _forwarded),
    "advance": (lambda d: True, _advance),
    "advance-again": (lambda d: True, _advance),
    "payment": (_owing, _payment),
    "payment-again": (_owing, _payment),
    "condition": (lambda d: d.pending_conditions, _condition),
    "condition-again": (lambda d: d.pending_conditions, _condition),
    "void": (lambda d: _voidable_now(d), _void),
}


@st.composite
def deals(draw, min_steps: int = 6, max_steps: int = 28, with_void: bool = False) -> list[dict]:
    """A valid deal as JSON event dicts in log order; `with_void` makes sure at least one void is in it."""
    deal = _Deal()
    _setup(draw, deal)
    steps = draw(st.integers(min_steps, max_steps))
    agreement_at = draw(st.integers(0, steps // 2))
    for step in range(steps + 1):
        if step == agreement_at:
            _agreement(draw, deal)
            continue
        enabled = sorted(name for name, (ready, _) in _STEPS.items() if ready(deal))
        name = draw(st.sampled_from(enabled))
        _STEPS[name][1](draw, deal)
    if with_void and not deal.voided:
        _valued(draw, deal)
        _void(draw, deal)
    return deal.events


# ---------------------------------------------------------------- where to ask


def knowledge_times(events: list[dict]) -> st.SearchStrategy[dt.datetime]:
    """K: exactly an event's recorded time (ties included), just before or after one, or before everything."""
    times = sorted({recorded_time(e) for e in events})
    candidates = set(times)
    candidates |= {t - dt.timedelta(microseconds=1) for t in times}
    candidates |= {t + dt.timedelta(minutes=30) for t in times}
    return st.sampled_from(sorted(candidates))


def query_dates(events: list[dict]) -> st.SearchStrategy[dt.date]:
    """D: an effective date of the deal, a day either side, or far before or after it all."""
    days = {effective_day(e) for e in events}
    candidates = days | {d - dt.timedelta(days=1) for d in days} | {d + dt.timedelta(days=1) for d in days}
    candidates |= {dt.date(1995, 1, 1), dt.date(1999, 12, 31)}
    return st.sampled_from(sorted(candidates))


def without(events: list[dict], *event_ids: str) -> list[dict]:
    """The deal with the named events left out (recorded times and ids of the others unchanged)."""
    return [e for e in events if e["id"] not in event_ids]


def recorded_by(events: list[dict], known_at: dt.datetime) -> list[dict]:
    """The events recorded at or before `known_at`: a prefix of the log, since times never go backwards."""
    return [e for e in events if recorded_time(e) <= known_at]
