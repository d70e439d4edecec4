"""DEALS.md §1, rules and their citations, on a deal that is not the 1996 one (SQLite and PostgreSQL).

The deal (invented, every figure worked by hand): Summit Bank (`summit-bank`, the lender) lends to
Acme Tools (`acme`); Harbor Credit (`harbor-credit`), another secured lender, has a term loan to Acme
(financing `harbor`) that Summit caps. Acme's presses are under Summit's lien, press-4 under Harbor's
too. The loan agreement's terms name two location rules of the deal's own: `summit-location` (Summit's
collateral may leave the plant only on notice and only for the annex: `permitted`) and
`harbor-location` (Harbor's collateral may leave the plant on notice, to anywhere). Its `clauses`
give the clauses of some rules, not of others; an amendment of 5 Mar adds two more.

    loan 2024-01-10   clauses: summit-location §7.1, harbor-location §7.2, ineligible-inventory §9(b),
                      cap §2.1, furnish-notices §8; caps harbor 500,000 (own clause §2.3) and
                      harbor/acme 550,000 (no clause of its own); grace summit-location 15, furnish 3
    adv-1  01-15      harbor 400,000
    mv-annex 02-01    press-1 plant -> annex, notice n-1: permitted, no breach
    mv-depot 02-05    press-2 plant -> depot, notice n-2: not permitted, summit-location breach,
                      EoD 02-05 + 15 = 02-20, clause §7.1
    adv-2  02-10      harbor 600,000: cap:harbor:*:adv-2 cites §2.3 (its own), cap:harbor:acme:adv-2
                      cites §2.1 (clauses["cap"]); grace 0, EoD 02-10
    rcv-1  02-12      a material notice to Acme from Harbor, never forwarded: due 02-12 + 5 = 02-17,
                      breach from 02-18, EoD 02-18 + 3 = 02-21, clause §8
    mv-yard 03-01     press-3 plant -> yard, no notice: summit-location §7.1 and protected-location-in
                      (no clause entry: null)
    mv-p4  03-02      press-4 plant -> depot, notice n-3: summit-location breach (depot not permitted);
                      harbor-location none (no `permitted`: any noticed move is fine)
    adv-3  03-04      harbor 10,000 while Events of Default continue: no-default-at-advance, null
    amendment 03-05   clauses: ineligible-equipment §9(c), no-default-at-advance §5
    adv-4  03-06      harbor 10,000: no-default-at-advance cites §5 (the terms on its date); adv-3's
                      breach keeps null (judged under the terms of 03-04)
"""

from __future__ import annotations

import json

import pytest

from ledger import open_ledger
from ledger.errors import InputError
from ledger.rules import BUILT_IN_RULE_IDS

D0 = "2024-01-02"


def ev(type_, day, id_, **fields):
    return {"type": type_, "id": id_, "effective_date": day, **fields}


LOAN_TERMS = {
    "lender": "summit-bank",
    "restricted_collateral": [
        {"rule": "summit-location", "holder": "summit-bank", "locations": ["acme-plant"], "permitted": ["acme-annex"]},
        {"rule": "harbor-location", "holder": "harbor-credit", "locations": ["acme-plant"]},
    ],
    "protected_locations": ["acme-yard"],
    "ineligible_locations": ["acme-yard"],
    "caps": [{"financing": "harbor", "amount": "500000.00", "clause": "§2.3"},
             {"financing": "harbor", "borrower": "acme", "amount": "550000.00"}],
    "representation_financings": ["harbor"],
    "promptly_days": 5,
    "grace_days": {"summit-location": 15, "furnish-notices": 3},
    "clauses": {"summit-location": "§7.1", "harbor-location": "§7.2", "ineligible-inventory": "§9(b)",
                "cap": "§2.1", "furnish-notices": "§8"},
}


