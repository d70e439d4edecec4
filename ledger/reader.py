"""Read JSON Lines (or a list of dicts) into incoming events, naming the line and field of every problem.

`json.loads` is made strict here: floats, NaN/Infinity and duplicate keys are
refused at parse time, so a binary float never reaches an amount.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime
from typing import Any, Iterable, Iterator

import attrs

from ledger.codec import decode
from ledger.errors import InputError
from ledger.events import Event
from ledger.values import ValueProblem, parse_id, parse_text, parse_time

MAX_LINE_BYTES = 1_000_000


@attrs.frozen
class Incoming:
    """One input line: the event and the envelope the caller gave (each may be None)."""

    line: int
    event: Event
    event_id: str | None = None
    recorded_at: datetime | None = None
    actor: str | None = None


class _Refused(ValueError):
    pass


class _BadNumber(str):
    """A JSON number the ledger refuses, kept as its text so the field holding it can be named."""

    problem = ""


class _Fraction(_BadNumber):
    problem = "has a fraction or exponent: write amounts as strings like \"418118.00\""


class _Huge(_BadNumber):
    problem = "has too many digits for any amount"


MAX_INT_DIGITS = 20


def _no_constant(text: str):
    raise _Refused(f"{text} is not a number the ledger accepts")


# Whether the line being parsed held a refused number: per thread, since the decoder's hooks run in the thread
# that parses and two threads may record at once (a class attribute let one thread's reset hide another's float).
_FLAG = threading.local()


def _fraction(text: str):
    _FLAG.bad_number = True
    return _Fraction(text)


def _int_checked(text: str):
    if len(text) > MAX_INT_DIGITS:
        _FLAG.bad_number = True
        return _Huge(text)
    return int(text)


def _find_bad_number(value, path: str = ""):
    if isinstance(value, _BadNumber):
        return path, value
    if isinstance(value, dict):
        for key, item in value.items():
            found = _find_bad_number(item, f"{path}.{key}" if path else key)
            if found:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _find_bad_number(item, f"{path}[{i}]")
            if found:
                return found
    return None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Refused(f"the key {key!r} appears twice in one object")
            seen.add(key)
    return out


_DECODER = json.JSONDecoder(parse_float=_fraction, parse_int=_int_checked, parse_constant=_no_constant,
                            object_pairs_hook=_no_duplicates)


def parse_json_object(text: str | bytes, line: int) -> dict[str, Any]:
    """One line of JSON Lines as a dict, refusing floats, NaN, duplicate keys, bad UTF-8 and NULs."""
    if isinstance(text, bytes):
        if len(text) > MAX_LINE_BYTES:
            raise InputError(f"the line is longer than {MAX_LINE_BYTES} bytes", line=line)
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"not valid UTF-8 (byte {exc.start})", line=line) from None
    elif len(text) > MAX_LINE_BYTES:
        raise InputError(f"the line is longer than {MAX_LINE_BYTES} characters", line=line)
    if "\x00" in text:
        raise InputError("the line contains a NUL character", line=line)
    try:
        _FLAG.bad_number = False
        obj = _DECODER.decode(text)
    except _Refused as exc:
        raise InputError(str(exc), line=line) from None
    except RecursionError:
        raise InputError("the JSON is nested too deeply", line=line) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg} at column {exc.colno}", line=line) from None
    if not isinstance(obj, dict):
        raise InputError("expected a JSON object (one event a line)", line=line)
    bad = _find_bad_number(obj) if _FLAG.bad_number else None
    if bad:
        field, number = bad
        shown = number if len(number) <= 40 else number[:37] + "..."
        raise InputError(f"the number {shown} {number.problem}", line=line, field=field)
    return obj


def incoming_from_object(obj: dict[str, Any], line: int) -> Incoming:
    """Check one event object and its envelope (id, recorded_at, actor)."""
    event = decode(obj, line=line, allow_resolved=True)
    event_id = recorded_at = actor = None
    try:
        if obj.get("id") is not None:
            event_id = parse_id(obj["id"])
    except ValueProblem as exc:
        raise InputError(str(exc), line=line, field="id") from None
    try:
        if obj.get("recorded_at") is not None:
            recorded_at = parse_time(obj["recorded_at"])
    except ValueProblem as exc:
        raise InputError(str(exc), line=line, field="recorded_at") from None
    try:
        if obj.get("actor") is not None:
            actor = parse_text(obj["actor"], max_len=200)
    except ValueProblem as exc:
        raise InputError(str(exc), line=line, field="actor") from None
    if obj.get("position") is not None and (isinstance(obj["position"], bool) or not isinstance(obj["position"], int)):
        raise InputError("expected the log position as an integer (it is informational)", line=line, field="position")
    return Incoming(line=line, event=event, event_id=event_id, recorded_at=recorded_at, actor=actor)


PRETTY_HINT = ("; write one event per line (JSON Lines), each object whole on its line: a pretty-printed "
               "object spread over several lines is not read (a JSON array of events, as `cledger events --json` "
               "prints, is)")


def _is_comment(stripped: str | bytes) -> bool:
    return stripped[:1] in ("#", b"#")


def read_lines(lines: Iterable[str | bytes]) -> Iterator[Incoming]:
    """Incoming events from JSON Lines, or from one JSON array of event objects (what `events --json` prints).

    In JSON Lines, blank lines and lines starting with `#` are skipped but counted; an array is recognised by
    its first character (`[`) and read whole, each event named by the line its object starts on."""
    lines = iter(lines)
    first = True
    for number, raw in enumerate(lines, start=1):
        stripped = raw.strip() if isinstance(raw, (str, bytes)) else raw
        if not stripped or _is_comment(stripped):
            continue
        if first and stripped[:1] in ("[", b"["):  # an array is the whole input, never a line among others
            yield from _read_array(raw, lines, number)
            return
        first = False
        try:
            obj = parse_json_object(stripped, number)
        except InputError as exc:
            if _looks_pretty(stripped, exc):
                raise InputError(exc.problem + PRETTY_HINT, line=exc.line, field=exc.field) from None
            raise
        yield incoming_from_object(obj, number)


def _looks_pretty(stripped: str | bytes, exc: InputError) -> bool:
    """A line that is a fragment of a multi-line object: `{`, `"type": "X",`, `}`."""
    if not exc.problem.startswith("not valid JSON"):
        return False
    text = stripped.decode("utf-8", "replace") if isinstance(stripped, bytes) else stripped
    return text[:1] in ('"', "}", "]") or text.startswith("{") and not text.rstrip().endswith("}")


def _read_array(first: str | bytes, rest: Iterator[str | bytes], first_line: int) -> Iterator[Incoming]:
    chunks = [first, *rest]
    data = b"".join(chunks) if isinstance(first, bytes) else "".join(chunks)
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = first_line + data.count(b"\n", 0, exc.start)
            raise InputError(f"not valid UTF-8 (byte {exc.start})", line=line) from None
    else:
        text = data
    if "\x00" in text:
        line = first_line + text.count("\n", 0, text.index("\x00"))
        raise InputError("the input contains a NUL character", line=line)

    def line_at(pos: int) -> int:
        return first_line + text.count("\n", 0, pos)

    ws = " \t\r\n"
    pos = text.index("[") + 1
    expect_value = True
    index = 0
    while True:
        while pos < len(text) and text[pos] in ws:
            pos += 1
        if pos >= len(text):
            raise InputError("the JSON array is not closed (expected `]`)", line=line_at(pos))
        if text[pos] == "]" and (index == 0 or not expect_value):
            pos += 1
            break
        if not expect_value:
            if text[pos] != ",":
                raise InputError("not valid JSON: expected `,` or `]` between events", line=line_at(pos))
            pos += 1
            expect_value = True
            continue
        line = line_at(pos)
        try:
            _FLAG.bad_number = False
            obj, pos = _DECODER.raw_decode(text, pos)
        except _Refused as exc:
            raise InputError(str(exc), line=line) from None
        except RecursionError:
            raise InputError("the JSON is nested too deeply", line=line) from None
        except json.JSONDecodeError as exc:
            raise InputError(f"not valid JSON: {exc.msg} at column {exc.colno}", line=line_at(exc.pos)) from None
        index += 1
        if not isinstance(obj, dict):
            raise InputError(f"element {index} of the array is not a JSON object (one event each)", line=line)
        bad = _find_bad_number(obj) if _FLAG.bad_number else None
        if bad:
            field, number = bad
            shown = number if len(number) <= 40 else number[:37] + "..."
            raise InputError(f"the number {shown} {number.problem}", line=line, field=field)
        yield incoming_from_object(obj, line)
        expect_value = False
    if text[pos:].strip(ws):
        raise InputError("unexpected text after the JSON array's closing `]`", line=line_at(pos))


def read_objects(objects: Iterable[dict[str, Any]]) -> Iterator[Incoming]:
    """Incoming events from already-parsed dicts (the Python API); positions count from 1."""
    for number, obj in enumerate(objects, start=1):
        if not isinstance(obj, dict):
            raise InputError("expected an object (one event)", line=number)
        yield incoming_from_object(obj, number)
