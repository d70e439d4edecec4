"""`cledger record` and `cledger events` through the real command line, on SQLite and PostgreSQL.

Written against spec/CONTRACT.md only: JSON Lines in, `events --json` out,
exit codes. A batch goes in whole or not at all, comes back as it was given,
and a refusal names the line and the field.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import pwd
import re
import sqlite3
import uuid
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import pytest
from hypothesis import HealthCheck, given, settings

try:  # tests/ as a package, or tests/ on sys.path (pytest's default for a conftest folder)
    from tests.strategies import (
        AMOUNT_KEYS,
        HOSTILE_BASES,
        HOSTILE_CASES,
        HOSTILE_CONTEXT,
        HOSTILE_PREFIX,
        event_batches,
        hostile_lines,
        to_jsonl,
    )
except ImportError:
    from strategies import (
        AMOUNT_KEYS,
        HOSTILE_BASES,
        HOSTILE_CASES,
        HOSTILE_CONTEXT,
        HOSTILE_PREFIX,
        event_batches,
        hostile_lines,
        to_jsonl,
    )

UTC = dt.timezone.utc

# --- A small literal ledger: the 1996 deal in miniature, every event type but waivers and cures --

PARTIES = [
    {"type": "PartyRegistered", "effective_date": "1990-01-11", "id": "p1", "party": "congress",
     "name": "Congress Financial Corporation", "roles": ["lender"]},
    {"type": "PartyRegistered", "effective_date": "1990-01-11", "id": "p2", "party": "lpc",
     "name": "Lexington Precision Corporation", "roles": ["borrower"]},
    {"type": "PartyRegistered", "effective_date": "1990-01-11", "id": "p3", "party": "lci",
     "name": "Lexington Components, Inc.", "roles": ["borrower", "guarantor"]},
    {"type": "PartyRegistered", "effective_date": "1996-01-17", "id": "p4", "party": "cit",
     "name": "The CIT Group/Equipment Financing, Inc.", "roles": ["lender"]},
]

SCENARIO = PARTIES + [
    {"type": "LocationRegistered", "effective_date": "1996-01-17", "id": "l1", "location": "casa-grande-lear",
     "address": "3181 North Lear Avenue, Casa Grande, AZ"},
    {"type": "LocationRegistered", "effective_date": "1996-01-17", "id": "l2", "location": "rochester",
     "address": "677 Buffalo Road, Rochester, NY"},
    # no id: the ledger assigns one
    {"type": "LocationRegistered", "effective_date": "1996-03-14", "location": "north-canton",
     "address": "North Canton Property, Ohio"},
    # effective after it is recorded: accepted, counts from that date
    {"type": "LocationRegistered", "effective_date": "2100-01-01", "id": "l4", "location": "future-site",
     "address": "Somewhere «new», Zürich"},
    {"type": "AgreementExecuted", "effective_date": "1990-01-11", "id": "a1", "agreement": "financing-agreements",
     "title": "Financing Agreements", "parties": ["congress", "lpc"],
     "terms": {"lender": "congress", "advance_rates": {"inventory": "0.50", "equipment": "0.70"}}},
    {"type": "AgreementExecuted", "effective_date": "1996-03-14", "id": "a2", "agreement": "amendment",
     "title": "Amendment to Financing Agreements and Consent", "parties": ["congress", "lpc"],
     "terms": {"conditions": ["6(a)", "6(b)"], "caps": [{"financing": "cit", "amount": "5500000.00"}],
               "promptly_days": 5, "grace_days": {"cap": 0}, "ineligible_locations": ["north-canton"]}},
    {"type": "ConditionSatisfied", "effective_date": "1996-03-14", "id": "c1", "agreement": "amendment",
     "condition": "6(a)"},
    {"type": "ConditionWaived", "effective_date": "1996-03-14", "id": "c2", "agreement": "amendment",
     "condition": "6(b)", "by": "congress", "actor": "loan-admin-7"},
    {"type": "FacilityOpened", "effective_date": "1990-01-11", "id": "f1", "facility": "lpc-revolver",
     "lender": "congress", "borrower": "lpc", "kind": "revolving", "limit": "10000000.00"},
    {"type": "FacilityOpened", "effective_date": "1990-01-11", "id": "f2", "facility": "lpc-note",
     "lender": "congress", "borrower": "lpc", "kind": "term",
     "installments": [{"due": "1996-06-30", "amount": "200000.00"}, {"due": "1996-12-31", "amount": 218118}]},
    {"type": "FacilityOpened", "effective_date": "1996-01-17", "id": "f3", "facility": "cit-loan",
     "lender": "cit", "borrower": "lpc", "kind": "term", "financing": "cit"},
    {"type": "LoanAdvanced", "effective_date": "1996-01-17", "id": "adv1", "facility": "lpc-revolver",
     "amount": 1500000},
    {"type": "LoanAdvanced", "effective_date": "1996-01-17", "id": "adv2", "facility": "lpc-note",
     "amount": "418118.00"},
    {"type": "LoanAdvanced", "effective_date": "1996-01-17", "id": "adv3", "facility": "cit-loan",
     "amount": "5000000"},
    {"type": "PaymentReceived", "effective_date": "1996-02-01", "id": "pay1", "facility": "lpc-revolver",
     "amount": "100000.5"},
    {"type": "PaymentReceived", "effective_date": "1996-02-01", "id": "pay2", "facility": "lpc-note",
     "amount": "1000.00", "order": "inverse-maturity"},
    {"type": "ProceedsReceived", "effective_date": "1996-03-14", "id": "pr1", "from": "cit", "amount": "500000.00",
     "apply": [{"facility": "lpc-note", "amount": "17118.00", "order": "inverse-maturity"},
               {"facility": "lpc-revolver", "amount": "482882.00"}]},
    {"type": "CollateralRegistered", "effective_date": "1996-01-17", "id": "cr1", "collateral": "press-0042",
     "kind": "equipment", "owner": "lpc", "location": "casa-grande-lear", "serial": "SN-0042",
     "description": "Injection molding press, 300 t", "value": "250000.00"},
    {"type": "CollateralRegistered", "effective_date": "1996-01-17", "id": "cr2", "collateral": "inv-1",
     "kind": "inventory", "owner": "lpc", "location": "rochester", "value": 0},
    {"type": "CollateralValued", "effective_date": "1996-02-01", "id": "cv1", "collateral": "inv-1",
     "value": "120000.00"},
    {"type": "LienGranted", "effective_date": "1990-01-11", "id": "lg1", "lien": "congress-lien", "grantor": "lpc",
     "holder": "congress", "collateral": ["press-0042", "inv-1"], "kind": "security-interest",
     "secures": ["lpc-revolver", "lpc-note"], "perfected_on": "1990-01-15"},
    {"type": "LienGranted", "effective_date": "1996-01-17", "id": "lg2", "lien": "cit-lien-1", "grantor": "lpc",
     "holder": "cit", "collateral": ["press-0042"], "kind": "security-interest", "secures": ["cit-loan"],
     "perfected_on": "1996-01-19"},
    {"type": "PriorityAgreed", "effective_date": "1996-01-17", "id": "pa1", "senior": "cit-lien-1",
     "junior": "congress-lien", "agreement": "amendment"},
    {"type": "ConsentGranted", "effective_date": "1996-01-17", "id": "cg1", "consent": "consent-cit",
     "by": "congress", "liens": ["cit-lien-1"], "agreement": "amendment"},
    {"type": "NoticeSent", "effective_date": "1996-03-20", "id": "n1", "notice": "move-notice-1", "from": "lpc",
     "to": "congress", "subject": "collateral-move", "collateral": ["press-0042"], "serials": ["SN-0042"]},
    {"type": "CollateralMoved", "effective_date": "1996-03-25", "id": "mv1", "collateral": "press-0042",
     "to": "rochester"},
    {"type": "NoticeReceived", "effective_date": "1996-04-01", "id": "n2", "notice": "cit-notice-1", "from": "cit",
     "to": "lpc", "financing": "cit", "category": "material"},
    {"type": "NoticeForwarded", "effective_date": "1996-04-03", "id": "n3", "notice": "cit-notice-1",
     "to": "congress"},
    {"type": "NoticeSent", "effective_date": "1996-04-05", "id": "n4", "notice": "fin-notice-1", "from": "lpc",
     "to": "cit", "subject": "financing", "financing": "cit", "category": "interest-rate"},
    {"type": "LienReleased", "effective_date": "1996-05-01", "id": "lr1", "lien": "cit-lien-1"},
    {"type": "CollateralDisposed", "effective_date": "1996-05-02", "id": "cd1", "collateral": "inv-1"},
    {"type": "EventVoided", "effective_date": "1996-05-03", "id": "v1", "event": "cv1",
     "reason": "valuation entered on the wrong item"},
]

#: The scenario with an id on every line (a retry of an id-less line is a new event).
SCENARIO_WITH_IDS = [e if "id" in e else {**e, "id": "l3"} for e in SCENARIO]

ADVANCE_LINE = {"type": "LoanAdvanced", "effective_date": "1996-02-01", "id": "adv-x", "facility": "lpc-revolver",
                "amount": "2500.00"}
FACILITY = {"type": "FacilityOpened", "effective_date": "1990-01-11", "id": "f1", "facility": "lpc-revolver",
            "lender": "congress", "borrower": "lpc", "kind": "revolving"}


# --- Helpers ---------------------------------------------------------------------


def record(run_cli, url: str, batch):
    """Run `cledger record -` on a list of events, or on raw text or bytes."""
    data = to_jsonl(batch) if isinstance(batch, list) else batch
    return run_cli(["record", "-", "--db", url], input=data)


def recorded_ok(run_cli, url: str, batch) -> None:
    """Record a batch that must be accepted."""
    result = record(run_cli, url, batch)
    assert result.code == 0, result


def events(run_cli, url: str) -> list[dict]:
    """The log as `cledger events --json` prints it."""
    result = run_cli(["events", "--json", "--db", url])
    assert result.code == 0, result
    assert "Traceback" not in result.stderr, result
    log = json.loads(result.stdout)
    assert isinstance(log, list), result
    return log


def names_line(text: str, line: int) -> bool:
    """True when a message names the line: `line 3`, `Line: 3`, `line #3` or `FILE:3:`."""
    return bool(re.search(rf"(?i)\bline\W{{0,3}}{line}\b", text) or re.search(rf":{line}:", text))


def names_field(text: str, name: str) -> bool:
    """True when a message names the field as a word (`amount`, not `amounts`)."""
    return bool(re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", text))


def assert_refused(result, line: int | None = None, field: str | None = None) -> None:
    """Exit 2, no traceback, and a message that names the line and the field."""
    message = result.stderr + result.stdout
    assert result.code == 2, result
    assert "Traceback" not in message, result
    if line is not None:
        assert names_line(message, line), f"message does not name line {line}: {message!r}"
    if field is not None:
        assert names_field(message, field), f"message does not name field {field!r}: {message!r}"


def parse_time(text: str) -> dt.datetime:
    """An ISO time that must carry its offset."""
    when = dt.datetime.fromisoformat(text)
    assert when.tzinfo is not None, text
    return when


def _decimal(value):
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return value
    try:
        return Decimal(str(value))
    except InvalidOperation:  # "payoff", "balance"
        return value


def canonical(value, key: str | None = None):
    """Parsed form for comparison: money and rates as Decimal, everything else as JSON gives it."""
    if isinstance(value, dict):
        if key == "advance_rates":
            return {k: _decimal(v) for k, v in value.items()}
        return {k: canonical(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [canonical(v, key) for v in value]
    if key in AMOUNT_KEYS:
        return _decimal(value)
    return value


def assert_matches(sent, got, path: str) -> None:
    """Every field sent comes back under its own name, equal after parsing.

    Keys the input left out may come back (null, a default, or something the
    contract lets the project add); `record` accepting the output again is
    checked by its own test.
    """
    if isinstance(sent, dict):
        assert isinstance(got, dict), f"{path}: expected an object, got {got!r}"
        for key, value in sent.items():
            assert key in got, f"{path}: {key!r} missing from {got!r}"
            assert_matches(value, got[key], f"{path}.{key}")
    elif isinstance(sent, list):
        assert isinstance(got, list) and len(got) == len(sent), f"{path}: {sent!r} came back as {got!r}"
        for i, (a, b) in enumerate(zip(sent, got)):
            assert_matches(a, b, f"{path}[{i}]")
    else:
        assert type(got) is type(sent) and got == sent, f"{path}: {sent!r} came back as {got!r}"


META = ("position", "recorded_at", "actor")


def assert_round_trip(sent: list[dict], log: list[dict]) -> None:
    """The log holds exactly the batch, in order, in the input shape, every field equal after parsing."""
    assert len(log) == len(sent), f"{len(sent)} events sent, {len(log)} listed"
    assigned = set()
    for i, (event, listed) in enumerate(zip(sent, log)):
        kind = event["type"]
        assert set(META) <= set(listed), f"event {i + 1}: missing one of {META}: {listed!r}"
        assert isinstance(listed.get("id"), str) and listed["id"], f"event {i + 1} has no id: {listed!r}"
        assigned.add(listed["id"])
        body_sent = {k: v for k, v in event.items() if k not in META}
        body_got = {k: v for k, v in listed.items() if k not in META}
        if "id" not in event:
            body_got.pop("id")
        assert_matches(canonical(body_sent), canonical(body_got), f"event {i + 1} ({kind})")
        if "actor" in event:
            assert listed["actor"] == event["actor"], listed
        else:
            assert isinstance(listed["actor"], str) and listed["actor"], listed
        if "recorded_at" in event:
            assert parse_time(listed["recorded_at"]) == parse_time(event["recorded_at"]), listed
    assert len(assigned) == len(log), "event ids in the log are not unique"


def assert_positions_and_times(log: list[dict], after: dt.datetime | None = None,
                               before: dt.datetime | None = None) -> None:
    """Positions 1, 2, … without gaps; recorded times UTC `+00:00`, never going backwards, inside [after, before]."""
    assert [e["position"] for e in log] == list(range(1, len(log) + 1))
    times = []
    for event in log:
        assert isinstance(event["recorded_at"], str) and event["recorded_at"].endswith("+00:00"), event
        times.append(parse_time(event["recorded_at"]))
    assert times == sorted(times), "recorded times go backwards"
    slack = dt.timedelta(seconds=1)  # a store may keep whole seconds or milliseconds
    if after is not None:
        assert times[0] >= after - slack, (times[0], after)
    if before is not None:
        assert times[-1] <= before + slack, (times[-1], before)


def now() -> dt.datetime:
    return dt.datetime.now(UTC)


def os_user_names() -> set[str]:
    """What "the OS user" may reasonably resolve to here."""
    names = {str(os.getuid())}
    try:
        names.add(getpass.getuser())
    except Exception:
        pass
    try:
        names.add(pwd.getpwuid(os.getuid()).pw_name)
    except KeyError:
        pass
    return names


def sqlite_path(url: str) -> Path:
    assert url.startswith("sqlite:///"), url
    return Path(url[len("sqlite:///"):])


def pg_parts(url: str) -> tuple[str, str]:
    """The connection URL psycopg accepts, and the ledger's schema from `?schema=`."""
    parts = urlsplit(url)
    schema = parse_qs(parts.query)["schema"][0]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), schema


