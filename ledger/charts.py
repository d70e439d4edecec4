"""Charts of a deal for the loan administrator (matplotlib, Agg): the timeline and the collateral map.

`cledger chart` draws, between two effective dates and as known at one time:
- the timeline: principal per financing against its consented cap (dashed),
  the lender's own loans against the borrowing base, every breach as a band
  (Default, then Event of Default) labelled with its rule and clause, and the
  collateral moves and notices as marks;
- the collateral map (`cledger chart collateral`): where each item was over
  time, its eligible and ineligible stretches, the reason cited, and each move.

Every figure comes from the public answers (`Snapshot.balances`, `.defaults`,
`.eligibility`, `.availability`, `.liens`); no rule is evaluated here. The
answers only change on an effective date of a known event, on a day a breach
begins or matures, or when terms take effect, so the charts ask for exactly
those days (and the first day of the range) and draw each answer as a step
until the next: exact, however long the range.

Output is deterministic: the Agg renderer, matplotlib's default style (not the
user's rc file), a fixed size and dpi, no timestamp or software name in the
PNG, and a title that names the last event known rather than the wall clock,
so the same ledger and the same options give the same bytes.

Amounts reach matplotlib as whole cents (ints); the ledger's money is never
turned into a binary float here (the tick labels are matplotlib's own).
"""

from __future__ import annotations

import hashlib
import io
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable, Sequence

import attrs

from ledger.errors import UsageError
from ledger.events import CollateralMoved, NoticeForwarded, NoticeReceived, NoticeSent
from ledger.rules import cited as _cite
from ledger.values import CollateralKind

CHARTS = ("timeline", "collateral")
DPI = 100
WIDTH_IN = 15.0
MAX_ITEMS = 60  # rows of the collateral map; more would not be readable on one page
MAX_BREACHES = 40  # rows of the breach panel
MAX_MARKS = 60  # rows of the moves-and-notices panel

# One palette, so a colour means the same thing on both charts.
DEFAULT_COLOUR = "#f0a202"  # a Default, not yet an Event of Default
EOD_COLOUR = "#c62828"  # an Event of Default
ENDED_COLOUR = "#9e9e9e"  # waived or cured
OVERADVANCE_COLOUR = "#6a1b9a"  # principal above the borrowing base
ELIGIBLE_COLOUR = "#4caf50"
INELIGIBLE_COLOUR = "#e57373"
NO_BREACH_COLOUR = "#2e7d32"
NOT_LENT_COLOUR = "#90a4ae"  # held, but its kind has no advance rate
# Hues far apart from one another and from the red and green of the breach marks.
SERIES_COLOURS = ("#1565c0", "#ef6c00", "#7b1fa2", "#6d4c41", "#00838f", "#827717", "#ad1457", "#455a64")
OWN_COLOURS = ("#455a64", "#ef6c00", "#1565c0", "#7b1fa2", "#6d4c41", "#00838f", "#827717", "#ad1457")


@attrs.frozen
class ChartResult:
    """What `write_chart` wrote: the file, its digest and what the chart covers."""

    chart: str
    out: str
    start: date
    end: date
    known_at: datetime
    known_through: str | None  # "POSITION at RECORDED_AT" of the last event known at known_at
    sha256: str
    size: int
    summary: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        from ledger.values import iso_time

        return {"chart": self.chart, "out": self.out, "from": self.start.isoformat(), "to": self.end.isoformat(),
                "known_at": iso_time(self.known_at), "known_through": self.known_through,
                "sha256": self.sha256, "bytes": self.size, **self.summary}


# ---------------------------------------------------------------- sampling the answers

@attrs.frozen
class Stretch:
    """A value that holds from `start` up to (not including) `stop`."""

    start: date
    stop: date
    value: Any


def stretches(days: Sequence[date], values: Sequence[Any], stop: date) -> list[Stretch]:
    """Merge a step function sampled on `days` into runs of equal value (None runs dropped)."""
    out: list[Stretch] = []
    for i, (day, value) in enumerate(zip(days, values)):
        until = days[i + 1] if i + 1 < len(days) else stop
        if out and out[-1].value == value and out[-1].stop == day:
            out[-1] = attrs.evolve(out[-1], stop=until)
        else:
            out.append(Stretch(day, until, value))
    return [s for s in out if s.value is not None]


def sample_days(snapshot, start: date, end: date) -> list[date]:
    """The days on which some answer can change, within [start, end], and `start` itself."""
    days = {start}
    for rec in snapshot.ctx.events:
        if start < rec.event.effective_date <= end:
            days.add(rec.event.effective_date)
    for day in snapshot.ctx.terms_change_dates():
        if start < day <= end:
            days.add(day)
    for breach in snapshot.defaults(end).breaches:
        for day in (breach.since, breach.event_of_default_from):
            if day is not None and start < day <= end:
                days.add(day)
    return sorted(days)


def _cents(amount: Decimal | None) -> int | None:
    return None if amount is None else int((amount * 100).to_integral_value())


def _known_through(snapshot) -> str | None:
    from ledger.values import iso_time

    known = snapshot.ctx.known
    if not known:
        return None
    last = known[-1]
    return f"{last.position} at {iso_time(last.recorded_at)}"


def _known_label(snapshot, explicit: bool = False) -> str:
    """What the chart knew: the last event known (never the wall clock, so that redrawing gives the same bytes).

    With an explicit --known-at the time asked for is printed as well, since it is one of the options."""
    known = snapshot.ctx.known
    asked = f"as known at {snapshot.known_at.strftime('%Y-%m-%d %H:%M')} UTC: " if explicit else "as known: "
    if not known:
        return asked + "nothing recorded yet"
    last = known[-1]
    return (f"{asked}the ledger up to log position {last.position}, "
            f"recorded {last.recorded_at.strftime('%Y-%m-%d %H:%M')} UTC")


