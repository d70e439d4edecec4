"""Ids, amounts, rates, dates and times match whole; control and escape characters are refused in every
text and written out in every message (issue 19, item 5)."""

from __future__ import annotations

import pytest

from ledger.errors import InputError, StoreUnavailable, UsageError, printable
from ledger.values import (
    ValueProblem,
    parse_amount,
    parse_date,
    parse_id,
    parse_rate,
    parse_text,
    parse_time,
)

CONTROLS = ["\x00", "\x07", "\r", "\x1b", "\x1b]0;owned\x07", "\x1b[2J", "\x7f", "\x85", "\x9b",
            "\u202e", "\u2066"]


@pytest.mark.parametrize("parse, value", [
    (parse_id, "f1\n"), (parse_amount, "1.00\n"), (parse_amount, "100\n"), (parse_rate, "0.50\n"),
    (parse_date, "1996-03-14\n"), (parse_time, "1996-03-14T09:00:00+00:00\n"),
])
def test_a_trailing_newline_is_refused(parse, value):
    with pytest.raises(ValueProblem):
        parse(value)


@pytest.mark.parametrize("control", CONTROLS)
def test_control_and_escape_characters_are_refused_in_ids_and_texts(control):
    for parse in (parse_id, parse_text):
        with pytest.raises(ValueProblem):
            parse(f"name{control}tail")


@pytest.mark.parametrize("space", ["\t", "\n"])
def test_tab_and_newline_are_refused_in_ids_but_kept_in_free_text(space):
    """A description may span lines (a spreadsheet cell); an id never does."""
    with pytest.raises(ValueProblem):
        parse_id(f"a{space}b")
    assert parse_text(f"a{space}b") == f"a{space}b"
    assert space not in str(InputError(f"bad {space} value"))


def test_ordinary_unicode_text_is_still_accepted():
    for text in ("Lexington Precision Corporation", "Société Générale — Zürich", "767 Third Avenue, N.Y.",
                 "株式会社", "line\u2028separator"):
        assert parse_text(text) == text


@pytest.mark.parametrize("error", [InputError, UsageError, StoreUnavailable])
@pytest.mark.parametrize("control", CONTROLS)
def test_every_ledger_error_message_writes_control_characters_out(error, control):
    message = str(error(f"bad {control} value"))
    assert not any(c in message for c in control if not c.isprintable())
    assert printable(control) in message


def test_printable_leaves_plain_text_alone():
    assert printable("plain §3(b) text, 1,000.00 — ok") == "plain §3(b) text, 1,000.00 — ok"
