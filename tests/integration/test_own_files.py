"""`chart --out`, `export` and `backup` never write over the ledger, its -wal/-shm or its read models, and an
interrupted backup leaves no partial file (issue 19, item 7)."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "ledger" / "data" / "lexington-1996.jsonl"


def _digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


@pytest.fixture
def ledger(tmp_path, run_cli) -> Path:
    path = tmp_path / "w.png"  # a ledger whose name a chart could be given
    assert run_cli(["record", str(SCENARIO), "--db", str(path)]).code == 0
    return path


def test_chart_out_never_writes_over_the_ledger(ledger, run_cli):
    """A ledger named w.png, and `chart --out w.png`: exit 2, the ledger unchanged (charts are only *.png)."""
    target = ledger
    before = _digest(ledger)
    res = run_cli(["chart", "--from", "1996-01-01", "--to", "1996-08-01", "--out", str(target), "--db", str(ledger)])
    assert res.code == 2, res
    assert "the ledger's own database" in res.stderr
    assert _digest(ledger) == before
    assert run_cli(["audit", "--db", str(ledger)]).code == 0


@pytest.mark.parametrize("suffix", ["", "-wal", "-shm", "-journal", ".projections", ".projections-shm"])
def test_export_and_backup_never_write_over_the_ledgers_files(ledger, run_cli, suffix):
    """Even a -wal or -shm that does not exist right now: a file there would be taken for the ledger's own."""
    target = Path(f"{ledger}{suffix}")
    before = {p.name: _digest(p) for p in ledger.parent.iterdir()}
    for args in (["export", "--as-of", "1996-06-20", "--out", str(target), "--replace"], ["backup", str(target)]):
        res = run_cli([*args, "--db", str(ledger)])
        assert res.code == 2, (args, res)
        assert "the ledger's own" in res.stderr or "already exists" in res.stderr
        assert {p.name: _digest(p) for p in ledger.parent.iterdir() if p.name in before} == before
    assert run_cli(["audit", "--db", str(ledger)]).code == 0


def test_export_csv_into_the_ledgers_folder_cannot_overwrite_it(tmp_path, run_cli):
    """A ledger named like one of the CSV files, exported into its own folder with --replace: refused."""
    ledger = tmp_path / "liens.csv"
    assert run_cli(["record", str(SCENARIO), "--db", str(ledger)]).code == 0
    before = _digest(ledger)
    res = run_cli(["export", "--as-of", "1996-06-20", "--csv", str(tmp_path), "--replace", "--db", str(ledger)])
    assert res.code == 2, res
    assert _digest(ledger) == before


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_an_interrupted_backup_leaves_no_partial_file(tmp_path, run_cli, sig):
    """A backup stopped by SIGTERM or SIGINT while it copies removes its hidden partial file."""
    ledger = tmp_path / "w.db"
    assert run_cli(["record", str(SCENARIO), "--db", str(ledger)]).code == 0
    out = tmp_path / "out"
    out.mkdir()
    # the copy is slowed down where it verifies, so the signal lands while the partial file exists
    code = ("import sys, time, ledger.audit as a; real = a.verify_chain\n"
            "def slow(*args, **kw):\n    time.sleep(30)\n    return real(*args, **kw)\n"
            "a.verify_chain = slow\nfrom ledger.cli import main\nsys.argv = ['cledger'] + sys.argv[1:]\nmain()\n")
    proc = subprocess.Popen([sys.executable, "-c", code, "backup", str(out / "b.db"), "--db", str(ledger)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    deadline = time.monotonic() + 30
    while not list(out.glob(".*.partial")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(out.glob(".*.partial")), "the backup never began"
    proc.send_signal(sig)
    proc.wait(timeout=30)
    assert proc.returncode != 0
    assert list(out.iterdir()) == []


def test_a_partial_file_left_by_a_killed_backup_is_removed_by_the_next(tmp_path, run_cli):
    ledger = tmp_path / "w.db"
    assert run_cli(["record", str(SCENARIO), "--db", str(ledger)]).code == 0
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".b.db.{dead.pid}-0123abcd.partial"
    stale.write_bytes(b"half a copy")
    assert run_cli(["backup", str(tmp_path / "b.db"), "--db", str(ledger)]).code == 0
    assert not stale.exists()
    assert run_cli(["audit", "--db", str(tmp_path / "b.db")]).code == 0
