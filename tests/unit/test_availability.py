"""The borrowing base, worked by hand: values, advance rates and one ineligible location."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.codec import decode
from ledger.events import Recorded
from projections.query import Snapshot

T0 = datetime(2000, 1, 1, tzinfo=timezone.utc)
NOW = datetime(2030, 1, 1, tzinfo=timezone.utc)


def log(lines: list[dict]) -> list[Recorded]:
    """Recorded events from contract-shaped dicts, one minute apart, in the order given."""
    return [Recorded(i + 1, line["id"], T0 + timedelta(minutes=i), "test", decode(line)) for i, line in enumerate(lines)]


def deal(values: dict[str, tuple[str, str, str]], moves: list[tuple[str, str]] = (),
         rates=None, advance: str = "1000000.00") -> list[dict]:
    """A lender, a borrower, two plants (one ineligible), items {id: (kind, location, value)}, a revolver."""
    d = "2000-01-03"
    lines = [
        {"type": "PartyRegistered", "id": "p1", "effective_date": d, "party": "bank", "name": "Bank", "roles": ["lender"]},
        {"type": "PartyRegistered", "id": "p2", "effective_date": d, "party": "acme", "name": "Acme", "roles": ["borrower"]},
        {"type": "LocationRegistered", "id": "l1", "effective_date": d, "location": "ohio", "address": "Ohio plant"},
        {"type": "LocationRegistered", "id": "l2", "effective_date": d, "location": "canton", "address": "Canton plant"},
        {"type": "FacilityOpened", "id": "f1", "effective_date": d, "facility": "rev", "lender": "bank",
         "borrower": "acme", "kind": "revolving"},
        {"type": "AgreementExecuted", "id": "a1", "effective_date": d, "agreement": "loan", "title": "Loan",
         "parties": ["bank", "acme"],
         "terms": {"lender": "bank", "ineligible_locations": ["canton"], "borrowing_base_facilities": ["rev"],
                   "advance_rates": rates or {"inventory": "0.50", "equipment": "0.70", "accounts": "0.85"}}},
        {"type": "LoanAdvanced", "id": "adv", "effective_date": d, "facility": "rev", "amount": advance},
    ]
    for item, (kind, location, value) in values.items():
        lines.append({"type": "CollateralRegistered", "id": f"reg-{item}", "effective_date": d, "collateral": item,
                      "kind": kind, "owner": "acme", "location": location, "value": value})
    for i, (item, to) in enumerate(moves):
        lines.append({"type": "CollateralMoved", "id": f"mv-{i}", "effective_date": "2000-02-01", "collateral": item,
                      "to": to})
    return lines


def test_availability_worked_by_hand():
    """Rates on eligible value, half-even per class, less the revolver's principal."""
    events = log(deal({
        "inv-ohio": ("inventory", "ohio", "600000.25"),     # eligible
        "inv-canton": ("inventory", "canton", "400000.00"),  # §4(i): ineligible
        "press": ("equipment", "ohio", "300000.00"),         # eligible
        "lathe": ("equipment", "canton", "100000.00"),       # §4(ii): ineligible
        "ar": ("accounts", "canton", "200000.00"),           # §4 does not reach accounts: eligible
    }))
    a = Snapshot(events, NOW).availability(date(2000, 1, 31)).to_json()
    classes = {c["kind"]: c for c in a["classes"]}
    # accounts: 200,000.00 x 0.85 = 170,000.00
    assert classes["accounts"] == {"kind": "accounts", "gross": "200000.00", "ineligible": "0.00", "eligible": "200000.00",
                                   "advance_rate": "0.85", "availability": "170000.00", "ineligible_by_rule": {}}
    # equipment: (300,000 + 100,000) gross, 100,000 ineligible; 300,000.00 x 0.70 = 210,000.00
    assert (classes["equipment"]["gross"], classes["equipment"]["ineligible"], classes["equipment"]["availability"]) == (
        "400000.00", "100000.00", "210000.00")
    assert classes["equipment"]["ineligible_by_rule"] == {"ineligible-equipment": "100000.00"}
    # inventory: 1,000,000.25 gross, 400,000.00 ineligible; 600,000.25 x 0.50 = 300,000.125 -> 300,000.12 (half-even)
    assert (classes["inventory"]["eligible"], classes["inventory"]["availability"]) == ("600000.25", "300000.12")
    # total 170,000.00 + 210,000.00 + 300,000.12 = 680,000.12; principal 1,000,000.00; excess -319,999.88
    assert (a["availability"], a["principal"], a["excess"]) == ("680000.12", "1000000.00", "-319999.88")


def test_moving_into_the_ineligible_plant_lowers_availability():
    """An item moved to Canton stops counting from the move's date."""
    events = log(deal({"inv-ohio": ("inventory", "ohio", "100000.00")}, moves=[("inv-ohio", "canton")]))
    snap = Snapshot(events, NOW)
    assert snap.availability(date(2000, 1, 31)).to_json()["availability"] == "50000.00"
    assert snap.availability(date(2000, 2, 1)).to_json()["availability"] == "0.00"


def test_revaluation_counts_from_its_date():
    """The latest value on or before D is the one used."""
    lines = deal({"inv": ("inventory", "ohio", "100000.00")})
    lines.append({"type": "CollateralValued", "id": "v1", "effective_date": "2000-03-01", "collateral": "inv",
                  "value": "80000.00"})
    snap = Snapshot(log(lines), NOW)
    gross = lambda d: {c["kind"]: c["gross"] for c in snap.availability(d).to_json()["classes"]}["inventory"]  # noqa: E731
    assert gross(date(2000, 2, 29)) == "100000.00"
    assert gross(date(2000, 3, 1)) == "80000.00"


amounts = st.decimals(min_value=0, max_value=10_000_000, places=2).map(lambda d: f"{d:.2f}")
items = st.dictionaries(
    st.from_regex(r"[a-z]{1,6}", fullmatch=True),
    st.tuples(st.sampled_from(["inventory", "equipment", "accounts", "real-property"]),
              st.sampled_from(["ohio", "canton"]), amounts),
    min_size=1, max_size=8)
rates = st.fixed_dictionaries({k: st.decimals(min_value=0, max_value=1, places=2).map(str)
                               for k in ("inventory", "equipment", "accounts")})


@settings(max_examples=60, deadline=None)
@given(items, rates)
def test_availability_never_exceeds_eligible_value_times_rate(values, rate):
    """Availability is at most the sum over kinds of eligible value times the rate (rounding per class only)."""
    a = Snapshot(log(deal(values, rates=rate)), NOW).availability(date(2000, 1, 31))
    bound = sum((c.eligible * Decimal(c.advance_rate) for c in a.classes), Decimal(0))
    assert a.availability <= bound + Decimal("0.005") * len(a.classes)
    for c in a.classes:
        assert Decimal(0) <= c.availability <= c.eligible * Decimal(c.advance_rate) + Decimal("0.005")


@settings(max_examples=60, deadline=None)
@given(items, rates, st.data())
def test_moving_an_item_into_an_ineligible_location_never_raises_availability(values, rate, data):
    """Whatever item moves to Canton, availability after the move is no higher than before."""
    item = data.draw(st.sampled_from(sorted(values)))
    snap = Snapshot(log(deal(values, moves=[(item, "canton")], rates=rate)), NOW)
    before = snap.availability(date(2000, 1, 31)).availability
    after = snap.availability(date(2000, 2, 1)).availability
    assert after <= before