# --- Recording a valid batch -----------------------------------------------------------


def test_valid_batch_round_trips_through_events(ledger_url, run_cli):
    """A valid batch records (exit 0) and `events --json` gives back every event, in order, field for field."""
    started = now()
    recorded_ok(run_cli, ledger_url, SCENARIO)
    finished = now()
    log = events(run_cli, ledger_url)
    assert_round_trip(SCENARIO, log)
    assert_positions_and_times(log, after=started, before=finished)
    assert {e["actor"] for e in log if e["id"] != "c2"} <= os_user_names()
    assert next(e for e in log if e["id"] == "c2")["actor"] == "loan-admin-7"


def test_amounts_come_back_as_strings_with_two_decimals(ledger_url, run_cli):
    """Money sent as an integer or with one decimal is listed as a string with exactly two decimals."""
    recorded_ok(run_cli, ledger_url, SCENARIO)
    listed = {e["id"]: e for e in events(run_cli, ledger_url)}
    assert listed["adv1"]["amount"] == "1500000.00"
    assert listed["adv3"]["amount"] == "5000000.00"
    assert listed["pay1"]["amount"] == "100000.50"
    assert listed["cr2"]["value"] == "0.00"
    assert listed["f2"]["installments"][1]["amount"] == "218118.00"


def test_one_batch_shares_one_recorded_time_and_positions_continue(ledger_url, run_cli):
    """Each batch's events carry its one start time; a later batch's positions continue without a gap."""
    first_started = now()
    recorded_ok(run_cli, ledger_url, PARTIES[:2])
    first_finished = now()
    recorded_ok(run_cli, ledger_url, PARTIES[2:] + [FACILITY])
    second_finished = now()
    log = events(run_cli, ledger_url)
    assert [e["id"] for e in log] == ["p1", "p2", "p3", "p4", "f1"]
    assert_positions_and_times(log, after=first_started, before=second_finished)
    first, second = {e["recorded_at"] for e in log[:2]}, {e["recorded_at"] for e in log[2:]}
    assert len(first) == 1 and len(second) == 1, (first, second)
    assert parse_time(first.pop()) <= first_finished + dt.timedelta(seconds=1)