def base_events(terms=LOAN_TERMS) -> list[dict]:
    out = [
        ev("PartyRegistered", D0, "p-summit", party="summit-bank", name="Summit Bank", roles=["lender"]),
        ev("PartyRegistered", D0, "p-acme", party="acme", name="Acme Tools, Inc.", roles=["borrower"]),
        ev("PartyRegistered", D0, "p-harbor", party="harbor-credit", name="Harbor Credit", roles=["lender"]),
        *(ev("LocationRegistered", D0, f"loc-{loc}", location=loc, address=f"{loc} premises")
          for loc in ("acme-plant", "acme-annex", "acme-depot", "acme-yard")),
        ev("FacilityOpened", "2024-01-10", "f-harbor", facility="harbor-term", lender="harbor-credit",
           borrower="acme", kind="term", financing="harbor"),
        ev("AgreementExecuted", "2024-01-10", "ag-loan", agreement="acme-loan", title="Loan and Security Agreement",
           parties=["summit-bank", "acme"], terms=terms),
        *(ev("CollateralRegistered", "2024-01-10", f"c-press-{n}", collateral=f"press-{n}", kind="equipment",
             owner="acme", location="acme-plant", value="100000.00") for n in (1, 2, 3, 4)),
        ev("CollateralRegistered", "2024-01-10", "c-inv-1", collateral="inv-1", kind="inventory", owner="acme",
           location="acme-yard", value="50000.00"),
        ev("LienGranted", "2024-01-10", "lien-s", lien="summit-lien", grantor="acme", holder="summit-bank",
           collateral=["press-1", "press-2", "press-3", "press-4", "inv-1"], kind="security-interest"),
        ev("LienGranted", "2024-01-10", "lien-h", lien="harbor-lien", grantor="acme", holder="harbor-credit",
           collateral=["press-4"], kind="security-interest"),
    ]
    return out


def deal_events() -> list[dict]:
    def notice(day, id_, item):
        return ev("NoticeSent", day, id_, notice=f"ntc-{id_}", to="summit-bank", subject="collateral-move",
                  collateral=[item], **{"from": "acme"})

    return [
        *base_events(),
        ev("LoanAdvanced", "2024-01-15", "adv-1", facility="harbor-term", amount="400000.00"),
        notice("2024-01-25", "n-1", "press-1"),
        notice("2024-01-30", "n-2", "press-2"),
        ev("CollateralMoved", "2024-02-01", "mv-annex", collateral="press-1", to="acme-annex"),
        ev("CollateralMoved", "2024-02-05", "mv-depot", collateral="press-2", to="acme-depot"),
        ev("LoanAdvanced", "2024-02-10", "adv-2", facility="harbor-term", amount="200000.00"),
        ev("NoticeReceived", "2024-02-12", "rcv-1", notice="ntc-harbor-1", to="acme", financing="harbor",
           category="material", **{"from": "harbor-credit"}),
        ev("CollateralMoved", "2024-03-01", "mv-yard", collateral="press-3", to="acme-yard"),
        notice("2024-03-01", "n-3", "press-4"),
        ev("CollateralMoved", "2024-03-02", "mv-p4", collateral="press-4", to="acme-depot"),
        ev("LoanAdvanced", "2024-03-04", "adv-3", facility="harbor-term", amount="10000.00"),
        ev("AgreementExecuted", "2024-03-05", "ag-am1", agreement="acme-amendment-1", title="First Amendment",
           parties=["summit-bank", "acme"],
           terms={"clauses": {"ineligible-equipment": "§9(c)", "no-default-at-advance": "§5"}}),
        ev("LoanAdvanced", "2024-03-06", "adv-4", facility="harbor-term", amount="10000.00"),
    ]


KNOWN = "2030-01-01"


@pytest.fixture
def lg(ledger_url):
    with open_ledger(ledger_url) as ledger:
        ledger.record(deal_events())
        yield ledger


def breaches(lg, day="2024-04-01") -> dict[str, dict]:
    return {b["breach"]: b for b in lg.defaults(as_of=day, known_at=KNOWN).to_json()["breaches"]}


def reasons(lg, day) -> dict[str, list[tuple]]:
    return {c["collateral"]: [(r["rule"], r["clause"]) for r in c["reasons"]]
            for c in lg.eligibility(as_of=day, known_at=KNOWN).to_json()["collateral"]}


# ---------------------------------------------------------------- what each finding cites

