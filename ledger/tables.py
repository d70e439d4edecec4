"""Readable tables (rich) for every answer: thousands separators, coloured states, clause references.

Ids are never cut short: every column folds a long value onto the next line
(a waiver needs the whole breach id). The width is the terminal's, or
`COLUMNS`, or 100 columns in a pipe or a file (`ledger.terminal`). Whatever
came from the input is escaped before rich sees it (`[red]x` prints as typed).
An empty list is said in words, not drawn as an empty box.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Iterable

from rich.padding import Padding
from rich.table import Table

from ledger.rules import cited
from ledger.terminal import console, safe

STATE_STYLE = {"event-of-default": "bold red", "default": "yellow", "cured": "green", "waived": "cyan",
               "none": "green", "unconsented": "red", "consented": "green", "lender": "blue"}

__all__ = ["console", "amount", "when", "plural", "headline"]


def amount(value: Decimal | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def when(moment: datetime) -> str:
    """A time for a person: UTC to the second (the JSON keeps the contract's microseconds)."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def plural(count: int, word: str, many: str | None = None) -> str:
    """`1 financing`, `2 financings`; `many` where the plural is not word + s."""
    return f"{count:,} {word if count == 1 else many or word + 's'}"


def styled(state: str) -> str:
    style = STATE_STYLE.get(state)
    return f"[{style}]{safe(state)}[/{style}]" if style else safe(state)


def _title(name: str, answer) -> str:
    h = answer.header
    return f"{name} as of {h.as_of.isoformat()}, as known at {when(h.known_at)}"


# columns that hold one id (or a date or a figure): rich gives them their width first and shrinks the
# sentences instead, and folds them onto the next line only when even that is not enough
_WHOLE = {"lien", "holder", "grantor", "kind", "facility", "lender", "borrower", "financing", "breach", "id", "since",
          "EoD from", "effective", "recorded", "pos", "state", "consent", "consent from", "value", "principal",
          "limit", "cap", "headroom", "gross", "ineligible", "eligible", "rate", "availability", "view", "location",
          "type", "clause", "subject", "kind, location", "eligible", "collateral"}


def _table(title: str, columns: Iterable[str], right: Iterable[str] = (), *, lines: bool = False) -> Table:
    t = Table(title=title, title_justify="left", show_lines=lines)  # lines: rows of several lines each
    right = set(right)
    for col in columns:
        # fold, never an ellipsis: a long id wraps onto the next line whole
        t.add_column(col, justify="right" if col in right else "left", overflow="fold")
    return t


def _print_table(out, t: Table) -> None:
    """Give the short columns (figures, dates, short ids) their whole width, so that only the long ones
    (sentences, long ids) wrap; rich shares out the rest and folds, never cuts, what still does not fit."""
    from rich.text import Text

    def need(column) -> int:
        cells = [max(Text(line).cell_len for line in Text.from_markup(c).plain.split("\n"))
                 for c in column._cells if isinstance(c, str)]
        return max([len(str(column.header)), *cells])

    budget = (out.width or 100) - 1 - 3 * len(t.columns)
    needs = [need(c) for c in t.columns]
    if sum(needs) <= budget:
        fixed = list(range(len(needs)))
    else:
        fixed = [i for i, c in enumerate(t.columns) if c.header in _WHOLE and needs[i] <= 20]
        left = budget - sum(needs[i] for i in fixed)
        if left < 12 * (len(needs) - len(fixed)):
            fixed = []
    for i in fixed:
        t.columns[i].width = needs[i]
    out.print(t)


_FIGURE = re.compile(r"(?<![\w.])(\d{4,})\.(\d{2})(?![\w.])")


def figures(sentence: str) -> str:
    """A detail sentence's amounts with thousands separators (6000000.00 as 6,000,000.00)."""
    return _FIGURE.sub(lambda m: f"{int(m.group(1)):,}.{m.group(2)}", sentence)


def liens_table(answer) -> list:
    if not answer.liens:
        return [_title("Liens", answer), "no liens in force"]
    # one id a line, and what a lien secures under it, so that the table fits 100 columns with every id whole
    t = _table(_title("Liens", answer), ("lien", "holder", "grantor", "consent", "collateral"),
               lines=True)
    for l in answer.liens:
        consent = styled(l.consent) + (f"\nfrom {l.consent_effective.isoformat()}" if l.consent_effective else "")
        lien = "\n".join([f"[bold]{safe(l.lien)}[/bold]", f"({safe(l.kind)})", *(f"secures {safe(f)}" for f in l.secures)])
        t.add_row(lien, safe(l.holder), safe(l.grantor), consent, "\n".join(safe(c) for c in l.collateral))
    r = _table("Rank per collateral item (1 = senior)", ("collateral", "liens by rank"))
    for c in answer.by_collateral:
        r.add_row(safe(c.collateral), safe("  ".join(f"{x.rank}. {x.lien} ({x.holder})" for x in c.liens)))
    return [t, r]


def eligibility_table(answer) -> list:
    if not answer.collateral:
        return [_title("Eligibility", answer), "no collateral held"]
    t = _table(_title("Eligibility", answer), ("collateral", "kind, location", "value", "eligible", "reasons"),
               right=("value",))
    for c in answer.collateral:
        reasons = "; ".join(f"{cited(r.clause, r.rule)}: {r.detail}" for r in c.reasons)
        t.add_row(safe(c.collateral), f"{safe(c.kind)}\n{safe(c.location)}", amount(c.value),
                  "[green]yes[/green]" if c.eligible else "[red]no[/red]", safe(figures(reasons)))
    return [t]


def _installments(f, as_of: date) -> str:
    unpaid = [i for i in f.installments if i.amount]
    if not unpaid:
        return ""
    late = [i for i in unpaid if i.due < as_of]
    text = (f"{len(unpaid)} of {plural(len(f.installments), 'installment')} unpaid, next due {unpaid[0].due} "
            f"{amount(unpaid[0].amount)}")
    return text + (f", [red]{len(late)} past due[/red]" if late else "")


def balances_table(answer) -> list:
    out: list = []
    if answer.facilities:
        t = _table(_title("Balances", answer), ("facility", "lender", "borrower", "financing", "principal", "limit"),
                   right=("principal", "limit"))
        for f in answer.facilities:
            t.add_row(safe(f.facility), safe(f.lender), safe(f.borrower), safe(f.financing or ""), amount(f.principal),
                      amount(f.limit))
        out.append(t)
        # the schedules below the table, one line each, so the table stays within 100 columns
        out += [f"  {safe(f.facility)}: {text}" for f in answer.facilities
                if (text := _installments(f, answer.header.as_of))]
    else:
        out += [_title("Balances", answer), "no facilities opened"]
    if answer.caps:
        c = _table("Caps", ("financing", "borrower", "cap", "principal", "headroom"), right=("cap", "principal", "headroom"))
        for cap in answer.caps:
            head = amount(cap.headroom)
            c.add_row(safe(cap.financing), safe(cap.borrower or "(all)"), amount(cap.cap), amount(cap.principal),
                      f"[red]{head}[/red]" if cap.headroom < 0 else head)
        out.append(c)
    else:
        out.append("Caps: none in the terms in force")
    return out


def defaults_table(answer) -> list:
    title = _title("Defaults", answer) + f" | status: {answer.status}"
    if not answer.breaches:
        return [title, "no breaches"]
    # three columns, so that a whole breach id and its sentence fit in 100 columns
    t = _table(title, ("since", "breach", "state"), lines=True)
    for b in answer.breaches:
        text = f"[bold]{safe(b.breach)}[/bold]" + (f" {safe(b.clause)}" if b.clause else "") + f"\n{safe(figures(b.detail))}"
        if b.ended_on is not None:
            text += f"\n{b.state} on {b.ended_on.isoformat()}" + (f" by {safe(b.ended_by)}" if b.ended_by else
                                                                  " (self-cure: the facts that caused it ended)")
        eod = b.event_of_default_from.isoformat() if b.event_of_default_from else "never"
        t.add_row(b.since.isoformat(), text, f"{styled(b.state)}\nEoD from {eod}")
    return [t]


def availability_table(answer) -> list:
    if not answer.classes and not answer.principal:
        return [_title("Borrowing base", answer), "no borrowing base: no collateral of a kind the terms advance against"]
    t = _table(_title("Borrowing base", answer), ("kind", "gross", "ineligible", "eligible", "rate", "availability"),
               right=("gross", "ineligible", "eligible", "rate", "availability"))
    for c in answer.classes:
        t.add_row(safe(c.kind), amount(c.gross), amount(c.ineligible), amount(c.eligible), safe(c.advance_rate),
                  amount(c.availability))
    excess = answer.excess
    t.add_section()
    t.add_row("availability", "", "", "", "", amount(answer.availability))
    t.add_row(safe("principal of " + ", ".join(answer.facilities)), "", "", "", "", amount(answer.principal))
    t.add_row("excess" if excess >= 0 else "[red]overadvance[/red]", "", "", "", "",
              amount(excess) if excess >= 0 else f"[red]{amount(excess)}[/red]")
    return [t]


def _print(tables) -> None:
    out = console()
    for t in tables:
        _print_table(out, t) if isinstance(t, Table) else out.print(t)


def show_liens(answer) -> None:
    _print(liens_table(answer))


def show_eligibility(answer) -> None:
    _print(eligibility_table(answer))


def show_balances(answer) -> None:
    _print(balances_table(answer))


def show_defaults(answer) -> None:
    _print(defaults_table(answer))


def show_availability(answer) -> None:
    _print(availability_table(answer))


def headline(answer) -> str:
    """One line: `2 Events of Default · overadvance 15,000.00 · 1 installment past due`, the parts that apply."""
    d = answer.defaults
    eod = sum(1 for b in d.breaches if b.state == "event-of-default")
    pending = sum(1 for b in d.breaches if b.state == "default")
    parts = []
    if eod:
        parts.append(plural(eod, "Event of Default", "Events of Default"))
    if pending:
        parts.append(plural(pending, "Default"))
    if not parts:
        parts.append("no Default")
    if answer.availability.excess < 0:
        parts.append(f"overadvance {amount(-answer.availability.excess)}")
    late = sum(1 for f in answer.balances.facilities for i in f.installments
               if i.amount and i.due < answer.header.as_of)
    if late:
        parts.append(f"{plural(late, 'installment')} past due")
    return " · ".join(parts)


def show_status(answer) -> None:
    out = console()
    d = answer.defaults
    style = STATE_STYLE.get(d.status, "")
    out.print(f"[bold]{headline(answer)}[/bold]")
    out.print(f"Status as of {answer.header.as_of}, as known at {when(answer.header.known_at)}: "
              f"borrower [{style}]{d.status}[/{style}]")
    open_breaches = [b for b in d.breaches if b.state in ("default", "event-of-default")]
    ended = len(d.breaches) - len(open_breaches)
    if open_breaches:
        out.print(f"{plural(len(open_breaches), 'breach', 'breaches')} continuing"
                  + (f" ({ended:,} more ended: `cledger defaults`)" if ended else "") + ":")
    else:
        out.print("no breaches continuing" + (f" ({ended:,} ended: `cledger defaults`)" if ended else ""))
    if open_breaches:
        # a borderless grid: each sentence wraps under itself, not under the state
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=16, no_wrap=True)
        grid.add_column(overflow="fold")
        for b in open_breaches:
            grid.add_row(styled(b.state), f"[bold]{safe(b.breach)}[/bold]" + (f" {safe(b.clause)}" if b.clause else "")
                         + f": {safe(figures(b.detail))}")
        out.print(Padding(grid, (0, 0, 0, 2)))
    liens = answer.liens.liens
    unconsented = [l.lien for l in liens if l.consent == "unconsented"]
    out.print(f"Liens: {plural(len(liens), 'lien')} in force, unconsented: {safe(', '.join(unconsented)) or 'none'}")
    items = answer.eligibility.collateral
    inel = [c for c in items if not c.eligible]
    out.print(f"Collateral: {plural(len(items), 'item')} held, {len(inel):,} ineligible")
    _print(balances_table(answer.balances) + availability_table(answer.availability))


