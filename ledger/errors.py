"""The ledger's errors: one base class, each with a message a loan administrator can act on."""

from __future__ import annotations


import re

_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """Text safe to print on a terminal: control and escape characters written out as Python would (`\\x1b`)."""
    return _UNSAFE.sub(lambda m: repr(m.group())[1:-1], text)


class LedgerError(Exception):
    """Base of every error the ledger raises on purpose."""

    exit_code = 4

    def __str__(self) -> str:
        # whatever the input held, a message never moves the cursor, retitles the window or clears the screen
        return printable(super().__str__())


class InputError(LedgerError):
    """Bad input: names the line, the field and what was expected. Nothing was recorded."""

    exit_code = 2

    def __init__(self, message: str, *, line: int | None = None, field: str | None = None):
        self.line = line
        self.field = field
        self.problem = message
        where = []
        if line is not None:
            where.append(f"line {line}")
        if field is not None:
            where.append(f"field '{field}'")
        prefix = ", ".join(where)
        text = f"{prefix}: {message}" if prefix else message
        # whatever the input held, the message itself must be printable
        super().__init__(text.encode("utf-8", "backslashreplace").decode("utf-8"))


class StrictRefusal(LedgerError):
    """`record --strict`: the batch drew warnings, so none of it was recorded (exit 2)."""

    exit_code = 2

    def __init__(self, warnings):
        self.warnings = tuple(warnings)
        super().__init__(f"nothing was recorded: --strict and {len(self.warnings)} warning(s) above "
                         "(record without --strict to accept them)")


class UsageError(LedgerError):
    """A command was asked for in a way that cannot be answered (exit 2)."""

    exit_code = 2


class StoreUnavailable(LedgerError):
    """The store could not be reached, is missing or is locked (exit 3)."""

    exit_code = 3


class ConcurrentWrite(StoreUnavailable):
    """Another writer kept the ledger busy past the retry budget; safe to retry (exit 3)."""


class AuditFailure(LedgerError):
    """The audit found the log altered or the state not following from it (exit 1)."""

    exit_code = 1
