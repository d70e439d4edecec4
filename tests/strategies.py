"""Hypothesis strategies for ledger input: consistent event batches, and lines `record` must refuse.

Everything here is written against the public contract (spec/CONTRACT.md): the
strategies produce JSON-ready dicts or raw JSON Lines text, never the
ledger's own classes, so the tests that use them survive internal changes.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from hypothesis import strategies as st

from ledger.rules import BUILT_IN_RULE_IDS

# --- The contract's vocabulary -------------------------------------------------

COMMON_FIELDS = ("type", "effective_date", "id", "recorded_at", "actor")

#: Every event type of the contract's table, with its fields (required and optional).
EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "PartyRegistered": ("party", "name", "roles"),
    "LocationRegistered": ("location", "address"),
    "AgreementExecuted": ("agreement", "title", "parties", "terms"),
    "ConditionSatisfied": ("agreement", "condition"),
    "ConditionWaived": ("agreement", "condition", "by"),
    "FacilityOpened": ("facility", "lender", "borrower", "kind", "limit", "financing", "installments"),
    "LoanAdvanced": ("facility", "amount"),
    "PaymentReceived": ("facility", "amount", "order"),
    "ProceedsReceived": ("from", "amount", "apply"),
    "CollateralRegistered": ("collateral", "kind", "owner", "location", "serial", "description", "value"),
    "CollateralValued": ("collateral", "value"),
    "CollateralMoved": ("collateral", "to"),
    "CollateralDisposed": ("collateral",),
    "LienGranted": ("lien", "grantor", "holder", "collateral", "kind", "secures", "perfected_on"),
    "LienReleased": ("lien",),
    "PriorityAgreed": ("senior", "junior", "agreement"),
    "ConsentGranted": ("consent", "by", "liens", "agreement"),
    "NoticeSent": ("notice", "from", "to", "subject", "collateral", "serials", "financing", "category"),
    "NoticeReceived": ("notice", "from", "to", "financing", "category"),
    "NoticeForwarded": ("notice", "to"),
    "DefaultWaived": ("breach", "by"),
    "DefaultCured": ("breach",),
    "EventVoided": ("event", "reason"),
}
EVENT_TYPES = tuple(EVENT_FIELDS)

#: The types `event_batches()` draws: waivers and cures need a breach id the ledger derives.
GENERATED_TYPES = tuple(t for t in EVENT_TYPES if t not in ("DefaultWaived", "DefaultCured"))

#: Keys whose values are money (`value` may be zero); compared as Decimal.
AMOUNT_KEYS = frozenset({"amount", "limit", "value"})

ROLES = ("borrower", "lender", "guarantor")
FACILITY_KINDS = ("revolving", "term")
COLLATERAL_KINDS = ("equipment", "inventory", "accounts", "real-property")
LIEN_KINDS = ("security-interest", "mortgage")
FINANCINGS = ("cit", "bank-one")
NOTICE_CATEGORIES = ("material", "future-advance", "interest-rate", "interest-period")
ORDERS = ("maturity", "inverse-maturity")
CONDITIONS = tuple(f"6({c})" for c in "abcdefghi")
#: Rules whose findings are breaches: the keys `grace_days` and `self_curing` can name.
BREACH_RULES = (
    "cit-location",
    "protected-location-out",
    "protected-location-in",
    "furnish-notices",
    "cap",
    "no-default-at-advance",
)

# Events whose voiding cannot make a later event of the batch invalid: nothing
# drawn afterwards leans on them (the tracked principal only under-estimates
# once a payment is voided, so later payments stay within it).
_VOIDABLE = frozenset(
    {
        "CollateralValued",
        "PaymentReceived",
        "ProceedsReceived",
        "ConditionSatisfied",
        "ConditionWaived",
        "ConsentGranted",
        "PriorityAgreed",
        "LienReleased",
        "CollateralDisposed",
        "NoticeForwarded",
    }
)

MAX_CENTS = 10**11  # one billion dollars: large, well inside any sane numeric type

# --- Small value strategies ----------------------------------------------------

_TEXT_CHARS = st.characters(
    codec="utf-8",
    # Zl/Zp (U+2028, U+2029) are valid inside a JSON string: a reader that splits lines with
    # str.splitlines() instead of on "\n" breaks on them.
    categories=("Lu", "Ll", "Lo", "Nd", "Zs", "Zl", "Zp", "Pd", "Po", "Ps", "Pe"),
)


def free_text(max_size: int = 40) -> st.SearchStrategy[str]:
    """Names, titles, addresses: Unicode letters, digits, spaces, quotes, backslashes; no control characters."""
    return st.text(_TEXT_CHARS, min_size=1, max_size=max_size).map(str.strip).filter(bool)


def render_amount(draw, cents: int):
    """Write `cents` as the contract allows: "1234.50", "1234.5", "1234" or the JSON integer 1234."""
    whole, frac = divmod(cents, 100)
    forms = [f"{whole}.{frac:02d}"]
    if frac % 10 == 0:
        forms.append(f"{whole}.{frac // 10}")
    if frac == 0:
        forms += [str(whole), whole]
    return draw(st.sampled_from(forms))


def _cents(draw, low: int, high: int) -> int:
    """Cents in [low, high], often a whole number of dollars as real ledgers are."""
    high = min(high, MAX_CENTS)
    if draw(st.booleans()):
        lo = max(-(-low // 100), 1 if low > 0 else 0)
        if lo <= high // 100:
            return 100 * draw(st.integers(lo, high // 100))
    return draw(st.integers(low, high))


# --- The world a batch builds up ---------------------------------------------


@dataclass
class _Facility:
    lender: str
    borrower: str
    kind: str
    limit: int | None
    has_installments: bool
    advanced: int = 0
    principal: int = 0


@dataclass
class _Collateral:
    kind: str
    location: str
    serial: str | None
    held: bool = True


@dataclass
class _Lien:
    collateral: tuple[str, ...]
    rank_key: int
    active: bool = True


@dataclass
class _World:
    """What the events so far have declared, so the next one names only known ids."""

    today: dt.date
    counter: int = 0
    parties: dict[str, tuple[str, ...]] = field(default_factory=dict)
    locations: list[str] = field(default_factory=list)
    agreements: dict[str, list[str]] = field(default_factory=dict)  # agreement -> pending conditions
    agreement_lender: dict[str, str] = field(default_factory=dict)
    facilities: dict[str, _Facility] = field(default_factory=dict)
    collateral: dict[str, _Collateral] = field(default_factory=dict)
    liens: dict[str, _Lien] = field(default_factory=dict)
    priorities: set[frozenset[str]] = field(default_factory=set)
    notices_to_forward: list[str] = field(default_factory=list)
    voidable: list[str] = field(default_factory=list)
    rule_ids: set[str] = field(default_factory=set)  # rule ids the agreements so far define (DEALS.md §1)

    def new_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}-{self.counter}"

    def with_role(self, role: str) -> list[str]:
        return [p for p, roles in self.parties.items() if role in roles]

    def held(self) -> list[str]:
        return [c for c, item in self.collateral.items() if item.held]

    def active_liens(self) -> list[str]:
        return [lien for lien, item in self.liens.items() if item.active]

    def owing(self) -> list[str]:
        return [f for f, fac in self.facilities.items() if fac.principal > 0]

    def with_room(self) -> list[str]:
        return [
            f for f, fac in self.facilities.items() if fac.limit is None or fac.advanced < fac.limit
        ]

    def priority_pairs(self) -> list[tuple[str, str]]:
        """Pairs (senior, junior) of active liens sharing an item, consistent with one fixed order (no cycles)."""
        active = sorted(self.active_liens(), key=lambda lien: (self.liens[lien].rank_key, lien))
        pairs = []
        for i, senior in enumerate(active):
            for junior in active[i + 1 :]:
                shared = set(self.liens[senior].collateral) & set(self.liens[junior].collateral)
                if shared and frozenset((senior, junior)) not in self.priorities:
                    pairs.append((senior, junior))
        return pairs


def _sublist(draw, items, min_size=1, max_size=3):
    """A list of distinct items from `items`, in drawn order."""
    return draw(st.lists(st.sampled_from(sorted(items)), min_size=min_size, max_size=max_size, unique=True))


def _iso(day: dt.date) -> str:
    return day.isoformat()


# --- One generator per event type: each returns the type's fields ------------


def _party(draw, w: _World, roles: tuple[str, ...] | None = None) -> dict:
    party = w.new_id("p")
    if roles is None:
        roles = tuple(_sublist(draw, ROLES, 1, 3))
    w.parties[party] = roles
    return {"party": party, "name": draw(free_text()), "roles": list(roles)}


def _location(draw, w: _World) -> dict:
    location = w.new_id("loc")
    w.locations.append(location)
    return {"location": location, "address": draw(free_text(60))}


def _terms(draw, w: _World) -> dict:
    terms: dict = {}
    lenders = w.with_role("lender")
    borrowers = w.with_role("borrower")
    if lenders and draw(st.booleans()):
        terms["lender"] = draw(st.sampled_from(lenders))
    if draw(st.booleans()):
        terms["conditions"] = _sublist(draw, CONDITIONS, 1, 4)
    if draw(st.booleans()):
        terms["grace_days"] = draw(st.dictionaries(st.sampled_from(BREACH_RULES), st.integers(0, 60), max_size=3))
    if draw(st.booleans()):
        terms["promptly_days"] = draw(st.integers(1, 30))
    if draw(st.booleans()):
        caps, seen = [], set()
        for _ in range(draw(st.integers(1, 2))):
            cap = {"financing": draw(st.sampled_from(FINANCINGS))}
            if borrowers and draw(st.booleans()):
                cap["borrower"] = draw(st.sampled_from(borrowers))
            key = (cap["financing"], cap.get("borrower"))
            if key in seen:
                continue
            seen.add(key)
            cap["amount"] = render_amount(draw, _cents(draw, 1, MAX_CENTS))
            caps.append(cap)
        terms["caps"] = caps
    if draw(st.booleans()):
        rates = draw(st.dictionaries(st.sampled_from(COLLATERAL_KINDS), st.integers(1, 100), min_size=1, max_size=3))
        terms["advance_rates"] = {k: f"{v // 100}.{v % 100:02d}" for k, v in rates.items()}
    if w.locations and draw(st.booleans()):
        terms["protected_locations"] = _sublist(draw, w.locations, 1, 2)
    if w.locations and draw(st.booleans()):
        terms["ineligible_locations"] = _sublist(draw, w.locations, 1, 2)
    if w.locations and w.parties and draw(st.booleans()):
        terms["restricted_collateral"] = [
            {
                "rule": draw(st.sampled_from(("cit-location", "protected-location-out", "deal-location"))),
                "holder": draw(st.sampled_from(sorted(w.parties))),
                "locations": _sublist(draw, w.locations, 1, 3),
            }
        ]
        if draw(st.booleans()):
            terms["restricted_collateral"][0]["permitted"] = _sublist(draw, w.locations, 0, 2)
    if draw(st.booleans()):
        terms["representation_financings"] = _sublist(draw, FINANCINGS, 1, 2)
    if draw(st.booleans()):
        terms["self_curing"] = _sublist(draw, BREACH_RULES, 1, 2)
    if draw(st.booleans()):
        terms["exempt_notice_categories"] = {
            draw(st.sampled_from(FINANCINGS)): _sublist(draw, NOTICE_CATEGORIES, 1, 3)
        }
    revolvers = [f for f, fac in w.facilities.items() if fac.kind == "revolving"]
    if revolvers and draw(st.booleans()):
        terms["borrowing_base_facilities"] = _sublist(draw, revolvers, 1, 2)
    # DEALS.md §1: grace_days, self_curing and clauses name built-in ids or ones defined so far
    w.rule_ids |= {r["rule"] for r in terms.get("restricted_collateral", ())}
    known = lambda rule: rule in BUILT_IN_RULE_IDS or rule in w.rule_ids  # noqa: E731
    if "grace_days" in terms:
        terms["grace_days"] = {rule: days for rule, days in terms["grace_days"].items() if known(rule)}
    if "self_curing" in terms:
        terms["self_curing"] = [rule for rule in terms["self_curing"] if known(rule)]
    if draw(st.booleans()):
        terms["clauses"] = {rule: draw(free_text(12)) for rule in
                            _sublist(draw, sorted(r for r in (*BREACH_RULES, *w.rule_ids) if known(r)), 1, 3)}
    return terms


def _agreement(draw, w: _World) -> dict:
    agreement = w.new_id("agr")
    event = {"agreement": agreement, "title": draw(free_text(60)), "parties": _sublist(draw, w.parties, 1, 3)}
    if draw(st.booleans()):
        event["terms"] = _terms(draw, w)
    w.agreements[agreement] = list(event.get("terms", {}).get("conditions", []))
    if "lender" in event.get("terms", {}):
        w.agreement_lender[agreement] = event["terms"]["lender"]
    return event


def _pending_agreements(w: _World) -> list[str]:
    return [a for a, pending in w.agreements.items() if pending]


def _condition(draw, w: _World, waived: bool) -> dict:
    agreement = draw(st.sampled_from(sorted(_pending_agreements(w))))
    condition = draw(st.sampled_from(w.agreements[agreement]))
    w.agreements[agreement].remove(condition)
    event = {"agreement": agreement, "condition": condition}
    if waived:
        event["by"] = w.agreement_lender.get(agreement) or draw(st.sampled_from(w.with_role("lender")))
    return event


def _facility(draw, w: _World) -> dict:
    facility = w.new_id("fac")
    kind = draw(st.sampled_from(FACILITY_KINDS))
    event = {
        "facility": facility,
        "lender": draw(st.sampled_from(w.with_role("lender"))),
        "borrower": draw(st.sampled_from(w.with_role("borrower"))),
        "kind": kind,
    }
    limit = None
    installments = None
    if kind == "term" and draw(st.booleans()):
        due = w.today
        installments = []
        for _ in range(draw(st.integers(1, 4))):
            due += dt.timedelta(days=draw(st.integers(1, 400)))
            cents = _cents(draw, 1, 10**9)
            installments.append((due, cents))
        # The schedule repays exactly the limit, so principal (never above the
        # limit) never exceeds what the installments can absorb.
        limit = sum(cents for _, cents in installments)
        event["limit"] = render_amount(draw, limit)
        event["installments"] = [{"due": _iso(d), "amount": render_amount(draw, c)} for d, c in installments]
    elif draw(st.booleans()):
        limit = _cents(draw, 100, MAX_CENTS)
        event["limit"] = render_amount(draw, limit)
    if draw(st.booleans()):
        event["financing"] = draw(st.sampled_from(FINANCINGS))
    w.facilities[facility] = _Facility(
        event["lender"], event["borrower"], kind, limit, installments is not None
    )
    return event


def _advance(draw, w: _World) -> dict:
    facility = draw(st.sampled_from(sorted(w.with_room())))
    fac = w.facilities[facility]
    room = MAX_CENTS if fac.limit is None else fac.limit - fac.advanced
    cents = _cents(draw, 1, room)
    fac.advanced += cents
    fac.principal += cents
    return {"facility": facility, "amount": render_amount(draw, cents)}


def _payment(draw, w: _World) -> dict:
    facility = draw(st.sampled_from(sorted(w.owing())))
    fac = w.facilities[facility]
    cents = _cents(draw, 1, fac.principal)
    fac.principal -= cents
    event = {"facility": facility, "amount": render_amount(draw, cents)}
    if fac.has_installments and draw(st.booleans()):
        event["order"] = draw(st.sampled_from(ORDERS))
    return event


def _proceeds(draw, w: _World) -> dict:
    steps = []
    total = 0
    for facility in _sublist(draw, w.owing(), 1, 3):
        fac = w.facilities[facility]
        cents = _cents(draw, 1, fac.principal)
        fac.principal -= cents
        total += cents
        step = {"facility": facility, "amount": render_amount(draw, cents)}
        if fac.has_installments and draw(st.booleans()):
            step["order"] = draw(st.sampled_from(ORDERS))
        steps.append(step)
    return {"from": draw(st.sampled_from(sorted(w.parties))), "amount": render_amount(draw, total), "apply": steps}


def _collateral(draw, w: _World) -> dict:
    collateral = w.new_id("col")
    kind = draw(st.sampled_from(COLLATERAL_KINDS))
    owners = w.with_role("borrower") or sorted(w.parties)
    event = {
        "collateral": collateral,
        "kind": kind,
        "owner": draw(st.sampled_from(owners)),
        "location": draw(st.sampled_from(w.locations)),
    }
    serial = None
    if draw(st.booleans()):
        serial = f"SN-{w.counter:05d}"
        event["serial"] = serial
    if draw(st.booleans()):
        event["description"] = draw(free_text(60))
    if draw(st.booleans()):
        event["value"] = render_amount(draw, _cents(draw, 0, 10**10))  # a value may be zero
    w.collateral[collateral] = _Collateral(kind, event["location"], serial)
    return event


def _valued(draw, w: _World) -> dict:
    return {
        "collateral": draw(st.sampled_from(sorted(w.held()))),
        "value": render_amount(draw, _cents(draw, 0, 10**10)),
    }


def _movable(w: _World) -> list[str]:
    return [c for c in w.held() if len(w.locations) > 1]


def _moved(draw, w: _World) -> dict:
    collateral = draw(st.sampled_from(sorted(_movable(w))))
    item = w.collateral[collateral]
    to = draw(st.sampled_from([loc for loc in w.locations if loc != item.location]))
    item.location = to
    return {"collateral": collateral, "to": to}


def _disposed(draw, w: _World) -> dict:
    collateral = draw(st.sampled_from(sorted(w.held())))
    w.collateral[collateral].held = False
    return {"collateral": collateral}


def _lien(draw, w: _World) -> dict:
    lien = w.new_id("lien")
    items = _sublist(draw, w.held(), 1, 3)
    # Liens usually pile up on the same items, which is what priority agreements rank.
    encumbered = sorted({c for l in w.active_liens() for c in w.liens[l].collateral if w.collateral[c].held})
    if encumbered and draw(st.booleans()):
        shared = draw(st.sampled_from(encumbered))
        items = [shared] + [c for c in items if c != shared][:2]
    real = all(w.collateral[c].kind == "real-property" for c in items)
    kind = draw(st.sampled_from(LIEN_KINDS)) if real else "security-interest"
    event = {
        "lien": lien,
        "grantor": draw(st.sampled_from(sorted(w.parties))),
        "holder": draw(st.sampled_from(w.with_role("lender") or sorted(w.parties))),
        "collateral": items,
        "kind": kind,
    }
    if w.facilities and draw(st.booleans()):
        event["secures"] = _sublist(draw, w.facilities, 1, 2)
    if draw(st.booleans()):
        event["perfected_on"] = _iso(w.today - dt.timedelta(days=draw(st.integers(0, 30))))
    w.liens[lien] = _Lien(tuple(items), draw(st.integers(0, 1000)))
    return event


def _released(draw, w: _World) -> dict:
    lien = draw(st.sampled_from(sorted(w.active_liens())))
    w.liens[lien].active = False
    return {"lien": lien}


def _priority(draw, w: _World) -> dict:
    senior, junior = draw(st.sampled_from(w.priority_pairs()))
    w.priorities.add(frozenset((senior, junior)))
    return {"senior": senior, "junior": junior, "agreement": draw(st.sampled_from(sorted(w.agreements)))}


def _consent(draw, w: _World) -> dict:
    event = {
        "consent": w.new_id("consent"),
        "by": draw(st.sampled_from(w.with_role("lender") or sorted(w.parties))),
        "liens": _sublist(draw, w.active_liens(), 1, 2),
    }
    if w.agreements and draw(st.booleans()):
        event["agreement"] = draw(st.sampled_from(sorted(w.agreements)))
    return event


def _notice_sent(draw, w: _World) -> dict:
    notice = w.new_id("notice")
    lenders = w.with_role("lender")
    borrowers = w.with_role("borrower")
    held = w.held()
    if held and draw(st.booleans()):
        event = {
            "notice": notice,
            "from": draw(st.sampled_from(borrowers)),
            "to": draw(st.sampled_from(lenders)),
            "subject": "collateral-move",
        }
        items = _sublist(draw, held, 0, 2)
        known_serials = [w.collateral[c].serial for c in held if w.collateral[c].serial]
        serials = _sublist(draw, known_serials, 0, 2) if known_serials else []
        if not items and not serials:
            items = [draw(st.sampled_from(sorted(held)))]
        if items:
            event["collateral"] = items
        if serials:
            event["serials"] = serials
        return event
    sender = draw(st.sampled_from(borrowers))
    event = {
        "notice": notice,
        "from": sender,
        "to": draw(st.sampled_from([p for p in lenders if p != sender] or lenders)),
        "subject": "financing",
        "financing": draw(st.sampled_from(FINANCINGS)),
        "category": draw(st.sampled_from(NOTICE_CATEGORIES)),
    }
    w.notices_to_forward.append(notice)
    return event


def _notice_received(draw, w: _World) -> dict:
    notice = w.new_id("notice")
    w.notices_to_forward.append(notice)
    return {
        "notice": notice,
        "from": draw(st.sampled_from(w.with_role("lender"))),
        "to": draw(st.sampled_from(w.with_role("borrower"))),
        "financing": draw(st.sampled_from(FINANCINGS)),
        "category": draw(st.sampled_from(NOTICE_CATEGORIES)),
    }


def _forwarded(draw, w: _World) -> dict:
    notice = draw(st.sampled_from(w.notices_to_forward))
    w.notices_to_forward.remove(notice)
    return {"notice": notice, "to": draw(st.sampled_from(w.with_role("lender")))}


def _voided(draw, w: _World) -> dict:
    target = draw(st.sampled_from(w.voidable))
    w.voidable.remove(target)
    return {"event": target, "reason": draw(free_text(60))}


_GENERATORS = {
    "PartyRegistered": (lambda w: len(w.parties) < 6, _party),
    "LocationRegistered": (lambda w: len(w.locations) < 4, _location),
    "AgreementExecuted": (lambda w: len(w.agreements) < 4, _agreement),
    "ConditionSatisfied": (_pending_agreements, lambda d, w: _condition(d, w, waived=False)),
    "ConditionWaived": (_pending_agreements, lambda d, w: _condition(d, w, waived=True)),
    "FacilityOpened": (lambda w: len(w.facilities) < 5, _facility),
    "LoanAdvanced": (lambda w: w.with_room(), _advance),
    "PaymentReceived": (lambda w: w.owing(), _payment),
    "ProceedsReceived": (lambda w: w.owing(), _proceeds),
    "CollateralRegistered": (lambda w: w.locations and len(w.collateral) < 8, _collateral),
    "CollateralValued": (lambda w: w.held(), _valued),
    "CollateralMoved": (_movable, _moved),
    "CollateralDisposed": (lambda w: w.held(), _disposed),
    "LienGranted": (lambda w: w.held() and len(w.liens) < 6, _lien),
    "LienReleased": (lambda w: w.active_liens(), _released),
    "PriorityAgreed": (lambda w: w.agreements and w.priority_pairs(), _priority),
    "ConsentGranted": (lambda w: w.active_liens(), _consent),
    "NoticeSent": (lambda w: True, _notice_sent),
    "NoticeReceived": (lambda w: True, _notice_received),
    "NoticeForwarded": (lambda w: w.notices_to_forward, _forwarded),
    "EventVoided": (lambda w: w.voidable, _voided),
}
assert set(_GENERATORS) == set(GENERATED_TYPES)

_WEIGHTS = {
    "PartyRegistered": 1,
    "LocationRegistered": 1,
    "AgreementExecuted": 1,
    "FacilityOpened": 1,
    "NoticeSent": 1,
    "NoticeReceived": 1,
    "CollateralDisposed": 1,
    "LienGranted": 4,
    "PriorityAgreed": 6,
}

ACTORS = ("loan-admin", "j.smith", "field-examiner-2", "Auditor Ünal")


@st.composite
def event_batches(draw, min_size: int = 2, max_size: int = 30) -> list[dict]:
    """A consistent batch: ids unique, every id named was declared earlier, money within what is owed.

    Effective dates never go backwards within a batch, so "principal as of a
    payment's date" is simply what has been advanced and not yet repaid.
    Every event carries a caller `id`; some carry an `actor`; none carries
    `recorded_at` (the store's default is what the round-trip tests check).
    """
    w = _World(today=draw(st.dates(dt.date(1989, 1, 1), dt.date(1998, 12, 31))))
    size = draw(st.integers(max(min_size, 2), max(max_size, 2)))
    batch: list[dict] = []
    used: set[str] = set()
    for i in range(size):
        if i == 0:
            kind, body = "PartyRegistered", _party(draw, w, roles=("lender",))
        elif i == 1:
            kind, body = "PartyRegistered", _party(draw, w, roles=("borrower",))
        else:
            enabled = [t for t, (ready, _) in _GENERATORS.items() if ready(w)]
            fresh = [t for t in enabled if t not in used]
            # Half the time prefer a type this batch lacks; otherwise favour the types that need
            # others before them (liens, priorities), so that deep chains turn up in small batches.
            weighted = [t for t in enabled for _ in range(_WEIGHTS.get(t, 2))]
            kind = draw(st.sampled_from(fresh if fresh and draw(st.booleans()) else weighted))
            body = _GENERATORS[kind][1](draw, w)
        used.add(kind)
        w.today += dt.timedelta(days=draw(st.integers(0, 20)))
        event_id = w.new_id("ev")
        event = {"type": kind, "effective_date": _iso(w.today), "id": event_id, **body}
        if draw(st.integers(0, 3)) == 0:
            event["actor"] = draw(st.sampled_from(ACTORS))
        batch.append(event)
        if kind in _VOIDABLE:
            w.voidable.append(event_id)
    return batch


def to_jsonl(events: list[dict]) -> str:
    """The JSON Lines text `cledger record -` reads."""
    return "".join(json.dumps(event, ensure_ascii=False) + "\n" for event in events)


# --- Hostile input -------------------------------------------------------------

#: Valid events that `hostile_lines()` is written against: record these first.
HOSTILE_CONTEXT: list[dict] = [
    {"type": "PartyRegistered", "effective_date": "1996-01-02", "id": "h-ctx-1", "party": "h-lender",
     "name": "Hostile Test Lender", "roles": ["lender"]},
    {"type": "PartyRegistered", "effective_date": "1996-01-02", "id": "h-ctx-2", "party": "h-borrower",
     "name": "Hostile Test Borrower", "roles": ["borrower"]},
    {"type": "LocationRegistered", "effective_date": "1996-01-02", "id": "h-ctx-3", "location": "h-plant",
     "address": "1 Test Road"},
    {"type": "LocationRegistered", "effective_date": "1996-01-02", "id": "h-ctx-4", "location": "h-yard",
     "address": "2 Test Road"},
    {"type": "FacilityOpened", "effective_date": "1996-01-02", "id": "h-ctx-5", "facility": "h-rev",
     "lender": "h-lender", "borrower": "h-borrower", "kind": "revolving"},
    {"type": "FacilityOpened", "effective_date": "1996-01-02", "id": "h-ctx-6", "facility": "h-note",
     "lender": "h-lender", "borrower": "h-borrower", "kind": "term",
     "installments": [{"due": "1997-01-31", "amount": "1000.00"}]},
    {"type": "LoanAdvanced", "effective_date": "1996-01-03", "id": "h-adv-0", "facility": "h-rev",
     "amount": "5000.00"},
    {"type": "LoanAdvanced", "effective_date": "1996-01-03", "id": "h-ctx-8", "facility": "h-note",
     "amount": "1000.00"},
    {"type": "CollateralRegistered", "effective_date": "1996-01-03", "id": "h-ctx-9", "collateral": "h-press",
     "kind": "equipment", "owner": "h-borrower", "location": "h-plant", "value": "100.00"},
]

#: A valid line recorded before each hostile one, so "records nothing" covers the whole batch.
HOSTILE_PREFIX = {"type": "PartyRegistered", "effective_date": "1996-03-14", "id": "h-prefix",
                  "party": "h-prefix-party", "name": "Prefix Party", "roles": ["guarantor"]}

Raw = list[tuple[str, str]]  # (key, raw JSON text of the value), in order; keys may repeat


def _raw(event: dict) -> Raw:
    return [(k, json.dumps(v)) for k, v in event.items()]


def _render(pairs: Raw) -> str:
    return "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in pairs) + "}"


def _set(pairs: Raw, key: str, raw: str | None) -> Raw:
    """Replace (or add, or with None drop) one key's raw value."""
    out = [(k, v) for k, v in pairs if k != key]
    if raw is not None:
        index = next((i for i, (k, _) in enumerate(pairs) if k == key), len(out))
        out.insert(index, (key, raw))
    return out


# Valid bases (each would be accepted after HOSTILE_CONTEXT); every case breaks one thing.
_ADVANCE = _raw({"type": "LoanAdvanced", "effective_date": "1996-03-14", "id": "h-adv", "facility": "h-rev",
                 "amount": "100.00"})
_PAYMENT = _raw({"type": "PaymentReceived", "effective_date": "1996-03-14", "id": "h-pay", "facility": "h-rev",
                 "amount": "10.00"})
_PARTY = _raw({"type": "PartyRegistered", "effective_date": "1996-03-14", "id": "h-party", "party": "h-new",
               "name": "New Party", "roles": ["lender"]})
_VALUED = _raw({"type": "CollateralValued", "effective_date": "1996-03-14", "id": "h-val", "collateral": "h-press",
                "value": "50.00"})
_MOVED = _raw({"type": "CollateralMoved", "effective_date": "1996-03-14", "id": "h-move", "collateral": "h-press",
               "to": "h-yard"})
_FACILITY = _raw({"type": "FacilityOpened", "effective_date": "1996-03-14", "id": "h-fac", "facility": "h-fac-new",
                  "lender": "h-lender", "borrower": "h-borrower", "kind": "term",
                  "installments": [{"due": "1997-06-30", "amount": "500.00"}]})
_PROCEEDS = _raw({"type": "ProceedsReceived", "effective_date": "1996-03-14", "id": "h-proc", "from": "h-lender",
                  "amount": "20.00", "apply": [{"facility": "h-rev", "amount": "20.00"}]})
_NOTICE = _raw({"type": "NoticeReceived", "effective_date": "1996-03-14", "id": "h-notice", "notice": "h-n1",
                "from": "h-lender", "to": "h-borrower", "financing": "cit", "category": "material"})

#: The bases, each valid on its own after HOSTILE_CONTEXT (a self-check for the cases below).
HOSTILE_BASES = [_render(b) for b in (_ADVANCE, _PAYMENT, _PARTY, _VALUED, _MOVED, _FACILITY, _PROCEEDS, _NOTICE)]


def _amount(raw: str) -> str:
    return _render(_set(_ADVANCE, "amount", raw))


def _date(raw: str) -> str:
    return _render(_set(_ADVANCE, "effective_date", raw))


def _deep(depth: int, open_: str = "[", close: str = "]") -> str:
    return open_ * depth + close * depth


_NESTED_OBJECTS = '{"a":' * 20_000 + "1" + "}" * 20_000

#: (what it is, the line): each must be refused with exit 2 and nothing recorded.
HOSTILE_CASES: list[tuple[str, str | bytes]] = [
    # JSON floats, NaN and Infinity, booleans
    ("float amount", _amount("1.5")),
    ("float amount with zero fraction", _amount("100.0")),
    ("float amount, two decimals as a JSON number", _amount("100.00")),
    ("float amount in exponent form", _amount("1e3")),
    ("float amount in upper-case exponent form", _amount("1E2")),
    ("float amount that overflows to infinity", _amount("1e400")),
    ("negative zero float", _amount("-0.0")),
    ("bare NaN", _amount("NaN")),
    ("bare Infinity", _amount("Infinity")),
    ("bare -Infinity", _amount("-Infinity")),
    ("NaN as a string", _amount('"NaN"')),
    ("sNaN as a string", _amount('"sNaN"')),
    ("Infinity as a string", _amount('"Infinity"')),
    ("inf as a string", _amount('"inf"')),
    ("boolean true as amount", _amount("true")),
    ("boolean false as amount", _amount("false")),
    ("null amount", _amount("null")),
    ("list as amount", _amount('["100.00"]')),
    ("object as amount", _amount('{"value": "100.00"}')),
    ("missing amount", _render(_set(_ADVANCE, "amount", None))),
    # precision and sign
    ("three decimals", _amount('"1.005"')),
    ("three decimals, trailing zero", _amount('"10.000"')),
    ("a tenth of a cent", _amount('"0.001"')),
    ("zero amount string", _amount('"0"')),
    ("zero amount with cents", _amount('"0.00"')),
    ("zero amount integer", _amount("0")),
    ("negative amount string", _amount('"-5.00"')),
    ("negative amount integer", _amount("-5")),
    ("negative zero string", _amount('"-0"')),
    ("negative collateral value", _render(_set(_VALUED, "value", '"-1.00"'))),
    ("float collateral value", _render(_set(_VALUED, "value", "2.5"))),
    # strings that Decimal would take but are not plain digits with a point
    ("underscore digit separator", _amount('"1_000"')),
    ("leading space", _amount('" 12"')),
    ("trailing space", _amount('"12 "')),
    ("comma thousands separator", _amount('"1,000.00"')),
    ("exponent in a string", _amount('"1e3"')),
    ("explicit plus sign", _amount('"+12"')),
    ("hex digits", _amount('"0x1F"')),
    ("empty string amount", _amount('""')),
    ("two decimal points", _amount('"1.2.3"')),
    ("currency sign", _amount('"$100.00"')),
    ("Arabic-Indic digits", _amount('"\u0661\u0662\u0663"')),
    ("Arabic-Indic digits, escaped", _amount('"\\u0661\\u0662\\u0663"')),
    ("fullwidth digits", _amount('"\uff11\uff12\uff13"')),
    ("Devanagari digits with a point", _amount('"\u0967\u0968.\u0966\u0966"')),
    ("ASCII digits mixed with one Arabic-Indic digit", _amount('"12\u0663"')),
    # huge numbers
    ("amount of 10**40 as an integer", _amount("1" + "0" * 40)),
    ("amount of 10**40 as a string", _amount('"1' + "0" * 40 + '"')),
    ("amount with 5000 digits", _amount("9" * 5000)),
    ("amount with a huge exponent string", _amount('"1E+999999"')),
    # nested amounts
    ("float in an apply step", _render(_set(_PROCEEDS, "apply", '[{"facility": "h-rev", "amount": 20.0}]'))),
    ("negative apply step", _render(_set(_PROCEEDS, "apply",
                                         '[{"facility": "h-rev", "amount": "40.00"}, '
                                         '{"facility": "h-note", "amount": "-20.00"}]'))),
    ("three decimals in an installment", _render(_set(_FACILITY, "installments",
                                                      '[{"due": "1997-06-30", "amount": "500.005"}]'))),
    ("apply steps that leave part of the receipt unapplied",
     _render(_set(_PROCEEDS, "apply", '[{"facility": "h-rev", "amount": "15.00"}]'))),
    ("apply steps that need more than the receipt",
     _render(_set(_PROCEEDS, "apply", '[{"facility": "h-rev", "amount": "25.00"}]'))),
    ("payoff that needs more than the receipt",
     _render(_set(_PROCEEDS, "apply", '[{"facility": "h-rev", "amount": "payoff"}]'))),
    # dates
    ("30 February", _date('"1996-02-30"')),
    ("compact date", _date('"19960314"')),
    ("unpadded month", _date('"1996-3-14"')),
    ("two-digit year", _date('"96-03-14"')),
    ("month 13", _date('"1996-13-01"')),
    ("month 0", _date('"1996-00-10"')),
    ("date with a time", _date('"1996-03-14T00:00:00"')),
    ("date with a trailing space", _date('"1996-03-14 "')),
    ("slashes", _date('"1996/03/14"')),
    ("day first", _date('"14/03/1996"')),
    ("fullwidth digits in the date", _date('"\uff11\uff19\uff19\uff16-03-14"')),
    ("empty date", _date('""')),
    ("date as an integer", _date("19960314")),
    ("null date", _date("null")),
    ("missing effective_date", _render(_set(_ADVANCE, "effective_date", None))),
    ("installment due 30 February", _render(_set(_FACILITY, "installments",
                                                 '[{"due": "1997-02-30", "amount": "500.00"}]'))),
    # recorded_at
    ("naive recorded_at", _render(_ADVANCE + [("recorded_at", '"1996-03-14T10:00:00"')])),
    ("recorded_at in the future", _render(_ADVANCE + [("recorded_at", '"2999-01-01T00:00:00+00:00"')])),
    ("recorded_at that is not a time", _render(_ADVANCE + [("recorded_at", '"yesterday"')])),
    ("recorded_at as a bare date", _render(_ADVANCE + [("recorded_at", '"1996-03-14"')])),
    ("recorded_at earlier than the store's last",
     _render(_ADVANCE + [("recorded_at", '"1996-03-14T10:00:00+00:00"')])),
    # unknown fields, unknown types, missing fields
    ("unknown field", _render(_ADVANCE + [("amount_usd", '"100.00"')])),
    ("field name in the wrong case", _render(_set(_ADVANCE, "amount", None) + [("Amount", '"100.00"')])),
    ("__proto__ field", _render(_ADVANCE + [("__proto__", "{}")])),
    ("another type's field", _render(_ADVANCE + [("order", '"maturity"'), ("to", '"h-yard"')])),
    ("unknown field in an apply step",
     _render(_set(_PROCEEDS, "apply", '[{"facility": "h-rev", "amount": "20.00", "memo": "x"}]'))),
    ("unknown field in an installment",
     _render(_set(_FACILITY, "installments", '[{"due": "1997-06-30", "amount": "500.00", "rate": "0.1"}]'))),
    ("unknown type", _render(_set(_ADVANCE, "type", '"LoanAdvance"'))),
    ("type in lower case", _render(_set(_ADVANCE, "type", '"loanadvanced"'))),
    ("empty type", _render(_set(_ADVANCE, "type", '""'))),
    ("null type", _render(_set(_ADVANCE, "type", "null"))),
    ("type as a number", _render(_set(_ADVANCE, "type", "5"))),
    ("type as a list", _render(_set(_ADVANCE, "type", '["LoanAdvanced"]'))),
    ("missing type", _render(_set(_ADVANCE, "type", None))),
    ("missing facility", _render(_set(_ADVANCE, "facility", None))),
    ("missing name", _render(_set(_PARTY, "name", None))),
    ("unknown role", _render(_set(_PARTY, "roles", '["banker"]'))),
    ("unknown facility kind", _render(_set(_FACILITY, "kind", '"revolver"'))),
    ("unknown payment order", _render(_PAYMENT + [("order", '"random"')])),
    ("unknown notice category", _render(_set(_NOTICE, "category", '"urgent"'))),
    ("id as an object", _render(_set(_ADVANCE, "id", '{"x": 1}'))),
    ("id as a list", _render(_set(_ADVANCE, "id", '["h-adv"]'))),
    # references
    ("unknown facility", _render(_set(_ADVANCE, "facility", '"nope"'))),
    ("empty facility id", _render(_set(_ADVANCE, "facility", '""'))),
    ("facility id as a number", _render(_set(_ADVANCE, "facility", "5"))),
    ("null facility", _render(_set(_ADVANCE, "facility", "null"))),
    ("facility id as a list", _render(_set(_ADVANCE, "facility", '["h-rev"]'))),
    ("move to an unknown location", _render(_set(_MOVED, "to", '"atlantis"'))),
    ("void of an unknown event", _render([("type", '"EventVoided"'), ("effective_date", '"1996-03-14"'),
                                          ("id", '"h-void"'), ("event", '"no-such-event"'),
                                          ("reason", '"typo"')])),
    ("waiver of an unknown breach", _render([("type", '"DefaultWaived"'), ("effective_date", '"1996-03-14"'),
                                             ("id", '"h-waive"'), ("breach", '"no-such-breach"'),
                                             ("by", '"h-lender"')])),
    ("cure of an unknown breach", _render([("type", '"DefaultCured"'), ("effective_date", '"1996-03-14"'),
                                           ("id", '"h-cure"'), ("breach", '"no-such-breach"')])),
    ("known id with other content", _render(_set(_set(_ADVANCE, "id", '"h-adv-0"'), "amount", '"9999.00"'))),
    # duplicate keys
    ("duplicate amount, different values", _render(_ADVANCE + [("amount", '"200.00"')])),
    ("duplicate amount, same value", _render(_ADVANCE + [("amount", '"100.00"')])),
    ("duplicate type", _render(_ADVANCE + [("type", '"LoanAdvanced"')])),
    ("duplicate id", _render(_ADVANCE + [("id", '"h-adv-dup"')])),
    ("duplicate key in an apply step",
     _render(_set(_PROCEEDS, "apply", '[{"facility": "h-rev", "amount": "20.00", "amount": "20.00"}]'))),
    # deep nesting
    ("100000 nested arrays", _deep(100_000)),
    ("amount nested 50000 arrays deep", _amount(_deep(50_000))),
    ("unknown field nested 20000 objects deep", _render(_ADVANCE + [("extra", _NESTED_OBJECTS)])),
    # NUL characters
    ("escaped NUL in a name", _render(_set(_PARTY, "name", '"New\\u0000Party"'))),
    ("raw NUL in a name", _render(_set(_PARTY, "name", '"New\x00Party"'))),
    ("escaped NUL in an id", _render(_set(_ADVANCE, "id", '"h-adv\\u0000"'))),
    ("raw NUL between tokens", _render(_ADVANCE).replace(",", ",\x00", 1)),
    ("NUL after the object", _render(_ADVANCE) + "\x00"),
    # invalid Unicode
    ("invalid UTF-8 bytes in a name", _render(_PARTY).encode().replace(b"New", b"N\xff\xfe")),
    ("overlong UTF-8 encoding", _render(_PARTY).encode().replace(b"New", b"\xc0\xafNew")),
    ("truncated UTF-8 sequence", _render(_PARTY).encode().replace(b"New", b"New\xe2\x82")),
    ("UTF-8-encoded surrogate", _render(_PARTY).encode().replace(b"New", b"\xed\xa0\x80New")),
    ("lone surrogate escape in a name", _render(_set(_PARTY, "name", '"New \\ud800 Party"'))),
    # not one JSON object
    ("empty array", "[]"),
    ("array holding an event", "[" + _render(_ADVANCE) + "]"),
    ("a JSON string", '"LoanAdvanced"'),
    ("a JSON number", "42"),
    ("a JSON null", "null"),
    ("a JSON boolean", "true"),
    ("an empty object", "{}"),
    ("truncated object", _render(_ADVANCE)[:-10]),
    ("lone brace", "{"),
    ("trailing comma", _render(_ADVANCE)[:-1] + ",}"),
    ("single quotes", _render(_ADVANCE).replace('"', "'")),
    ("two objects on one line", _render(_ADVANCE) + _render(_PAYMENT)),
    ("trailing garbage", _render(_ADVANCE) + " x"),
    ("a comment", _render(_ADVANCE) + " // advance"),
    ("plain text", "LoanAdvanced h-rev 100.00"),
]

_DIGITS_NOT_ASCII = st.characters(categories=("Nd",)).filter(lambda c: not ("0" <= c <= "9"))


def _hostile_amount() -> st.SearchStrategy[str]:
    """Amount texts the contract refuses, drawn from families rather than listed."""
    cents = st.integers(1, MAX_CENTS)
    return st.one_of(
        # any Python float, written as JSON writes it: always a float literal, NaN or Infinity
        st.floats().map(lambda f: json.dumps(f)),
        st.builds(lambda n, d: f'"{n}.{d}"', st.integers(0, 10**9), st.from_regex(r"\A[0-9]{2,7}[1-9]\Z")),
        cents.map(lambda c: f'"-{c // 100}.{c % 100:02d}"'),
        cents.map(lambda c: f"-{c // 100}"),
        st.text(_DIGITS_NOT_ASCII, min_size=1, max_size=6).map(lambda s: json.dumps(s, ensure_ascii=False)),
        st.builds(lambda a, b: f'"{a}_{b:03d}"', st.integers(1, 999), st.integers(0, 999)),
        st.integers(40, 60).map(lambda n: '"' + "9" * n + '"'),
    )


def _bad_dates() -> st.SearchStrategy[str]:
    def impossible(year: int, month: int, extra: int) -> str:
        last = (dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)).day
        return f'"{year:04d}-{month:02d}-{last + extra:02d}"'

    return st.one_of(
        st.builds(impossible, st.integers(1900, 2099), st.integers(1, 12), st.integers(1, 99 - 31)),
        st.dates(dt.date(1900, 1, 1), dt.date(2099, 12, 31)).map(lambda d: f'"{d:%Y%m%d}"'),
        st.dates(dt.date(1900, 1, 1), dt.date(2099, 12, 31)).map(lambda d: f'"{d.year}-{d.month}-{d.day}x"'),
    )


