"""The bundled 1996 Lexington/Congress scenario, read back on SQLite and PostgreSQL.

Every expected figure below is a literal worked out by hand from the seed
(the Amendment of 14 March 1996), DOMAIN.md, the scenario's chosen figures
(ledger/data/README.md) and docs/scenario-figures.md; the arithmetic is in
the comments. None of them is copied from the program's output.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from ledger import open_ledger
from ledger.demo import scenario_path

# "Known now": long after the last line of the file (recorded 1996-07-01T15:00).
LATER = "1996-12-31"
# A bare known-at date is the end of that day, UTC.
K_0315 = "1996-03-15"


@pytest.fixture(scope="module")
def sqlite_scenario(tmp_path_factory):
    """The scenario recorded once into a SQLite ledger in a temporary folder."""
    url = f"sqlite:///{tmp_path_factory.mktemp('scenario-1996') / 'ledger.db'}"
    lg = open_ledger(url)
    lg.record_file(scenario_path())
    yield lg
    lg.close()


@pytest.fixture(scope="module")
def postgres_scenario():
    """The scenario recorded once into a PostgreSQL ledger in a schema of its own."""
    from tests.pgschema import fresh_schema

    with fresh_schema() as url:
        lg = open_ledger(url)
        try:
            lg.record_file(scenario_path())
            yield lg
        finally:
            lg.close()


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def lg(request):
    """The recorded scenario on each backend in turn."""
    return request.getfixturevalue(f"{request.param}_scenario")


# ---------------------------------------------------------------- helpers

def _facilities(lg, as_of, known_at=K_0315) -> dict[str, dict]:
    return {f["facility"]: f for f in lg.balances(as_of=as_of, known_at=known_at).to_json()["facilities"]}


def _caps(lg, as_of, known_at=K_0315) -> dict[tuple, tuple]:
    return {
        (c["financing"], c["borrower"]): (c["cap"], c["principal"], c["headroom"])
        for c in lg.balances(as_of=as_of, known_at=known_at).to_json()["caps"]
    }


def _liens(lg, as_of, known_at) -> dict[str, dict]:
    return {l["lien"]: l for l in lg.liens(as_of=as_of, known_at=known_at).to_json()["liens"]}


def _ranks(lg, item, as_of, known_at) -> list[tuple[int, str, str]]:
    for entry in lg.liens(as_of=as_of, known_at=known_at).to_json()["by_collateral"]:
        if entry["collateral"] == item:
            return [(l["rank"], l["lien"], l["holder"]) for l in entry["liens"]]
    return []


def _items(lg, as_of, known_at=K_0315) -> dict[str, dict]:
    return {i["collateral"]: i for i in lg.eligibility(as_of=as_of, known_at=known_at).to_json()["collateral"]}


def _reasons(item: dict) -> list[tuple[str, str]]:
    return [(r["rule"], r["clause"]) for r in item["reasons"]]


def _breaches(lg, as_of, known_at=LATER) -> dict[str, dict]:
    return {b["breach"]: b for b in lg.defaults(as_of=as_of, known_at=known_at).to_json()["breaches"]}


def _status(lg, as_of, known_at=LATER) -> str:
    return lg.defaults(as_of=as_of, known_at=known_at).to_json()["status"]


def _classes(answer: dict) -> dict[str, tuple]:
    return {
        c["kind"]: (c["gross"], c["ineligible"], c["eligible"], c["advance_rate"], c["availability"])
        for c in answer["classes"]
    }


def _quarter_ends(first_year: int, last_year: int) -> list[str]:
    return [f"{y}-{md}" for y in range(first_year, last_year + 1) for md in ("03-31", "06-30", "09-30", "12-31")]


# The LPC Second Restated Note: 24 quarterly installments of 50,000.00,
# 1995-09-30 ... 2001-06-30 (README, chosen figures).
NOTE_DUES = _quarter_ends(1995, 2001)[2:-2]


def test_note_schedule_has_24_quarterly_installments():
    """The hand-built due dates of the Second Restated Note match its 24-installment schedule."""
    assert len(NOTE_DUES) == 24
    assert NOTE_DUES[0] == "1995-09-30" and NOTE_DUES[-1] == "2001-06-30"


# ---------------------------------------------------------------- §6(f), §6(g): the waterfalls

def test_balances_before_the_amendment_come_from_the_dated_advances_and_payments(lg):
    """As of 1996-03-13 each facility shows its principal from the pre-Amendment history; Bank One's are not open."""
    got = {
        f: (v["lender"], v["borrower"], v["financing"], v["principal"], v["limit"])
        for f, v in _facilities(lg, "1996-03-13").items()
    }
    assert got == {
        # 8,000,000 + 2,500,000 - 750,000 + 1,900,000 + 600,000 = 12,250,000
        "lpc-revolver": ("congress", "lpc", None, "12250000.00", "15000000.00"),
        # 1,200,000 - 50,000 (1995-09-29) - 50,000 (1995-12-29) = 1,100,000
        "lpc-second-restated-note": ("congress", "lpc", None, "1100000.00", "1200000.00"),
        # 800,000 + 400,000 = 1,200,000
        "lci-revolver": ("congress", "lci", None, "1200000.00", "2000000.00"),
        # 1,000,000 - 100,000 (1995-03-31) = 900,000
        "lci-ohio-re-loan": ("congress", "lci", None, "900000.00", "1000000.00"),
        # 3,000,000 (01-17) + 1,500,000 (02-29) = 4,500,000
        "cit-equipment-loan": ("cit", "lpc", "cit", "4500000.00", "5500000.00"),
    }


