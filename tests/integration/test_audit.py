"""Tamper evidence: each way an attacker with the database could alter the log is caught and located."""

from __future__ import annotations

import sqlite3
from urllib.parse import parse_qs, urlparse

import pytest

from ledger.demo import scenario_path

N = 110  # events in the bundled scenario


class Db:
    """Raw access to a ledger's tables, going around the triggers as an attacker would."""

    def __init__(self, url: str):
        self.url = url
        if url.startswith("sqlite"):
            self.conn = sqlite3.connect(url[len("sqlite:///"):], isolation_level=None)
            self.events, self.q, self.p = "stored_events", "", "?"
            for name, in self.conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'").fetchall():
                self.conn.execute(f"DROP TRIGGER {name}")
        else:
            import psycopg

            schema = parse_qs(urlparse(url).query)["schema"][0]
            self.conn = psycopg.connect(host="127.0.0.1", user="postgres", dbname="test", autocommit=True)
            self.events, self.q, self.p = "cledger_events", f'"{schema}".', "%s"
            for table in ("cledger_events", "cledger_log", "cledger_names"):
                self.conn.execute(f"ALTER TABLE {self.q}{table} DISABLE TRIGGER USER")

    def sql(self, statement: str, *params):
        cur = self.conn.execute(statement.replace("?", self.p).replace("EV", self.q + self.events)
                                .replace("LOG", self.q + "cledger_log"), params)
        try:
            return cur.fetchall()
        except Exception:
            return None

    def state(self, position: int) -> bytes:
        return bytes(self.sql("SELECT state FROM EV WHERE originator_version = ?", position)[0][0])


@pytest.fixture
def tampered(ledger_url, run_cli):
    assert run_cli(["record", str(scenario_path()), "--db", ledger_url]).code == 0
    head = run_cli(["audit", "--head", "--db", ledger_url]).stdout.strip()
    assert run_cli(["audit", "--db", ledger_url]).code == 0
    db = Db(ledger_url)
    yield ledger_url, db, head
    db.conn.close()


def _audit(run_cli, url, *extra):
    result = run_cli(["audit", "--db", url, *extra])
    assert "Traceback" not in result.stderr
    return result


def test_flipped_byte_is_located(tampered, run_cli):
    """A byte changed inside one stored event is found at that event's position."""
    url, db, _ = tampered
    state = bytearray(db.state(40))
    i = state.index(b'"effective_date":"') + len(b'"effective_date":"') + 3
    state[i] = ord("7") if state[i] != ord("7") else ord("8")
    db.sql("UPDATE EV SET state = ? WHERE originator_version = ?", bytes(state), 40)
    result = _audit(run_cli, url)
    assert result.code == 1 and "position 40" in result.stderr


def test_deleted_middle_event_is_located(tampered, run_cli):
    """Deleting an event (and its log row) leaves a gap that the audit names."""
    url, db, _ = tampered
    db.sql("DELETE FROM EV WHERE originator_version = ?", 50)
    db.sql("DELETE FROM LOG WHERE position = ?", 50)
    result = _audit(run_cli, url)
    assert result.code == 1 and "position 50" in result.stderr and "missing" in result.stderr


def test_swapped_events_are_located(tampered, run_cli):
    """Two events swapped between positions break the chain at the first of them."""
    url, db, _ = tampered
    a, b = db.state(30), db.state(31)
    db.sql("UPDATE EV SET state = ? WHERE originator_version = ?", b, 30)
    db.sql("UPDATE EV SET state = ? WHERE originator_version = ?", a, 31)
    result = _audit(run_cli, url)
    assert result.code == 1 and "position 30" in result.stderr


def test_cut_tail_is_caught_by_the_head_digest(tampered, run_cli):
    """A cleanly cut tail passes the chain check but not --expect-head."""
    url, db, head = tampered
    for table, column in (("EV", "originator_version"), ("LOG", "position")):
        db.sql(f"DELETE FROM {table} WHERE {column} > ?", N - 3)
    db.sql("DELETE FROM " + ("cledger_names" if url.startswith("sqlite") else db.q + "cledger_names")
           + " WHERE position > ?", N - 3)
    assert _audit(run_cli, url).code == 0  # consistent on its own
    result = _audit(run_cli, url, "--expect-head", head)
    assert result.code == 1 and f"position {N}" in result.stderr