def test_ledger_assigns_an_id_where_none_is_given(ledger_url, run_cli):
    """An event recorded without `id` is listed with a fresh id of its own."""
    recorded_ok(run_cli, ledger_url, SCENARIO)
    log = events(run_cli, ledger_url)
    given_ids = {e["id"] for e in SCENARIO if "id" in e}
    unnamed = [e for e in log if e.get("location") == "north-canton"]
    assert len(unnamed) == 1
    assert isinstance(unnamed[0]["id"], str) and unnamed[0]["id"] and unnamed[0]["id"] not in given_ids


def test_events_output_records_again_into_an_identical_ledger(ledger_url, run_cli, tmp_path):
    """`events --json` lines (less `position`) record into a fresh SQLite ledger that lists the same bytes."""
    recorded_ok(run_cli, ledger_url, SCENARIO)
    original = run_cli(["events", "--json", "--db", ledger_url])
    assert original.code == 0, original
    lines = [{k: v for k, v in e.items() if k != "position"} for e in json.loads(original.stdout)]
    copy_url = f"sqlite:///{tmp_path / 'copy.db'}"
    recorded_ok(run_cli, copy_url, lines)
    copy = run_cli(["events", "--json", "--db", copy_url])
    assert copy.code == 0, copy
    assert json.loads(copy.stdout) == json.loads(original.stdout)
    assert copy.stdout == original.stdout


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=event_batches())
def test_any_consistent_batch_round_trips_through_events(tmp_path, run_cli, batch):
    """Any internally consistent batch records and comes back field for field, numbered 1..n, stamped in UTC."""
    url = f"sqlite:///{tmp_path / (uuid.uuid4().hex + '.db')}"
    started = now()
    recorded_ok(run_cli, url, batch)
    finished = now()
    log = events(run_cli, url)
    assert_round_trip(batch, log)
    assert_positions_and_times(log, after=started, before=finished)
    assert len({e["recorded_at"] for e in log}) == 1, "one batch, one recorded time"