def test_6f_pays_off_the_lci_ohio_real_estate_loan_and_the_balance_reduces_the_lci_revolver(lg):
    """§6(f): $1,500,000 pays off the LCI Ohio RE loan (900,000.00) and 600,000.00 goes to the LCI revolver."""
    before = _facilities(lg, "1996-03-13")
    after = _facilities(lg, "1996-03-15")
    assert before["lci-ohio-re-loan"]["principal"] == "900000.00"
    assert before["lci-revolver"]["principal"] == "1200000.00"
    # payoff = 900,000.00 (principal on 03-14); 900,000 - 900,000 = 0.00
    assert after["lci-ohio-re-loan"]["principal"] == "0.00"
    # balance = 1,500,000 - 900,000 = 600,000; 1,200,000 - 600,000 = 600,000.00
    assert after["lci-revolver"]["principal"] == "600000.00"
    # Ten annual installments of 100,000.00 due 1 April 1995-2004: the first was paid
    # 1995-03-31, the payoff clears the nine left, so all ten show 0.00.
    assert [(i["due"], i["amount"]) for i in before["lci-ohio-re-loan"]["installments"]] == (
        [("1995-04-01", "0.00")] + [(f"{y}-04-01", "100000.00") for y in range(1996, 2005)]
    )
    assert [(i["due"], i["amount"]) for i in after["lci-ohio-re-loan"]["installments"]] == [
        (f"{y}-04-01", "0.00") for y in range(1995, 2005)
    ]


def test_6g_prepays_the_second_restated_note_in_inverse_order_and_the_rest_goes_to_the_lpc_revolver(lg):
    """§6(g): $418,118 clears the note's latest installments first (1999-06-30 left at 31,882.00); 581,882.00 to the revolver."""
    before = _facilities(lg, "1996-03-13")
    after = _facilities(lg, "1996-03-15")
    # 1,100,000 - 418,118 = 681,882
    assert after["lpc-second-restated-note"]["principal"] == "681882.00"
    # balance = 1,000,000 - 418,118 = 581,882; 12,250,000 - 581,882 = 11,668,118
    assert after["lpc-revolver"]["principal"] == "11668118.00"
    assert before["lpc-second-restated-note"]["installments"] == [
        {"due": d, "amount": "0.00" if d in ("1995-09-30", "1995-12-31") else "50000.00"} for d in NOTE_DUES
    ]
    # 418,118 from the latest backwards: 2001-06-30 ... 1999-09-30 are 8 x 50,000 = 400,000,
    # cleared to 0.00; the 18,118 left comes off 1999-06-30: 50,000 - 18,118 = 31,882.
    # Untouched: 1996-03-31 ... 1999-03-31, 13 x 50,000 = 650,000; 650,000 + 31,882 = 681,882.
    expected = (
        [("1995-09-30", "0.00"), ("1995-12-31", "0.00")]
        + [(d, "50000.00") for d in NOTE_DUES[2:15]]
        + [("1999-06-30", "31882.00")]
        + [(d, "0.00") for d in NOTE_DUES[16:]]
    )
    assert NOTE_DUES[2] == "1996-03-31" and NOTE_DUES[14] == "1999-03-31" and NOTE_DUES[16] == "1999-09-30"
    assert [(i["due"], i["amount"]) for i in after["lpc-second-restated-note"]["installments"]] == expected


def test_a_later_note_payment_reduces_the_earliest_installment_in_maturity_order(lg):
    """pay-note-3 (1996-03-29, 50,000.00) pays the 1996-03-31 installment; 1999-06-30 stays at 31,882.00."""
    note = _facilities(lg, "1996-03-29", LATER)["lpc-second-restated-note"]
    # 681,882 - 50,000 = 631,882
    assert note["principal"] == "631882.00"
    amounts = {i["due"]: i["amount"] for i in note["installments"]}
    assert amounts["1996-03-31"] == "0.00"
    assert amounts["1996-06-30"] == "50000.00"
    assert amounts["1999-06-30"] == "31882.00"


def test_bank_one_facilities_are_opened_and_advanced_on_the_amendment_date(lg):
    """After 03-14 the three Bank One facilities carry the seed's disbursements and the chosen LPC term advance."""
    got = {
        f: (v["lender"], v["borrower"], v["financing"], v["principal"], v["limit"])
        for f, v in _facilities(lg, "1996-03-15").items()
        if f.startswith("b1-")
    }
    assert got == {
        "b1-north-canton-interim": ("bank-one", "lpc", "bank-one", "1000000.00", "1000000.00"),
        "b1-vienna-term": ("bank-one", "lci", "bank-one", "1500000.00", "1500000.00"),
        "b1-lpc-term": ("bank-one", "lpc", "bank-one", "2000000.00", "3500000.00"),
    }


