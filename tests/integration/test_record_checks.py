"""Record-time checks that need the ledger's state: each refusal names the line and field, and records nothing."""

from __future__ import annotations

import pytest

from ledger import open_ledger
from ledger.errors import InputError

D = "1996-01-10"
BASE = [
    {"type": "PartyRegistered", "id": "p-c", "effective_date": D, "party": "congress", "name": "Congress", "roles": ["lender"]},
    {"type": "PartyRegistered", "id": "p-l", "effective_date": D, "party": "lpc", "name": "LPC", "roles": ["borrower"]},
    {"type": "PartyRegistered", "id": "p-b", "effective_date": D, "party": "bank-one", "name": "Bank One", "roles": ["lender"]},
    {"type": "AgreementExecuted", "id": "a-1", "effective_date": D, "agreement": "fa", "title": "Financing Agreements",
     "parties": ["congress", "lpc"], "terms": {"lender": "congress", "conditions": ["6(a)", "6(b)"]}},
    {"type": "FacilityOpened", "id": "f-r", "effective_date": D, "facility": "rev", "lender": "congress",
     "borrower": "lpc", "kind": "revolving"},
    {"type": "FacilityOpened", "id": "f-n", "effective_date": D, "facility": "note", "lender": "congress",
     "borrower": "lpc", "kind": "term",
     "installments": [{"due": "1997-01-01", "amount": "100.00"}, {"due": "1998-01-01", "amount": "100.00"}]},
    {"type": "LoanAdvanced", "id": "adv-r", "effective_date": "1996-02-01", "facility": "rev", "amount": "1000.00"},
    {"type": "LoanAdvanced", "id": "adv-n", "effective_date": "1996-02-01", "facility": "note", "amount": "200.00"},
    {"type": "LocationRegistered", "id": "loc", "effective_date": D, "location": "plant", "address": "Plant"},
    {"type": "CollateralRegistered", "id": "c-1", "effective_date": D, "collateral": "press", "kind": "equipment",
     "owner": "lpc", "location": "plant"},
    {"type": "LienGranted", "id": "l-1", "effective_date": D, "lien": "l1", "grantor": "lpc", "holder": "congress",
     "collateral": ["press"], "kind": "security-interest"},
    {"type": "LienGranted", "id": "l-2", "effective_date": D, "lien": "l2", "grantor": "lpc", "holder": "bank-one",
     "collateral": ["press"], "kind": "security-interest"},
]


@pytest.fixture
def lg(ledger_url):
    with open_ledger(ledger_url) as ledger:
        ledger.record(BASE)
        yield ledger


def refused(lg, lines, *, line, field, words=()):
    before = len(lg.events())
    with pytest.raises(InputError) as info:
        lg.record(lines)
    assert (info.value.line, info.value.field) == (line, field), str(info.value)
    for word in words:
        assert word in str(info.value)
    assert len(lg.events()) == before


def proceeds(amount, *steps):
    return {"type": "ProceedsReceived", "id": "prc", "effective_date": "1996-03-14", "from": "bank-one",
            "amount": amount, "apply": [dict(s) for s in steps]}


def test_payment_above_principal_is_refused(lg):
    """A payment of 1,000.01 on a revolver owing 1,000.00 is refused."""
    refused(lg, [{"type": "PaymentReceived", "id": "pay", "effective_date": "1996-03-01", "facility": "rev",
                  "amount": "1000.01"}], line=1, field="amount", words=["1000.00"])


def test_payment_before_the_advance_it_would_repay_is_refused(lg):
    """On 1996-01-20 nothing had been advanced yet: any payment then exceeds what is owed."""
    refused(lg, [{"type": "PaymentReceived", "id": "pay", "effective_date": "1996-01-20", "facility": "rev",
                  "amount": "1.00"}], line=1, field="amount")


def test_advance_before_the_facility_opened_is_refused(lg):
    """Money cannot move on a facility before the date it was opened."""
    refused(lg, [{"type": "LoanAdvanced", "id": "adv-early", "effective_date": "1996-01-09", "facility": "rev",
                  "amount": "5.00"}], line=1, field="facility", words=["opened on 1996-01-10"])


def test_waterfall_resolves_payoff_and_balance_and_keeps_the_amounts(lg):
    """payoff takes the note's 200.00, balance the remaining 300.00 to the revolver."""
    result = lg.record([proceeds("500.00", {"facility": "note", "amount": "payoff"},
                                 {"facility": "rev", "amount": "balance"})])
    steps = result.recorded[0].event.allocations
    assert [(s.facility, s.amount, str(s.resolved)) for s in steps] == [("note", "payoff", "200.00"),
                                                                       ("rev", "balance", "300.00")]
    assert {f.facility: str(f.principal) for f in lg.balances(as_of="1996-03-14").facilities} == {
        "note": "0.00", "rev": "700.00"}


def test_waterfall_step_needing_more_than_the_receipt_is_refused(lg):
    """A fixed step of 600.00 out of a 500.00 receipt is refused at that step."""
    refused(lg, [proceeds("500.00", {"facility": "rev", "amount": "600.00"})], line=1, field="apply[0].amount")


