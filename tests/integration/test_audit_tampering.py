"""The audit finds every edited read-model table and any side table that disagrees with the log, and replays
the log's own rules (issue 19, item 3)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from ledger import open_ledger
from ledger.api import projection_path

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "ledger" / "data" / "lexington-1996.jsonl"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _ledger(url: str) -> Path:
    with open_ledger(url) as lg:
        lg.record_file(SCENARIO)
        return projection_path(lg.store)


def _sql(url: str, statements: list[str], params=()) -> None:
    """Run SQL straight on the ledger's database, as someone with write access to the file or server would."""
    if url.startswith("sqlite:///"):
        conn = sqlite3.connect(url[len("sqlite:///"):])
        with conn:
            for s in statements:
                conn.execute(s.replace("{q}", ""), params)
        conn.close()
        return
    import psycopg

    schema = url.split("schema=")[1]
    with psycopg.connect(host="127.0.0.1", user="postgres", dbname="test", autocommit=True) as conn:
        for s in statements:
            conn.execute(s.replace("{q}", f'"{schema}".').replace("?", "%s"), params)


def _drop_triggers(url: str) -> None:
    if url.startswith("sqlite:///"):
        _sql(url, [f"DROP TRIGGER IF EXISTS {t}_no_{a}" for t in ("stored_events", "cledger_log", "cledger_names")
                   for a in ("update", "delete")])
    else:
        _sql(url, [f"DROP TRIGGER IF EXISTS {t}_immutable ON {{q}}{t}" for t in ("cledger_events", "cledger_log",
                                                                      "cledger_names")])


def test_an_edited_horizon_is_found_by_the_audit(ledger_url, run_cli):
    """`update rm_horizon set effective='1990-01-01'` in the projection file: the audit exits 1 naming it."""
    path = _ledger(ledger_url)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE rm_horizon SET effective = '1990-01-01'")
    conn.close()
    res = run_cli(["audit", "--db", ledger_url])
    assert res.code == 1, res
    assert "rm_horizon" in res.stderr + res.stdout


def test_deleting_a_name_from_cledger_names_is_found(ledger_url, run_cli):
    """Triggers dropped, `lpc-revolver` deleted from cledger_names: the audit exits 1 naming it."""
    _ledger(ledger_url)
    _drop_triggers(ledger_url)
    _sql(ledger_url, ["DELETE FROM {q}cledger_names WHERE namespace = 'facility' AND name = 'lpc-revolver'"])
    res = run_cli(["audit", "--db", ledger_url])
    assert res.code == 1, res
    assert "lpc-revolver" in res.stderr


def test_inserting_a_name_into_cledger_names_is_found(ledger_url, run_cli):
    """A name inserted by hand (so that an advance on a never-opened facility would pass): exit 1."""
    _ledger(ledger_url)
    _drop_triggers(ledger_url)
    _sql(ledger_url, ["INSERT INTO {q}cledger_names VALUES ('facility', 'ghost', 3)"])
    res = run_cli(["audit", "--db", ledger_url])
    assert res.code == 1, res
    assert "ghost" in res.stderr


def test_a_second_declaration_let_in_by_a_deleted_name_is_found(ledger_url, run_cli):
    """A name deleted, a second FacilityOpened of it recorded, the name row put back: the side table agrees
    with the events again, but the log declares `lpc-revolver` twice: exit 1."""
    _ledger(ledger_url)
    _drop_triggers(ledger_url)
    _sql(ledger_url, ["DELETE FROM {q}cledger_names WHERE namespace = 'facility' AND name = 'lpc-revolver'"])
    again = {"type": "FacilityOpened", "id": "again", "effective_date": "1996-07-01", "facility": "lpc-revolver",
             "lender": "congress", "borrower": "lpc", "kind": "revolving", "limit": "1.00"}
    assert run_cli(["record", "-", "--db", ledger_url], input=json.dumps(again) + "\n").code == 0
    _drop_triggers(ledger_url)  # `record` made them again
    _sql(ledger_url, ["INSERT INTO {q}cledger_names VALUES ('facility', 'lpc-revolver', 12)"])
    res = run_cli(["audit", "--db", ledger_url])
    assert res.code == 1, res
    assert "lpc-revolver" in res.stderr and "again" in res.stderr


def test_a_reference_let_in_by_an_inserted_name_is_found(ledger_url, run_cli):
    """A name inserted, an advance on that never-opened facility recorded, the name deleted again: exit 1."""
    _ledger(ledger_url)
    _drop_triggers(ledger_url)
    _sql(ledger_url, ["INSERT INTO {q}cledger_names VALUES ('facility', 'ghost', 3)"])
    adv = {"type": "LoanAdvanced", "id": "adv-ghost", "effective_date": "1996-07-01", "facility": "ghost",
           "amount": "5.00"}
    assert run_cli(["record", "-", "--db", ledger_url], input=json.dumps(adv) + "\n").code == 0
    _drop_triggers(ledger_url)  # `record` made them again
    _sql(ledger_url, ["DELETE FROM {q}cledger_names WHERE name = 'ghost'"])
    res = run_cli(["audit", "--db", ledger_url])
    assert res.code == 1, res
    assert "ghost" in res.stderr and "adv-ghost" in res.stderr


def test_the_bundled_scenario_still_audits_clean(ledger_url, run_cli):
    """The rules replay finds nothing in an honest log (with voids and re-declarations)."""
    _ledger(ledger_url)
    res = run_cli(["audit", "--db", ledger_url])
    assert res.code == 0, res


def test_a_declaration_voided_and_made_again_audits_clean(ledger_url, run_cli):
    """`record` allows an id declared again once its first declaration is voided: so does the audit."""
    _ledger(ledger_url)
    lines = [
        {"type": "CollateralRegistered", "id": "reg-1", "effective_date": "1996-07-01", "collateral": "new-press",
         "kind": "equipment", "owner": "lpc", "location": "akron-oh", "value": "100.00"},
        {"type": "EventVoided", "id": "void-reg-1", "effective_date": "1996-07-01", "event": "reg-1",
         "reason": "wrong value"},
        {"type": "CollateralRegistered", "id": "reg-2", "effective_date": "1996-07-01", "collateral": "new-press",
         "kind": "equipment", "owner": "lpc", "location": "akron-oh", "value": "200.00"},
        {"type": "CollateralValued", "id": "val-1", "effective_date": "1996-07-02", "collateral": "new-press",
         "value": "150.00"},
    ]
    with open_ledger(ledger_url) as lg:
        for line in lines:  # a declaration is made again in a later batch than its void
            lg.record([line])
    res = run_cli(["audit", "--db", ledger_url])
    assert res.code == 0, res