def _party_name(snapshot, party: str | None) -> str:
    reg = snapshot.ctx.parties.get(party) if party else None
    return shown_text(reg.name) if reg is not None else (party or "the lender")


def shown_text(text: str) -> str:
    """A name from the input as matplotlib should draw it: literally (a `$` pair is not mathtext), with
    control characters shown as \\xNN."""
    from ledger.terminal import plain

    return plain(text).replace("$", r"\$")


def _terms_dates(snapshot, start: date, end: date) -> list[tuple[date, str]]:
    """Days within the range on which some agreement's terms took effect, with the agreements named."""
    out = []
    for day in snapshot.ctx.terms_change_dates():
        if start <= day <= end:
            names = sorted(state.agreement.agreement for state in snapshot.ctx.agreements.values()
                           if state.effective == day and state.agreement.terms is not None)
            out.append((day, ", ".join(names)))
    return out


@attrs.frozen
class MoneySeries:
    key: str
    label: str
    colour: str
    principal: tuple[int | None, ...]  # cents per sample day; None: not opened yet
    cap: tuple[int | None, ...] = ()  # cents per sample day; None: no cap in force
    limit: tuple[int | None, ...] = ()  # the facility's line limit, cents per sample day; None: none set


@attrs.frozen
class BreachRow:
    breach: str
    rule: str
    clause: str | None
    label: str
    since: date
    event_of_default_from: date
    stretches: tuple[Stretch, ...]  # value: "default" or "event-of-default"
    ended: tuple[date, str] | None  # the day it was waived or cured within the range, and how


@attrs.frozen
class Mark:
    day: date
    lane: str  # "moves" or "notices"
    kind: str  # move, notice-sent, notice-received, notice-forwarded
    label: str
    event_id: str
    breaches: tuple[str, ...]  # clauses of the breaches this event caused


@attrs.frozen
class Timeline:
    start: date
    end: date
    days: tuple[date, ...]
    lender: str | None
    lender_name: str
    known_label: str
    others: tuple[MoneySeries, ...]
    own: tuple[MoneySeries, ...]
    availability: tuple[int | None, ...]
    status: tuple[Stretch, ...]
    status_on_end: str
    breaches: tuple[BreachRow, ...]
    marks: tuple[Mark, ...]
    terms: tuple[tuple[date, str], ...]
    bb_principal: tuple[int | None, ...] = ()  # the borrowing-base facilities' principal, against availability


def _cited(breaches) -> dict[str, list[str]]:
    """For each event id, the breaches that cite it, as "clause rule"."""
    cited: dict[str, list[str]] = {}
    for b in breaches:
        for event_id in b.events:
            cited.setdefault(event_id, []).append(_cite(b.clause, b.rule))
    return cited


def _series_key(financing: str, borrower: str | None) -> str:
    return financing if borrower is None else f"{financing} / {borrower}"


def timeline_data(snapshot, start: date, end: date, *, progress=None, explicit_known_at: bool = False) -> Timeline:
    """Sample the answers on every day that can change them and shape them for the timeline.

    `snapshot` is the reference fold's (`open_ledger(..., reference=True)`): the days sampled come from
    every known event, which the read models' snapshot does not load.
    """
    days = sample_days(snapshot, start, end)
    lender = snapshot.ctx.lender
    balances, defaults, availability = [], [], []
    for i, day in enumerate(days, start=1):
        balances.append(snapshot.balances(day))
        defaults.append(snapshot.defaults(day))
        availability.append(snapshot.availability(day))
        if progress is not None:
            progress(i)

    # Other lenders' financings, each against its caps (a cap may also name one borrower).
    scopes: set[tuple[str, str | None]] = set()
    own_facilities: set[str] = set()
    for answer in balances:
        for f in answer.facilities:
            if lender is not None and f.lender == lender:
                own_facilities.add(f.facility)
            else:
                scopes.add((f.financing or f.lender, None))
        for cap in answer.caps:
            scopes.add((cap.financing, cap.borrower))
    others = []
    for n, (financing, borrower) in enumerate(sorted(scopes, key=lambda k: (k[0], k[1] or ""))):
        principal, caps = [], []
        for answer in balances:
            cap = next((c for c in answer.caps if c.financing == financing and c.borrower == borrower), None)
            if cap is not None:
                principal.append(_cents(cap.principal))
            else:
                members = [f.principal for f in answer.facilities
                           if (f.financing or f.lender) == financing and (lender is None or f.lender != lender)
                           and (borrower is None or f.borrower == borrower)]
                principal.append(_cents(sum(members, Decimal("0.00"))) if members else None)
            caps.append(_cents(cap.cap) if cap is not None else None)
        split = any(b is not None and f == financing for f, b in scopes)
        label = (f"{financing}, {borrower} only" if borrower else
                 f"{financing}, all borrowers" if split else financing)
        others.append(MoneySeries(_series_key(financing, borrower), label,
                                  SERIES_COLOURS[n % len(SERIES_COLOURS)], tuple(principal), tuple(caps)))
    own = []
    for n, name in enumerate(sorted(own_facilities)):
        principal, limit = [], []
        for answer in balances:
            f = next((f for f in answer.facilities if f.facility == name), None)  # a deal has few facilities
            principal.append(_cents(f.principal) if f is not None else None)
            limit.append(_cents(f.limit) if f is not None else None)
        own.append(MoneySeries(name, name, OWN_COLOURS[n % len(OWN_COLOURS)], tuple(principal), limit=tuple(limit)))
    avail = tuple(_cents(a.availability) if a.classes else None for a in availability)
    bb_principal = tuple(_cents(a.principal) if a.classes else None for a in availability)

    stop = _day_after(end)
    status = stretches(days, [d.status if d.status != "none" else None for d in defaults], stop)

    final = snapshot.defaults(end)
    by_day = [{v.breach: v for v in answer.breaches} for answer in defaults]
    rows = []
    for b in final.breaches:
        states = []
        for views in by_day:
            view = views.get(b.breach)
            states.append(view.state if view is not None and view.state in ("default", "event-of-default") else None)
        active = stretches(days, states, stop)
        ended = None
        if b.state in ("waived", "cured"):
            for day, views in zip(days, by_day):
                view = views.get(b.breach)
                if view is not None and view.state == b.state:
                    ended = (day, b.state)
                    break
        if not active and not (start <= b.since <= end):
            continue  # over before the range began
        subject = ", ".join(b.events)
        rows.append(BreachRow(b.breach, b.rule, b.clause, f"{_cite(b.clause, b.rule)}: {subject}",
                              b.since, b.event_of_default_from, tuple(active), ended))

    cited = _cited(final.breaches)
    marks = []
    for rec in snapshot.ctx.folded:
        ev = rec.event
        if not start <= ev.effective_date <= end:
            continue
        clauses = tuple(sorted(set(cited.get(rec.event_id, ()))))
        if isinstance(ev, CollateralMoved):
            marks.append(Mark(ev.effective_date, "moves", "move", f"{ev.collateral} → {ev.to}", rec.event_id, clauses))
        elif isinstance(ev, NoticeSent):
            what = "move notice" if ev.subject.value == "collateral-move" else f"{ev.financing} notice"
            marks.append(Mark(ev.effective_date, "notices", "notice-sent",
                              f"{ev.notice} ({what}, {ev.sender} → {ev.to})", rec.event_id, clauses))
        elif isinstance(ev, NoticeReceived):
            marks.append(Mark(ev.effective_date, "notices", "notice-received",
                              f"{ev.notice} ({ev.financing}, {ev.category.value})", rec.event_id, clauses))
        elif isinstance(ev, NoticeForwarded):
            marks.append(Mark(ev.effective_date, "notices", "notice-forwarded",
                              f"{ev.notice} forwarded to {ev.to}", rec.event_id, clauses))

    return Timeline(start, end, tuple(days), lender, _party_name(snapshot, lender),
                    _known_label(snapshot, explicit_known_at),
                    tuple(others), tuple(own), avail, tuple(status), final.status, tuple(rows), tuple(marks),
                    tuple(_terms_dates(snapshot, start, end)), bb_principal)


