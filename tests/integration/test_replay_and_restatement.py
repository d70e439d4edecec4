"""Replays agree with each other, across backends and copies; the restatement names what changed and why."""

from __future__ import annotations

import json
import shutil

from ledger.demo import scenario_path


def _audit_json(run_cli, url):
    result = run_cli(["audit", "--json", "--db", url])
    assert result.code == 0, result
    return json.loads(result.stdout)


def test_sqlite_postgres_and_a_copy_replay_to_the_same_digests(sqlite_url, postgres_url, run_cli, tmp_path):
    """The same log gives the same head and projection digests on SQLite, PostgreSQL and a file copy."""
    for url in (sqlite_url, postgres_url):
        assert run_cli(["record", str(scenario_path()), "--db", url]).code == 0
    copy = tmp_path / "copy.db"
    shutil.copy(sqlite_url[len("sqlite:///"):], copy)
    reports = [_audit_json(run_cli, url) for url in (sqlite_url, postgres_url, f"sqlite:///{copy}")]
    assert reports[0]["head"] == reports[1]["head"] == reports[2]["head"]
    assert reports[0]["projection_digests"] == reports[1]["projection_digests"] == reports[2]["projection_digests"]
    assert len(reports[0]["projection_digests"]) >= 2


def test_restatement_names_the_cit_consent_and_the_conditions(ledger_url, run_cli):
    """As of 1 Feb 1996, from before the Amendment to after it, CIT's lien turns consented because of §2(i) and §6."""
    assert run_cli(["record", str(scenario_path()), "--db", ledger_url]).code == 0
    result = run_cli(["restatement", "--as-of", "1996-02-01", "--from", "1996-03-01", "--to", "1996-03-15",
                      "--json", "--db", ledger_url])
    assert result.code == 0, result
    report = json.loads(result.stdout)
    changes = {(c["view"], c["subject"], c["field"]): c for c in report["changes"]}
    consent = changes[("liens", "cit-lien", "consent")]
    assert (consent["before"], consent["after"]) == ("unconsented", "consented")
    assert changes[("liens", "cit-lien", "consent_effective")]["after"] == "1996-01-17"
    assert "ev-consent-cit" in consent["events"]
    assert {f"cond-6{c}" for c in "abcdefghi"} <= set(consent["events"])
    # nothing recorded before K1 is named
    assert not set(consent["events"]) & {"ev-lien-cit", "ev-party-cit"}


def test_restatement_with_from_after_to_is_refused(ledger_url, run_cli):
    """--from later than --to exits 2."""
    assert run_cli(["record", str(scenario_path()), "--db", ledger_url]).code == 0
    result = run_cli(["restatement", "--as-of", "1996-02-01", "--from", "1996-03-15", "--to", "1996-03-01",
                      "--db", ledger_url])
    assert result.code == 2


def test_restatement_of_a_voided_value_names_the_void(sqlite_url, run_cli):
    """The mistyped accounts value and its void show as an availability change for 29 Mar 1996."""
    assert run_cli(["record", str(scenario_path()), "--db", sqlite_url]).code == 0
    result = run_cli(["restatement", "--as-of", "1996-03-29", "--from", "1996-04-01T12:00:00+00:00",
                      "--to", "1996-04-03", "--json", "--db", sqlite_url])
    report = json.loads(result.stdout)
    accounts = [c for c in report["changes"] if c["view"] == "availability" and c["subject"] == "accounts"
                and c["field"] == "gross"]
    assert accounts and "void-val-lpc-accounts-0329" in accounts[0]["events"]


def test_audit_replay_script_writes_a_report_with_the_head(sqlite_url, run_cli, tmp_path):
    """scripts/audit_replay.py verifies the log and reports each date's state with the head it was built from."""
    import subprocess
    import sys
    from pathlib import Path

    assert run_cli(["record", str(scenario_path()), "--db", sqlite_url]).code == 0
    head = run_cli(["audit", "--head", "--db", sqlite_url]).stdout.strip()
    script = Path(__file__).resolve().parents[2] / "scripts" / "audit_replay.py"
    out = tmp_path / "report"
    proc = subprocess.run([sys.executable, str(script), "--db", sqlite_url, "--date", "1996-03-15", "--date",
                           "1996-06-20", "--restatement", "1996-02-01:1996-03-01:1996-03-15", "--out", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["head"] == head
    june = report["dates"][1]["status"]
    assert june["defaults"]["status"] == "event-of-default"
    # 13 Mar: 7,100,000 x .85 + 6,650,000 x .70 + 4,950,000.25 x .50 (half-even) = 13,165,000.12, less ineligible on 15 Mar
    assert report["dates"][0]["status"]["availability"]["principal"] == "11668118.00"
    assert report["restatements"][0]["changes"]
    assert "head digest" in out.with_suffix(".md").read_text()


def test_rebuilt_read_models_answer_as_before(sqlite_url, run_cli):
    """`cledger rebuild` starts the read models again from the log; the answers do not change."""
    assert run_cli(["record", str(scenario_path()), "--db", sqlite_url]).code == 0
    args = ["status", "--as-of", "1996-06-20", "--known-at", "1996-12-31", "--json", "--db", sqlite_url]
    before = run_cli(args).stdout
    result = run_cli(["rebuild", "--db", sqlite_url])
    assert result.code == 0 and "110" in result.stdout
    assert run_cli(args).stdout == before
    reference = run_cli(args, env={"CLEDGER_REFERENCE": "1"}).stdout
    assert reference == before
