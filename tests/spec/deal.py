"""Building small invented deals as JSON Lines and asking `cledger` about them (black box).

Every ledger is recorded once through `cledger record` into its own SQLite file;
each question is a real subprocess of `python -m ledger.cli ... --json`, asked
once and remembered (the answers of a recorded ledger never change).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path


def cledger(args: list[str], input: str | None = None):
    """Run `cledger ARGS` as tests/conftest.py's `run_cli` does: returns (code, stdout, stderr)."""
    env = dict(os.environ)
    env.pop("CLEDGER_DB", None)
    proc = subprocess.run([sys.executable, "-m", "ledger.cli", *args],
                          input=None if input is None else input.encode(),
                          capture_output=True, env=env, timeout=300)
    return proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")


class Log:
    """A JSON Lines ledger under construction; recorded times increase, one minute a line by default.

    `add(type, date, id, recorded=..., **fields)`: `recorded` (an ISO date or timestamp) sets when the
    ledger learns the event; by default 09:00 UTC of its effective date, or a minute after the
    previous line, whichever is later.
    """

    def __init__(self):
        self.lines: list[dict] = []
        self._clock: dt.datetime | None = None

    def add(self, type_: str, date: str, id_: str, recorded: str | None = None, **fields) -> dict:
        if recorded is None:
            at = dt.datetime.fromisoformat(f"{date}T09:00:00+00:00")
        elif "T" in recorded:
            at = dt.datetime.fromisoformat(recorded)
        else:
            at = dt.datetime.fromisoformat(f"{recorded}T09:00:00+00:00")
        if self._clock is not None and at <= self._clock:
            if recorded is not None:
                raise ValueError(f"{id_}: recorded {at} is not after the previous line ({self._clock})")
            at = self._clock + dt.timedelta(minutes=1)
        self._clock = at
        line = {"type": type_, "id": id_, "effective_date": date, "recorded_at": at.isoformat(), **fields}
        self.lines.append(line)
        return line

    def text(self) -> str:
        return "".join(json.dumps(line) + "\n" for line in self.lines)


class Ledger:
    """A recorded ledger: `record` once, then `ask` many questions (answers are cached)."""

    def __init__(self, folder: Path, log: Log, strict: bool = False):
        self.url = f"sqlite:///{folder / 'ledger.db'}"
        path = folder / "deal.jsonl"
        path.write_text(log.text())
        args = ["record", str(path), "--db", self.url] + (["--strict"] if strict else [])
        self.code, self.out, self.err = cledger(args)
        self._answers: dict[tuple, dict] = {}

    def _run(self, key: tuple) -> tuple:
        command, as_of, known_at, borrower = key
        args = [command, "--as-of", as_of, "--db", self.url, "--json"]
        if known_at is not None:
            args += ["--known-at", known_at]
        if borrower is not None:
            args += ["--borrower", borrower]
        return (args, *cledger(args))

    def prefetch(self, questions: list[tuple]) -> "Ledger":
        """Ask these (command, as_of, known_at, borrower) questions ahead, two at a time (the machine has two
        cores): the first alone, so that it brings the read models up to date before the others read them."""
        if self.code != 0 or not questions:
            return self
        from concurrent.futures import ThreadPoolExecutor
        keys = [tuple(q) + (None,) * (4 - len(q)) for q in questions]
        first, rest = keys[0], keys[1:]
        self._pending = {first: self._run(first)}
        with ThreadPoolExecutor(max_workers=2) as pool:
            for key, result in zip(rest, pool.map(self._run, rest)):
                self._pending[key] = result
        return self

    def ask(self, command: str, as_of: str, known_at: str | None = None, borrower: str | None = None) -> dict:
        """`cledger COMMAND --as-of D [--known-at K] [--borrower P] --json`, parsed."""
        assert self.code == 0, f"the ledger was not recorded (exit {self.code}): {self.err[-2000:]}"
        key = (command, as_of, known_at, borrower)
        if key not in self._answers:
            pending = getattr(self, "_pending", {})
            args, code, out, err = pending.pop(key) if key in pending else self._run(key)
            assert code == 0, f"cledger {' '.join(args)} exited {code}: {err[-2000:]}"
            self._answers[key] = json.loads(out)
        return self._answers[key]


def breach(answer: dict, breach_id: str) -> dict:
    """The breach of that id in a `defaults` answer (fails, listing the ids, when absent)."""
    found = [b for b in answer["breaches"] if b["breach"] == breach_id]
    assert found, f"no breach {breach_id}; the answer lists {[b['breach'] for b in answer['breaches']]}"
    assert len(found) == 1, f"{breach_id} listed {len(found)} times"
    return found[0]


def item(answer_list: list[dict], key: str, value: str) -> dict:
    """The entry of a list whose `key` is `value` (fails, listing the values, when absent)."""
    found = [x for x in answer_list if x.get(key) == value]
    assert len(found) == 1, f"{key}={value}: {len(found)} found among {[x.get(key) for x in answer_list]}"
    return found[0]


def copy_of(ledger: "Ledger", folder: Path) -> str:
    """A URL for a copy of a recorded ledger's SQLite file (to try a refusal without touching the original)."""
    import shutil
    assert ledger.code == 0, f"the ledger was not recorded (exit {ledger.code}): {ledger.err[-2000:]}"
    source = Path(ledger.url.removeprefix("sqlite:///"))
    target = folder / "copy.db"
    shutil.copyfile(source, target)
    return f"sqlite:///{target}"


def record_lines(url: str, lines: list[dict], folder: Path, *extra: str):
    """`cledger record FILE --db URL [extra]` for these lines: returns (code, stdout, stderr)."""
    path = folder / f"more-{len(list(folder.iterdir()))}.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return cledger(["record", str(path), "--db", url, *extra])


def pick(d: dict, *keys: str) -> dict:
    """Only those keys of a dict (a key it lacks shows as the string '<absent>')."""
    return {k: d.get(k, "<absent>") for k in keys}


def trim(actual, like):
    """`actual` cut to the keys `like` documents, at every depth (a missing key shows as '<absent>').

    CONTRACT.md lets an answer carry keys beyond the documented ones; `assert trim(a, e) == e` checks every
    documented key and value, and the lengths and order of lists, and nothing more.
    """
    if isinstance(like, dict) and isinstance(actual, dict):
        return {k: trim(actual[k], v) if k in actual else "<absent>" for k, v in like.items()}
    if isinstance(like, list) and isinstance(actual, list) and len(like) == len(actual):
        return [trim(a, e) for a, e in zip(actual, like)]
    return actual