# ---------------------------------------------------------------- cledger events

_ENVELOPE = ("type", "effective_date", "id", "position", "recorded_at", "actor")
_MONEY = re.compile(r"^-?\d+\.\d{2}$")


def _figure(key: str, value: Any) -> str:
    if isinstance(value, str) and _MONEY.match(value) and key in ("amount", "limit", "value"):
        return amount(Decimal(value))
    if isinstance(value, list):
        return ", ".join(_figure(key, v) for v in value)
    if isinstance(value, dict):
        return " ".join(_figure(k, v) for k, v in value.items())
    return str(value)


def _field_summary(key: str, value: Any) -> str:
    if key == "installments":
        total = sum((Decimal(i["amount"]) for i in value), Decimal("0.00"))
        return (f"{plural(len(value), 'installment')} {value[0]['due']} to {value[-1]['due']}, "
                f"total {amount(total)}")
    if key == "apply":
        steps = []
        for step in value:
            shown = step.get("resolved") or step["amount"]
            text = f"{step['facility']} {amount(Decimal(shown)) if _MONEY.match(str(shown)) else shown}"
            if step.get("resolved") and step["amount"] in ("payoff", "balance"):
                text += f" ({step['amount']})"
            steps.append(text)
        return "apply " + ", ".join(steps)
    if key == "terms":
        return "terms: " + ", ".join(sorted(value))
    return f"{key} {_figure(key, value)}"