@attrs.frozen
class ItemRow:
    collateral: str
    kind: str
    label: str
    note: str  # value and liens by rank on the last day
    stretches: tuple[Stretch, ...]  # value: (location, eligible, clauses)
    moves: tuple[Mark, ...]


@attrs.frozen
class CollateralMap:
    start: date
    end: date
    lender_name: str
    known_label: str
    rows: tuple[ItemRow, ...]
    hidden: int
    terms: tuple[tuple[date, str], ...]


KIND_ORDER = {k.value: i for i, k in enumerate(
    (CollateralKind.EQUIPMENT, CollateralKind.INVENTORY, CollateralKind.ACCOUNTS, CollateralKind.REAL_PROPERTY))}


def collateral_data(snapshot, start: date, end: date, *, kinds: Iterable[str] = (), progress=None,
                    explicit_known_at: bool = False) -> CollateralMap:
    """Sample eligibility on every day that can change it: where each item was, and whether it counted."""
    wanted = set(kinds)
    days = sample_days(snapshot, start, end)
    answers, lent = [], []
    for i, day in enumerate(days, start=1):
        answers.append(snapshot.eligibility(day))
        lent.append({c.kind for c in snapshot.availability(day).classes})  # the kinds with an advance rate
        if progress is not None:
            progress(i)
    items: dict[str, str] = {}
    for answer in answers:
        for c in answer.collateral:
            if not wanted or c.kind in wanted:
                items.setdefault(c.collateral, c.kind)
    order = sorted(items, key=lambda name: (KIND_ORDER.get(items[name], 99), name))
    shown, hidden = order[:MAX_ITEMS], max(0, len(order) - MAX_ITEMS)

    final_liens = {c.collateral: c.liens for c in snapshot.liens(end).by_collateral}
    last_seen: dict[str, Any] = {}
    for answer in answers:
        for c in answer.collateral:
            last_seen[c.collateral] = c
    cited = _cited(snapshot.defaults(end).breaches)
    moves: dict[str, list[Mark]] = {}
    for rec in snapshot.ctx.folded:
        ev = rec.event
        if isinstance(ev, CollateralMoved) and start <= ev.effective_date <= end:
            clauses = tuple(sorted(set(cited.get(rec.event_id, ()))))
            moves.setdefault(ev.collateral, []).append(
                Mark(ev.effective_date, "moves", "move", f"→ {ev.to}", rec.event_id, clauses))

    stop = _day_after(end)
    by_day = [{c.collateral: c for c in answer.collateral} for answer in answers]
    rows = []
    for name in shown:
        values = []
        for held, kinds_lent in zip(by_day, lent):
            c = held.get(name)
            if c is None:
                values.append(None)
                continue
            standing = "ineligible" if not c.eligible else "eligible" if c.kind in kinds_lent else "not-lent"
            values.append((c.location, standing, tuple(sorted({r.clause or r.rule for r in c.reasons}))))
        last = last_seen[name]
        holders = [l.holder for l in final_liens.get(name, ())]
        liens = " › ".join(holders) if holders else "no lien"
        note = f"{_dollars(last.value)}  ·  liens: {liens}"
        rows.append(ItemRow(name, items[name], f"{name}  ({items[name]})", note,
                            tuple(stretches(days, values, stop)), tuple(moves.get(name, ()))))
    return CollateralMap(start, end, _party_name(snapshot, snapshot.ctx.lender),
                         _known_label(snapshot, explicit_known_at),
                         tuple(rows), hidden, tuple(_terms_dates(snapshot, start, end)))