# ---------------------------------------------------------------- caps

def test_no_cap_is_in_force_before_the_amendment(lg):
    """As of 1996-03-13 the Amendment's terms (and its caps) have not begun."""
    assert _caps(lg, "1996-03-13") == {}


def test_cap_headroom_on_1996_03_15(lg):
    """The §1(c)/§1(g)/§2 caps on 03-15: Bank One/LCI sits exactly at its cap, with no breach."""
    assert _caps(lg, "1996-03-15") == {
        # 1,000,000 + 1,500,000 + 2,000,000 = 4,500,000; 5,800,000 - 4,500,000 = 1,300,000
        ("bank-one", None): ("5800000.00", "4500000.00", "1300000.00"),
        # b1-vienna-term 1,500,000; 1,500,000 - 1,500,000 = 0
        ("bank-one", "lci"): ("1500000.00", "1500000.00", "0.00"),
        # 1,000,000 + 2,000,000 = 3,000,000; 4,300,000 - 3,000,000 = 1,300,000
        ("bank-one", "lpc"): ("4300000.00", "3000000.00", "1300000.00"),
        # 3,000,000 + 1,500,000 = 4,500,000; 5,500,000 - 4,500,000 = 1,000,000
        ("cit", None): ("5500000.00", "4500000.00", "1000000.00"),
    }


def test_the_may_advance_passes_both_bank_one_caps_and_repayment_brings_them_back(lg):
    """adv-b1-lpc-term-3 leaves 200,000.00 over both Bank One caps; the 07-01 repayment restores 800,000.00 headroom."""
    may = _caps(lg, "1996-05-15", LATER)
    # LPC: interim 1,000,000 + term 2,000,000 + 800,000 + 700,000 = 4,500,000; 4,300,000 - 4,500,000 = -200,000
    assert may[("bank-one", "lpc")] == ("4300000.00", "4500000.00", "-200000.00")
    # all Bank One: 4,500,000 + 1,500,000 = 6,000,000; 5,800,000 - 6,000,000 = -200,000
    assert may[("bank-one", None)] == ("5800000.00", "6000000.00", "-200000.00")
    assert may[("bank-one", "lci")] == ("1500000.00", "1500000.00", "0.00")
    # CIT: 4,500,000 + 500,000 (03-20) = 5,000,000
    assert may[("cit", None)] == ("5500000.00", "5000000.00", "500000.00")
    july = _caps(lg, "1996-07-01", LATER)
    # 4,500,000 - 1,000,000 = 3,500,000; 6,000,000 - 1,000,000 = 5,000,000
    assert july[("bank-one", "lpc")] == ("4300000.00", "3500000.00", "800000.00")
    assert july[("bank-one", None)] == ("5800000.00", "5000000.00", "800000.00")
    # CIT: 5,000,000 + 300,000 (06-14) = 5,300,000; never over 5,500,000
    assert july[("cit", None)] == ("5500000.00", "5300000.00", "200000.00")


# ---------------------------------------------------------------- liens and consent

def test_cit_lien_is_unconsented_as_of_february_when_known_before_the_amendment(lg):
    """As of 1996-02-01 known at 1996-03-01, CIT's lien is unconsented; Congress's own liens need no consent."""
    liens = _liens(lg, "1996-02-01", "1996-03-01")
    assert set(liens) == {"congress-blanket", "congress-vienna-mortgage", "cit-lien"}
    assert (liens["cit-lien"]["consent"], liens["cit-lien"]["consent_effective"]) == ("unconsented", None)
    assert (liens["congress-blanket"]["consent"], liens["congress-blanket"]["consent_effective"]) == ("lender", None)
    assert (liens["congress-vienna-mortgage"]["consent"], liens["congress-vienna-mortgage"]["consent_effective"]) == (
        "lender",
        None,
    )


def test_cit_lien_is_consented_from_january_17_when_known_after_the_amendment(lg):
    """§2(i): known at 1996-03-15 the same date shows CIT's lien consented, effective 1996-01-17."""
    liens = _liens(lg, "1996-02-01", K_0315)
    # later of the consent's date (01-17) and the lien's grant (01-17)
    assert (liens["cit-lien"]["consent"], liens["cit-lien"]["consent_effective"]) == ("consented", "1996-01-17")
    assert liens["congress-blanket"]["consent"] == "lender"


def test_cit_lien_is_still_unconsented_just_before_the_last_condition(lg):
    """§6: known at 15:29 on 03-14, before cond-6i (15:30), the Amendment is not effective and the consent does not count."""
    liens = _liens(lg, "1996-02-01", "1996-03-14T15:29:00+00:00")
    assert (liens["cit-lien"]["consent"], liens["cit-lien"]["consent_effective"]) == ("unconsented", None)
    liens = _liens(lg, "1996-02-01", "1996-03-14T15:30:00+00:00")
    assert (liens["cit-lien"]["consent"], liens["cit-lien"]["consent_effective"]) == ("consented", "1996-01-17")


