"""Record warnings and `record --strict` (DEALS.md, record warnings), through the real CLI on both stores.

The deal: Summit Bank's 100,000 revolver to Acme under an agreement capping the summit financing at
50,000 (no grace); line 6 advances 60,000 on 15 Jan 2024, so the cap is passed and Acme is in Event of
Default from 15 Jan. Every line carries recorded_at 16 Jan 2024 09:00 UTC.
"""

from __future__ import annotations

import json

import pytest

AT = "2024-01-16T09:00:00+00:00"


def line(type_: str, date: str, id_: str | None = None, **fields) -> dict:
    out = {"type": type_, "effective_date": date, **fields}
    if id_ is not None:
        out["id"] = id_
    out.setdefault("recorded_at", AT)
    return out


def base(cap: bool = True) -> list[dict]:
    terms = {"lender": "summit-bank"}
    if cap:
        terms["caps"] = [{"financing": "summit", "amount": "50000.00"}]
    return [
        line("PartyRegistered", "2024-01-02", "p-summit", party="summit-bank", name="Summit Bank", roles=["lender"]),
        line("PartyRegistered", "2024-01-02", "p-acme", party="acme", name="Acme Tools", roles=["borrower"]),
        line("PartyRegistered", "2024-01-02", "p-other", party="other-lender", name="Other Lender", roles=["lender"]),
        line("FacilityOpened", "2024-01-10", "f-rev", facility="acme-revolver", lender="summit-bank", borrower="acme",
             kind="revolving", limit="100000.00", financing="summit"),
        line("AgreementExecuted", "2024-01-10", "ag-loan", agreement="acme-loan", title="Loan Agreement",
             parties=["summit-bank", "acme"], terms=terms),
        line("LoanAdvanced", "2024-01-15", "adv-1", facility="acme-revolver", amount="60000.00"),
    ]


def record(run_cli, url, tmp_path, lines: list[dict], *extra):
    path = tmp_path / f"batch-{len(list(tmp_path.glob('batch-*')))}.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return run_cli(["record", str(path), "--db", url, *extra])


def events(run_cli, url) -> list[dict]:
    out = run_cli(["events", "--db", url, "--json"])
    assert out.code == 0, out
    return json.loads(out.stdout)


def warnings(result) -> list[str]:
    return [x for x in result.stderr.splitlines() if x.startswith("warning: ")]


def test_a_clean_batch_prints_no_warning(run_cli, ledger_url, tmp_path):
    result = record(run_cli, ledger_url, tmp_path, base(cap=False))
    assert result.code == 0, result
    assert warnings(result) == [] and "warning" not in result.stderr


def test_a_line_without_id_equal_to_a_recorded_event_warns(run_cli, ledger_url, tmp_path):
    paid = line("PaymentReceived", "2024-01-17", "pay-1", facility="acme-revolver", amount="1000.00")
    first = record(run_cli, ledger_url, tmp_path, [*base(cap=False), paid])
    assert first.code == 0, first
    again = {k: v for k, v in paid.items() if k not in ("id", "recorded_at")}  # recorded_at, actor not compared
    result = record(run_cli, ledger_url, tmp_path, [again])
    assert result.code == 0, result
    assert warnings(result) == ["warning: line 1: this PaymentReceived without id has the same content as pay-1 "
                                "(position 7, already recorded); give the line an id to make a retry safe"]
    assert [e["id"] for e in events(run_cli, ledger_url)][-1] == "e8"  # recorded all the same


def test_a_repeat_within_the_batch_warns_and_a_retry_with_id_does_not(run_cli, ledger_url, tmp_path):
    lines = [*base(cap=False), line("PaymentReceived", "2024-01-17", facility="acme-revolver", amount="1000.00"),
             line("PaymentReceived", "2024-01-17", facility="acme-revolver", amount="1000.00")]
    result = record(run_cli, ledger_url, tmp_path, lines)
    assert result.code == 0, result
    assert warnings(result) == ["warning: line 8: this PaymentReceived without id has the same content as e7 "
                                "(position 7, earlier in this batch); give the line an id to make a retry safe"]
    retry = record(run_cli, ledger_url, tmp_path, base(cap=False))  # same ids, same content: a retry
    assert retry.code == 0, retry
    assert warnings(retry) == []


