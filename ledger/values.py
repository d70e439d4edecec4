"""Value types and strict parsers for money, dates, times and the contract's enumerations.

Strings are parsed into these types once, here, at the boundary. The parsers are
strict on purpose: `Decimal` and `date.fromisoformat` accept more than a lender's
file should contain (`"1_000"`, `"NaN"`, `"19960314"`), so the text's shape is
checked first.
"""

from __future__ import annotations

import enum
import re
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("1e15")  # a quadrillion: beyond any facility, catches runaway input

_AMOUNT_RE = re.compile(r"[0-9]+(\.[0-9]{1,2})?")
_RATE_RE = re.compile(r"[0-9]+(\.[0-9]+)?")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIME_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})"
)
_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-/#*]{0,127}")
# every pattern above is used with fullmatch: `$` would also match before a final newline ("f1\n")
# C0 controls but tab and newline (a spreadsheet cell may hold several lines: a description), so also CR,
# DEL, C1, and the bidirectional overrides and isolates that can make text display other than it reads
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class ValueProblem(ValueError):
    """A value has the wrong shape; the caller adds the line and the field."""


class Role(str, enum.Enum):
    BORROWER = "borrower"
    LENDER = "lender"
    GUARANTOR = "guarantor"


class FacilityKind(str, enum.Enum):
    REVOLVING = "revolving"
    TERM = "term"


class CollateralKind(str, enum.Enum):
    EQUIPMENT = "equipment"
    INVENTORY = "inventory"
    ACCOUNTS = "accounts"
    REAL_PROPERTY = "real-property"

    @property
    def tangible(self) -> bool:
        return self in (CollateralKind.EQUIPMENT, CollateralKind.INVENTORY)


class LienKind(str, enum.Enum):
    SECURITY_INTEREST = "security-interest"
    MORTGAGE = "mortgage"


class NoticeSubject(str, enum.Enum):
    COLLATERAL_MOVE = "collateral-move"
    FINANCING = "financing"


class NoticeCategory(str, enum.Enum):
    MATERIAL = "material"
    FUTURE_ADVANCE = "future-advance"
    INTEREST_RATE = "interest-rate"
    INTEREST_PERIOD = "interest-period"


class PaymentOrder(str, enum.Enum):
    MATURITY = "maturity"
    INVERSE_MATURITY = "inverse-maturity"


def parse_amount(value: object, *, allow_zero: bool = False) -> Decimal:
    """A money amount: a JSON integer or a plain decimal string, at most two places."""
    if isinstance(value, bool) or value is None:
        raise ValueProblem(f"expected an amount (a decimal string like \"418118.00\"), got {_show(value)}")
    if isinstance(value, int):
        amount = Decimal(value)
    elif type(value) is str:  # not a subclass: the reader's stand-in for a refused JSON number is one
        if not _AMOUNT_RE.fullmatch(value):
            raise ValueProblem(
                f"expected an amount of plain digits with at most two decimal places, got {value!r}"
            )
        amount = Decimal(value)
    elif isinstance(value, Decimal):  # a JSON float reaches us as Decimal only through parse_float
        raise ValueProblem("a JSON number with a fraction is not accepted; write the amount as a string")
    else:
        raise ValueProblem(f"expected an amount, got {_show(value)}")
    if amount < 0:
        raise ValueProblem(f"the amount must not be negative, got {value!r}")
    if amount == 0 and not allow_zero:
        raise ValueProblem(f"the amount must be more than zero, got {value!r}")
    if amount >= MAX_AMOUNT:
        raise ValueProblem(f"the amount {value!r} is beyond any plausible facility (limit 10^15)")
    return amount.quantize(CENT)


def parse_rate(value: object) -> str:
    """An advance rate as a decimal string between 0 and 1, kept as given (it is echoed)."""
    if not isinstance(value, str) or not _RATE_RE.fullmatch(value):
        raise ValueProblem(f"expected a rate as a decimal string like \"0.50\", got {_show(value)}")
    if not Decimal(value) <= 1:
        raise ValueProblem(f"a rate must be between 0 and 1, got {value!r}")
    return value


def parse_date(value: object) -> date:
    """An ISO calendar date, YYYY-MM-DD, that exists."""
    if not isinstance(value, str) or not _DATE_RE.fullmatch(value):
        raise ValueProblem(f"expected a date as YYYY-MM-DD, got {_show(value)}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueProblem(f"{value!r} is not a calendar date") from None


def parse_time(value: object) -> datetime:
    """An ISO timestamp with an explicit offset, returned as aware UTC."""
    if not isinstance(value, str) or not _TIME_RE.fullmatch(value):
        raise ValueProblem(
            f"expected a timestamp with an offset like 1996-03-14T09:00:00+00:00, got {_show(value)}"
        )
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueProblem(f"{value!r} is not a valid timestamp") from None
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:
        raise ValueProblem(f"{value!r} falls outside the calendar in UTC (before year 1 or after 9999)") from None


def parse_known_at(value: str) -> datetime:
    """A query's knowledge time: a timestamp with offset, or a bare date meaning the end of that day, UTC."""
    if _DATE_RE.fullmatch(value):
        day = parse_date(value)
        return datetime(day.year, day.month, day.day, 23, 59, 59, 999999, tzinfo=timezone.utc)
    return parse_time(value)


def parse_id(value: object) -> str:
    """A short id chosen by the user (`lpc`, `cit-lien-1`, `press-0042`)."""
    if not isinstance(value, str) or not _ID_RE.fullmatch(value):
        raise ValueProblem(
            "expected a short id (letters, digits and . _ : - / # *, at most 128 characters), "
            f"got {_show(value)}"
        )
    return value


def parse_text(value: object, *, max_len: int = 2000) -> str:
    if not isinstance(value, str):
        raise ValueProblem(f"expected text, got {_show(value)}")
    control = _CONTROL_RE.search(value)
    if control is not None:
        raise ValueProblem(f"text must not contain control or escape characters; found {control.group()!r} at "
                           f"character {control.start() + 1} of {_show(value)}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueProblem("text contains an unpaired surrogate (\\ud800-\\udfff), which is not a character") from None
    if len(value) > max_len:
        raise ValueProblem(f"text longer than {max_len} characters")
    return value


def parse_enum(enum_type: type[enum.Enum], value: object):
    try:
        return enum_type._value2member_map_[value] if isinstance(value, str) else _no_member(enum_type, value)
    except KeyError:
        return _no_member(enum_type, value)


def _no_member(enum_type, value):
    allowed = [m.value for m in enum_type]
    raise ValueProblem(f"expected one of {', '.join(allowed)}, got {_show(value)}")


def money(amount: Decimal) -> str:
    """Money as the contract writes it: a string with exactly two decimals."""
    return str(amount.quantize(CENT, rounding=ROUND_HALF_EVEN))


def iso_time(moment: datetime) -> str:
    """A recorded time as the ledger writes it: UTC, microseconds, `+00:00` (sorts as text)."""
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def add_days(day: date, days: int) -> date | None:
    """`day` plus `days`, or None where that falls past 9999-12-31 (or before 0001-01-01): a window that
    closes after the end of the calendar never closes, so "never" is the honest answer, not an overflow."""
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return None


def end_of_day(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc) + timedelta(days=1, microseconds=-1)


def _show(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, Decimal):
        return f"the number {value}"
    if isinstance(value, (list, dict)):
        return "a list" if isinstance(value, list) else "an object"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
