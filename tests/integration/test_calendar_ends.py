"""Dates at both ends of the calendar: no rule's date arithmetic may overflow, on either backend (issue 19)."""

from __future__ import annotations

import json
from datetime import date


from ledger import open_ledger
from ledger.values import utc_now

T = "0001-01-01T00:00:00+00:00"


def _deal(first: str = "0001-01-01", cap_grace: int = 3650) -> list[dict]:
    """A small deal whose every rule can fire: parties, places, a cap, notices, liens and moves."""
    d = first
    terms = {
        "lender": "bank", "promptly_days": 5,
        "grace_days": {"cap": cap_grace, "furnish-notices": 10, "cit-location": 3650,
                       "protected-location-in": 3650, "no-default-at-advance": 3650},
        "caps": [{"financing": "other", "amount": "100.00"}],
        "restricted_collateral": [{"rule": "cit-location", "holder": "other", "locations": ["a"]}],
        "protected_locations": ["p"], "representation_financings": ["other"],
        "self_curing": ["cit-location"], "advance_rates": {"equipment": "0.50"},
        "borrowing_base_facilities": ["rev"],
    }
    return [
        {"type": "PartyRegistered", "id": "p-bank", "effective_date": d, "party": "bank", "name": "Bank",
         "roles": ["lender"]},
        {"type": "PartyRegistered", "id": "p-other", "effective_date": d, "party": "other", "name": "Other",
         "roles": ["lender"]},
        {"type": "PartyRegistered", "id": "p-co", "effective_date": d, "party": "co", "name": "Co",
         "roles": ["borrower"]},
        {"type": "LocationRegistered", "id": "l-a", "effective_date": d, "location": "a", "address": "A"},
        {"type": "LocationRegistered", "id": "l-b", "effective_date": d, "location": "b", "address": "B"},
        {"type": "LocationRegistered", "id": "l-p", "effective_date": d, "location": "p", "address": "P"},
        {"type": "FacilityOpened", "id": "f-rev", "effective_date": d, "facility": "rev", "lender": "bank",
         "borrower": "co", "kind": "revolving", "limit": "1000000.00"},
        {"type": "FacilityOpened", "id": "f-oth", "effective_date": d, "facility": "oth", "lender": "other",
         "borrower": "co", "kind": "term", "financing": "other", "limit": "1000000.00"},
        {"type": "AgreementExecuted", "id": "agr", "effective_date": d, "agreement": "fa", "title": "FA",
         "parties": ["bank", "co"], "terms": terms},
        {"type": "CollateralRegistered", "id": "c-m1", "effective_date": d, "collateral": "m1", "kind": "equipment",
         "owner": "co", "location": "a", "serial": "S1", "value": "1000.00"},
        {"type": "CollateralRegistered", "id": "c-m2", "effective_date": d, "collateral": "m2", "kind": "equipment",
         "owner": "co", "location": "b", "value": "500.00"},
        {"type": "LienGranted", "id": "lien-o", "effective_date": d, "lien": "lo", "grantor": "co", "holder": "other",
         "collateral": ["m1"], "kind": "security-interest"},
        {"type": "LoanAdvanced", "id": "adv-first", "effective_date": d, "facility": "rev", "amount": "10.00"},
    ]


def _extremes() -> list[dict]:
    """Every rule fired on the first day of the calendar and on the last."""
    out = _deal()
    for tag, d in (("lo", "0001-01-01"), ("hi", "9999-12-31")):
        out += [
            {"type": "CollateralMoved", "id": f"mv-{tag}", "effective_date": d, "collateral": "m1",
             "to": "b" if tag == "lo" else "a"},
            {"type": "CollateralMoved", "id": f"mvp-{tag}", "effective_date": d, "collateral": "m2",
             "to": "p" if tag == "lo" else "b"},
            {"type": "NoticeReceived", "id": f"n-{tag}", "effective_date": d, "notice": f"nt-{tag}",
             "from": "other", "to": "co", "financing": "other", "category": "material"},
            {"type": "LoanAdvanced", "id": f"cap-{tag}", "effective_date": d, "facility": "oth", "amount": "200.00"},
            {"type": "LoanAdvanced", "id": f"rep-{tag}", "effective_date": d, "facility": "oth", "amount": "1.00"},
            {"type": "CollateralValued", "id": f"v-{tag}", "effective_date": d, "collateral": "m1", "value": "900.00"},
        ]
    out += [
        {"type": "DefaultWaived", "id": "w-lo", "effective_date": "9999-12-31",
         "breach": "cap:other:*:cap-lo", "by": "bank"},
        {"type": "EventVoided", "id": "void-n", "effective_date": "9999-12-31", "event": "n-hi", "reason": "typo"},
    ]
    return out


