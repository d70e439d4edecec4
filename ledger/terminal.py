"""What every screen of `cledger` shares: the console, its width, a closed pipe, and text made safe to print.

Tables, charts' captions and `cledger events` print ids and sentences that came from the input; whatever
they hold (rich markup such as `[red]`, escape sequences, control characters) must print literally.
"""

from __future__ import annotations

import os
import sys

from rich.console import Console
from rich.markup import escape

# the width of output to a pipe or a file when COLUMNS does not say (docs/decisions.md, "Terminal (issue 18)")
DEFAULT_WIDTH = 100


def pipe_closed() -> None:
    """The reader of our output went away (`cledger status | head -1`): not an error, exit 0 quietly."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # what is still buffered goes nowhere, with no noise at exit
    except (OSError, ValueError):
        pass
    sys.exit(0)


class _Console(Console):
    def on_broken_pipe(self) -> None:  # rich's own exits 1
        pipe_closed()


def width() -> int | None:
    """COLUMNS when set; a terminal's own width; else DEFAULT_WIDTH."""
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    return None if sys.stdout.isatty() else DEFAULT_WIDTH


def console() -> Console:
    return _Console(highlight=False, soft_wrap=False, width=width())


_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x00, 0x20), 0x7f)} | {c: f"\\x{c:02x}" for c in range(0x80, 0xa0)}


def plain(text: object) -> str:
    """Text from the ledger shown as it is: control characters as \\xNN, never acted on by the terminal."""
    return str(text).translate(_CONTROL)


def safe(text: object) -> str:
    """Text from the ledger for a rich string: control characters shown, markup escaped."""
    return escape(plain(text))
