"""A stateful test of the whole ledger (issue 19, item 11): random batches, queries, voids, writers killed
mid-batch (an exception inside the transaction, or a `cledger record` process killed outright) and
rebuilds; after every step the read models answer exactly as the reference fold, and no half batch is kept."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from ledger import open_ledger
from ledger.errors import InputError
from ledger.values import utc_now
from tests.pgschema import fresh_schema

ROOT = Path(__file__).resolve().parents[2]
VIEWS = ("liens", "eligibility", "balances", "defaults", "availability")
EXAMPLES = int(os.environ.get("CLEDGER_STATEFUL_EXAMPLES", "6"))
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


def _lane_class():
    spec = importlib.util.spec_from_file_location("cledger_script_crash_loop_sm", ROOT / "scripts" / "crash_loop.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.Lane


Lane = _lane_class()


def _terms(p: str) -> dict:
    """Terms that make the lane's moves, locations and values matter: a restricted place, an ineligible one."""
    return {"type": "AgreementExecuted", "id": f"{p}-terms", "effective_date": "1996-01-01", "agreement": f"{p}-fa",
            "title": "Financing agreement", "parties": [f"{p}-lender", f"{p}-borrower"],
            "terms": {"lender": f"{p}-lender", "advance_rates": {"equipment": "0.70", "inventory": "0.50"},
                      "borrowing_base_facilities": [f"{p}-rev"], "ineligible_locations": [f"{p}-loc-2"],
                      "restricted_collateral": [{"rule": "cit-location", "holder": f"{p}-lender",
                                                 "locations": [f"{p}-loc-1"]}],
                      "grace_days": {"cit-location": 5, "furnish-notices": 3650}, "promptly_days": 5}}


class _Killed(Exception):
    """Injected inside the recording transaction, after the rows were written and before the commit."""


def make_machine(backend: str, tmp: Path):
    class LedgerMachine(RuleBasedStateMachine):
        """One ledger, one lane of batches; `n` is the next batch to record (a killed batch is sent again)."""

        @initialize(seed=st.integers(0, 10_000))
        def start(self, seed):
            self.stack = ExitStack()
            if backend == "sqlite":
                self.url = f"sqlite:///{tmp / f'sm-{os.getpid()}-{time.monotonic_ns()}.db'}"
            else:
                self.url = self.stack.enter_context(fresh_schema())
            self.lane = Lane(seed, 0)
            self.n = 1
            self.lg = open_ledger(self.url)
            self.ref = open_ledger(self.url, reference=True)
            self.lg.record(self.lane.batch(1))
            self.lg.record([_terms(self.lane.p)])
            self.n = 2
            self.kills = 0
            self.notices = 0

        def teardown(self):
            if hasattr(self, "lg"):
                self.lg.close()
                self.ref.close()
                self.stack.close()

        def _tail(self) -> int:
            return self.lg.store.tail().position

        @rule()
        def record_batch(self):
            self.lg.record(self.lane.batch(self.n))
            self.n += 1

        @rule(count=st.integers(2, 6))
        def record_several_batches(self, count):
            lines = [e for k in range(self.n, self.n + count) for e in self.lane.batch(k)]
            self.lg.record(lines)
            self.n += count

        @rule(data=st.data())
        def void_a_valuation(self, data):
            valued = [e["id"] for k in range(1, self.n) for e in self.lane.batch(k) if e["type"] == "CollateralValued"]
            if not valued:
                return
            target = data.draw(st.sampled_from(valued))
            before = self._tail()
            try:
                self.lg.record([{"type": "EventVoided", "effective_date": "1996-06-01", "event": target,
                                 "reason": "entered in error"}])
            except InputError:
                assert self._tail() == before  # already voided: refused whole

        @rule()
        def writer_fails_inside_the_transaction(self):
            """An exception after the batch's rows are written, before the commit: nothing of it is kept."""
            before = self._tail()
            recorder = self.lg.store.recorder
            name = "_insert_events" if backend == "sqlite" else "_insert_stored_events"
            real = getattr(recorder, name)

            def insert_then_fail(*args, **kwargs):
                real(*args, **kwargs)
                raise _Killed()

            setattr(recorder, name, insert_then_fail)
            try:
                with pytest.raises(_Killed):
                    self.lg.record(self.lane.batch(self.n))
            finally:
                delattr(recorder, name)
            assert self._tail() == before

        @precondition(lambda self: self.kills < 1)
        @rule(delay=st.floats(0.05, 0.6))
        def writer_killed_outright(self, delay):
            """`cledger record` SIGKILLed at a random moment: its batch is all there or not at all."""
            self.kills += 1
            batch = self.lane.batch(self.n)
            before = self._tail()
            proc = subprocess.Popen([sys.executable, "-m", "ledger.cli", "record", "-", "--db", self.url],
                                    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    cwd=ROOT)
            proc.stdin.write("".join(json.dumps(e) + "\n" for e in batch).encode())
            proc.stdin.close()
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
            after = self._tail()
            assert after in (before, before + len(batch))
            if after > before:
                self.n += 1  # it committed before it died

        @rule(end=st.sampled_from(["0001-01-01", "9999-12-25", "9999-12-31"]))
        def record_at_an_end_of_the_calendar(self, end):
            """A notice never forwarded, at either end of the calendar (its deadline may fall past the end)."""
            p = self.lane.p
            self.notices += 1
            self.lg.record([{"type": "NoticeReceived", "effective_date": end, "notice": f"n-{self.notices}",
                             "from": f"{p}-lender", "to": f"{p}-borrower", "financing": "other",
                             "category": "material"}])

        @rule()
        def rebuild(self):
            self.lg.rebuild()

        @rule(day=st.integers(0, 120))
        def query(self, day):
            as_of = date(1996, 1, 1) + timedelta(days=day)
            assert self.lg.balances(as_of).to_json()["as_of"] == as_of.isoformat()

        @invariant()
        def read_models_equal_the_fold(self):
            if not hasattr(self, "lg"):
                return
            now = utc_now()
            for day in (date(1996, 1, 1), date(1996, 1, 1) + timedelta(days=self.n // 10), date(1997, 1, 1),
                        date(9999, 12, 31)):
                for view in VIEWS:
                    ours = getattr(self.lg, view)(day, now).to_json()
                    theirs = getattr(self.ref, view)(day, now).to_json()
                    assert ours == theirs, (view, day)
            snapshot = self.lg.snapshot(now)
            assert type(snapshot).__name__ == "ReadModelSnapshot"  # the models answered, not the fallback

    return LedgerMachine


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_ledger_state_machine(backend, tmp_path):
    machine = make_machine(backend, tmp_path)
    machine.TestCase.settings = settings(max_examples=EXAMPLES, stateful_step_count=12, deadline=None,
                                         suppress_health_check=list(HealthCheck))
    machine.TestCase().runTest()