# --- All or nothing, with the line and field named ---------------------------------------


def test_bad_line_in_the_middle_records_nothing(ledger_url, run_cli):
    """Line 3 of 5 is bad: exit 2, the message names line 3 and its field, and the log is unchanged."""
    recorded_ok(run_cli, ledger_url, PARTIES[:2] + [FACILITY])
    before = events(run_cli, ledger_url)
    batch = [
        PARTIES[2],
        PARTIES[3],
        {**ADVANCE_LINE, "amount": "-2500.00"},
        {**ADVANCE_LINE, "id": "adv-y"},
        {**ADVANCE_LINE, "id": "adv-z", "amount": "10.00"},
    ]
    result = record(run_cli, ledger_url, batch)
    assert_refused(result, line=3, field="amount")
    assert events(run_cli, ledger_url) == before


def test_float_amount_is_refused_naming_the_field(ledger_url, run_cli):
    """A JSON float amount (`2500.5`) is refused, naming the line and `amount`; nothing is recorded."""
    recorded_ok(run_cli, ledger_url, PARTIES[:2] + [FACILITY])
    before = events(run_cli, ledger_url)
    text = to_jsonl([PARTIES[2]]) + to_jsonl([ADVANCE_LINE]).replace('"2500.00"', "2500.5")
    assert "2500.5}" in text
    assert_refused(record(run_cli, ledger_url, text), line=2, field="amount")
    assert events(run_cli, ledger_url) == before