def test_deleted_event_reinserted_at_the_end_is_located(tampered, run_cli):
    """An event taken out of the middle and appended at the end is found where it went missing."""
    url, db, _ = tampered
    state = db.state(20)
    key = db.sql("SELECT originator_id, topic FROM EV WHERE originator_version = ?", 20)[0]
    log = db.sql("SELECT * FROM LOG WHERE position = ?", 20)[0]
    db.sql("DELETE FROM EV WHERE originator_version = ?", 20)
    db.sql("DELETE FROM LOG WHERE position = ?", 20)
    db.sql("INSERT INTO EV (originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?)",
           key[0], N + 1, key[1], state)
    db.sql("INSERT INTO LOG VALUES (?, ?, ?, ?, ?, ?, ?)", N + 1, *log[1:])
    result = _audit(run_cli, url)
    assert result.code == 1 and "position 20" in result.stderr


def test_row_copied_over_another_is_located(tampered, run_cli):
    """One event's bytes copied over another's are found at the overwritten position."""
    url, db, _ = tampered
    db.sql("UPDATE EV SET state = ? WHERE originator_version = ?", db.state(3), 70)
    result = _audit(run_cli, url)
    assert result.code == 1 and "position 70" in result.stderr


def test_untouched_log_passes_and_extends_its_head(tampered, run_cli):
    """The audit of an untouched log exits 0 and confirms the head it was given."""
    url, _, head = tampered
    result = _audit(run_cli, url, "--expect-head", head)
    assert result.code == 0, result
    assert head == f"{N}:" + head.split(":")[1]


def test_malformed_head_digest_is_a_usage_error(tampered, run_cli):
    """--expect-head with something that is not POSITION:SHA256HEX exits 2."""
    url, _, _ = tampered
    assert _audit(run_cli, url, "--expect-head", "12:nothex").code == 2


def test_read_models_that_no_longer_follow_the_log_are_reported(sqlite_url, run_cli):
    """A changed row in the read models is found by comparing them with a rebuild from the log; rebuild mends it."""
    assert run_cli(["record", str(scenario_path()), "--db", sqlite_url]).code == 0
    projections = sqlite_url[len("sqlite:///"):] + ".projections"
    conn = sqlite3.connect(projections)
    conn.execute("UPDATE rm_loans SET cents = cents + 1 WHERE rowid = (SELECT MIN(rowid) FROM rm_loans)")
    conn.commit()
    conn.close()
    result = _audit(run_cli, sqlite_url)
    assert result.code == 1 and "rm_loans" in result.stderr
    assert run_cli(["rebuild", "--db", sqlite_url]).code == 0
    assert _audit(run_cli, sqlite_url).code == 0


def _tamper_flip(db):
    state = bytearray(db.state(40))
    state[state.index(b'"actor":"') + 9] ^= 1
    db.sql("UPDATE EV SET state = ? WHERE originator_version = ?", bytes(state), 40)
    return "position 40"


def _tamper_delete(db):
    db.sql("DELETE FROM EV WHERE originator_version = ?", 50)
    db.sql("DELETE FROM LOG WHERE position = ?", 50)
    return "position 50"


def _tamper_last_log_row(db):
    db.sql("DELETE FROM LOG WHERE position = ?", N)
    return f"position {N}"


def _tamper_last_event(db):
    db.sql("DELETE FROM EV WHERE originator_version = ?", N)
    return f"position {N}"


@pytest.mark.parametrize("tamper", [_tamper_flip, _tamper_delete, _tamper_last_log_row, _tamper_last_event])
@pytest.mark.parametrize("parallel", [False, True])
def test_both_ways_of_auditing_locate_the_same_tampering(tampered, tamper, parallel):
    """The chain verified beside the rebuild (a second process, as on a large log) or before it: same finding."""
    from ledger.audit import audit
    from ledger.errors import AuditFailure
    from ledger.store import open_store

    url, db, _ = tampered
    where = tamper(db)
    with open_store(url) as store, pytest.raises(AuditFailure) as failure:
        audit(store, parallel=parallel)
    assert where in str(failure.value)


def test_both_ways_of_auditing_give_the_same_report(tampered):
    from ledger.audit import audit
    from ledger.store import open_store

    url, _, head = tampered
    with open_store(url) as store:
        assert audit(store, parallel=True) == audit(store, parallel=False)
        assert audit(store, parallel=True).head == head


def test_the_report_says_whether_the_stored_read_models_were_compared(tampered, run_cli):
    """The CLI compares the stored read models with the rebuild and says so; the bare API call has none to compare."""
    import json

    from ledger.audit import audit
    from ledger.store import open_store

    url, _, _ = tampered
    result = _audit(run_cli, url, "--json")
    assert result.code == 0 and json.loads(result.stdout)["read_models_compared"] is True
    assert "identical to the stored ones" in _audit(run_cli, url).stdout
    with open_store(url) as store:
        assert audit(store).models_compared is False