def event_summary(row: dict) -> str:
    """The main fields of one event on one line: `facility lpc-revolver · amount 418,118.00`."""
    return " · ".join(_field_summary(k, v) for k, v in row.items() if k not in _ENVELOPE and v is not None)


def event_line(row: dict) -> str:
    """One event on one line (rich markup, the input escaped): position, effective date, type, id, its main
    fields, then when and by whom it was recorded."""
    recorded = when(datetime.fromisoformat(row["recorded_at"]))
    fields = event_summary(row)
    return (f"{row['position']:>4}  {row['effective_date']}  [bold]{safe(row['type'])}[/bold]  {safe(row['id'])}"
            + (f"  {safe(fields)}" if fields else "") + f"  [dim](recorded {recorded} by {safe(row['actor'])})[/dim]")


def events_table(rows: list[dict], *, title: str = "Events in recorded order") -> None:
    # one line an event, never broken by us (a terminal wraps it; a file or `grep` keeps it whole)
    out = console()
    if not rows:
        out.print(f"{title}: none")
        return
    out.print(f"{title}: position, effective date, type, id, fields (recorded time, actor)")
    for row in rows:
        out.print(event_line(row), soft_wrap=True)
    out.print(plural(len(rows), "event"))


# ---------------------------------------------------------------- restatement

