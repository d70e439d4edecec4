"""Readable tables (rich) for every answer: thousands separators, coloured states, clause references."""

from __future__ import annotations

from decimal import Decimal

from rich.console import Console
from rich.table import Table

from ledger.values import iso_time

STATE_STYLE = {"event-of-default": "bold red", "default": "yellow", "cured": "green", "waived": "cyan",
               "none": "green", "unconsented": "red", "consented": "green", "lender": "blue"}


def console() -> Console:
    import sys

    # on a terminal, its width; in a pipe or a file, wide enough that a row stays on one line
    return Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 200)


def amount(value: Decimal | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def styled(state: str) -> str:
    style = STATE_STYLE.get(state)
    return f"[{style}]{state}[/{style}]" if style else state


def _title(name: str, answer) -> str:
    h = answer.header
    return f"{name} as of {h.as_of.isoformat()}, as known at {iso_time(h.known_at)}"


def liens_table(answer) -> list[Table]:
    t = Table(title=_title("Liens", answer), title_justify="left")
    for col in ("lien", "holder", "grantor", "kind", "collateral", "secures", "consent", "consent from"):
        t.add_column(col)
    for l in answer.liens:
        t.add_row(l.lien, l.holder, l.grantor, l.kind, ", ".join(l.collateral), ", ".join(l.secures),
                  styled(l.consent), l.consent_effective.isoformat() if l.consent_effective else "")
    r = Table(title="Rank per collateral item (1 = senior)", title_justify="left")
    r.add_column("collateral")
    r.add_column("liens by rank")
    for c in answer.by_collateral:
        r.add_row(c.collateral, "  ".join(f"{x.rank}. {x.lien} ({x.holder})" for x in c.liens))
    return [t, r]


def eligibility_table(answer) -> list[Table]:
    t = Table(title=_title("Eligibility", answer), title_justify="left")
    for col in ("collateral", "kind", "location", "value", "eligible", "reasons"):
        t.add_column(col, justify="right" if col == "value" else "left")
    for c in answer.collateral:
        reasons = "; ".join(f"{r.clause} {r.rule}: {r.detail}" for r in c.reasons)
        t.add_row(c.collateral, c.kind, c.location, amount(c.value),
                  "[green]yes[/green]" if c.eligible else "[red]no[/red]", reasons)
    return [t]


def balances_table(answer) -> list[Table]:
    t = Table(title=_title("Balances", answer), title_justify="left")
    for col in ("facility", "lender", "borrower", "financing", "principal", "limit", "unpaid installments"):
        t.add_column(col, justify="right" if col in ("principal", "limit") else "left")
    for f in answer.facilities:
        unpaid = [i for i in f.installments if i.amount]
        inst = f"{len(unpaid)} of {len(f.installments)}, next {unpaid[0].due} {amount(unpaid[0].amount)}" if unpaid else ""
        t.add_row(f.facility, f.lender, f.borrower, f.financing or "", amount(f.principal), amount(f.limit), inst)
    c = Table(title="Caps", title_justify="left")
    for col in ("financing", "borrower", "cap", "principal", "headroom"):
        c.add_column(col, justify="left" if col in ("financing", "borrower") else "right")
    for cap in answer.caps:
        head = amount(cap.headroom)
        c.add_row(cap.financing, cap.borrower or "(all)", amount(cap.cap), amount(cap.principal),
                  f"[red]{head}[/red]" if cap.headroom < 0 else head)
    return [t, c]


def defaults_table(answer) -> list[Table]:
    t = Table(title=_title("Defaults", answer) + f" | status: {answer.status}", title_justify="left")
    for col in ("since", "breach", "clause", "state", "EoD from", "detail"):
        t.add_column(col)
    for b in answer.breaches:
        t.add_row(b.since.isoformat(), b.breach, b.clause, styled(b.state),
                  b.event_of_default_from.isoformat() if b.event_of_default_from else "never", b.detail)
    return [t]


def availability_table(answer) -> list[Table]:
    t = Table(title=_title("Borrowing base", answer), title_justify="left")
    for col in ("kind", "gross", "ineligible", "eligible", "rate", "availability"):
        t.add_column(col, justify="left" if col == "kind" else "right")
    for c in answer.classes:
        t.add_row(c.kind, amount(c.gross), amount(c.ineligible), amount(c.eligible), c.advance_rate, amount(c.availability))
    excess = answer.excess
    t.add_section()
    t.add_row("availability", "", "", "", "", amount(answer.availability))
    t.add_row("principal of " + ", ".join(answer.facilities), "", "", "", "", amount(answer.principal))
    t.add_row("excess" if excess >= 0 else "[red]overadvance[/red]", "", "", "", "",
              amount(excess) if excess >= 0 else f"[red]{amount(excess)}[/red]")
    return [t]


def _print(tables) -> None:
    out = console()
    for t in tables:
        out.print(t)


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


def show_status(answer) -> None:
    out = console()
    d = answer.defaults
    style = STATE_STYLE.get(d.status, "")
    out.print(f"[bold]Status as of {answer.header.as_of}[/bold], as known at {iso_time(answer.header.known_at)}: "
              f"borrower [{style}]{d.status}[/{style}]")
    open_breaches = [b for b in d.breaches if b.state in ("default", "event-of-default")]
    for b in open_breaches:
        out.print(f"  {styled(b.state)} {b.breach} {b.clause}: {b.detail}")
    unconsented = [l.lien for l in answer.liens.liens if l.consent == "unconsented"]
    out.print(f"Liens: {len(answer.liens.liens)} in force, unconsented: {', '.join(unconsented) or 'none'}")
    inel = [c for c in answer.eligibility.collateral if not c.eligible]
    out.print(f"Collateral: {len(answer.eligibility.collateral)} items held, {len(inel)} ineligible")
    _print(balances_table(answer.balances) + availability_table(answer.availability))


def events_table(rows: list[dict]) -> None:
    t = Table(title="Events in recorded order", title_justify="left")
    for col in ("pos", "recorded_at", "effective", "type", "id", "actor"):
        t.add_column(col)
    for r in rows:
        t.add_row(str(r["position"]), r["recorded_at"], r["effective_date"], r["type"], r["id"], r["actor"])
    console().print(t)


def show_restatement(report) -> None:
    t = Table(title=f"Restatement as of {report.as_of}: known at {iso_time(report.k1)} → {iso_time(report.k2)}",
              title_justify="left")
    for col in ("view", "subject", "field", "before", "after", "caused by"):
        t.add_column(col)
    import json as _json

    def show(v):
        return "" if v is None else v if isinstance(v, str) else _json.dumps(v)

    for c in report.changes:
        t.add_row(c.view, c.subject, c.field or "(whole item)", show(c.before), show(c.after), ", ".join(c.events))
    console().print(t)
    if not report.changes:
        console().print("no change")