def test_liens_in_force_on_1996_03_15(lg):
    """As of 03-15: Bank One's three liens consented from 03-14, CIT's from 01-17; Congress's Vienna mortgage released."""
    got = {
        l: (v["holder"], v["grantor"], v["kind"], sorted(v["collateral"]), v["secures"], v["consent"],
            v["consent_effective"])
        for l, v in _liens(lg, "1996-03-15", K_0315).items()
    }
    b1_secures = ["b1-lpc-term", "b1-north-canton-interim", "b1-vienna-term"]  # ids, sorted (CONTRACT: lists sorted)
    assert got == {
        "b1-equipment-lien": ("bank-one", "lpc", "security-interest", ["nc-grinder-0012", "nc-lathe-0007"],
                              b1_secures, "consented", "1996-03-14"),
        "b1-north-canton-mortgage": ("bank-one", "lpc", "mortgage", ["nc-real-property"],
                                     b1_secures, "consented", "1996-03-14"),
        "b1-vienna-mortgage": ("bank-one", "lci", "mortgage", ["vienna-real-property"],
                               ["b1-vienna-term"], "consented", "1996-03-14"),
        "cit-lien": ("cit", "lpc", "security-interest", ["press-0042", "press-0043", "press-0044", "press-0051"],
                     ["cit-equipment-loan"], "consented", "1996-01-17"),
        "congress-blanket": ("congress", "lpc", "security-interest",
                             ["inv-akron", "inv-jasper", "inv-north-canton", "inv-rochester", "lpc-accounts",
                              "molder-0117", "molder-0201", "nc-grinder-0012", "nc-lathe-0007",
                              "press-0042", "press-0043", "press-0044", "press-0051"],
                             ["lpc-revolver"], "lender", None),
    }


def test_a_liens_collateral_ids_are_listed_sorted_by_id(lg):
    """CONTRACT: lists are sorted, entities by id; b1-equipment-lien was granted on [nc-lathe-0007, nc-grinder-0012]."""
    liens = _liens(lg, "1996-03-15", K_0315)
    assert liens["b1-equipment-lien"]["collateral"] == ["nc-grinder-0012", "nc-lathe-0007"]
    assert liens["congress-blanket"]["collateral"] == sorted(liens["congress-blanket"]["collateral"])


def test_cit_press_ranks_cit_first_by_the_subordination_agreement(lg):
    """press-0043: by filing Congress (1990-01-12) is first, but the Subordination Agreement puts CIT above it."""
    assert _ranks(lg, "press-0043", "1996-03-15", K_0315) == [
        (1, "cit-lien", "cit"),
        (2, "congress-blanket", "congress"),
    ]
    # Lien recorded 01-19 10:00, priority 10:05: in between, first to perfect wins (1990-01-12 < 1996-01-19).
    assert _ranks(lg, "press-0043", "1996-01-18", "1996-01-19T10:00:00+00:00") == [
        (1, "congress-blanket", "congress"),
        (2, "cit-lien", "cit"),
    ]
    assert _ranks(lg, "press-0043", "1996-01-18", "1996-01-19T10:05:00+00:00") == [
        (1, "cit-lien", "cit"),
        (2, "congress-blanket", "congress"),
    ]


def test_north_canton_item_ranks_bank_one_first_by_the_intercreditor_agreement(lg):
    """nc-lathe-0007: Bank One above Congress from 03-14 (Intercreditor); before, only Congress's blanket lien."""
    assert _ranks(lg, "nc-lathe-0007", "1996-03-15", K_0315) == [
        (1, "b1-equipment-lien", "bank-one"),
        (2, "congress-blanket", "congress"),
    ]
    assert _ranks(lg, "nc-lathe-0007", "1996-03-13", K_0315) == [(1, "congress-blanket", "congress")]
    assert _ranks(lg, "nc-real-property", "1996-03-15", K_0315) == [(1, "b1-north-canton-mortgage", "bank-one")]
    assert _ranks(lg, "vienna-real-property", "1996-03-13", K_0315) == [(1, "congress-vienna-mortgage", "congress")]
    assert _ranks(lg, "vienna-real-property", "1996-03-15", K_0315) == [(1, "b1-vienna-mortgage", "bank-one")]
    assert _ranks(lg, "inv-north-canton", "1996-03-15", K_0315) == [(1, "congress-blanket", "congress")]


# ---------------------------------------------------------------- eligibility

def test_north_canton_inventory_is_eligible_the_day_before_the_amendment(lg):
    """As of 1996-03-13 only the 1990 terms are in force: every item is eligible, with no reasons."""
    items = _items(lg, "1996-03-13")
    assert len(items) == 15  # 13 LPC accounts/inventory/equipment items + 2 real-property items
    assert [c for c, i in items.items() if not i["eligible"] or i["reasons"]] == []