def test_waterfall_leaving_money_unapplied_is_refused(lg):
    """Steps that apply 150.00 of 500.00 and stop are refused."""
    refused(lg, [proceeds("500.00", {"facility": "note", "amount": "150.00"})], line=1, field="apply",
            words=["350.00"])


def test_waterfall_step_above_what_is_owed_is_refused(lg):
    """250.00 to a note owing 200.00 is refused even though the receipt covers it."""
    refused(lg, [proceeds("500.00", {"facility": "note", "amount": "250.00"}, {"facility": "rev", "amount": "balance"})],
            line=1, field="apply[0].amount", words=["200.00"])


def test_priority_cycle_is_refused(lg):
    """l1 over l2, then l2 over l1, is a cycle: the second is refused."""
    refused(lg, [{"type": "PriorityAgreed", "id": "pr1", "effective_date": D, "senior": "l1", "junior": "l2",
                  "agreement": "fa"},
                 {"type": "PriorityAgreed", "id": "pr2", "effective_date": D, "senior": "l2", "junior": "l1",
                  "agreement": "fa"}], line=2, field="senior")


def test_waiver_of_an_unknown_breach_is_refused(lg):
    """A waiver must name a breach that exists as known when it is recorded."""
    refused(lg, [{"type": "DefaultWaived", "id": "w", "effective_date": "1996-03-01", "breach": "cap:x:*:y",
                  "by": "congress"}], line=1, field="breach")


def test_condition_the_agreement_does_not_list_is_refused(lg):
    """6(z) is not among the agreement's conditions 6(a), 6(b)."""
    refused(lg, [{"type": "ConditionSatisfied", "id": "cz", "effective_date": D, "agreement": "fa",
                  "condition": "6(z)"}], line=1, field="condition", words=["6(a)"])


def test_declaring_an_id_twice_is_refused_until_the_first_is_voided(lg):
    """A second registration of `press` is refused; after voiding the first, it is accepted."""
    again = {"type": "CollateralRegistered", "id": "c-2", "effective_date": D, "collateral": "press",
             "kind": "inventory", "owner": "lpc", "location": "plant"}
    refused(lg, [again], line=1, field="collateral", words=["already recorded"])
    lg.record([{"type": "EventVoided", "id": "v-1", "effective_date": D, "event": "c-1", "reason": "wrong kind"}, again])
    assert [c.kind for c in lg.eligibility(as_of="1996-02-01").collateral] == ["inventory"]


def test_voiding_a_void_restores_the_advance_for_later_checks(lg):
    """Void the advance, void the void: the revolver owes 1,000.00 again and a 1,000.00 payment is accepted."""
    lg.record([{"type": "EventVoided", "id": "v-a", "effective_date": D, "event": "adv-r", "reason": "keyed twice"}])
    refused(lg, [{"type": "PaymentReceived", "id": "pay", "effective_date": "1996-03-01", "facility": "rev",
                  "amount": "1.00"}], line=1, field="amount")
    lg.record([{"type": "EventVoided", "id": "v-v", "effective_date": D, "event": "v-a", "reason": "it was right"},
               {"type": "PaymentReceived", "id": "pay", "effective_date": "1996-03-01", "facility": "rev",
                "amount": "1000.00"}])
    assert {f.facility: str(f.principal) for f in lg.balances(as_of="1996-03-02").facilities}["rev"] == "0.00"


def test_voiding_an_event_twice_is_refused(lg):
    """A second void of the same event is refused."""
    lg.record([{"type": "EventVoided", "id": "v-a", "effective_date": D, "event": "adv-r", "reason": "x"}])
    refused(lg, [{"type": "EventVoided", "id": "v-b", "effective_date": D, "event": "adv-r", "reason": "x"}],
            line=1, field="event", words=["already voided"])


def test_inverse_maturity_payment_reduces_the_latest_installment_first(lg):
    """150.00 in inverse order clears 1998-01-01 and leaves 50.00 of 1997-01-01."""
    lg.record([{"type": "PaymentReceived", "id": "pay", "effective_date": "1996-03-01", "facility": "note",
                "amount": "150.00", "order": "inverse-maturity"}])
    note = {f.facility: f for f in lg.balances(as_of="1996-03-01").facilities}["note"]
    assert [(i.due.isoformat(), str(i.amount)) for i in note.installments] == [("1997-01-01", "50.00"),
                                                                               ("1998-01-01", "0.00")]


def test_backdated_payment_that_would_leave_principal_below_zero_later_is_refused(lg):
    """1,000 advanced; 900 repaid on 1 Apr; a further 200 dated 1 Mar would leave -100 owing from 1 Apr."""
    lg.record([{"type": "PaymentReceived", "id": "pay-apr", "effective_date": "1996-04-01", "facility": "rev",
                "amount": "900.00"}])
    refused(lg, [{"type": "PaymentReceived", "id": "pay-mar", "effective_date": "1996-03-01", "facility": "rev",
                  "amount": "200.00"}], line=1, field="amount", words=["1996-04-01", "100.00"])
