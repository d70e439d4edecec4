"""Ledgers the web tests share: the 1996 scenario, and the scenario with user strings that try to be HTML."""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ledger.api import open_ledger
from ledger.demo import scenario_path

SCRIPT_ADDRESS = "<script>alert('address')</script> 1 Main St"
HOSTILE_DESCRIPTION = '<img src=x onerror="alert(1)"> a press'
HOSTILE_ACTOR = "<b>mallory</b>"

# a location whose address holds a script, and an item there (registered retroactively, known from August 1996)
HOSTILE_EVENTS = [
    {"type": "LocationRegistered", "id": "ev-loc-hostile", "effective_date": "1996-01-02",
     "recorded_at": "1996-08-01T09:00:00+00:00", "actor": HOSTILE_ACTOR, "location": "hostile-yard",
     "address": SCRIPT_ADDRESS},
    {"type": "CollateralRegistered", "id": "ev-col-hostile", "effective_date": "1996-01-02",
     "recorded_at": "1996-08-01T09:01:00+00:00", "actor": HOSTILE_ACTOR, "collateral": "press-hostile",
     "kind": "equipment", "owner": "lpc", "location": "hostile-yard", "description": HOSTILE_DESCRIPTION,
     "value": "1000.00"},
]


def scenario_ledger(path: Path) -> str:
    """A SQLite ledger of the 1996 scenario (read models built); returns its URL."""
    url = f"sqlite:///{path}"
    with open_ledger(url) as lg:
        lg.record_file(scenario_path())
    return url


def hostile_ledger(path: Path) -> str:
    """The scenario plus the events of `HOSTILE_EVENTS`."""
    url = scenario_ledger(path)
    with open_ledger(url) as lg:
        lg.record_lines([json.dumps(e) for e in HOSTILE_EVENTS])
    return url


@contextmanager
def running_server(url: str, *, token: str | None = None, interval: float = 0.5) -> Iterator[str]:
    """`cledger serve`'s application under uvicorn on a free 127.0.0.1 port, in a thread; yields its base URL."""
    import socket
    import threading
    import time

    import uvicorn

    from ledger.web import create_app
    from ledger.web.service import LedgerService

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(LedgerService(url, interval=interval), token=token),
                                           host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the test server did not start on 127.0.0.1:{port}")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