def test_north_canton_inventory_and_equipment_are_ineligible_once_the_amendment_is_effective(lg):
    """§4: as of 1996-03-15, inventory at North Canton is ineligible (§4(i)), equipment there too (§4(ii))."""
    items = _items(lg, "1996-03-15")
    got = {c: (i["kind"], i["location"], i["eligible"], _reasons(i)) for c, i in items.items()}
    ok = []
    assert got == {
        "inv-akron": ("inventory", "akron-oh", True, ok),
        "inv-jasper": ("inventory", "jasper-ga", True, ok),
        "inv-north-canton": ("inventory", "north-canton", False, [("ineligible-inventory", "§4(i)")]),
        "inv-rochester": ("inventory", "rochester-buffalo", True, ok),
        "lpc-accounts": ("accounts", "lpc-new-york", True, ok),
        "molder-0117": ("equipment", "akron-oh", True, ok),
        "molder-0201": ("equipment", "jasper-ga", True, ok),
        "nc-grinder-0012": ("equipment", "north-canton", False, [("ineligible-equipment", "§4(ii)")]),
        "nc-lathe-0007": ("equipment", "north-canton", False, [("ineligible-equipment", "§4(ii)")]),
        # real property: ineligible_locations reaches only inventory and equipment
        "nc-real-property": ("real-property", "north-canton", True, ok),
        "press-0042": ("equipment", "casa-grande-lear", True, ok),
        "press-0043": ("equipment", "casa-grande-piper", True, ok),
        "press-0044": ("equipment", "casa-grande-piper", True, ok),
        "press-0051": ("equipment", "rochester-buffalo", True, ok),
        "vienna-real-property": ("real-property", "vienna-oh", True, ok),
    }
    assert list(items) == sorted(items)


def test_north_canton_inventory_stays_eligible_when_known_before_the_last_condition(lg):
    """Known at 03-14 15:29 the Amendment's §4 is not yet in force, even as of 03-15."""
    item = _items(lg, "1996-03-15", "1996-03-14T15:29:00+00:00")["inv-north-canton"]
    assert (item["eligible"], item["reasons"]) == (True, [])


def test_items_moved_into_and_out_of_north_canton_change_eligibility(lg):
    """molder-0117 becomes ineligible at North Canton from 06-03; the grinder is eligible again at Akron from 06-17."""
    june3 = _items(lg, "1996-06-03", LATER)
    assert (june3["molder-0117"]["location"], june3["molder-0117"]["eligible"]) == ("north-canton", False)
    assert _reasons(june3["molder-0117"]) == [("ineligible-equipment", "§4(ii)")]
    june17 = _items(lg, "1996-06-17", LATER)
    assert (june17["nc-grinder-0012"]["location"], june17["nc-grinder-0012"]["eligible"]) == ("akron-oh", True)
    assert june17["nc-grinder-0012"]["reasons"] == []
    assert (june17["press-0042"]["location"], june17["press-0042"]["eligible"]) == ("jasper-ga", True)
    assert (june17["press-0043"]["location"], june17["press-0043"]["eligible"]) == ("casa-grande-lear", True)


# ---------------------------------------------------------------- borrowing base

def test_borrowing_base_the_day_before_the_amendment(lg):
    """As of 1996-03-13: nothing ineligible; availability 13,165,000.12 against principal 12,250,000.00."""
    a = lg.availability(as_of="1996-03-13", known_at=K_0315).to_json()
    classes = _classes(a)
    # accounts 7,100,000 x 0.85 = 6,035,000
    assert classes["accounts"] == ("7100000.00", "0.00", "7100000.00", "0.85", "6035000.00")
    # equipment 1,250,000 + 1,100,000 + 1,400,000 + 1,650,000 + 300,000 + 200,000 + 250,000 + 500,000
    #   = 6,650,000; x 0.70 = 4,655,000
    assert classes["equipment"] == ("6650000.00", "0.00", "6650000.00", "0.70", "4655000.00")
    # inventory 1,600,000 + 1,150,000 + 1,350,000.25 + 850,000 = 4,950,000.25;
    #   x 0.50 = 2,475,000.125 -> half-even 2,475,000.12
    assert classes["inventory"] == ("4950000.25", "0.00", "4950000.25", "0.50", "2475000.12")
    # 6,035,000 + 4,655,000 + 2,475,000.12 = 13,165,000.12; 13,165,000.12 - 12,250,000 = 915,000.12
    assert (a["availability"], a["principal"], a["excess"]) == ("13165000.12", "12250000.00", "915000.12")


def test_borrowing_base_after_the_amendment_excludes_north_canton(lg):
    """As of 1996-03-15: §4 removes 500,000 of equipment and 1,600,000 of inventory; excess 346,882.12."""
    a = lg.availability(as_of="1996-03-15", known_at=K_0315).to_json()
    classes = _classes(a)
    assert classes["accounts"] == ("7100000.00", "0.00", "7100000.00", "0.85", "6035000.00")
    # ineligible nc-lathe-0007 300,000 + nc-grinder-0012 200,000 = 500,000; 6,650,000 - 500,000 = 6,150,000;
    #   x 0.70 = 4,305,000
    assert classes["equipment"] == ("6650000.00", "500000.00", "6150000.00", "0.70", "4305000.00")
    # ineligible inv-north-canton 1,600,000; 4,950,000.25 - 1,600,000 = 3,350,000.25;
    #   x 0.50 = 1,675,000.125 -> half-even 1,675,000.12
    assert classes["inventory"] == ("4950000.25", "1600000.00", "3350000.25", "0.50", "1675000.12")
    # 6,035,000 + 4,305,000 + 1,675,000.12 = 12,015,000.12; principal 12,250,000 - 581,882 = 11,668,118;
    # 12,015,000.12 - 11,668,118 = 346,882.12
    assert (a["availability"], a["principal"], a["excess"]) == ("12015000.12", "11668118.00", "346882.12")