def test_every_breach_cites_the_clause_its_terms_give(lg):
    """The hand-worked list: ids, clauses, since and Event of Default dates (grace from grace_days)."""
    got = {k: (b["rule"], b["clause"], b["since"], b["event_of_default_from"]) for k, b in breaches(lg).items()}
    assert got == {
        "summit-location:mv-depot": ("summit-location", "§7.1", "2024-02-05", "2024-02-20"),
        "cap:harbor:*:adv-2": ("cap", "§2.3", "2024-02-10", "2024-02-10"),
        "cap:harbor:acme:adv-2": ("cap", "§2.1", "2024-02-10", "2024-02-10"),
        "furnish-notices:rcv-1": ("furnish-notices", "§8", "2024-02-18", "2024-02-21"),
        "summit-location:mv-yard": ("summit-location", "§7.1", "2024-03-01", "2024-03-16"),
        "protected-location-in:mv-yard": ("protected-location-in", None, "2024-03-01", "2024-03-01"),
        "summit-location:mv-p4": ("summit-location", "§7.1", "2024-03-02", "2024-03-17"),
        "no-default-at-advance:adv-3": ("no-default-at-advance", None, "2024-03-04", "2024-03-04"),
        "no-default-at-advance:adv-4": ("no-default-at-advance", "§5", "2024-03-06", "2024-03-06"),
    }


def test_a_caps_own_clause_wins_over_clauses_cap(lg):
    """Of the two caps one advance passed, the one with a clause cites it; the other cites clauses["cap"]."""
    found = breaches(lg)
    assert found["cap:harbor:*:adv-2"]["clause"] == "§2.3"
    assert found["cap:harbor:acme:adv-2"]["clause"] == "§2.1"


def test_a_finding_reads_the_clauses_in_force_on_the_date_it_judges(lg):
    """adv-3 (4 Mar) was judged before the amendment gave the rule a clause; adv-4 (6 Mar) after it."""
    found = breaches(lg)
    assert found["no-default-at-advance:adv-3"]["clause"] is None
    assert found["no-default-at-advance:adv-4"]["clause"] == "§5"


def test_eligibility_cites_clauses_key_by_key(lg):
    """press-3 at the yard cites null until 5 Mar, then §9(c); the loan's §9(b) for inventory stays."""
    assert reasons(lg, "2024-03-02")["press-3"] == [("ineligible-equipment", None)]
    assert reasons(lg, "2024-03-02")["inv-1"] == [("ineligible-inventory", "§9(b)")]
    assert reasons(lg, "2024-03-06")["press-3"] == [("ineligible-equipment", "§9(c)")]
    assert reasons(lg, "2024-03-06")["inv-1"] == [("ineligible-inventory", "§9(b)")]


def test_details_are_built_from_facts_and_terms(lg):
    """No 1996 wording: the ids, dates, the terms key that set a number."""
    found = breaches(lg)
    assert found["furnish-notices:rcv-1"]["detail"] == (
        "notice ntc-harbor-1 (material, harbor financing), received by acme from harbor-credit on 2024-02-12, "
        "was not furnished to summit-bank within 5 days "
        "(promptly_days = 5 is set by the terms, not a number the agreement gives)")
    (equipment,) = [r for c in lg.eligibility(as_of="2024-03-06", known_at=KNOWN).to_json()["collateral"]
                    if c["collateral"] == "press-3" for r in c["reasons"]]
    assert "acme-yard" in equipment["detail"] and "ineligible_locations" in equipment["detail"]
    text = json.dumps([lg.defaults(as_of="2024-04-01", known_at=KNOWN).to_json(),
                       lg.eligibility(as_of="2024-04-01", known_at=KNOWN).to_json()], ensure_ascii=False)
    for words in ("Eligible", "New Equipment", "promptly\\\"", "§3", "§4", "§5(a)", "Congress"):
        assert words not in text


# ---------------------------------------------------------------- permitted destinations

def test_a_move_with_notice_to_a_permitted_place_is_no_breach(lg):
    """press-1 went to the annex, the one permitted place, on notice: no breach names its move."""
    assert not [b for b in breaches(lg).values() if "mv-annex" in b["events"]]


def test_a_move_with_notice_to_a_place_not_permitted_is_a_breach(lg):
    """press-2 went on notice to the depot, which summit-location does not permit."""
    depot = breaches(lg)["summit-location:mv-depot"]
    assert depot["events"] == ["mv-depot"]
    assert "moved with notice to acme-depot, which is not a permitted location" in depot["detail"]
    assert depot["state"] == "event-of-default"


