"""Two threads recording at once: one's JSON float is refused whatever the other parses meanwhile (issue 19,
item 9: the refused-number flag was a class attribute shared by every thread)."""

from __future__ import annotations

import json
import threading

import pytest

import ledger.reader as reader
from ledger import open_ledger
from ledger.errors import InputError

PARTY = {"type": "PartyRegistered", "party": "p1", "name": "P", "roles": ["lender"], "effective_date": "1996-01-01"}
FACILITY = {"type": "FacilityOpened", "facility": "f1", "lender": "p1", "borrower": "p1", "kind": "revolving",
            "effective_date": "1996-01-01"}


class _Interleaved:
    """The real decoder, but the thread parsing a float waits, after its parse, for another thread's whole parse."""

    def __init__(self, real):
        self.real = real
        self.float_parsed = threading.Event()
        self.other_done = threading.Event()

    def decode(self, text):
        obj = self.real.decode(text)
        if "1.5" in text:
            self.float_parsed.set()
            self.other_done.wait(10)
        return obj


def test_a_float_is_refused_while_another_thread_parses(ledger_url, monkeypatch):
    with open_ledger(ledger_url) as lg:
        lg.record([PARTY, FACILITY])
    fake = _Interleaved(reader._DECODER)
    monkeypatch.setattr(reader, "_DECODER", fake)
    outcome: dict = {}

    def send_float():
        try:
            outcome["float"] = reader.parse_json_object(json.dumps(
                {"type": "LoanAdvanced", "facility": "f1", "amount": 1.5, "effective_date": "1996-01-02"}), 1)
        except InputError as exc:
            outcome["float"] = exc

    def send_integer():
        fake.float_parsed.wait(10)
        with open_ledger(ledger_url) as lg:
            outcome["int"] = lg.record_lines([json.dumps({"type": "LoanAdvanced", "facility": "f1", "amount": 2,
                                                          "effective_date": "1996-01-02"})])
        fake.other_done.set()

    threads = [threading.Thread(target=send_float), threading.Thread(target=send_integer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert isinstance(outcome["float"], InputError), outcome
    assert "fraction" in str(outcome["float"]) and "field 'amount'" in str(outcome["float"])
    assert len(outcome["int"].recorded) == 1


def test_a_number_stand_in_never_passes_as_an_amount():
    """Even if a refused number slipped past the reader, the amount parser takes only plain strings."""
    from ledger.values import ValueProblem, parse_amount

    with pytest.raises(ValueProblem):
        parse_amount(reader._Fraction("1.5"))
