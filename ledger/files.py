"""Writing a report file so that a reader never sees half of it: a temporary file, then a rename."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def readable(path: str) -> None:
    """Give a file made by mkstemp (0600) the mode a plain open() would have: 0666 less the umask."""
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


@contextmanager
def temporary_beside(path: Path) -> Iterator[str]:
    """A fresh temporary name in `path`'s folder; on success it replaces `path`, on failure it is removed."""
    from ledger.errors import StoreUnavailable, printable

    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:  # a read-only folder or mount, a full disk: the target cannot be written (exit 3)
        raise StoreUnavailable(f"cannot write {printable(str(path))}: {exc.strerror or exc}") from None
    os.close(fd)
    try:
        yield tmp
        readable(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        _remove(tmp)
        raise StoreUnavailable(f"cannot write {printable(str(path))}: {exc.strerror or exc}") from None
    except BaseException:
        _remove(tmp)
        raise


def _remove(tmp: str) -> None:
    for leftover in (tmp, tmp + "-journal", tmp + "-wal", tmp + "-shm"):
        if os.path.exists(leftover):
            os.unlink(leftover)


@contextmanager
def replaced_atomically(path: Path, *, encoding: str | None = None, newline: str | None = None):
    """Open a file to write that takes `path`'s place only once it is complete (binary unless `encoding`)."""
    with temporary_beside(path) as tmp:
        mode = "w" if encoding else "wb"
        with open(tmp, mode, encoding=encoding, newline=newline) as fh:
            yield fh