def test_unknown_reference_is_refused_naming_line_and_field(ledger_url, run_cli):
    """An event naming a facility never recorded is refused, naming its line and `facility`."""
    recorded_ok(run_cli, ledger_url, PARTIES[:2] + [FACILITY])
    before = events(run_cli, ledger_url)
    batch = [PARTIES[2], {**ADVANCE_LINE, "facility": "no-such-facility"}]
    assert_refused(record(run_cli, ledger_url, batch), line=2, field="facility")
    assert events(run_cli, ledger_url) == before


def test_reference_declared_only_later_in_the_batch_is_refused(ledger_url, run_cli):
    """A facility opened for a borrower registered on a later line of the same batch is refused at its line."""
    batch = [PARTIES[0], FACILITY, PARTIES[1]]
    assert_refused(record(run_cli, ledger_url, batch), line=2, field="borrower")
    recorded_ok(run_cli, ledger_url, [PARTIES[1]])
    assert [e["id"] for e in events(run_cli, ledger_url)] == ["p2"]


def test_impossible_date_is_refused(ledger_url, run_cli):
    """An effective date of 30 February is refused, naming the line and `effective_date`."""
    recorded_ok(run_cli, ledger_url, PARTIES[:2] + [FACILITY])
    before = events(run_cli, ledger_url)
    batch = [{**ADVANCE_LINE, "effective_date": "1996-02-30"}]
    assert_refused(record(run_cli, ledger_url, batch), line=1, field="effective_date")
    assert events(run_cli, ledger_url) == before


