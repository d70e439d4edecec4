"""`cledger import-csv TYPE FILE`: events of one type from a CSV file, as lenders keep equipment lists.

The header row names the columns: the event's fields as in JSON Lines
(`collateral,kind,owner,location,serial,description,value,effective_date`),
optionally `id`, `recorded_at`, `actor` (and `type`, which must then be TYPE,
and `position`, ignored, so that a table exported from `events --json` reads
back). Each further row is one event. A row becomes the same JSON object a
line of JSON Lines would be, and goes through the same reader and the same
`record`: the same checks, one transaction, all or nothing.

Cells:
- an empty cell is an absent field (refused where the field is required);
- spaces around a cell are ignored;
- list fields (`LienGranted.collateral`, `NoticeSent.serials`, `roles`, ...)
  are `;`-separated: `press-0042;press-0043`;
- installments: `due=amount;due=amount` (`1996-09-30=50000.00;1996-12-31=50000.00`);
- a waterfall (`ProceedsReceived.apply`): `facility=amount[@order];...`, amount a
  decimal, `payoff` or `balance` (`lpc-second-restated-note=418118.00@inverse-maturity;lpc-revolver=balance`);
- any of those three, and `terms`, may instead hold the JSON the JSON Lines
  form takes (read as strictly: no floats, no duplicate keys).

Errors name the line of the file (the header is line 1) and the column:
`line 4, column 'value': expected an amount of plain digits ...`.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any, Sequence

from ledger.errors import InputError, UsageError
from ledger.events import EVENT_TYPES, field_specs
from ledger.reader import Incoming, incoming_from_object, parse_json_object

LIST_SEPARATOR = ";"
ENVELOPE_COLUMNS = ("effective_date", "id", "recorded_at", "actor")
IGNORED_COLUMNS = ("type", "position")
LIST_KINDS = ("ids", "texts", "enums")
MAX_FILE_BYTES = 200_000_000


class CsvInputError(InputError):
    """A refusal that names the CSV line (header = line 1) and the column."""

    def __init__(self, message: str, *, line: int | None = None, column: str | None = None,
                 path: str | None = None):
        super().__init__(message, line=line, field=column)
        self.column = column
        where = []
        if line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column '{column}'" + (f" ({path})" if path and path != column else ""))
        prefix = ", ".join(where)
        self.args = (f"{prefix}: {message}" if prefix else message,)

    def __str__(self) -> str:
        return self.args[0]


def event_type(name: str):
    cls = EVENT_TYPES.get(name)
    if cls is None:
        close = [t for t in EVENT_TYPES if t.lower() == name.lower().replace("-", "").replace("_", "")]
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise UsageError(f"unknown event type {name!r}{hint}; expected one of: {', '.join(sorted(EVENT_TYPES))}")
    return cls


def columns_of(type_name: str) -> list[tuple[str, bool]]:
    """The columns TYPE accepts, in a sensible order, each with whether it is required."""
    cls = event_type(type_name)
    out = [(spec.json, not spec.optional) for spec in field_specs(cls)]
    out.append(("effective_date", True))
    out += [(c, False) for c in ("id", "recorded_at", "actor")]
    return out


def template(type_name: str) -> str:
    """A header row for TYPE, required columns first."""
    cols = columns_of(type_name)
    ordered = [c for c, req in cols if req] + [c for c, req in cols if not req]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(ordered)
    return buffer.getvalue()


def _column_of(field: str | None, header: Sequence[str]) -> tuple[str | None, str | None]:
    """The column a reader's field path (`collateral[1]`, `apply[0].amount`) comes from, and the path."""
    if field is None:
        return None, None
    root = re.split(r"[\[.]", field, maxsplit=1)[0]
    if root in header:
        return root, field
    return None, field


def _rewrap(exc: InputError, header: Sequence[str]) -> CsvInputError:
    column, path = _column_of(exc.field, header)
    problem = exc.problem
    if column is None and path is not None:
        problem = f"{path}: {problem}"
    if path and column and "[" in path and path.startswith(column + "["):
        index = re.match(rf"{re.escape(column)}\[(\d+)\]", path)
        if index is not None and path == index.group(0):
            path = f"item {int(index.group(1)) + 1} of the list"
    return CsvInputError(problem, line=exc.line, column=column, path=path)


def _split_list(cell: str, line: int, column: str) -> list[str]:
    items = [part.strip() for part in cell.split(LIST_SEPARATOR)]
    for n, item in enumerate(items, start=1):
        if not item:
            raise CsvInputError(f"item {n} of the {LIST_SEPARATOR!s}-separated list is empty "
                                f"(write items as a{LIST_SEPARATOR}b{LIST_SEPARATOR}c)", line=line, column=column)
    return items


def _json_cell(cell: str, line: int, column: str) -> Any:
    try:
        return parse_json_object('{"v": ' + cell + "}", line)["v"]
    except InputError as exc:
        raise CsvInputError(f"the cell holds JSON that cannot be read: {exc.problem}", line=line,
                            column=column) from None


def _pairs(cell: str, line: int, column: str, what: str) -> list[tuple[str, str]]:
    out = []
    for n, item in enumerate(_split_list(cell, line, column), start=1):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise CsvInputError(f"item {n} ({item!r}) is not {what}", line=line, column=column)
        out.append((key.strip(), value.strip()))
    return out


def _installments(cell: str, line: int, column: str) -> Any:
    if cell.startswith("["):
        return _json_cell(cell, line, column)
    return [{"due": due, "amount": amount}
            for due, amount in _pairs(cell, line, column, "due=amount (1996-09-30=50000.00)")]