def _dollars(amount: Decimal) -> str:
    """$1,350,000.25 as a lender writes it (cents only where there are some)."""
    text = f"{amount:,.2f}"
    return "$" + (text[:-3] if text.endswith(".00") else text)


# ---------------------------------------------------------------- drawing

def _style():
    """matplotlib's own defaults, whatever the user's matplotlibrc says (part of "same input, same bytes")."""
    import matplotlib.style

    return matplotlib.style.context("default")


def _lanes(ax, count: int, pad: float, empty: str, empty_colour: str) -> None:
    """A panel of one row a thing (breaches, marks): no y ticks, light date grid, a word when it is empty."""
    ax.set_yticks([])
    ax.set_ylim(-pad, max(count, 1) - 1 + pad)
    ax.grid(axis="x", color="#eeeeee", linewidth=0.8)
    ax.set_axisbelow(True)
    if not count:
        ax.text(0.5, 0.5, empty, transform=ax.transAxes, ha="center", va="center", color=empty_colour)


def _figure(width: float, height: float):
    """A figure drawn by the Agg renderer, without pyplot (no global state, no GUI backend)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _money_axis(ax) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ax.yaxis.set_major_locator(MaxNLocator(nbins=7, steps=[1, 2, 2.5, 5, 10], integer=True))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda cents, _pos: f"${round(cents) // 100:,}"))
    ax.set_ylim(bottom=0)
    ax.grid(axis="y", color="#e0e0e0", linewidth=0.8)
    ax.set_axisbelow(True)


def _date_axis(ax, start: date, end: date) -> None:
    import matplotlib.dates as mdates

    span = (end - start).days
    if span <= 120:
        ax.xaxis.set_major_locator(mdates.WeekdayLocator(byweekday=mdates.MO, interval=2 if span > 45 else 1))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b\n%Y"))
    elif span <= 800:
        ax.xaxis.set_major_locator(mdates.MonthLocator())
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%b\n%Y"))
    else:
        locator = mdates.AutoDateLocator(minticks=5, maxticks=14)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_xlim(start, _day_after(end))


def _steps(days: Sequence[date], values: Sequence[int | None], stop: date):
    """x, y for a post-step line through the samples, with gaps (NaN) where the value is None."""
    xs, ys = [], []
    for i, (day, value) in enumerate(zip(days, values)):
        until = days[i + 1] if i + 1 < len(days) else stop
        xs += [day, until]
        ys += [float("nan") if value is None else value] * 2
    return xs, ys


def _shade_status(ax, status: Sequence[Stretch]) -> None:
    for s in status:
        colour = EOD_COLOUR if s.value == "event-of-default" else DEFAULT_COLOUR
        ax.axvspan(s.start, s.stop, color=colour, alpha=0.10, linewidth=0, zorder=0)


def label_levels(days: Sequence[date], texts: Sequence[str], start: date, end: date, *,
                 axis_inches: float, points: float) -> list[int]:
    """A row for each label drawn to the right of its day, so that no two labels overlap: a label goes on
    the first row where it begins after the previous label of that row ends (widths estimated from the font)."""
    span = max(1, (end - start).days + 1)
    days_per_inch = span / max(axis_inches, 0.1)
    ends: list[float] = []  # per row, the day number where its last label ends
    levels = []
    for day, text in zip(days, texts):
        begin = (day - start).days
        width = (len(text) * points * 0.6 / 72 + 0.1) * days_per_inch  # ~0.6 em a character, plus the gap
        row = next((r for r, until in enumerate(ends) if begin > until), len(ends))
        if row == len(ends):
            ends.append(begin + width)
        else:
            ends[row] = begin + width
        levels.append(row)
    return levels


def _axis_inches(ax) -> float:
    return ax.get_position().width * ax.figure.get_figwidth()


def _terms_lines(axes, terms, *, label_axis, start: date, end: date, fontsize: float = 8.5) -> None:
    """A dashed line where terms took effect; the labels staggered in rows so that close ones do not overlap."""
    texts = [f"in force from {day:%d %b %Y}: {names}" for day, names in terms]
    levels = label_levels([d for d, _ in terms], texts, start, end, axis_inches=_axis_inches(label_axis),
                          points=fontsize)
    for (day, _), text, level in zip(terms, texts, levels):
        for ax in axes:
            ax.axvline(day, color="#616161", linestyle=(0, (2, 2)), linewidth=1.0, zorder=1)
        label_axis.annotate(text, xy=(day, 1.0), xycoords=("data", "axes fraction"),
                            xytext=(4, -4 - (fontsize + 3) * level), textcoords="offset points",
                            fontsize=fontsize, color="#424242", va="top",
                            bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none",
                                  "alpha": 0.85})


def _spread(values: list[tuple[int, int]], min_gap: float) -> dict[int, float]:
    """Heights (data units) for end labels at nearby heights do not print on top of each other."""
    offsets: dict[int, float] = {}
    placed: list[float] = []
    for index, y in sorted(values, key=lambda p: p[1]):
        target = float(y)
        while any(abs(target - p) < min_gap for p in placed):
            target += min_gap
        placed.append(target)
        offsets[index] = target
    return offsets


def _day(day: date) -> str:
    return f"{day.day} {day:%b %Y}"


def _short(day: date) -> str:
    return f"{day.day} {day:%b}"


def _legend(ax, handles, labels, *, x: float = 1.01) -> None:
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(x, 1.0), fontsize=8.5, frameon=False,
              borderaxespad=0.0)


def _money_panel(ax, days, stop, series: Sequence[MoneySeries], status, *, caps: bool) -> None:
    """Principal per series as steps; caps (if any) dashed in the series' colour, labelled where they start."""
    from matplotlib.lines import Line2D

    _shade_status(ax, status)
    ends = []
    handles, labels = [], []
    top = 1
    over_cap = False
    limits = False
    limit_labels: list[tuple[date, int, str, str]] = []
    for i, s in enumerate(series):
        xs, ys = _steps(days, s.principal, stop)
        (line,) = ax.plot(xs, ys, color=s.colour, linewidth=2.2, solid_capstyle="butt")
        handles.append(line)
        labels.append(s.label)
        if s.principal[-1] is not None:
            ends.append((i, s.principal[-1]))
        top = max([top] + [v for v in s.principal if v is not None])
        if any(v is not None for v in s.limit):
            xs, ys = _steps(days, s.limit, stop)
            ax.plot(xs, ys, color=s.colour, linewidth=1.3, linestyle=(0, (1, 1.5)))
            for run in stretches(days, list(s.limit), stop):
                limit_labels.append((run.start, run.value, f"{s.label} limit {_dollars(Decimal(run.value) / 100)}",
                                     s.colour))
                top = max(top, run.value)
            limits = True
        if caps and any(c is not None for c in s.cap):
            xs, ys = _steps(days, s.cap, stop)
            ax.plot(xs, ys, color=s.colour, linewidth=1.5, linestyle=(0, (5, 3)))
            _, principal = _steps(days, s.principal, stop)
            over = [p == p and c == c and p > c for p, c in zip(principal, ys)]  # NaN != NaN: no cap, no line
            if any(over):
                ax.fill_between(xs, ys, principal, where=over, color=EOD_COLOUR, alpha=0.35, linewidth=0,
                                hatch="xxx", edgecolor=EOD_COLOUR)
                over_cap = True
            for run in stretches(days, list(s.cap), stop):
                ax.annotate(f"cap {_dollars(Decimal(run.value) / 100)}", xy=(run.start, run.value),
                            xytext=(4, -3), textcoords="offset points", fontsize=8, color=s.colour,
                            va="top", fontweight="bold")
                top = max(top, run.value)
    ax.set_ylim(0, top * 1.12)
    _money_axis(ax)
    gap = top * 1.12 * 0.06
    # limits close in height and date are labelled side by side, not on top of one another
    placed: list[tuple[date, int, float]] = []  # (day, value, where the label ends, in points from the day)
    for day, value, text, colour in sorted(limit_labels, key=lambda l: (l[0], -l[1])):
        shift = max([end for d, v, end in placed if d == day and abs(v - value) < gap] + [0.0])
        ax.annotate(text, xy=(day, value), xytext=(4 + shift, 2), textcoords="offset points", fontsize=8,
                    color=colour, va="bottom")
        placed.append((day, value, shift + 4 + len(text) * 8 * 0.6 + 8))
    offsets = _spread(ends, gap)
    for index, _value in ends:
        s = series[index]
        ax.annotate(_dollars(Decimal(s.principal[-1]) / 100), xy=(stop, offsets[index]), xytext=(4, 0),
                    textcoords="offset points", fontsize=8, color=s.colour, va="center",
                    annotation_clip=False, fontweight="bold")
    if caps and series and not any(c is not None for s in series for c in s.cap):
        ax.text(0.01, 0.97, "no consented cap in force in this range, as known at this time",
                transform=ax.transAxes, ha="left", va="top", fontsize=9, color="#616161")
    if limits:
        handles.append(Line2D([], [], color="#616161", linewidth=1.3, linestyle=(0, (1, 1.5))))
        labels.append("line limit (dotted,\nsame colour as its line)")
    if caps:
        handles.append(Line2D([], [], color="#616161", linewidth=1.5, linestyle=(0, (5, 3))))
        labels.append("consented cap (dashed,\nsame colour as its line)")
        if over_cap:
            handles.append(_patch(EOD_COLOUR, 0.35, hatch="xxx", edgecolor=EOD_COLOUR, linewidth=0))
            labels.append("principal above its cap")
    handles += [_patch(DEFAULT_COLOUR, 0.25), _patch(EOD_COLOUR, 0.25)]
    labels += ["borrower in Default", "borrower in Event of Default"]
    _legend(ax, handles, labels, x=1.11)