def test_historical_recorded_at_is_kept_and_listed_in_utc(ledger_url, run_cli):
    """A historical log's `recorded_at` with an offset is kept as that instant and listed as UTC `+00:00`."""
    batch = [
        {**PARTIES[0], "recorded_at": "1996-03-14T09:30:00-05:00"},
        {**PARTIES[1], "recorded_at": "1996-03-14T14:30:00+00:00"},
        {**PARTIES[2], "recorded_at": "1996-03-15T08:00:00+01:00"},
    ]
    recorded_ok(run_cli, ledger_url, batch)
    log = events(run_cli, ledger_url)
    assert_round_trip(batch, log)
    assert [parse_time(e["recorded_at"]) for e in log] == [
        dt.datetime(1996, 3, 14, 14, 30, tzinfo=UTC),
        dt.datetime(1996, 3, 14, 14, 30, tzinfo=UTC),
        dt.datetime(1996, 3, 15, 7, 0, tzinfo=UTC),
    ]
    assert all(e["recorded_at"].endswith("+00:00") for e in log)


def test_recorded_at_earlier_than_the_store_is_refused(ledger_url, run_cli):
    """A `recorded_at` before the store's last recorded time is refused, naming the line and `recorded_at`."""
    recorded_ok(run_cli, ledger_url, [{**PARTIES[0], "recorded_at": "1996-03-14T12:00:00+00:00"}])
    before = events(run_cli, ledger_url)
    batch = [PARTIES[1] | {"recorded_at": "1996-03-14T12:00:00+00:00"},
             PARTIES[2] | {"recorded_at": "1996-03-14T11:59:59+00:00"}]
    assert_refused(record(run_cli, ledger_url, batch[1:]), line=1, field="recorded_at")
    assert events(run_cli, ledger_url) == before
    # equal to the last recorded time is not earlier
    recorded_ok(run_cli, ledger_url, batch[:1])


def test_recorded_at_earlier_than_the_previous_line_is_refused(ledger_url, run_cli):
    """Within a batch, a `recorded_at` before the previous line's is refused at its line; nothing is recorded."""
    recorded_ok(run_cli, ledger_url, [{**PARTIES[0], "recorded_at": "1996-01-01T00:00:00+00:00"}])
    before = events(run_cli, ledger_url)
    batch = [
        {**PARTIES[1], "recorded_at": "1996-03-14T12:00:00+00:00"},
        {**PARTIES[2], "recorded_at": "1996-03-14T11:00:00+00:00"},
    ]
    assert_refused(record(run_cli, ledger_url, batch), line=2, field="recorded_at")
    assert events(run_cli, ledger_url) == before


def test_recorded_at_in_the_future_is_refused(ledger_url, run_cli):
    """A `recorded_at` later than now is refused, naming the line and `recorded_at`; nothing is recorded."""
    recorded_ok(run_cli, ledger_url, [PARTIES[0]])
    before = events(run_cli, ledger_url)
    tomorrow = (now() + dt.timedelta(days=1)).isoformat(timespec="seconds")
    batch = [PARTIES[1], {**PARTIES[2], "recorded_at": tomorrow}]
    assert_refused(record(run_cli, ledger_url, batch), line=2, field="recorded_at")
    assert events(run_cli, ledger_url) == before


# --- Idempotent retries ----------------------------------------------------------------


def test_retrying_a_batch_records_it_once(ledger_url, run_cli):
    """Recording the same batch twice exits 0 both times and leaves one copy, positions and times unchanged."""
    batch = SCENARIO_WITH_IDS
    recorded_ok(run_cli, ledger_url, batch)
    first = events(run_cli, ledger_url)
    assert len(first) == len(batch)
    recorded_ok(run_cli, ledger_url, batch)
    assert events(run_cli, ledger_url) == first


def test_retry_compares_parsed_values_not_text_actor_or_recorded_at(ledger_url, run_cli):
    """A retry whose amount is written differently but equal, with another actor, is a no-op."""
    line = {**ADVANCE_LINE, "amount": 2500}
    recorded_ok(run_cli, ledger_url, PARTIES[:2] + [FACILITY, line])
    first = events(run_cli, ledger_url)
    again = {**ADVANCE_LINE, "amount": "2500.0", "actor": "someone-else"}
    recorded_ok(run_cli, ledger_url, [again])
    assert events(run_cli, ledger_url) == first


