"""`cledger serve`: the ledger in a browser, read-only, one shared set of read models for a team."""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading

import click

from ledger.cli import cli, db_option, guarded
from ledger.errors import UsageError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _check_port(host: str, port: int) -> None:
    """Say plainly that the port is taken (uvicorn would log a traceback-like error and exit 1)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --port "
                             "or --host") from None


@cli.command()
@db_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="the address to listen on; any other than 127.0.0.1, localhost or ::1 needs --token")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="the TCP port")
@click.option("--token", envvar="CLEDGER_TOKEN", default=None,
              help="a secret every request must carry (Authorization: Bearer T, or ?token=T); or CLEDGER_TOKEN")
@click.option("--interval", default=1.0, show_default=True, type=click.FloatRange(0.1, 60),
              help="seconds between looks at the log for new events")
@guarded
def serve(db: str, host: str, port: int, token: str | None, interval: float) -> None:
    """Serve the ledger's answers to browsers, read-only: status, liens, collateral, balances, defaults, events.

    Every page answers "as of D, as known at K", both in its URL. /api/VIEW gives
    the bytes `cledger VIEW --json` prints. One set of read models serves every
    reader; a background thread follows the log as others record.
    """
    if token is not None and not token.strip():
        raise UsageError("--token is empty: give a secret (or leave it out on 127.0.0.1)")
    if host not in LOOPBACK and not token:
        raise UsageError(f"--host {host} is reachable from other machines: give a --token (or set CLEDGER_TOKEN) "
                         "that every request must carry, or listen on 127.0.0.1")
    _check_port(host, port)
    import uvicorn

    from ledger.web import create_app
    from ledger.web.service import LedgerService

    service = LedgerService(db, interval=interval)  # a missing or unreachable ledger: exit 3, before listening
    # without a token the Host header is the only guard against a page elsewhere renaming itself to 127.0.0.1
    # (DNS rebinding) and reading the answers through the visitor's browser: only loopback names are answered
    app = create_app(service, token=token, hosts=None if token else LOOPBACK)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"cledger: serving {db} read-only at http://{shown}:{port}/"
               f"{' (every request needs the token)' if token else ''}; Ctrl-C stops", err=True)
    # uvicorn stops gracefully on SIGINT or SIGTERM, then raises the signal again with the handler it found:
    # make that handler an ordinary exit, so a stopped server ends with 0 and no "Aborted!"
    previous = signal.signal(signal.SIGTERM, _exit_quietly)
    try:
        # no access log: with ?token=T in a URL it would write the secret into the terminal's scrollback
        uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False,
                    timeout_graceful_shutdown=3)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        busy = [t for t in threading.enumerate() if t.name.startswith("cledger-web") and t.is_alive()]
        click.echo("cledger: stopped serving" + (" (a long answer was cut short)" if busy else ""), err=True)
        if busy:  # a worker still folding a long log: nothing is written by it, so end without waiting
            sys.stderr.flush()
            os._exit(0)


def _exit_quietly(signum, frame) -> None:
    raise SystemExit(0)


__all__ = ["serve"]
