"""Text from the input printed by `cledger` stays text: no markup, no escape sequences, no mathtext."""

from __future__ import annotations

import io

from rich.console import Console

from ledger.charts import shown_text
from ledger.tables import event_line, figures
from ledger.terminal import plain, safe


def _rendered(markup: str) -> str:
    out = io.StringIO()
    Console(file=out, width=300, color_system=None, highlight=False).print(markup, soft_wrap=True)
    return out.getvalue()


def test_control_characters_and_markup_in_an_event_print_literally():
    """An ESC sequence shows as \\x1b, `[red]` as typed, and the line holds no raw control byte."""
    row = {"type": "PartyRegistered", "effective_date": "1990-01-01", "party": "lpc",
           "name": "esc \x1b[31mred [red]x[/red]\x07", "roles": ["borrower"], "id": "e1", "position": 1,
           "recorded_at": "1990-01-01T09:00:00.000000+00:00", "actor": "me"}
    shown = _rendered(event_line(row))
    assert "esc \\x1b[31mred [red]x[/red]\\x07" in shown
    assert not any(ord(c) < 32 and c != "\n" for c in shown)


def test_safe_escapes_markup_and_plain_shows_c1_controls():
    assert _rendered(safe("[bold]id[/bold]")).strip() == "[bold]id[/bold]"
    assert plain("a\x9bb") == "a\\x9bb"


def test_chart_names_are_not_mathtext():
    """A `$` in a party's name is drawn as a dollar sign, not the start of a formula."""
    assert shown_text("Cost $\\frac{$ Corp") == "Cost \\$\\frac{\\$ Corp"


def test_detail_amounts_get_thousands_separators():
    assert figures("principal 6000000.00 exceeds 5800000.00 by 200000.00 on 1996-05-15") == \
        "principal 6,000,000.00 exceeds 5,800,000.00 by 200,000.00 on 1996-05-15"