def test_borrowing_base_on_the_amendment_date_turns_on_the_last_condition(lg):
    """As of 03-14: known at 15:00 nothing is ineligible yet; known at 15:30 §4 applies. Principal is after §6(g) in both."""
    early = lg.availability(as_of="1996-03-14", known_at="1996-03-14T15:00:00+00:00").to_json()
    # 13,165,000.12 - 11,668,118 = 1,496,882.12
    assert (early["availability"], early["principal"], early["excess"]) == (
        "13165000.12", "11668118.00", "1496882.12",
    )
    late = lg.availability(as_of="1996-03-14", known_at="1996-03-14T15:30:00+00:00").to_json()
    assert (late["availability"], late["principal"], late["excess"]) == ("12015000.12", "11668118.00", "346882.12")


def test_borrowing_base_in_july(lg):
    """As of 07-01: the molder at North Canton is ineligible, the grinder back at Akron eligible; excess 439,382.12."""
    a = lg.availability(as_of="1996-07-01", known_at=LATER).to_json()
    classes = _classes(a)
    # 7,250,000 x 0.85 = 6,162,500
    assert classes["accounts"] == ("7250000.00", "0.00", "7250000.00", "0.85", "6162500.00")
    # nc-lathe-0007 300,000 + molder-0117 250,000 = 550,000; 6,100,000 x 0.70 = 4,270,000
    assert classes["equipment"] == ("6650000.00", "550000.00", "6100000.00", "0.70", "4270000.00")
    # 6,162,500 + 4,270,000 + 1,675,000.12 = 12,107,500.12; - 11,668,118 = 439,382.12
    assert (a["availability"], a["principal"], a["excess"]) == ("12107500.12", "11668118.00", "439382.12")


# ---------------------------------------------------------------- the void

def test_mistyped_valuation_is_seen_when_known_before_the_void(lg):
    """As of 03-29 known at 04-01 12:00 the keyed 72,500,000.00 counts: availability 67,605,000.12."""
    a = lg.availability(as_of="1996-03-29", known_at="1996-04-01T12:00:00+00:00").to_json()
    # 72,500,000 x 0.85 = 61,625,000
    assert _classes(a)["accounts"] == ("72500000.00", "0.00", "72500000.00", "0.85", "61625000.00")
    # 61,625,000 + 4,305,000 + 1,675,000.12 = 67,605,000.12; - 11,668,118 = 55,936,882.12
    assert (a["availability"], a["principal"], a["excess"]) == ("67605000.12", "11668118.00", "55936882.12")


def test_voided_valuation_falls_back_to_the_february_value_until_corrected(lg):
    """Known at 04-02 15:02 (voided, not yet corrected): accounts 7,100,000.00 again."""
    a = lg.availability(as_of="1996-03-29", known_at="1996-04-02T15:02:00+00:00").to_json()
    assert _classes(a)["accounts"] == ("7100000.00", "0.00", "7100000.00", "0.85", "6035000.00")
    assert (a["availability"], a["excess"]) == ("12015000.12", "346882.12")


def test_corrected_valuation_replaces_the_voided_one(lg):
    """As of 03-29 known at 04-03 the corrected 7,250,000.00 counts: availability 12,142,500.12."""
    a = lg.availability(as_of="1996-03-29", known_at="1996-04-03").to_json()
    # 7,250,000 x 0.85 = 6,162,500
    assert _classes(a)["accounts"] == ("7250000.00", "0.00", "7250000.00", "0.85", "6162500.00")
    # 6,162,500 + 4,305,000 + 1,675,000.12 = 12,142,500.12; - 11,668,118 = 474,382.12
    assert (a["availability"], a["principal"], a["excess"]) == ("12142500.12", "11668118.00", "474382.12")


# ---------------------------------------------------------------- breaches and status

# (breach, rule, events, since, event_of_default_from); grace 10 days for
# furnish-notices, 0 for every other rule (chosen); promptly_days 5 (chosen).
BREACHES = [
    # press-0043 Piper -> Lear 04-05 with no notice naming it; 04-05 + 0 = 04-05
    ("cit-location:mv-press-0043", "cit-location", ["mv-press-0043"], "1996-04-05", "1996-04-05"),
    # end of 05-15: Bank One 6,000,000 > 5,800,000 and Bank One/LPC 4,500,000 > 4,300,000
    ("cap:bank-one:*:adv-b1-lpc-term-3", "cap", ["adv-b1-lpc-term-3"], "1996-05-15", "1996-05-15"),
    ("cap:bank-one:lpc:adv-b1-lpc-term-3", "cap", ["adv-b1-lpc-term-3"], "1996-05-15", "1996-05-15"),
    # received 05-20, due by 05-20 + 5 = 05-25, never forwarded: since 05-26; EoD 05-26 + 10 = 06-05
    ("furnish-notices:rcv-cit-demand-0520", "furnish-notices", ["rcv-cit-demand-0520"],
     "1996-05-26", "1996-06-05"),
    # molder-0117 Akron -> North Canton, no notice
    ("protected-location-in:mv-molder-0117", "protected-location-in", ["mv-molder-0117"],
     "1996-06-03", "1996-06-03"),
    # CIT advance on 06-14 while breaches 2, 3, 4 and 5 are Events of Default
    ("no-default-at-advance:adv-cit-4", "no-default-at-advance", ["adv-cit-4"], "1996-06-14", "1996-06-14"),
    # grinder leaves North Canton 06-17; the notice is dated 06-18, too late
    ("protected-location-out:mv-nc-grinder-0012", "protected-location-out", ["mv-nc-grinder-0012"],
     "1996-06-17", "1996-06-17"),
]