def _patch(colour: str, alpha: float = 1.0, **kw):
    from matplotlib.patches import Patch

    return Patch(facecolor=colour, alpha=alpha, **kw)


def draw_timeline(data: Timeline):
    """The timeline as a matplotlib Figure (not yet saved)."""
    from matplotlib.lines import Line2D

    stop = _day_after(data.end)
    breaches, hidden_breaches = list(data.breaches[:MAX_BREACHES]), max(0, len(data.breaches) - MAX_BREACHES)
    marks = list(data.marks)
    hidden_marks = max(0, len(marks) - MAX_MARKS)
    if hidden_marks:  # keep every mark a breach cites, then the earliest others
        keep = set(sorted(range(len(marks)), key=lambda i: (not marks[i].breaches, i))[:MAX_MARKS])
        marks = [m for i, m in enumerate(marks) if i in keep]
    data = attrs.evolve(data, breaches=tuple(breaches), marks=tuple(marks))
    n_breaches = max(1, len(data.breaches))
    n_marks = max(1, len(data.marks))
    heights = [4.6, 3.4, max(1.2, 0.5 + 0.46 * n_breaches), max(1.5, 0.5 + 0.24 * n_marks)]
    total = sum(heights) + 0.55 * 4 + 1.5
    fig = _figure(WIDTH_IN, total)
    top, bottom = 1 - 1.15 / total, 0.75 / total
    grid = fig.add_gridspec(4, 1, height_ratios=heights, hspace=0.55 * 4 / sum(heights), left=0.17, right=0.74,
                            top=top, bottom=bottom)
    ax_other = fig.add_subplot(grid[0])
    ax_own = fig.add_subplot(grid[1], sharex=ax_other)
    ax_breach = fig.add_subplot(grid[2], sharex=ax_other)
    ax_marks = fig.add_subplot(grid[3], sharex=ax_other)

    fig.text(0.012, 1 - 0.42 / total, f"Deal timeline, {_day(data.start)} to {_day(data.end)}", fontsize=16,
             fontweight="bold", va="baseline")
    fig.text(0.012, 1 - 0.72 / total,
             f"Lender keeping this ledger: {data.lender_name}   ·   {data.known_label}   ·   "
             f"borrower's status on {_day(data.end)}: {data.status_on_end}", fontsize=10, color="#424242",
             va="baseline")

    # 1. other lenders' financings against the caps the lender consented to
    _money_panel(ax_other, data.days, stop, data.others, data.status, caps=True)
    ax_other.set_title("Other lenders' financings: principal against the caps the lender consented to",
                       loc="left", fontsize=11.5, fontweight="bold")
    ax_other.set_ylabel("principal outstanding")
    if not data.others:
        ax_other.text(0.5, 0.5, "no other lender's facility in this range", transform=ax_other.transAxes,
                      ha="center", va="center", color="#757575")

    # 2. the lender's own loans against the borrowing base
    own = list(data.own)
    _money_panel(ax_own, data.days, stop, own, data.status, caps=False)
    if any(a is not None for a in data.availability):
        xs, ys = _steps(data.days, data.availability, stop)
        ax_own.plot(xs, ys, color="black", linewidth=1.5, linestyle=(0, (5, 3)))
        handles, labels = ax_own.get_legend().legend_handles, [t.get_text() for t in ax_own.get_legend().texts]
        handles.insert(len(own), Line2D([], [], color="black", linewidth=1.5, linestyle=(0, (5, 3))))
        labels.insert(len(own), "borrowing base availability")
        if data.bb_principal:
            # an overadvance: the borrowing-base facilities' principal above availability
            _, principal = _steps(data.days, data.bb_principal, stop)
            over = [p == p and a == a and p > a for p, a in zip(principal, ys)]  # NaN: nothing to compare
            if any(over):
                ax_own.fill_between(xs, ys, principal, where=over, color=OVERADVANCE_COLOUR, alpha=0.30, linewidth=0,
                                    hatch="///", edgecolor=OVERADVANCE_COLOUR, step=None)
                handles.insert(len(own) + 1, _patch(OVERADVANCE_COLOUR, 0.30, hatch="///",
                                                    edgecolor=OVERADVANCE_COLOUR, linewidth=0))
                labels.insert(len(own) + 1, "overadvance: revolvers' principal\nabove availability")
        _legend(ax_own, handles, labels, x=1.11)
        last = next((a for a in reversed(data.availability) if a is not None), None)
        top = max([v for s in own for v in (*s.principal, *s.limit) if v is not None]
                  + [a for a in data.availability if a] + [1])
        ax_own.set_ylim(0, top * 1.12)
        if last is not None:
            ax_own.annotate(f"availability {_dollars(Decimal(last) / 100)}", xy=(data.days[-1], last),
                            xytext=(0, 4), textcoords="offset points", fontsize=8, va="bottom", ha="left",
                            fontweight="bold")
    ax_own.set_title(f"{data.lender_name}'s own loans: principal per facility against the borrowing base",
                     loc="left", fontsize=11.5, fontweight="bold")
    ax_own.set_ylabel("principal outstanding")
    if not own:
        ax_own.text(0.5, 0.5, "no facility of the lender in this range", transform=ax_own.transAxes,
                    ha="center", va="center", color="#757575")

    # 3. breaches: Default, then Event of Default, each labelled with its rule and clause
    ax = ax_breach
    ax.set_title("Breaches: Default, then Event of Default, until waived or cured"
                 + (f" (the first {MAX_BREACHES}; {hidden_breaches} more not shown)" if hidden_breaches else ""),
                 loc="left", fontsize=11.5, fontweight="bold")
    span = (stop - data.start).days
    for row, b in enumerate(data.breaches):
        y = len(data.breaches) - 1 - row
        for s in b.stretches:
            colour = EOD_COLOUR if s.value == "event-of-default" else DEFAULT_COLOUR
            width = (s.stop - s.start).days
            ax.barh(y, width, left=s.start, height=0.64, color=colour, edgecolor="white", linewidth=0.5)
            word = "Event of Default" if s.value == "event-of-default" else "Default"
            began = b.event_of_default_from if s.value == "event-of-default" else b.since
            text = f"{word} from {_short(began)}" if began >= data.start else f"{word} since {_day(began)}"
            if width >= span * 0.0075 * len(text):
                ax.text(s.start + timedelta(days=width / 2), y, text, ha="center", va="center", fontsize=7.5,
                        color="white", fontweight="bold", clip_on=True)
        if b.ended is not None:
            day, how = b.ended
            ax.plot([day], [y], marker="|", markersize=15, markeredgewidth=2.4, color=ENDED_COLOUR)
            ax.annotate(f"{how} {_short(day)}", xy=(day, y), xytext=(6, 0), textcoords="offset points",
                        fontsize=8.5, va="center", color="#424242", fontweight="bold")
        ax.annotate(f"{b.clause}  {b.rule}" if b.clause else b.rule, xy=(0, y), xycoords=("axes fraction", "data"),
                    xytext=(-6, 3),
                    textcoords="offset points", ha="right", va="bottom", fontsize=8.5, fontweight="bold",
                    annotation_clip=False)
        ax.annotate(b.breach, xy=(0, y), xycoords=("axes fraction", "data"), xytext=(-6, 1),
                    textcoords="offset points", ha="right", va="top", fontsize=7.5, color="#616161",
                    annotation_clip=False)
    _lanes(ax, len(data.breaches), 0.6, "no breach in this range", NO_BREACH_COLOUR)
    _legend(ax, [_patch(DEFAULT_COLOUR), _patch(EOD_COLOUR),
                 Line2D([], [], marker="|", linestyle="none", markersize=12, markeredgewidth=2.4,
                        color=ENDED_COLOUR)],
            ["Default (grace period running)", "Event of Default", "waived or cured"], x=1.11)

    # 4. marks: collateral moves and notices, one line each, in effective-date order
    ax = ax_marks
    ax.set_title("Collateral moves and notices (red: the event a breach cites)"
                 + (f"; {hidden_marks} more without a breach not shown" if hidden_marks else ""),
                 loc="left", fontsize=11.5, fontweight="bold")
    shapes = {"move": ">", "notice-sent": "^", "notice-received": "v", "notice-forwarded": "s"}
    for row, m in enumerate(data.marks):
        y = len(data.marks) - 1 - row
        colour = EOD_COLOUR if m.breaches else NO_BREACH_COLOUR
        ax.plot([m.day], [y], marker=shapes[m.kind], markersize=8, color=colour, markeredgecolor="white",
                linestyle="none", zorder=3)
        text = f"{_short(m.day)}  {m.label}" + (f"   breach: {'; '.join(m.breaches)}" if m.breaches else "")
        right_side = (m.day - data.start).days < span * 0.55
        ax.annotate(text, xy=(m.day, y), xytext=(7 if right_side else -7, 0), textcoords="offset points",
                    fontsize=8, color=colour, va="center", ha="left" if right_side else "right")
    _lanes(ax, len(data.marks), 0.7, "no move or notice in this range", "#757575")
    _legend(ax, [Line2D([], [], marker=shapes[k], linestyle="none", color="#616161", markersize=8)
                 for k in ("move", "notice-sent", "notice-received", "notice-forwarded")]
            + [_patch(NO_BREACH_COLOUR), _patch(EOD_COLOUR)],
            ["collateral moved", "notice sent", "notice received", "notice forwarded",
             "no breach", "cited by a breach"], x=1.11)

    for ax in (ax_other, ax_own, ax_breach):
        ax.tick_params(labelbottom=False)
    _date_axis(ax_marks, data.start, data.end)
    _terms_lines((ax_other, ax_own, ax_breach, ax_marks), data.terms, label_axis=ax_other, start=data.start,
                 end=data.end)
    return fig


