"""Progress bars for long runs (rich), quiet when not on a terminal."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Callable, Iterator


@contextmanager
def progress_bar(label: str, total: int, *, min_total: int = 20_000) -> Iterator[Callable[[int], None]]:
    """Yield `advance(done)`; draws a bar on stderr for long runs on a terminal, nothing otherwise."""
    if total < min_total or not sys.stderr.isatty():
        yield lambda done: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), transient=True) as bar:
        task = bar.add_task(label, total=total)
        every = max(1, total // 200)
        shown = [-every]

        def advance(done: int) -> None:
            if done - shown[0] >= every or done == total:  # callers report every event or every chunk
                bar.update(task, completed=done)
                shown[0] = done

        yield advance
