"""Shared fixtures: a fresh ledger URL on SQLite and on PostgreSQL, and a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.pgschema import fresh_schema


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A URL for a new SQLite ledger in a temporary folder."""
    return f"sqlite:///{tmp_path / 'ledger.db'}"


@pytest.fixture
def postgres_url():
    """A URL for a new PostgreSQL ledger in a schema of its own, dropped after the test."""
    with fresh_schema() as url:
        yield url


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