def _row(b: dict) -> tuple:
    return (b["breach"], b["rule"], b["events"], b["since"], b["event_of_default_from"])


def test_every_breach_on_1996_07_01_with_its_dates_and_state(lg):
    """As of 07-01 known now: seven breaches sorted by (since, id); only the waived cit-location is not an Event of Default."""
    answer = lg.defaults(as_of="1996-07-01", known_at=LATER).to_json()
    assert [_row(b) for b in answer["breaches"]] == BREACHES
    assert [b["state"] for b in answer["breaches"]] == ["waived"] + ["event-of-default"] * 6
    assert answer["status"] == "event-of-default"


def test_each_breach_cites_the_clause_it_breaks(lg):
    """§3(a) for moves, §3(b) for notices, §5(a) for the representation; a Bank One cap cites §1(c) and §2 (not §1(g), CIT's)."""
    clauses = {b: v["clause"] for b, v in _breaches(lg, "1996-07-01").items()}
    assert clauses == {
        "cit-location:mv-press-0043": "§3(a)",
        # $5,800,000 is the Bank One Financing of §1(c); the consent to it is §2(ii) (the cap's `clause` in the terms).
        # §1(g) defines the CIT Financing ($5,500,000), which these breaches do not touch.
        "cap:bank-one:*:adv-b1-lpc-term-3": "§1(c), §2(ii)",
        "cap:bank-one:lpc:adv-b1-lpc-term-3": "§1(c), §2(ii)",
        "furnish-notices:rcv-cit-demand-0520": "§3(b)",
        "protected-location-in:mv-molder-0117": "§3(a)",
        "no-default-at-advance:adv-cit-4": "§5(a)",
        "protected-location-out:mv-nc-grinder-0012": "§3(a)",
    }


def test_furnish_notices_detail_says_promptly_days_is_a_chosen_parameter(lg):
    """The seed says only "promptly": the breach's detail names promptly_days = 5 as a parameter."""
    detail = _breaches(lg, "1996-07-01")["furnish-notices:rcv-cit-demand-0520"]["detail"]
    assert "promptly_days" in detail and "5" in detail


def test_a_move_covered_by_a_notice_naming_its_serial_is_not_a_breach(lg):
    """mv-press-0042 was announced by serial VD-88-0042 on 04-02: no breach; mv-press-0043 was not: a breach."""
    breaches = lg.defaults(as_of="1996-07-01", known_at=LATER).to_json()["breaches"]
    assert [b["breach"] for b in breaches if "mv-press-0042" in b["events"]] == []
    assert [b["breach"] for b in breaches if "mv-press-0043" in b["events"]] == ["cit-location:mv-press-0043"]


def test_no_breach_for_forwarded_exempt_or_in_time_notices_or_clean_advances(lg):
    """Forwarded-in-time and exempt notices, and advances while no Event of Default exists, cause no breach."""
    breaches = lg.defaults(as_of="1996-07-01", known_at=LATER).to_json()["breaches"]
    caused_by = {e for b in breaches for e in b["events"]}
    for event in ("rcv-cit-0501", "rcv-b1-rate-0510", "snt-lpc-b1-0620", "adv-cit-1", "adv-cit-2", "adv-cit-3",
                  "adv-b1-vienna", "adv-b1-nc-interim", "adv-b1-lpc-term-1", "adv-b1-lpc-term-2"):
        assert event not in caused_by
    # adv-b1-lpc-term-3 causes only the two cap breaches, not a §5(a) one
    assert sorted(b["rule"] for b in breaches if "adv-b1-lpc-term-3" in b["events"]) == ["cap", "cap"]