_ALLOWED_KEYS = frozenset(COMMON_FIELDS) | {k for fields in EVENT_FIELDS.values() for k in fields}


def _unknown_key() -> st.SearchStrategy[str]:
    return st.from_regex(r"\A[a-z_][a-z0-9_]{0,15}\Z").filter(lambda k: k not in _ALLOWED_KEYS and k != "position")


def _future_recorded_at() -> st.SearchStrategy[str]:
    def stamp(days: int) -> str:
        when = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=days)
        return json.dumps(when.isoformat(timespec="seconds"))

    return st.integers(2, 3_000_000 // 100).map(stamp)


def hostile_lines() -> st.SearchStrategy[str | bytes]:
    """One JSON Lines line that `record` must refuse (exit 2) after HOSTILE_CONTEXT, str or raw bytes."""
    return st.one_of(
        st.sampled_from([line for _, line in HOSTILE_CASES]),
        _hostile_amount().map(_amount),
        _bad_dates().map(_date),
        _unknown_key().map(lambda k: _render(_ADVANCE + [(k, '"x"')])),
        st.text(st.characters(codec="ascii", categories=("Lu", "Ll")), min_size=1, max_size=20)
        .filter(lambda t: t not in EVENT_TYPES)
        .map(lambda t: _render(_set(_ADVANCE, "type", json.dumps(t)))),
        _future_recorded_at().map(lambda r: _render(_ADVANCE + [("recorded_at", r)])),
        st.binary(min_size=1, max_size=4)
        .filter(lambda b: _not_utf8(b) and b"\n" not in b and b"\r" not in b)
        .map(lambda b: _render(_PARTY).encode().replace(b"New", b"New" + b)),
        st.integers(1_000, 200_000).map(_deep),
    )


def _not_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False
