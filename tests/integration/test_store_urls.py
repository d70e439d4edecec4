"""Store URLs a hostile or careless user may give: schema names, ports, hosts, SQLite query strings,
`:memory:`, plain paths and read-only ledgers (issue 19, items 4, 6 and 8)."""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import time
import uuid
from pathlib import Path

import pytest

from tests.pgschema import PG_BASE, _admin

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "ledger" / "data" / "lexington-1996.jsonl"
ONE = json.dumps({"type": "PartyRegistered", "party": "zz", "name": "Z", "roles": ["lender"],
                  "effective_date": "1996-01-01"}) + "\n"


def _without_dac_override():
    """preexec_fn: drop CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH and CAP_FOWNER, so root obeys file modes too."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2, 3):
        if libc.prctl(24, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def _run_obeying_modes(args, env=None, input: str | None = None):
    import subprocess
    import sys

    full = {k: v for k, v in os.environ.items() if k != "CLEDGER_DB"}
    full.update(env or {})
    proc = subprocess.run([sys.executable, "-m", "ledger.cli", *args], capture_output=True, env=full, timeout=300,
                          input=input.encode() if input else None,
                          preexec_fn=_without_dac_override if os.geteuid() == 0 else None)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


# -- PostgreSQL: schema names, ports, hosts


@pytest.mark.postgres
@pytest.mark.parametrize("schema", ["a;select pg_sleep(4)", "a-b", "x\"; drop table y; --",
                                    "a')||(select pg_read_file('/etc/hostname'))||('", "Upper", "1abc", "a" * 64])
def test_a_schema_that_is_not_a_plain_name_is_refused_with_exit_2(run_cli, schema):
    """A schema name with quotes, dashes or SQL in it: exit 2 naming it, nothing sent to the server."""
    from urllib.parse import quote

    started = time.monotonic()
    for command in (["balances"], ["record", "-"]):
        res = run_cli([*command, "--db", f"{PG_BASE}?schema={quote(schema)}"], input=ONE)
        assert res.code == 2, res
        assert "schema" in res.stderr and "Traceback" not in res.stderr
    assert time.monotonic() - started < 4  # no pg_sleep ran


def test_schema_names_are_quoted_by_the_driver():
    """The store's schema prefix is psycopg's quoting of the identifier, not text pasted into SQL."""
    from psycopg.sql import Identifier

    from ledger.store import parse_url, quoted_schema

    assert parse_url(f"{PG_BASE}?schema=t_abc").schema == "t_abc"
    assert quoted_schema("t_abc") == Identifier("t_abc").as_string(None) + "."


@pytest.mark.postgres
def test_record_creates_a_schema_that_does_not_exist(run_cli):
    """`record` into a new schema makes it, then the ledger audits."""
    schema = "t_new_" + uuid.uuid4().hex[:10]
    url = f"{PG_BASE}?schema={schema}"
    try:
        res = run_cli(["record", str(SCENARIO), "--db", url])
        assert res.code == 0, res
        assert run_cli(["audit", "--db", url]).code == 0
    finally:
        with _admin() as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        for leftover in (Path.home() / ".cache" / "cledger").glob(f"*-{schema}.projections*"):
            leftover.unlink()


@pytest.mark.parametrize("port", ["99999", "abc", "0x10", "-1", "0", "65536"])
def test_a_bad_port_is_exit_2(run_cli, port):
    res = run_cli(["balances", "--db", f"postgresql://postgres@127.0.0.1:{port}/test"])
    assert res.code == 2, res
    assert "port" in res.stderr


def test_a_host_that_does_not_resolve_is_exit_3_at_once(run_cli):
    started = time.monotonic()
    res = run_cli(["balances", "--db", "postgresql://postgres@no-such-host.invalid:5432/test"])
    assert res.code == 3, res
    assert "not found" in res.stderr and "no-such-host.invalid" in res.stderr
    assert time.monotonic() - started < 4


# -- SQLite URLs


@pytest.mark.parametrize("url", ["sqlite:///:memory:", "sqlite:///file::memory:?cache=shared",
                                 "sqlite:///x.db?mode=memory", ":memory:"])
def test_an_in_memory_sqlite_ledger_is_refused(run_cli, tmp_path, url):
    """Nothing would be kept: exit 2, and no file appears."""
    res = run_cli(["record", str(SCENARIO), "--db", url])
    assert res.code == 2, res
    assert "memory" in res.stderr
    assert "recorded" not in res.stdout


def test_an_unknown_sqlite_query_string_is_refused_not_made_part_of_the_file_name(run_cli, tmp_path):
    res = run_cli(["record", str(SCENARIO), "--db", f"sqlite:///{tmp_path}/w.db?cache=shared"])
    assert res.code == 2, res
    assert not list(tmp_path.iterdir())


def test_mode_ro_answers_and_audits_but_refuses_to_record(run_cli, tmp_path):
    """`?mode=ro`: queries and the audit work; record exits 3 saying read-only; the file is unchanged."""
    path = tmp_path / "w.db"
    assert run_cli(["record", str(SCENARIO), "--db", f"sqlite:///{path}"]).code == 0
    ro = f"sqlite:///{path}?mode=ro"
    res = run_cli(["balances", "--as-of", "1996-06-20", "--json", "--db", ro],
                  env={"XDG_CACHE_HOME": str(tmp_path / "cache")})
    assert res.code == 0, res
    assert {f["facility"]: f["principal"] for f in json.loads(res.stdout)["facilities"]}["lpc-revolver"] == "11668118.00"
    assert run_cli(["audit", "--db", ro], env={"XDG_CACHE_HOME": str(tmp_path / "cache")}).code == 0
    res = run_cli(["record", "-", "--db", ro], input=ONE)
    assert res.code == 3 and "read-only" in res.stderr, res
    assert run_cli(["events", "--json", "--db", f"sqlite:///{path}"]).stdout.count('"zz"') == 0


def test_a_plain_path_is_a_sqlite_file(run_cli, tmp_path):
    path = tmp_path / "plain.db"
    assert run_cli(["record", str(SCENARIO), "--db", str(path)]).code == 0
    assert path.exists()
    res = run_cli(["audit", "--db", f"sqlite:///{path}"])
    assert res.code == 0, res


@pytest.mark.parametrize("with_wal", [False, True])
def test_a_ledger_in_a_read_only_folder_answers_and_audits(run_cli, tmp_path, with_wal):
    """A backup copy, or the ledger itself, on a read-only mount (a read-only folder, obeyed even by root):
    queries and the audit exit 0 (the read models go to the user's cache); record exits 3."""
    src = tmp_path / "w.db"
    assert run_cli(["record", str(SCENARIO), "--db", str(src)]).code == 0
    folder = tmp_path / "ro"
    folder.mkdir()
    if with_wal:
        shutil.copy(src, folder / "w.db")  # a WAL-mode file without its -wal and -shm
    else:
        assert run_cli(["backup", str(folder / "w.db"), "--db", str(src)]).code == 0
    (folder / "w.db").chmod(0o444)
    folder.chmod(0o555)
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    try:
        code, out, err = _run_obeying_modes(["defaults", "--as-of", "1996-06-20", "--json", "--db",
                                             str(folder / "w.db")], env)
        assert code == 0, err
        assert json.loads(out)["status"] == "event-of-default"
        code, out, err = _run_obeying_modes(["audit", "--db", str(folder / "w.db")], env)
        assert code == 0, err
        code, out, err = _run_obeying_modes(["record", "-", "--db", str(folder / "w.db")], env, ONE)
        assert code == 3 and "read-only" in err, err
    finally:
        folder.chmod(0o755)


# -- times


@pytest.mark.parametrize("known_at", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00"])
def test_a_knowledge_time_outside_the_calendar_in_utc_is_exit_2(run_cli, tmp_path, known_at):
    path = tmp_path / "w.db"
    assert run_cli(["record", str(SCENARIO), "--db", str(path)]).code == 0
    res = run_cli(["balances", "--known-at", known_at, "--db", str(path)])
    assert res.code == 2, res
    assert "Traceback" not in res.stderr and "calendar" in res.stderr