@pytest.mark.parametrize(
    "as_of, status, states",
    [
        ("1996-03-15", "none", {}),
        ("1996-04-04", "none", {}),
        # breach 1 from 04-05, grace 0
        ("1996-04-05", "event-of-default", {"cit-location:mv-press-0043": "event-of-default"}),
        ("1996-04-18", "event-of-default", {"cit-location:mv-press-0043": "event-of-default"}),
        # waived from 04-19
        ("1996-04-19", "none", {"cit-location:mv-press-0043": "waived"}),
        ("1996-05-14", "none", {"cit-location:mv-press-0043": "waived"}),
        ("1996-05-15", "event-of-default", {
            "cit-location:mv-press-0043": "waived",
            "cap:bank-one:*:adv-b1-lpc-term-3": "event-of-default",
            "cap:bank-one:lpc:adv-b1-lpc-term-3": "event-of-default",
        }),
        # breach 4 since 05-26 is a Default until its Event of Default on 06-05
        ("1996-05-26", "event-of-default", {
            "cit-location:mv-press-0043": "waived",
            "cap:bank-one:*:adv-b1-lpc-term-3": "event-of-default",
            "cap:bank-one:lpc:adv-b1-lpc-term-3": "event-of-default",
            "furnish-notices:rcv-cit-demand-0520": "default",
        }),
        ("1996-06-04", "event-of-default", {
            "cit-location:mv-press-0043": "waived",
            "cap:bank-one:*:adv-b1-lpc-term-3": "event-of-default",
            "cap:bank-one:lpc:adv-b1-lpc-term-3": "event-of-default",
            "furnish-notices:rcv-cit-demand-0520": "default",
            "protected-location-in:mv-molder-0117": "event-of-default",
        }),
        ("1996-06-05", "event-of-default", {
            "cit-location:mv-press-0043": "waived",
            "cap:bank-one:*:adv-b1-lpc-term-3": "event-of-default",
            "cap:bank-one:lpc:adv-b1-lpc-term-3": "event-of-default",
            "furnish-notices:rcv-cit-demand-0520": "event-of-default",
            "protected-location-in:mv-molder-0117": "event-of-default",
        }),
    ],
)
def test_breach_states_and_borrower_status_by_date(lg, as_of, status, states):
    """Known now, each date lists the breaches since on or before it, in their state, and the borrower's status."""
    assert {b: v["state"] for b, v in _breaches(lg, as_of).items()} == states
    assert _status(lg, as_of) == status


def test_cap_breaches_continue_after_principal_is_back_within_the_caps(lg):
    """§7: the 07-01 repayment does not cure the cap breaches (cap is not self-curing)."""
    breaches = _breaches(lg, "1996-07-01")
    assert breaches["cap:bank-one:*:adv-b1-lpc-term-3"]["state"] == "event-of-default"
    assert breaches["cap:bank-one:lpc:adv-b1-lpc-term-3"]["state"] == "event-of-default"


def test_a_breach_found_at_a_field_exam_is_invisible_before_it_was_recorded(lg):
    """As of 04-10: known at 04-11 there is no breach; known at 04-12 (mv-press-0043 recorded) an Event of Default."""
    assert _breaches(lg, "1996-04-10", "1996-04-11") == {}
    assert _status(lg, "1996-04-10", "1996-04-11") == "none"
    assert _status(lg, "1996-04-10", "1996-04-12") == "event-of-default"
    # the waiver takes effect from 04-19 only: 04-10 stays an Event of Default when known later
    assert _breaches(lg, "1996-04-10", "1996-04-30")["cit-location:mv-press-0043"]["state"] == "event-of-default"


def test_a_late_found_notice_breach_appears_only_once_recorded(lg):
    """As of 06-01: known at 06-09 the unforwarded demand is absent; known at 06-10 it is listed as a Default."""
    early = _breaches(lg, "1996-06-01", "1996-06-09")
    assert "furnish-notices:rcv-cit-demand-0520" not in early
    assert _status(lg, "1996-06-01", "1996-06-09") == "event-of-default"  # the cap breaches
    late = _breaches(lg, "1996-06-01", "1996-06-10")
    b = late["furnish-notices:rcv-cit-demand-0520"]
    assert (b["since"], b["event_of_default_from"], b["state"]) == ("1996-05-26", "1996-06-05", "default")


def test_status_summary_agrees_with_defaults(lg):
    """`status` reports the same borrower status as `defaults`."""
    assert lg.status(as_of="1996-04-19", known_at=LATER).to_json()["defaults"]["status"] == "none"
    assert lg.status(as_of="1996-06-20", known_at=LATER).to_json()["defaults"]["status"] == "event-of-default"


# ---------------------------------------------------------------- the same bytes on both backends

QUESTIONS = [
    ("1996-02-01", "1996-03-01T00:00:00+00:00"),
    ("1996-03-14", "1996-03-14T15:29:00+00:00"),
    ("1996-03-15", "1996-03-15T23:59:59+00:00"),
    ("1996-03-29", "1996-04-01T12:00:00+00:00"),
    ("1996-07-01", "1996-12-31T00:00:00+00:00"),
]


@pytest.mark.postgres
@pytest.mark.parametrize("view", ["liens", "eligibility", "balances", "defaults", "availability", "status"])
@pytest.mark.parametrize("as_of, known_at", QUESTIONS)
def test_the_same_question_gives_the_same_bytes_on_sqlite_and_postgresql(
    sqlite_scenario, postgres_scenario, view, as_of, known_at
):
    """json.dumps(sort_keys=True) of each answer is identical on the two backends."""
    a = json.dumps(getattr(sqlite_scenario, view)(as_of=as_of, known_at=known_at).to_json(), sort_keys=True)
    b = json.dumps(getattr(postgres_scenario, view)(as_of=as_of, known_at=known_at).to_json(), sort_keys=True)
    assert a == b
    echoed = datetime.fromisoformat(json.loads(a)["known_at"])
    assert echoed == datetime.fromisoformat(known_at) and echoed.utcoffset() == timedelta(0)
    assert json.loads(a)["known_at"].endswith("+00:00")
