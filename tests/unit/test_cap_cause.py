"""A cap breach is caused by the advance that took principal over the cap, and later advances that day carry §5(a)."""

from __future__ import annotations

from datetime import date

from tests.unit.test_availability import NOW, log
from projections.query import Snapshot

D = "2000-01-03"


def _deal(*advances: tuple[str, str]) -> list[dict]:
    lines = [
        {"type": "PartyRegistered", "id": "p1", "effective_date": D, "party": "bank", "name": "Bank", "roles": ["lender"]},
        {"type": "PartyRegistered", "id": "p2", "effective_date": D, "party": "acme", "name": "Acme", "roles": ["borrower"]},
        {"type": "PartyRegistered", "id": "p3", "effective_date": D, "party": "other", "name": "Other", "roles": ["lender"]},
        {"type": "FacilityOpened", "id": "f1", "effective_date": D, "facility": "loan", "lender": "other",
         "borrower": "acme", "kind": "term", "financing": "other-fin"},
        {"type": "AgreementExecuted", "id": "a1", "effective_date": D, "agreement": "consent", "title": "Consent",
         "parties": ["bank", "acme"],
         "terms": {"lender": "bank", "caps": [{"financing": "other-fin", "amount": "10000.00"}],
                   "representation_financings": ["other-fin"]}},
    ]
    for i, (day, amount) in enumerate(advances):
        lines.append({"type": "LoanAdvanced", "id": f"adv-{i + 1}", "effective_date": day, "facility": "loan",
                      "amount": amount})
    return lines


def test_the_crossing_advance_causes_the_cap_breach_and_a_later_one_that_day_is_a_false_representation():
    """12,000 then 1,000 on one day under a 10,000 cap: the breach names the 12,000; the 1,000 breaks §5(a)."""
    answer = Snapshot(log(_deal(("2000-02-01", "12000.00"), ("2000-02-01", "1000.00"))), NOW).defaults(date(2000, 2, 1))
    assert [(b.breach, b.state) for b in answer.breaches] == [
        ("cap:other-fin:*:adv-1", "event-of-default"),
        ("no-default-at-advance:adv-2", "event-of-default"),
    ]


def test_an_advance_adding_to_an_excess_already_there_after_a_waiver_causes_the_new_breach():
    """After a waiver, the first advance that adds to the excess causes the new breach; the next one breaks §5(a)."""
    lines = _deal(("2000-02-01", "12000.00"))
    lines.append({"type": "DefaultWaived", "id": "w1", "effective_date": "2000-02-02",
                  "breach": "cap:other-fin:*:adv-1", "by": "bank"})
    lines += [{"type": "LoanAdvanced", "id": f"adv-{n}", "effective_date": "2000-03-01", "facility": "loan",
               "amount": "100.00"} for n in (2, 3)]
    answer = Snapshot(log(lines), NOW).defaults(date(2000, 3, 1))
    assert [(b.breach, b.state) for b in answer.breaches] == [
        ("cap:other-fin:*:adv-1", "waived"),
        ("cap:other-fin:*:adv-2", "event-of-default"),
        ("no-default-at-advance:adv-3", "event-of-default"),
    ]