def test_same_id_with_other_content_is_refused_and_records_nothing(ledger_url, run_cli):
    """Reusing an id for different content exits 2 naming the line, and the batch's other events are not recorded."""
    recorded_ok(run_cli, ledger_url, PARTIES[:2] + [FACILITY, ADVANCE_LINE])
    before = events(run_cli, ledger_url)
    batch = [PARTIES[2], {**ADVANCE_LINE, "amount": "2600.00"}]
    result = record(run_cli, ledger_url, batch)
    assert_refused(result, line=2)
    message = result.stderr + result.stdout
    assert names_field(message, "id") or names_field(message, "amount") or "adv-x" in message, message
    assert events(run_cli, ledger_url) == before


# --- Hostile input -----------------------------------------------------------------------------


def _hostile_batch(line: str | bytes) -> bytes:
    data = line.encode("utf-8") if isinstance(line, str) else line
    return to_jsonl([HOSTILE_PREFIX]).encode("utf-8") + data + b"\n"


def _refusal_problem(result) -> str | None:
    """Why a hostile batch's result is not a clean refusal of line 2, or None."""
    message = result.stderr + result.stdout
    if result.code != 2:
        return f"exit {result.code}"
    if "Traceback" in message:
        return "traceback"
    if not names_line(message, 2):
        return "line 2 not named"
    return None


def test_hostile_lines_are_refused_without_a_trace(sqlite_url, run_cli):
    """Each line from hostile_lines() exits 2 naming its line (never 4, no traceback); nothing is recorded."""
    recorded_ok(run_cli, sqlite_url, HOSTILE_CONTEXT)
    before = events(run_cli, sqlite_url)

    @settings(max_examples=50, deadline=None)
    @given(line=hostile_lines())
    def refused(line):
        result = record(run_cli, sqlite_url, _hostile_batch(line))
        problem = _refusal_problem(result)
        assert problem is None, f"{problem}: {result!r}"

    refused()
    after = events(run_cli, sqlite_url)
    assert after == before, f"hostile batches recorded: {after[len(before):]!r}"


def test_every_listed_hostile_case_is_refused(sqlite_url, run_cli):
    """Each case of HOSTILE_CASES, after one valid line, exits 2 naming line 2; the log is unchanged."""
    recorded_ok(run_cli, sqlite_url, HOSTILE_CONTEXT)
    before = events(run_cli, sqlite_url)
    problems = []
    for name, line in HOSTILE_CASES:
        result = record(run_cli, sqlite_url, _hostile_batch(line))
        problem = _refusal_problem(result)
        if problem:
            problems.append(f"{name}: {problem}: {(result.stderr + result.stdout)[-300:]!r}")
    after = events(run_cli, sqlite_url)
    assert not problems, "\n".join(problems)
    assert after == before, f"hostile batches recorded: {after[len(before):]!r}"


def test_valid_bases_of_the_hostile_cases_are_accepted(sqlite_url, run_cli):
    """Control: the lines the hostile cases are built from record cleanly, so each case fails for its own fault."""
    recorded_ok(run_cli, sqlite_url, HOSTILE_CONTEXT)
    bases = "".join(line + "\n" for line in HOSTILE_BASES)
    recorded_ok(run_cli, sqlite_url, to_jsonl([HOSTILE_PREFIX]) + bases)
    assert len(events(run_cli, sqlite_url)) == len(HOSTILE_CONTEXT) + 1 + len(HOSTILE_BASES)


# --- Missing and unreachable stores ------------------------------------------------------------

QUERIES = [
    ["events"],
    ["events", "--json"],
    ["liens", "--as-of", "1996-03-14"],
    ["balances", "--as-of", "1996-03-14", "--json"],
    ["status", "--as-of", "1996-03-14"],
    ["audit"],
]


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: "-".join(a.strip("-") for a in q))
def test_query_on_a_missing_sqlite_file_exits_3_and_creates_nothing(run_cli, query):
    """A query on a SQLite path whose folder does not exist exits 3 and creates neither folder nor file."""
    folder = Path("/tmp") / uuid.uuid4().hex
    target = folder / "nope.db"
    result = run_cli([*query, "--db", f"sqlite:///{target}"])
    assert result.code == 3, result
    assert "Traceback" not in result.stderr + result.stdout
    assert not folder.exists()


