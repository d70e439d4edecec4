"""Read models are never observed half-made: one read of position and chain, a clear only on a real
replacement, and each answer from one read transaction (issue 19, item 2)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from ledger import open_ledger
from ledger.api import projection_path
from ledger.values import utc_now
from projections.readmodel import ReadModel

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "ledger" / "data" / "lexington-1996.jsonl"
AS_OF = date(1996, 6, 20)


def _scenario_halves(url: str) -> tuple[list[str], list[str]]:
    lines = SCENARIO.read_text().splitlines()
    return lines[:60], lines[60:]


def test_a_chunk_committed_between_reads_does_not_look_like_a_replaced_ledger(ledger_url, monkeypatch):
    """Another process applies a chunk while catch_up checks the chain: the models are not cleared."""
    first, rest = _scenario_halves(ledger_url)
    with open_ledger(ledger_url) as lg:
        lg.record_lines(first)
        lg.refresh()
        # the rest is recorded without catching the models up
        monkeypatch.setattr(lg, "refresh", lambda **_: 0)
        lg.record_lines(rest)
        path = projection_path(lg.store)
        mine, other = ReadModel(path), ReadModel(path)
        cleared = []
        real_clear = ReadModel.clear
        monkeypatch.setattr(ReadModel, "clear", lambda self, **kw: cleared.append(1) or real_clear(self, **kw))
        real_log_rows = lg.store.log_rows
        calls = []

        def log_rows(**kwargs):
            if not calls:  # the other process moves the models on while this one checks its chain
                calls.append(1)
                other.catch_up(lg.store)
            return real_log_rows(**kwargs)

        monkeypatch.setattr(lg.store, "log_rows", log_rows)
        mine.catch_up(lg.store)
        assert calls and not cleared
        assert mine.position == lg.store.tail().position
        mine.close()
        other.close()


def test_an_answer_is_read_from_one_snapshot_while_another_process_rebuilds(ledger_url, monkeypatch):
    """The models are cleared by another process in the middle of an answer: the answer is still the fold's."""
    now = utc_now()
    with open_ledger(ledger_url) as lg:
        lg.record_file(SCENARIO)
        expected = open_ledger(ledger_url, reference=True).balances(AS_OF, now).to_json()
        other = ReadModel(projection_path(lg.store))
        snapshot = lg.snapshot(now)
        model = snapshot.model
        real = type(model).loans_on

        def clear_then_loans(self, *args):
            other.clear()  # committed by another process while this answer is being read
            return real(self, *args)

        monkeypatch.setattr(type(model), "loans_on", clear_then_loans)
        assert snapshot.balances(AS_OF).to_json() == expected
        monkeypatch.setattr(type(model), "loans_on", real)
        # the models now hold nothing: the next answer comes from the fold, and is still right
        assert lg.snapshot(now).balances(AS_OF).to_json() == expected
        other.close()


def test_a_real_replacement_of_the_ledger_still_clears_the_models(tmp_path):
    """A ledger replaced by another with a different history: the models are rebuilt from the new one."""
    url = f"sqlite:///{tmp_path / 'w.db'}"
    lines = SCENARIO.read_text().splitlines()
    with open_ledger(url) as lg:
        lg.record_lines(lines)
    (tmp_path / "w.db").unlink()
    for extra in ("-wal", "-shm"):
        (tmp_path / f"w.db{extra}").unlink(missing_ok=True)
    with open_ledger(url) as lg:
        lg.record_lines(lines[:40])
        now = utc_now()
        with open_ledger(url, reference=True) as ref:
            assert lg.balances(AS_OF, now).to_json() == ref.balances(AS_OF, now).to_json()
        assert lg.model.position == 40
