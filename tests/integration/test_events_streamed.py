"""`cledger events --json` streams the log (flat memory at any length) and prints the same bytes as before
(issue 19, item 10, its `events --json` half; measured at 1,000,000 events in the report)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger import open_ledger
from ledger.cli import print_json_array
from ledger.recording import record_body

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "ledger" / "data" / "lexington-1996.jsonl"


def test_events_json_prints_the_whole_list_at_once_bytes(ledger_url, run_cli):
    with open_ledger(ledger_url) as lg:
        lg.record_file(SCENARIO)
        rows = [record_body(r.event, r.event_id, r.position, r.recorded_at, r.actor) for r in lg.store.read()]
        assert list(lg.event_bodies()) == rows
    res = run_cli(["events", "--json", "--db", ledger_url])
    assert res.code == 0, res
    assert res.stdout == json.dumps(rows, indent=2, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("count, chunk", [(0, 3), (1, 3), (3, 3), (7, 3), (5, 2000)])
def test_the_array_is_the_same_across_chunk_boundaries(capsys, count, chunk):
    items = [{"id": f"e{i}", "text": "a\nb \u00a7 \"q\"", "list": [1, {"x": None}], "empty": []} for i in range(count)]
    print_json_array(iter(items), chunk=chunk)
    assert capsys.readouterr().out == json.dumps(items, indent=2, ensure_ascii=False) + "\n"


def test_the_events_are_read_lazily(ledger_url):
    """The bodies come from the store a chunk at a time: taking the first reads no more than a chunk."""
    with open_ledger(ledger_url) as lg:
        lg.record_file(SCENARIO)
        reads = []
        real = lg.store.read_stored

        def counting(**kwargs):
            for stored in real(**kwargs):
                reads.append(stored.originator_version)
                yield stored

        lg.store.read_stored = counting
        first = next(lg.event_bodies())
        assert first["position"] == 1 and len(reads) <= 5000