def test_query_on_a_missing_file_in_an_existing_folder_creates_nothing(run_cli, tmp_path):
    """`events` on an absent file in an existing folder, named by CLEDGER_DB, exits 3 and leaves the folder empty."""
    target = tmp_path / "nope.db"
    result = run_cli(["events", "--json"], env={"CLEDGER_DB": f"sqlite:///{target}"})
    assert result.code == 3, result
    assert "Traceback" not in result.stderr + result.stdout
    assert list(tmp_path.iterdir()) == []


def test_query_before_anything_is_recorded_exits_3(ledger_url, run_cli):
    """A ledger URL nothing was ever recorded to is a missing ledger: exit 3, and the query creates no ledger."""
    result = run_cli(["events", "--json", "--db", ledger_url])
    assert result.code == 3, result
    assert "Traceback" not in result.stderr + result.stdout
    if ledger_url.startswith("sqlite:"):
        assert not sqlite_path(ledger_url).exists()
    else:
        import psycopg

        conninfo, schema = pg_parts(ledger_url)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            tables = conn.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = %s", [schema]
            ).fetchone()[0]
        assert tables == 0


@pytest.mark.postgres
def test_unreachable_postgresql_exits_3(run_cli):
    """A PostgreSQL server that does not answer is exit 3 with a message, not a traceback."""
    result = run_cli(["events", "--json", "--db", "postgresql://postgres@127.0.0.1:1/test?schema=nope"])
    assert result.code == 3, result
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.strip(), result


# --- The database itself refuses to rewrite history ------------------------------------------------


def test_sqlite_refuses_update_and_delete_of_stored_events(sqlite_url, run_cli):
    """On SQLite, UPDATE and DELETE on `stored_events` raise a database error and every row stays as it was."""
    recorded_ok(run_cli, sqlite_url, SCENARIO)
    conn = sqlite3.connect(sqlite_path(sqlite_url), isolation_level=None)
    try:
        rows = conn.execute("SELECT * FROM stored_events").fetchall()
        assert len(rows) >= len(SCENARIO)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(stored_events)")}
        assert "state" in columns, columns  # else the UPDATE below would fail for the wrong reason
        with pytest.raises(sqlite3.DatabaseError):
            conn.execute("UPDATE stored_events SET state = x'00'")
        with pytest.raises(sqlite3.DatabaseError):
            conn.execute("DELETE FROM stored_events")
        assert conn.execute("SELECT * FROM stored_events").fetchall() == rows
    finally:
        conn.close()
    assert_round_trip(SCENARIO, events(run_cli, sqlite_url))


@pytest.mark.postgres
def test_postgres_refuses_update_and_delete_of_stored_events(postgres_url, run_cli):
    """On PostgreSQL, UPDATE and DELETE on `<schema>.cledger_events` raise an error and every row stays."""
    import psycopg

    recorded_ok(run_cli, postgres_url, SCENARIO)
    conninfo, schema = pg_parts(postgres_url)
    table = f'"{schema}".cledger_events'
    with psycopg.connect(conninfo, autocommit=True) as conn:
        rows = sorted(conn.execute(f"SELECT * FROM {table}").fetchall())
        assert len(rows) >= len(SCENARIO)
        columns = {
            row[0]
            for row in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
                [schema, "cledger_events"],
            )
        }
        assert "state" in columns, columns  # else the UPDATE below would fail for the wrong reason
        with pytest.raises(psycopg.Error):
            conn.execute(f"UPDATE {table} SET state = %s", [b"\x00"])
        with pytest.raises(psycopg.Error):
            conn.execute(f"DELETE FROM {table}")
        assert sorted(conn.execute(f"SELECT * FROM {table}").fetchall()) == rows
    assert_round_trip(SCENARIO, events(run_cli, postgres_url))


@pytest.mark.postgres
def test_postgres_refuses_truncate_of_stored_events(postgres_url, run_cli):
    """On PostgreSQL, TRUNCATE (which row triggers do not see) is refused too and every row stays."""
    import psycopg

    recorded_ok(run_cli, postgres_url, PARTIES)
    conninfo, schema = pg_parts(postgres_url)
    table = f'"{schema}".cledger_events'
    with psycopg.connect(conninfo, autocommit=True) as conn:
        count = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        with pytest.raises(psycopg.Error):
            conn.execute(f"TRUNCATE {table}")
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == count == len(PARTIES)
