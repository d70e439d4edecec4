"""A PostgreSQL schema of its own for a test (or a module of tests), dropped afterwards with its read models."""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager

import pytest

PG_BASE = os.environ.get("CLEDGER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")


def _admin():
    import psycopg

    return psycopg.connect(host="127.0.0.1", port=5432, user="postgres", dbname="test", autocommit=True)


@contextmanager
def fresh_schema():
    """Yield the URL of a ledger in a new schema; drop the schema and the local read models after."""
    schema = "t_" + uuid.uuid4().hex[:12]
    try:
        with _admin() as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
    except Exception as exc:  # the server must be up: .ci/run starts it
        pytest.fail(f"PostgreSQL is not reachable on 127.0.0.1:5432: {exc}")
    url = f"{PG_BASE}?schema={schema}"
    try:
        yield url
    finally:
        with _admin() as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        from ledger.api import projection_path
        from ledger.store import parse_url

        class _Where:
            location = parse_url(url)

        for leftover in projection_path(_Where).parent.glob(f"*-{schema}.projections*"):
            leftover.unlink()