def draw_collateral(data: CollateralMap):
    """The collateral map as a matplotlib Figure (not yet saved)."""
    from matplotlib.lines import Line2D

    rows = max(1, len(data.rows))
    height = 2.5 + 0.42 * rows
    fig = _figure(WIDTH_IN, height)
    top = 1 - 1.15 / height
    bottom = 1.2 / height
    ax = fig.add_axes((0.17, bottom, 0.58, top - bottom))
    fig.text(0.012, 1 - 0.42 / height, f"Collateral: where each item was, and whether it was eligible, "
             f"{_day(data.start)} to {_day(data.end)}", fontsize=16, fontweight="bold", va="baseline")
    fig.text(0.012, 1 - 0.72 / height, f"Lender keeping this ledger: {data.lender_name}   ·   {data.known_label}",
             fontsize=10, color="#424242", va="baseline")
    span_days = (data.end - data.start).days + 1
    previous_kind = None
    fills = {"eligible": ELIGIBLE_COLOUR, "ineligible": INELIGIBLE_COLOUR, "not-lent": NOT_LENT_COLOUR}
    for row, item in enumerate(data.rows):
        y = len(data.rows) - 1 - row
        if previous_kind is not None and item.kind != previous_kind:
            ax.axhline(y + 0.5, color="#9e9e9e", linewidth=0.8)
        previous_kind = item.kind
        for s in item.stretches:
            location, standing, clauses = s.value
            width = (s.stop - s.start).days
            ax.barh(y, width, left=s.start, height=0.66, color=fills[standing], edgecolor="white",
                    linewidth=0.8, hatch="///" if standing == "ineligible" else None)
            text = location if standing != "ineligible" else f"{location}: ineligible, {', '.join(clauses)}"
            if width >= span_days * 0.0072 * len(text):
                ax.text(s.start + timedelta(days=width / 2), y, text, ha="center", va="center", fontsize=8,
                        color="#3e2723" if standing == "ineligible" else "white", fontweight="bold", clip_on=True,
                        bbox=dict(facecolor=INELIGIBLE_COLOUR, edgecolor="none", pad=1.0)
                        if standing == "ineligible" else None)
        for m in item.moves:
            colour = EOD_COLOUR if m.breaches else NO_BREACH_COLOUR
            ax.plot([m.day], [y + 0.38], marker="v", markersize=9, color=colour, markeredgecolor="white",
                    linestyle="none", zorder=4, clip_on=False)
            note = "breach " + "; ".join(m.breaches) if m.breaches else "no breach"
            right_side = (m.day - data.start).days < span_days * 0.6
            ax.annotate(f"{_short(m.day)} {m.label}: {note}", xy=(m.day, y + 0.38), xytext=(6 if right_side else -6, 1),
                        textcoords="offset points", fontsize=7.5, color=colour, va="bottom",
                        ha="left" if right_side else "right", annotation_clip=False,
                        bbox=dict(facecolor="white", edgecolor="none", pad=0.6, alpha=0.85))
        ax.annotate(item.note, xy=(1.0, y), xycoords=("axes fraction", "data"), xytext=(8, 0),
                    textcoords="offset points", ha="left", va="center", fontsize=8.5, annotation_clip=False)
    ax.set_yticks(range(len(data.rows)), [r.label for r in reversed(data.rows)], fontsize=9)
    ax.set_ylim(-0.6, max(len(data.rows), 1) - 0.15)
    ax.grid(axis="x", color="#eeeeee", linewidth=0.8)
    ax.set_axisbelow(True)
    if not data.rows:
        ax.text(0.5, 0.5, "no collateral held in this range", transform=ax.transAxes, ha="center",
                va="center", color="#757575")
    _date_axis(ax, data.start, data.end)
    texts = [f"in force from {_short(day)}: {names}" for day, names in data.terms]
    levels = label_levels([d for d, _ in data.terms], texts, data.start, data.end, axis_inches=_axis_inches(ax),
                          points=8.5)
    for (day, _), text, level in zip(data.terms, texts, levels):
        ax.axvline(day, color="#616161", linestyle=(0, (2, 2)), linewidth=1.0, zorder=3)
        ax.annotate(text, xy=(day, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(3, 3 + 11.5 * level), textcoords="offset points", fontsize=8.5, color="#424242",
                    va="bottom", annotation_clip=False)
    ax.annotate(f"value on {_day(data.end)}  ·  liens, senior first", xy=(1.0, 1.0), xycoords="axes fraction",
                xytext=(8, 3), textcoords="offset points", fontsize=8.5, fontweight="bold",
                va="bottom", annotation_clip=False)
    handles = [_patch(ELIGIBLE_COLOUR), _patch(INELIGIBLE_COLOUR, hatch="///", edgecolor="white"),
               _patch(NOT_LENT_COLOUR),
               Line2D([], [], marker="v", linestyle="none", color=NO_BREACH_COLOUR, markersize=9),
               Line2D([], [], marker="v", linestyle="none", color=EOD_COLOUR, markersize=9)]
    labels = ["eligible (bar names the location)", "ineligible (clause cited)",
              "held, but its kind has no advance rate", "moved, no breach", "moved, breach (clause, rule)"]
    fig.legend(handles, labels, loc="lower left", bbox_to_anchor=(0.17, 0.12 / height), ncol=5, fontsize=8.5,
               frameon=False, borderaxespad=0.0)
    if data.hidden:
        fig.text(0.012, 0.012, f"{data.hidden} more item(s) not shown (at most {MAX_ITEMS} rows); "
                 "narrow the chart with --kind", fontsize=9, color=EOD_COLOUR)
    return fig


# ---------------------------------------------------------------- saving

def png_bytes(fig) -> bytes:
    """The figure as PNG bytes: no software name or time in the file, so equal input gives equal bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None}, facecolor="white")
    return buffer.getvalue()


def _day_after(day: date) -> date:
    """The exclusive end of a range ending on `day`; the calendar's last day ends the range at itself."""
    from ledger.values import add_days

    return add_days(day, 1) or day


def _write_atomically(path: Path, data: bytes) -> None:
    from ledger.files import replaced_atomically

    with replaced_atomically(path) as fh:
        fh.write(data)


def check_out_path(out: str) -> Path:
    path = Path(out)
    if path.suffix.lower() != ".png":
        raise UsageError(f"--out {out}: the chart is written as PNG; name the file *.png")
    if path.exists() and path.is_dir():
        raise UsageError(f"--out {out} is a folder; name a .png file")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"--out {out}: there is no folder {folder}")
    return path