def test_permitted_belongs_to_its_own_restriction(lg):
    """press-4 (under both liens) went on notice to the depot: Summit's rule, with `permitted`, is breached;
    Harbor's, without it, is not."""
    found = breaches(lg)
    assert "summit-location:mv-p4" in found
    assert "harbor-location:mv-p4" not in found


def test_without_notice_a_permitted_destination_is_still_a_breach(ledger_url):
    """`permitted` narrows what a notice covers; a move to the permitted annex with no notice is a breach."""
    with open_ledger(ledger_url) as lg:
        lg.record([*base_events(), ev("CollateralMoved", "2024-02-01", "mv-1", collateral="press-1", to="acme-annex")])
        found = breaches(lg)
    assert list(found) == ["summit-location:mv-1"]
    assert "without prior written notice to summit-bank" in found["summit-location:mv-1"]["detail"]


def test_the_other_restricted_locations_are_not_permitted_unless_listed(ledger_url):
    """DEALS §6: a move on notice between two restricted locations breaches unless `permitted` lists the second."""
    terms = {"lender": "summit-bank", "restricted_collateral": [
        {"rule": "summit-location", "holder": "summit-bank", "locations": ["acme-plant", "acme-depot"],
         "permitted": ["acme-annex"]}]}
    with open_ledger(ledger_url) as lg:
        lg.record([*base_events(terms),
                   ev("NoticeSent", "2024-01-30", "n-1", notice="ntc-1", to="summit-bank", subject="collateral-move",
                      collateral=["press-1"], **{"from": "acme"}),
                   ev("CollateralMoved", "2024-02-01", "mv-1", collateral="press-1", to="acme-depot")])
        found = breaches(lg)
    assert list(found) == ["summit-location:mv-1"]
    assert found["summit-location:mv-1"]["clause"] is None  # these terms have no `clauses`


# ---------------------------------------------------------------- terms without `clauses`

def test_terms_without_clauses_cite_null(ledger_url):
    """The same deal with no `clauses` and no cap clause: every finding cites null."""
    terms = {k: v for k, v in LOAN_TERMS.items() if k != "clauses"}
    terms["caps"] = [{k: v for k, v in c.items() if k != "clause"} for c in LOAN_TERMS["caps"]]
    events = [e if e["id"] != "ag-loan" else {**e, "terms": terms} for e in deal_events() if e["id"] != "ag-am1"]
    with open_ledger(ledger_url) as lg:
        lg.record(events)
        found = breaches(lg)
        assert len(found) == 9
        assert {b["clause"] for b in found.values()} == {None}
        assert {c for rs in reasons(lg, "2024-03-06").values() for _, c in rs} == {None}


def test_the_fold_and_the_read_models_agree(ledger_url):
    """Breaches are kept in the read models with their clause (null or not): the same bytes as the fold."""
    with open_ledger(ledger_url) as lg:
        lg.record(deal_events())
        model = lg.defaults(as_of="2024-04-01", known_at=KNOWN).to_json()
        model_el = lg.eligibility(as_of="2024-03-02", known_at=KNOWN).to_json()
    with open_ledger(ledger_url, reference=True) as ref:
        assert ref.defaults(as_of="2024-04-01", known_at=KNOWN).to_json() == model
        assert ref.eligibility(as_of="2024-03-02", known_at=KNOWN).to_json() == model_el


def test_tables_print_a_null_clause(lg, ledger_url, run_cli):
    """The rich tables name the rule where no clause is cited (no "None")."""
    for view in ("defaults", "eligibility", "status"):
        result = run_cli([view, "--as-of", "2024-03-04", "--known-at", KNOWN, "--db", ledger_url],
                         env={"COLUMNS": "160"})
        assert result.code == 0, result
        assert "None" not in result.stdout
    result = run_cli(["eligibility", "--as-of", "2024-03-04", "--known-at", KNOWN, "--db", ledger_url],
                     env={"COLUMNS": "160"})
    assert "ineligible-equipment" in result.stdout and "§9(b) ineligible-inventory" in result.stdout


# ---------------------------------------------------------------- rule ids checked at record

def amendment(terms, id_="ag-x", **more):
    return ev("AgreementExecuted", "2024-04-01", id_, agreement=id_, title="Amendment",
              parties=more.pop("parties", ["summit-bank", "acme"]), terms=terms, **more)


