"""Shared fixtures: a fresh ledger URL on SQLite and on PostgreSQL, and a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

PG_BASE = os.environ.get("CLEDGER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _pg_admin():
    import psycopg

    return psycopg.connect(
        host="127.0.0.1", port=5432, user="postgres", dbname="test", autocommit=True
    )


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A URL for a new SQLite ledger in a temporary folder."""
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture
def postgres_url():
    """A URL for a new PostgreSQL ledger in a schema of its own, dropped after the test."""
    schema = "t_" + uuid.uuid4().hex[:12]
    try:
        with _pg_admin() as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except Exception as exc:  # the server must be up: .ci/run starts it
        pytest.fail(f"PostgreSQL is not reachable on 127.0.0.1:5432: {exc}")
    yield f"{PG_BASE}?schema={schema}"
    with _pg_admin() as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    from ledger.api import projection_path
    from ledger.store import parse_url

    class _Where:
        location = parse_url(f"{PG_BASE}?schema={schema}")

    for leftover in projection_path(_Where).parent.glob(f"*-{schema}.projections*"):
        leftover.unlink()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger_url(request) -> str:
    """A fresh, empty ledger URL on each backend in turn."""
    return request.getfixturevalue(f"{request.param}_url")


class CliResult:
    def __init__(self, code: int, stdout: str, stderr: str):
        self.code, self.stdout, self.stderr = code, stdout, stderr

    def __repr__(self) -> str:
        return f"CliResult(code={self.code}, stdout={self.stdout[:400]!r}, stderr={self.stderr[:400]!r})"


@pytest.fixture
def run_cli():
    """Run `cledger ARGS` in a real subprocess; returns code, stdout, stderr."""

    def run(args: list[str], input: str | bytes | None = None, env: dict | None = None) -> CliResult:
        full_env = dict(os.environ)
        full_env.pop("CLEDGER_DB", None)
        if env:
            full_env.update(env)
        data = input.encode() if isinstance(input, str) else input
        proc = subprocess.run(
            [sys.executable, "-m", "ledger.cli", *args],
            input=data,
            capture_output=True,
            env=full_env,
            timeout=300,
        )
        return CliResult(
            proc.returncode,
            proc.stdout.decode("utf-8", "replace"),
            proc.stderr.decode("utf-8", "replace"),
        )

    return run