def render(snapshot, chart: str, start: date, end: date, *, kinds: Iterable[str] = (),
           progress=None, explicit_known_at: bool = False) -> tuple[bytes, dict[str, int]]:
    """The PNG bytes of one chart and a few counts describing it."""
    if chart not in CHARTS:
        raise UsageError(f"no chart {chart!r}; expected one of {', '.join(CHARTS)}")
    if start > end:
        raise UsageError("--from is later than --to")
    with _style():
        if chart == "timeline":
            data = timeline_data(snapshot, start, end, progress=progress, explicit_known_at=explicit_known_at)
            fig = draw_timeline(data)
            summary = {"financings": len(data.others), "facilities_of_lender": len(data.own),
                       "breaches": len(data.breaches),
                       "moves": sum(1 for m in data.marks if m.lane == "moves"),
                       "notices": sum(1 for m in data.marks if m.lane == "notices")}
        else:
            data = collateral_data(snapshot, start, end, kinds=kinds, progress=progress,
                                   explicit_known_at=explicit_known_at)
            fig = draw_collateral(data)
            summary = {"items": len(data.rows), "items_not_shown": data.hidden,
                       "moves": sum(len(r.moves) for r in data.rows)}
        return png_bytes(fig), summary


def write_chart(lg, chart: str, start: date, end: date, known_at: datetime, out: str, *,
                kinds: Sequence[str] = (), explicit_known_at: bool = False) -> ChartResult:
    """Draw `chart` for the ledger `lg` as known at `known_at` and write it to `out` (a .png)."""
    from ledger.progress import progress_bar

    from ledger.api import refuse_own_file

    path = check_out_path(out)
    refuse_own_file(lg.store, path, "--out")  # never over the ledger, its -wal/-shm or its read models
    snapshot = lg.snapshot(known_at)
    total = len(sample_days(snapshot, start, end)) if start <= end else 0
    with progress_bar(f"drawing the {chart} chart", total, min_total=300) as advance:
        data, summary = render(snapshot, chart, start, end, kinds=kinds, progress=advance,
                               explicit_known_at=explicit_known_at)
    _write_atomically(path, data)
    return ChartResult(chart, str(path), start, end, known_at, _known_through(snapshot),
                       hashlib.sha256(data).hexdigest(), len(data), summary)


def default_range(today: date) -> tuple[date, date]:
    """Without --from/--to: the year up to today."""
    return today - timedelta(days=365), today