def _answers(lg, as_of, known_at=None) -> dict:
    return {name: getattr(lg, name)(as_of=as_of, known_at=known_at).to_json()
            for name in ("liens", "eligibility", "balances", "defaults", "availability")}


def _record_all(url: str, lines: list[dict]) -> None:
    with open_ledger(url) as lg:
        for line in lines:  # one at a time, so a DefaultWaived finds the breach it names
            lg.record([line])


def test_a_notice_on_the_last_day_with_promptly_days_keeps_every_answer(ledger_url, run_cli):
    """A NoticeReceived effective 9999-12-31 under promptly_days: queries, audit and rebuild all answer."""
    _record_all(ledger_url, _deal("1996-01-01") + [
        {"type": "NoticeReceived", "id": "n-end", "effective_date": "9999-12-31", "notice": "nt",
         "from": "other", "to": "co", "financing": "other", "category": "material"}])
    for args in (["defaults", "--as-of", "9999-12-31"], ["balances", "--as-of", "1996-06-01"],
                 ["defaults", "--as-of", "1996-06-01", "--known-at", "1996-01-02"], ["audit"], ["rebuild"]):
        for env in ({}, {"CLEDGER_REFERENCE": "1"}):
            res = run_cli([*args, "--db", ledger_url, *(["--json"] if args[0] != "audit" and args[0] != "rebuild" else [])], env=env)
            assert res.code == 0, (args, env, res)


def test_an_over_cap_advance_late_in_the_calendar_has_no_event_of_default_date(ledger_url, run_cli):
    """An advance over a cap on 9990-12-31 with 3650 grace days: the breach is listed, never an Event of Default."""
    _record_all(ledger_url, _deal("1996-01-01") + [
        {"type": "LoanAdvanced", "id": "big", "effective_date": "9990-12-31", "facility": "oth", "amount": "500.00"}])
    res = run_cli(["defaults", "--as-of", "9999-12-31", "--json", "--db", ledger_url])
    assert res.code == 0, res
    breach = next(b for b in json.loads(res.stdout)["breaches"] if b["rule"] == "cap")
    assert breach["event_of_default_from"] is None and breach["state"] == "default"
    for args in (["audit"], ["rebuild"], ["status", "--as-of", "9999-12-31"]):
        assert run_cli([*args, "--db", ledger_url]).code == 0, args


def test_events_at_both_ends_of_the_calendar_on_every_rule(ledger_url):
    """Moves, notices, caps, §5(a) advances, waivers and voids on 0001-01-01 and 9999-12-31: the read models
    and the fold answer alike, on each end, and every breach of the first day is found."""
    _record_all(ledger_url, _extremes())
    now = utc_now()
    with open_ledger(ledger_url) as lg, open_ledger(ledger_url, reference=True) as ref:
        for day in (date(1, 1, 1), date(1, 1, 2), date(5000, 1, 1), date(9999, 12, 30), date(9999, 12, 31)):
            assert _answers(lg, day, now) == _answers(ref, day, now), day
        defaults = lg.defaults(as_of=date(9999, 12, 31)).to_json()
    rules = {b["rule"] for b in defaults["breaches"]}
    assert {"cit-location", "protected-location-in", "furnish-notices", "cap", "no-default-at-advance"} <= rules
    by_id = {b["breach"]: b for b in defaults["breaches"]}
    assert by_id["cap:other:*:cap-lo"]["state"] == "waived"
    assert by_id["cap:other:*:cap-lo"]["event_of_default_from"] == "0010-12-30"  # 3650 days after 0001-01-01
    assert by_id["furnish-notices:n-lo"]["since"] == "0001-01-07"
    assert "furnish-notices:n-hi" not in by_id  # its deadline never comes within the calendar
    # a breach begun on the last day whose grace runs past it: listed, with no Event of Default date
    assert by_id["cap:other:*:cap-hi"]["event_of_default_from"] is None
    assert by_id["cap:other:*:cap-hi"]["state"] == "default"


def test_a_chart_to_the_last_day_of_the_calendar_is_drawn(sqlite_url, run_cli, tmp_path):
    """`chart --to 9999-12-31`: the range's exclusive end would be past the calendar; it is drawn (exit 0)."""
    _record_all(sqlite_url, _deal("1996-01-01") + [
        {"type": "NoticeReceived", "id": "n-end", "effective_date": "9999-12-31", "notice": "nt",
         "from": "other", "to": "co", "financing": "other", "category": "material"}])
    for chart in ("timeline", "collateral"):
        res = run_cli(["chart", chart, "--from", "9999-01-01", "--to", "9999-12-31", "--out",
                       str(tmp_path / f"{chart}.png"), "--db", sqlite_url])
        assert res.code == 0, res
