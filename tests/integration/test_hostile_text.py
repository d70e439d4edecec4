"""Hostile text through `cledger` itself: refused at input with exit 2, and never printed raw (issue 19, item 5)."""

from __future__ import annotations

import json

import pytest

PARTY = {"type": "PartyRegistered", "party": "p1", "name": "Party", "roles": ["lender"],
         "effective_date": "1996-01-01"}
ESCAPES = ("\x1b", "\x07", "\x9b", "\u202e")


def _clean(text: str) -> bool:
    return not any(c in text for c in ESCAPES)


@pytest.mark.parametrize("field, value", [
    ("party", "f1\n"), ("id", "f1\n"), ("name", "Evil\x1b]0;owned\x07Corp"), ("name", "clear\x1b[2J"),
    ("actor", "me\x1b[31m"), ("name", "cr\rover"), ("name", "c1\x9bx"), ("name", "rtl\u202eexe.txt"),
])
def test_hostile_values_are_refused_with_exit_2_and_echoed_safely(ledger_url, run_cli, field, value):
    line = json.dumps({**PARTY, field: value})
    res = run_cli(["record", "-", "--db", ledger_url], input=line + "\n")
    assert res.code == 2, res
    assert f"field '{field}'" in res.stderr and _clean(res.stderr + res.stdout)
    assert run_cli(["events", "--json", "--db", ledger_url]).code in (0, 3)  # nothing recorded (or no ledger)


def test_an_unknown_type_with_escapes_is_named_safely(ledger_url, run_cli):
    res = run_cli(["record", "-", "--db", ledger_url], input=json.dumps({**PARTY, "type": "X\x1b]0;t\x07"}) + "\n")
    assert res.code == 2, res
    assert _clean(res.stderr)


def test_a_db_path_with_escapes_is_named_safely(run_cli, tmp_path):
    res = run_cli(["balances", "--db", f"sqlite:///{tmp_path}/no\x1b[2Jpe.db"])
    assert res.code == 3, res
    assert _clean(res.stderr) and "\\x1b" in res.stderr
