"""Load on `cledger serve`: concurrent readers for a while, as another process records batches.

    python scripts/web_load.py [--readers 20] [--seconds 30] [--batch 20] [--pause 0.5]
    python scripts/web_load.py --url http://127.0.0.1:8000 --db sqlite:///cledger.db [--token T]

Without --url it builds the 1996 scenario in a temporary folder and starts
`cledger serve` on it (a subprocess on a free 127.0.0.1 port). Each reader
asks the pages and the API in turn, half as known at the end of 1996 (the
same answer throughout) and half as known today (what the recorder adds);
the recorder runs `cledger record -` in a loop, a batch of advances each
time. Prints p50 and p99 per page, the answers by HTTP status and the error
count (anything but 200, and failed connections). Bounded: --readers at most
64, --seconds at most 300.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

QUESTION_1996 = "as_of=1996-06-20&known_at=1996-12-31"
PAGES = ["/", "/liens", "/collateral", "/balances", "/availability", "/defaults", "/events",
         "/restatement", "/api/status", "/api/liens", "/api/defaults", "/charts/timeline.svg"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _query(page: str, today: bool) -> str:
    day = datetime.now(timezone.utc).date().isoformat()
    question = f"as_of=1996-07-02&known_at={day}" if today else QUESTION_1996
    if page == "/restatement":
        question += "&from=1996-03-01&to=1996-03-15"
    if page.startswith("/charts/"):
        question = "from=1996-01-01&to=1996-08-01&known_at=1996-12-31"
    return f"{page}?{question}"


def _start_server(db: str, port: int, token: str | None) -> subprocess.Popen:
    env = dict(os.environ)
    if token:
        env["CLEDGER_TOKEN"] = token
    return subprocess.Popen([sys.executable, "-m", "ledger.cli", "serve", "--db", db, "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_up(base: str, headers: dict, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(urllib.request.Request(f"{base}/api/liens", headers=headers), timeout=5):
                return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.2)
    raise SystemExit(f"web_load: no answer from {base} within {seconds:.0f} s")


def _recorder(db: str, stop: threading.Event, batch: int, pause: float, done: list) -> None:
    """Another process records: `cledger record -`, a batch of small advances each time."""
    n = 0
    while not stop.is_set():
        lines = []
        for _ in range(batch):
            n += 1
            lines.append(json.dumps({"type": "LoanAdvanced", "id": f"load-adv-{os.getpid()}-{time.time_ns()}-{n}",
                                     "effective_date": "1996-07-02", "facility": "lpc-revolver", "amount": "1.00"}))
        proc = subprocess.run([sys.executable, "-m", "ledger.cli", "record", "-", "--db", db,
                               "--actor", "web-load"], input="\n".join(lines).encode(), capture_output=True,
                              timeout=120)
        done.append((proc.returncode, batch))
        stop.wait(pause)


def _reader(base: str, headers: dict, index: int, until: float, timings, statuses, failures, lock) -> None:
    i = index
    while time.monotonic() < until:
        page = PAGES[i % len(PAGES)]
        url = base + _query(page, today=(i // len(PAGES)) % 2 == 1)
        i += 1
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=60) as r:
                r.read()
                status = r.status
        except urllib.error.HTTPError as exc:
            exc.read()
            status = exc.code
        except (urllib.error.URLError, ConnectionError, OSError) as exc:
            with lock:
                failures.append(f"{page}: {exc}")
            continue
        elapsed = time.perf_counter() - start
        with lock:
            timings[page].append(elapsed)
            statuses[(page, status)] += 1


def _pct(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running `cledger serve` (default: start one on the 1996 scenario)")
    parser.add_argument("--db", help="the ledger the recorder writes to (the server's)")
    parser.add_argument("--token", default=os.environ.get("CLEDGER_TOKEN"))
    parser.add_argument("--readers", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--batch", type=int, default=20, help="events a `cledger record` batch")
    parser.add_argument("--pause", type=float, default=0.5, help="seconds between batches")
    args = parser.parse_args()
    if not 1 <= args.readers <= 64 or not 1 <= args.seconds <= 300:
        raise SystemExit("web_load: --readers 1..64 and --seconds 1..300")
    if args.url and not args.db:
        raise SystemExit("web_load: with --url, give --db (the ledger the server reads) for the recorder")
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}

    folder = None
    server = None
    if args.url:
        base, db = args.url.rstrip("/"), args.db
    else:
        from tests.web_ledgers import scenario_ledger

        folder = tempfile.TemporaryDirectory(prefix="cledger-load-")
        db = scenario_ledger(Path(folder.name) / "ledger.db")
        port = _free_port()
        server = _start_server(db, port, args.token)
        base = f"http://127.0.0.1:{port}"
    try:
        _wait_up(base, headers)
        timings: dict[str, list[float]] = defaultdict(list)
        statuses: Counter = Counter()
        failures: list[str] = []
        lock = threading.Lock()
        stop = threading.Event()
        batches: list = []
        recorder = threading.Thread(target=_recorder, args=(db, stop, args.batch, args.pause, batches))
        recorder.start()
        until = time.monotonic() + args.seconds
        readers = [threading.Thread(target=_reader, args=(base, headers, n, until, timings, statuses, failures, lock))
                   for n in range(args.readers)]
        for t in readers:
            t.start()
        for t in readers:
            t.join()
        stop.set()
        recorder.join()
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        if folder is not None:
            folder.cleanup()

    errors = sum(n for (page, status), n in statuses.items() if status != 200) + len(failures)
    recorded = sum(b for code, b in batches if code == 0)
    print(f"{args.readers} readers for {args.seconds:.0f} s against {base}; the recorder wrote {recorded} events "
          f"in {sum(1 for code, _ in batches if code == 0)} batches ({sum(1 for code, _ in batches if code)} failed)")
    print(f"{'page':<22} {'requests':>8} {'p50 ms':>8} {'p99 ms':>8}  statuses")
    total = 0
    for page in PAGES:
        values = timings.get(page, [])
        total += len(values)
        if not values:
            print(f"{page:<22} {0:>8}")
            continue
        codes = ", ".join(f"{status}: {n}" for (p, status), n in sorted(statuses.items()) if p == page)
        print(f"{page:<22} {len(values):>8} {_pct(values, 50) * 1000:>8.1f} {_pct(values, 99) * 1000:>8.1f}  {codes}")
    print(f"requests: {total}, {total / args.seconds:.1f}/s; errors: {errors}")
    for line in failures[:10]:
        print(f"  failed: {line}")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