def refused(lg, lines, field, *words):
    before = len(lg.events())
    with pytest.raises(InputError) as info:
        lg.record(lines)
    assert (info.value.line, info.value.field) == (len(lines), field), str(info.value)
    for word in words:
        assert word in str(info.value), str(info.value)
    assert len(lg.events()) == before


@pytest.mark.parametrize("key,value,field", [
    ("grace_days", {"summit-locaton": 5}, "terms.grace_days.summit-locaton"),
    ("clauses", {"unknown-rule": "§1"}, "terms.clauses.unknown-rule"),
    ("self_curing", ["summit-location", "overlimit"], "terms.self_curing"),
    ("grace_days", {"cit-location": 0}, "terms.grace_days.cit-location"),  # no longer built in
])
def test_an_unknown_rule_id_is_refused_naming_the_field_and_the_known_ids(lg, key, value, field):
    """Any id neither built in nor defined by this or an earlier agreement is refused, the known ids listed."""
    refused(lg, [amendment({key: value})], field, "summit-location", "harbor-location", "over-limit",
            "protected-location-in")


def test_rule_ids_may_be_built_in_or_defined_here_or_before(lg):
    """Built-in ids, ids of an earlier agreement (even one never effective, with other parties), and ids this
    agreement defines, may all be named."""
    pending = amendment({"conditions": ["x"], "restricted_collateral": [
        {"rule": "depot-location", "holder": "harbor-credit", "locations": ["acme-depot"]}]},
        "ag-pending", parties=["harbor-credit"])
    later = amendment({"grace_days": {"depot-location": 2, "payment-default": 3, "summit-location": 1},
                       "self_curing": ["over-limit", "harbor-location"],
                       "clauses": {"depot-location": "§1", "annex-location": "§2", "overadvance": "§3"},
                       "restricted_collateral": [
                           {"rule": "annex-location", "holder": "summit-bank", "locations": ["acme-annex"]}]},
                      "ag-later")
    lg.record([pending, later])
    assert {e.event_id for e in lg.events()} >= {"ag-pending", "ag-later"}


def test_a_permitted_location_must_be_registered(lg):
    refused(lg, [amendment({"restricted_collateral": [
        {"rule": "summit-location", "holder": "summit-bank", "locations": ["acme-plant"],
         "permitted": ["acme-annex", "acme-moon"]}]})],
            "terms.restricted_collateral[0].permitted", "acme-moon")


def test_the_built_in_ids_are_those_deals_md_lists():
    """One table of built-in ids (ledger/rules.py): DEALS.md §1's list, and `not-first-priority` (this project's)."""
    assert set(BUILT_IN_RULE_IDS) == {
        "protected-location-in", "furnish-notices", "cap", "no-default-at-advance", "ineligible-inventory",
        "ineligible-equipment", "ineligible-category", "ineligible-aged", "ineligible-cross-aged",
        "ineligible-debtor", "ineligible-contra", "ineligible-concentration", "payment-default", "over-limit",
        "overadvance", "not-first-priority"}


def test_clauses_round_trip_through_events(lg):
    """`clauses` and `permitted` are kept in the log as given (events --json prints the input shape)."""
    (loan,) = [e for e in lg.events() if e.event_id == "ag-loan"]
    from ledger.codec import encode

    terms = encode(loan.event)["terms"]
    assert terms["clauses"] == LOAN_TERMS["clauses"]
    assert terms["restricted_collateral"][0]["permitted"] == ["acme-annex"]
    assert "permitted" not in terms["restricted_collateral"][1]


def test_web_pages_print_a_null_clause(tmp_path):
    """`cledger serve`'s pages leave a null clause out (no "None"), and show one the terms give."""
    from starlette.testclient import TestClient

    from ledger.web import create_app
    from ledger.web.service import LedgerService

    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with open_ledger(url) as ledger:
        ledger.record(deal_events())
    with TestClient(create_app(LedgerService(url))) as c:
        for page in ("status", "defaults", "collateral"):
            text = c.get(f"/{page}?as_of=2024-03-04&known_at={KNOWN}").text
            assert "None" not in text, page
        assert "§9(b)" in c.get(f"/collateral?as_of=2024-03-04&known_at={KNOWN}").text