def _allocations(cell: str, line: int, column: str) -> Any:
    if cell.startswith("["):
        return _json_cell(cell, line, column)
    steps = []
    for facility, rest in _pairs(cell, line, column, "facility=amount[@order] (lpc-revolver=balance)"):
        amount, at, order = rest.partition("@")
        step: dict[str, Any] = {"facility": facility, "amount": amount.strip()}
        if at:
            step["order"] = order.strip()
        steps.append(step)
    return steps


def _amount_hint(cell: str) -> str:
    if any(ch in cell for ch in ",$ "):
        return " (write plain digits, without thousands separators or a currency sign)"
    return ""


def _decode_text(data: bytes) -> str:
    if len(data) > MAX_FILE_BYTES:
        raise CsvInputError(f"the file is larger than {MAX_FILE_BYTES:,} bytes; split it")
    if data.startswith(b"\xef\xbb\xbf"):  # spreadsheets write a byte order mark
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise CsvInputError(f"not valid UTF-8 (byte {exc.start}); save the sheet as CSV UTF-8", line=line) from None
    if "\x00" in text:
        raise CsvInputError("the file contains a NUL character", line=text[:text.index("\x00")].count("\n") + 1)
    return text


def read_csv(type_name: str, data: bytes) -> list[Incoming]:
    """Parse and check every row of a CSV file of TYPE events; nothing is recorded here."""
    cls = event_type(type_name)
    specs = {spec.json: spec for spec in field_specs(cls)}
    text = _decode_text(data)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise CsvInputError(f"the header row cannot be read as CSV: {exc}", line=1) from None
    if header is None or not any(cell.strip() for cell in header):
        raise CsvInputError("expected a header row naming the columns, e.g. " + template(type_name).strip(),
                            line=1)
    header = [cell.strip() for cell in header]
    if len(header) == 1 and LIST_SEPARATOR in header[0]:
        raise CsvInputError("the header is one column with ';' in it: the file seems to separate columns with "
                            "';' (a spreadsheet's regional setting); save it as CSV with commas", line=1)
    allowed = set(specs) | set(ENVELOPE_COLUMNS) | set(IGNORED_COLUMNS)
    for n, name in enumerate(header, start=1):
        if not name:
            raise CsvInputError(f"column {n} of the header has no name", line=1)
        if name not in allowed:
            raise CsvInputError(f"{type_name} has no field {name!r}; its columns are: "
                                f"{', '.join(c for c, _ in columns_of(type_name))}", line=1, column=name)
        if header.index(name) != n - 1:
            raise CsvInputError("the header names this column twice", line=1, column=name)
    for name, required in columns_of(type_name):
        if required and name not in header:
            raise CsvInputError(f"the header has no column {name!r}, which {type_name} requires "
                                f"(header: {', '.join(header)})", line=1)

    incoming: list[Incoming] = []
    line_after = reader.line_num  # physical lines read so far; the next record starts on the line after
    while True:
        start = line_after + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise CsvInputError(f"the row cannot be read as CSV: {exc}", line=start) from None
        line_after = reader.line_num
        if not any(cell.strip() for cell in row):
            continue  # blank lines are skipped, but counted
        if len(row) != len(header):
            raise CsvInputError(f"the row has {len(row)} cells but the header has {len(header)} columns",
                                line=start)
        obj: dict[str, Any] = {"type": type_name}
        for column, raw in zip(header, row):
            cell = raw.strip()
            if not cell:
                continue
            if column == "type":
                if cell != type_name:
                    raise CsvInputError(f"this file holds {type_name} events, not {cell}", line=start,
                                        column=column)
                continue
            if column == "position":
                continue  # informational, as in `events --json`
            spec = specs.get(column)
            if spec is None:  # effective_date, id, recorded_at, actor
                obj[column] = cell
            elif spec.kind in LIST_KINDS:
                obj[column] = _split_list(cell, start, column)
            elif spec.kind == "installments":
                obj[column] = _installments(cell, start, column)
            elif spec.kind == "allocations":
                obj[column] = _allocations(cell, start, column)
            elif spec.kind == "terms":
                obj[column] = _json_cell(cell, start, column)
            else:
                obj[column] = cell
        try:
            incoming.append(incoming_from_object(obj, start))
        except InputError as exc:
            error = _rewrap(exc, header)
            spec = specs.get(error.column) if error.column else None
            if spec is not None and spec.kind in ("amount", "value") and isinstance(obj.get(error.column), str):
                error = CsvInputError(exc.problem + _amount_hint(obj[error.column]), line=exc.line,
                                      column=error.column)
            raise error from None
    if not incoming:
        raise CsvInputError("the file has a header but no rows", line=line_after or 1)
    return incoming


def record_rows(lg, incoming: Sequence[Incoming], header: Sequence[str], *, actor: str | None = None,
                strict: bool = False):
    """Record rows read by `read_csv` in one transaction, naming line and column of any refusal; warnings
    name the CSV line (the header is line 1)."""
    from ledger.recording import record

    try:
        return record(lg.store, list(incoming), actor=actor, strict=strict)
    except CsvInputError:
        raise
    except InputError as exc:
        raise _rewrap(exc, header) from None


def import_csv(lg, type_name: str, data: bytes, *, actor: str | None = None, strict: bool = False):
    """Read and record a CSV file of TYPE events: all or nothing."""
    return record_rows(lg, read_csv(type_name, data), read_header(data), actor=actor, strict=strict)


def read_header(data: bytes) -> list[str]:
    """The header row's column names (spaces trimmed)."""
    text = _decode_text(data)
    header = next(csv.reader(io.StringIO(text, newline="")), [])
    return [cell.strip() for cell in header]