def test_an_advance_over_the_limit_warns_and_is_recorded(run_cli, ledger_url, tmp_path):
    lines = [*base(cap=False), line("LoanAdvanced", "2024-01-20", "adv-2", facility="acme-revolver", amount="50000.00")]
    result = record(run_cli, ledger_url, tmp_path, lines)
    assert result.code == 0, result
    # 60,000 + 50,000 = 110,000 on 20 Jan, above the 100,000 limit
    assert warnings(result) == ["warning: line 7: the advance adv-2 of 50000.00 takes acme-revolver to 110000.00 "
                                "on 2024-01-20, above its limit of 100000.00"]
    assert events(run_cli, ledger_url)[-1]["id"] == "adv-2"


def test_an_advance_up_to_the_limit_does_not_warn(run_cli, ledger_url, tmp_path):
    lines = [*base(cap=False), line("LoanAdvanced", "2024-01-20", "adv-2", facility="acme-revolver", amount="40000.00")]
    result = record(run_cli, ledger_url, tmp_path, lines)
    assert result.code == 0, result
    assert warnings(result) == []


def test_an_advance_during_an_event_of_default_warns(run_cli, ledger_url, tmp_path):
    lines = [*base(), line("LoanAdvanced", "2024-01-20", "adv-2", facility="acme-revolver", amount="10000.00")]
    result = record(run_cli, ledger_url, tmp_path, lines)
    assert result.code == 0, result
    # line 6 passes the cap itself: its own breach does not make it an advance during an Event of Default
    assert warnings(result) == ["warning: line 7: the advance adv-2 of 10000.00 on 2024-01-20 is made while the "
                                "borrower is in Event of Default: cap:summit:*:adv-1 (in Event of Default since "
                                "2024-01-15)"]


def test_an_advance_dated_before_the_event_of_default_does_not_warn(run_cli, ledger_url, tmp_path):
    first = record(run_cli, ledger_url, tmp_path, base())
    assert first.code == 0, first
    # known now: the cap breach from 15 Jan; an advance dated 12 Jan comes before it
    result = record(run_cli, ledger_url, tmp_path,
                    [line("LoanAdvanced", "2024-01-12", "adv-0", facility="acme-revolver", amount="1000.00")])
    assert result.code == 0, result
    assert not any("Event of Default" in w for w in warnings(result))


def test_a_waiver_by_someone_other_than_the_lender_warns_and_has_no_effect(run_cli, ledger_url, tmp_path):
    lines = [*base(), line("DefaultWaived", "2024-01-25", "waive-1", breach="cap:summit:*:adv-1", by="other-lender")]
    result = record(run_cli, ledger_url, tmp_path, lines)
    assert result.code == 0, result
    assert warnings(result) == ["warning: line 7: DefaultWaived of breach cap:summit:*:adv-1 is by other-lender, "
                                "not by the lender (summit-bank): it has no effect"]
    answer = run_cli(["defaults", "--as-of", "2024-02-01", "--db", ledger_url, "--json"])
    assert answer.code == 0, answer
    assert [(b["breach"], b["state"]) for b in json.loads(answer.stdout)["breaches"]] == [
        ("cap:summit:*:adv-1", "event-of-default")]
    by_lender = record(run_cli, ledger_url, tmp_path,
                       [line("DefaultWaived", "2024-01-26", "waive-2", breach="cap:summit:*:adv-1", by="summit-bank")])
    assert by_lender.code == 0, by_lender
    assert warnings(by_lender) == []


def test_a_condition_waived_by_someone_other_than_the_lender_warns(run_cli, ledger_url, tmp_path):
    lines = [*base(cap=False),
             line("AgreementExecuted", "2024-01-11", "ag-2", agreement="side-letter", title="Side Letter",
                  parties=["summit-bank", "acme"], terms={"conditions": ["opinion"]}),
             line("ConditionWaived", "2024-01-12", "cw-1", agreement="side-letter", condition="opinion",
                  by="other-lender")]
    result = record(run_cli, ledger_url, tmp_path, lines)
    assert result.code == 0, result
    assert warnings(result) == ["warning: line 8: ConditionWaived of condition 'opinion' of side-letter is by "
                                "other-lender, not by the lender (summit-bank): it has no effect"]