def _value(value: Any) -> str:
    """A restated value in words and figures, never as JSON."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return amount(Decimal(value)) if _MONEY.match(value) else value
    if isinstance(value, list):
        if not value:
            return "(none)"
        if all(isinstance(v, dict) and {"rank", "lien"} <= set(v) for v in value):
            return "  ".join(f"{v['rank']}. {v['lien']} ({v.get('holder', '')})" for v in value)
        if all(isinstance(v, dict) and {"rule", "clause"} <= set(v) for v in value):
            return "; ".join(cited(v['clause'], v['rule']) for v in value)
        if all(isinstance(v, dict) and {"due", "amount"} <= set(v) for v in value):
            return ", ".join(f"{v['due']} {_value(v['amount'])}" for v in value)
        return ", ".join(_value(v) for v in value)
    if isinstance(value, dict):
        if not value:
            return "(none)"
        return "; ".join(f"{k.replace('_', ' ')} {_value(v)}" for k, v in value.items())
    return str(value)


def _item(value: dict, subject: str) -> str:
    """A whole item's fields, less its own id and the empty ones."""
    return _value({k: v for k, v in value.items() if v is not None and v != [] and v != subject})


def change_sentence(change) -> str:
    """What one restatement change says, as a sentence."""
    if change.field is None:
        if change.before is None:
            return f"appears: {_item(change.after, change.subject)}"
        return f"no longer appears (it was: {_item(change.before, change.subject)})"
    field = change.field.replace("_", " ")
    if change.before is None:
        return f"{field} is now {_value(change.after)} (none before)"
    if change.after is None:
        return f"{field} is no longer given (it was {_value(change.before)})"
    return f"{field} was {_value(change.before)}, is now {_value(change.after)}"


def show_restatement(report) -> None:
    """Each change as a sentence, then the events that caused it (a list: sentences and ids wrap at spaces)."""
    out = console()
    out.print(f"Restatement as of {report.as_of}: as known at {when(report.k1)}, then at {when(report.k2)}")
    if not report.changes:
        out.print("no change: every answer for that date is the same at both times")
        return
    for c in report.changes:
        out.print(f"[bold]{safe(c.view)} · {safe(c.subject)}[/bold]: {safe(change_sentence(c))}")
        out.print(f"    caused by {safe(', '.join(c.events) or '(no single event)')}", style="dim")
    out.print(plural(len(report.changes), "change"))