def test_an_effective_date_more_than_a_year_after_the_recorded_time_warns(run_cli, ledger_url, tmp_path):
    lines = [*base(cap=False),
             # recorded 16 Jan 2024: 16 Jan 2025 is within a year, 17 Jan 2025 is not
             line("PaymentReceived", "2025-01-16", "pay-1", facility="acme-revolver", amount="1000.00"),
             line("PaymentReceived", "2025-01-17", "pay-2", facility="acme-revolver", amount="1000.00")]
    result = record(run_cli, ledger_url, tmp_path, lines)
    assert result.code == 0, result
    assert warnings(result) == ["warning: line 8: effective date 2025-01-17 is more than a year after the "
                                "recorded time 2024-01-16T09:00:00.000000+00:00 (later than 2025-01-16)"]


def test_strict_refuses_a_batch_that_warns_and_records_nothing(run_cli, ledger_url, tmp_path):
    first = record(run_cli, ledger_url, tmp_path, base())
    assert first.code == 0, first
    before = events(run_cli, ledger_url)
    lines = [line("LoanAdvanced", "2024-01-20", "adv-2", facility="acme-revolver", amount="10000.00"),
             line("LoanAdvanced", "2024-01-21", "adv-3", facility="acme-revolver", amount="40000.00")]
    result = record(run_cli, ledger_url, tmp_path, lines, "--strict")
    assert result.code == 2, result
    assert [w.split(":")[1] for w in warnings(result)] == [" line 1", " line 2", " line 2"]
    assert result.stderr.splitlines()[-1] == ("cledger: nothing was recorded: --strict and 3 warning(s) above "
                                              "(record without --strict to accept them)")
    assert events(run_cli, ledger_url) == before
    clean = record(run_cli, ledger_url, tmp_path,
                   [line("PaymentReceived", "2024-01-22", "pay-1", facility="acme-revolver", amount="1000.00")],
                   "--strict")
    assert clean.code == 0, clean
    assert events(run_cli, ledger_url)[-1]["id"] == "pay-1"


def test_strict_on_a_new_ledger_leaves_no_ledger(run_cli, sqlite_url, tmp_path):
    lines = [*base(cap=False), line("LoanAdvanced", "2024-01-20", "adv-2", facility="acme-revolver", amount="50000.00")]
    result = record(run_cli, sqlite_url, tmp_path, lines, "--strict")
    assert result.code == 2, result
    assert "warning: line 7:" in result.stderr
    assert run_cli(["events", "--db", sqlite_url, "--json"]).code == 3  # no ledger was left behind


def test_import_csv_warns_and_takes_strict(run_cli, ledger_url, tmp_path):
    first = record(run_cli, ledger_url, tmp_path, base(cap=False))
    assert first.code == 0, first
    csv = tmp_path / "advances.csv"
    csv.write_text("effective_date,id,facility,amount\n2024-01-20,adv-2,acme-revolver,50000.00\n")
    strict = run_cli(["import-csv", "LoanAdvanced", str(csv), "--db", ledger_url, "--strict"])
    assert strict.code == 2, strict
    assert warnings(strict) == ["warning: line 2: the advance adv-2 of 50000.00 takes acme-revolver to 110000.00 "
                                "on 2024-01-20, above its limit of 100000.00"]
    assert events(run_cli, ledger_url)[-1]["id"] == "adv-1"
    loose = run_cli(["import-csv", "LoanAdvanced", str(csv), "--db", ledger_url])
    assert loose.code == 0, loose
    assert warnings(loose) == warnings(strict)
    assert events(run_cli, ledger_url)[-1]["id"] == "adv-2"


def test_the_api_gives_the_warnings(sqlite_url):
    from ledger.api import open_ledger
    from ledger.errors import StrictRefusal

    lines = [*base(cap=False), line("LoanAdvanced", "2024-01-20", "adv-2", facility="acme-revolver", amount="50000.00")]
    with open_ledger(sqlite_url, create=True) as lg:
        with pytest.raises(StrictRefusal) as refused:
            lg.record(lines, strict=True)
        assert [n for n, _ in refused.value.warnings] == [7]
        assert list(lg.events()) == []
        result = lg.record(lines)
        assert [n for n, _ in result.warnings] == [7]
        assert result.recorded[-1].event_id == "adv-2"
