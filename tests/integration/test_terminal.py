"""What a loan administrator meets at the terminal (issue 18), run as a user runs `cledger` (a subprocess).

Expected values come from the 1996 scenario's own lines (ledger/data/lexington-1996.jsonl: the waiver of
19 April 1996, the revolver's advances) and from the widths and words the issue asks for.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from ledger import open_ledger
from ledger.demo import scenario_path

SCENARIO = scenario_path()


def cli(args: list[str], *, input: str | bytes | None = None, env: dict | None = None, cwd=None):
    full_env = {k: v for k, v in os.environ.items() if k not in ("CLEDGER_DB", "COLUMNS")}
    full_env.update(env or {})
    data = input.encode() if isinstance(input, str) else input
    proc = subprocess.run([sys.executable, "-m", "ledger.cli", *args], input=data, capture_output=True,
                          env=full_env, timeout=300, cwd=cwd)
    proc.out = proc.stdout.decode("utf-8", "replace")
    proc.err = proc.stderr.decode("utf-8", "replace")
    return proc


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory) -> str:
    """The 1996 scenario, recorded once for the module's read-only checks."""
    url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    with open_ledger(url) as lg:
        lg.record_file(SCENARIO)
    return url


def party(name: str, party_id: str, role: str = "borrower", day: str = "1990-01-01") -> str:
    return json.dumps({"type": "PartyRegistered", "effective_date": day, "party": party_id, "name": name,
                       "roles": [role]})


# ---------------------------------------------------------------- 1. a log copies with one pipe

def test_events_json_piped_into_record_copies_the_log_with_the_same_head(demo_url, tmp_path):
    """`cledger events --json | cledger record -` gives a ledger whose head digest is the source's."""
    dumped = cli(["events", "--json", "--db", demo_url])
    assert dumped.returncode == 0 and dumped.out.lstrip().startswith("[")
    copy = f"sqlite:///{tmp_path / 'copy.db'}"
    recorded = cli(["record", "-", "--db", copy], input=dumped.stdout)
    assert recorded.returncode == 0, recorded.err
    heads = [cli(["audit", "--head", "--db", url]).out.strip() for url in (demo_url, copy)]
    assert heads[0] == heads[1] and heads[0].startswith("110:")
    # and as JSON Lines, one event a line
    lines = cli(["events", "--jsonl", "--db", demo_url]).out.splitlines()
    assert len(lines) == 110 and all(json.loads(line)["position"] == i for i, line in enumerate(lines, start=1))
    again = f"sqlite:///{tmp_path / 'again.db'}"
    assert cli(["record", "-", "--db", again], input="\n".join(lines)).returncode == 0
    assert cli(["audit", "--head", "--db", again]).out.strip() == heads[0]


def test_a_bad_element_of_an_array_is_named_by_its_line(tmp_path):
    """In a JSON array, a refusal names the line its object starts on; nothing is recorded."""
    good = json.loads(party("Lender", "congress", "lender"))
    text = json.dumps([good, {**good, "party": "lpc", "roles": ["boss"]}], indent=2)
    url = f"sqlite:///{tmp_path / 'a.db'}"
    result = cli(["record", "-", "--db", url], input=text)
    line = [i for i, text_line in enumerate(text.splitlines(), start=1) if text_line == "  {"][1]
    assert result.returncode == 2 and f"line {line}, field 'roles" in result.err, result.err
    assert not (tmp_path / "a.db").exists()


# ---------------------------------------------------------------- 2. a closed pipe

def test_status_into_a_closed_pipe_exits_0_quietly(demo_url):
    """`cledger status | head -1`: the reader goes away; exit 0 and nothing on stderr."""
    proc = subprocess.Popen([sys.executable, "-m", "ledger.cli", "status", "--db", demo_url, "--as-of", "1996-06-20"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "COLUMNS": "100"})
    proc.stdout.close()  # before the child has written a byte: every write meets a closed pipe
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0 and err == ""
    shell = subprocess.run(["bash", "-c", f"set -o pipefail; {sys.executable} -m ledger.cli events --db {demo_url} "
                                          "| head -1"], capture_output=True, timeout=120)
    assert shell.returncode == 0 and shell.stderr == b"", shell.stderr


# ---------------------------------------------------------------- 3. ids wrap, width follows COLUMNS

LONG = "facility-with-a-very-long-name-that-no-column-of-forty-characters-can-hold-0001"


def _long_ledger(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'long.db'}"
    lines = [party("Lender [red]Corp[/red]", "congress", "lender"), party("Borrower", "lpc"),
             json.dumps({"type": "FacilityOpened", "effective_date": "1990-01-02", "facility": LONG,
                         "lender": "congress", "borrower": "lpc", "kind": "revolving", "limit": "2500000.00"}),
             json.dumps({"type": "LoanAdvanced", "effective_date": "1990-01-03", "facility": LONG,
                         "amount": "1234567.89"})]
    assert cli(["record", "-", "--db", url], input="\n".join(lines)).returncode == 0
    return url


def first_column(text: str) -> str:
    """The first column of a rich table's rows, its folded pieces joined."""
    body = text.split("╇", 1)[1] if "╇" in text else text
    return "".join(line.split("│")[1].strip() for line in body.splitlines() if line.startswith("│"))


def test_tables_fold_long_ids_and_take_their_width_from_columns(tmp_path):
    """At COLUMNS=60 no line is wider than 60 and the whole id is there; no ellipsis anywhere."""
    url = _long_ledger(tmp_path)
    for columns in ("60", "100"):
        shown = cli(["balances", "--db", url, "--as-of", "1990-02-01"], env={"COLUMNS": columns}).out
        assert max(len(line) for line in shown.splitlines()) <= int(columns)
        assert "…" not in shown and "..." not in shown
        assert first_column(shown) == LONG
    assert "1,234,567.89" in shown  # at 100 columns the figures keep their width
    unset = cli(["balances", "--db", url, "--as-of", "1990-02-01"]).out  # a pipe, COLUMNS unset: 100
    assert max(len(line) for line in unset.splitlines()) <= 100


def test_text_from_the_input_prints_literally_not_as_markup(tmp_path):
    """A party named `Lender [red]Corp[/red]` prints with its brackets, in `cledger events`."""
    url = _long_ledger(tmp_path)
    shown = cli(["events", "--db", url]).out
    assert "Lender [red]Corp[/red]" in shown


# ---------------------------------------------------------------- 4. ended_on, ended_by

def test_a_waived_breach_says_when_and_by_which_event(demo_url):
    """The §3(a) press move, waived on 19 Apr 1996 by waive-cit-location-press-0043; null before that."""
    after = json.loads(cli(["defaults", "--json", "--db", demo_url, "--as-of", "1996-06-20"]).out)
    by_id = {b["breach"]: b for b in after["breaches"]}
    waived = by_id["cit-location:mv-press-0043"]
    assert (waived["state"], waived["ended_on"], waived["ended_by"]) == ("waived", "1996-04-19",
                                                                         "waive-cit-location-press-0043")
    continuing = [b for b in after["breaches"] if b["state"] == "event-of-default"]
    assert continuing and all(b["ended_on"] is None and b["ended_by"] is None for b in continuing)
    before = json.loads(cli(["defaults", "--json", "--db", demo_url, "--as-of", "1996-04-10"]).out)
    press = next(b for b in before["breaches"] if b["breach"] == "cit-location:mv-press-0043")
    assert press["state"] == "event-of-default" and press["ended_on"] is None and press["ended_by"] is None
    at = ["--as-of", "1996-06-20", "--known-at", "1996-12-31"]
    models, reference = (cli(["defaults", "--json", "--db", demo_url, *at], env={"CLEDGER_REFERENCE": flag}).out
                         for flag in ("0", "1"))
    assert models == reference and json.loads(models)["breaches"] == after["breaches"]
    table = cli(["defaults", "--db", demo_url, "--as-of", "1996-06-20"]).out
    assert "waived on 1996-04-19 by waive-cit-location-press-0043" in table


# ---------------------------------------------------------------- 5. events: fields and filters

def test_events_show_amounts_and_filter_by_type_facility_and_dates(demo_url):
    """The revolver's advances, with their amounts; filters apply to --json; a bad date names the option."""
    shown = cli(["events", "--db", demo_url, "--type", "LoanAdvanced", "--facility", "lpc-revolver"]).out
    assert "adv-lpc-rev-1" in shown and "amount 8,000,000.00" in shown and "facility lpc-revolver" in shown
    assert "PaymentReceived" not in shown.split("\n", 1)[1]
    rows = json.loads(cli(["events", "--json", "--db", demo_url, "--type", "LoanAdvanced,PaymentReceived",
                           "--facility", "lpc-revolver", "--from", "1992-01-01", "--to", "1996-02-15"]).out)
    assert [r["id"] for r in rows] == ["adv-lpc-rev-2", "pay-lpc-rev-1", "adv-lpc-rev-3", "adv-lpc-rev-4"]
    one = json.loads(cli(["events", "--json", "--db", demo_url, "--id", "waive-cit-location-press-0043"]).out)
    assert [r["breach"] for r in one] == ["cit-location:mv-press-0043"]
    press = json.loads(cli(["events", "--json", "--db", demo_url, "--collateral", "press-0043"]).out)
    assert "mv-press-0043" in {r["id"] for r in press} and all(
        "press-0043" in json.dumps(r) for r in press)
    cit = json.loads(cli(["events", "--json", "--db", demo_url, "--party", "cit"]).out)
    assert cit and all("cit" in json.dumps(r) for r in cit)
    bad = cli(["events", "--db", demo_url, "--from", "1996-02-30"])
    assert bad.returncode == 2 and "--from" in bad.err and "Traceback" not in bad.err
    typo = cli(["events", "--db", demo_url, "--type", "LoanAdvnced"])
    assert typo.returncode == 2 and "did you mean 'LoanAdvanced'" in typo.err


# ---------------------------------------------------------------- 6. restatement in words

def test_restatement_reads_as_sentences_with_formatted_figures(demo_url):
    """§3(a) prints as §3(a), not as JSON; amounts carry thousands separators."""
    moved = cli(["restatement", "--db", demo_url, "--as-of", "1996-04-10", "--from", "1996-04-06",
                 "--to", "1996-04-30"], env={"COLUMNS": "100"}).out
    assert "§3(a)" in moved and "\\u00a7" not in moved and '{"' not in moved
    assert "location was casa-grande-piper, is now casa-grande-lear" in moved
    base = cli(["restatement", "--db", demo_url, "--as-of", "1996-03-15", "--from", "1996-03-13",
                "--to", "1996-03-15"], env={"COLUMNS": "100"}).out
    assert "availability was 4,655,000.00, is now 4,305,000.00" in base


# ---------------------------------------------------------------- 7. before anything was known

def test_known_at_before_the_first_event_says_nothing_was_known(demo_url):
    """As known in 1980 the ledger knew nothing: said so, not `borrower none` as if all were well."""
    shown = cli(["status", "--db", demo_url, "--as-of", "1996-06-20", "--known-at", "1980-01-01"])
    assert shown.returncode == 0
    assert shown.out.splitlines()[0].startswith("Note: nothing was recorded at or before 1980-01-01 23:59:59 UTC")
    assert "first event was recorded at 1990-01-11 09:00:00 UTC" in shown.out
    as_json = cli(["defaults", "--json", "--db", demo_url, "--as-of", "1996-06-20", "--known-at", "1980-01-01"])
    assert set(json.loads(as_json.out)) == {"as_of", "known_at", "status", "breaches"}
    assert "nothing was recorded at or before" in as_json.err
    known = cli(["defaults", "--json", "--db", demo_url, "--as-of", "1996-06-20"])
    assert "nothing was recorded" not in known.err


# ---------------------------------------------------------------- 8. comments, blank lines, pretty JSON

def test_comment_and_blank_lines_are_skipped_but_counted(tmp_path):
    """`#` lines and blank lines are accepted; a refusal's line number counts them."""
    url = f"sqlite:///{tmp_path / 'c.db'}"
    text = "# the lender\n\n" + party("Lender", "congress", "lender") + "\n   # the borrower\n" + party("B", "lpc")
    assert cli(["record", "-", "--db", url], input=text).returncode == 0
    bad = "# one\n\n" + json.dumps({"type": "LoanAdvanced", "effective_date": "1990-01-02", "facility": "nope",
                                    "amount": "1.00"})
    refused = cli(["record", "-", "--db", url], input=bad)
    assert refused.returncode == 2 and "line 3, field 'facility'" in refused.err


def test_pretty_printed_json_gets_the_one_event_per_line_hint(tmp_path):
    """A multi-line object: exit 2, the hint, and no ledger file left behind."""
    pretty = json.dumps(json.loads(party("Lender", "congress", "lender")), indent=2)
    result = cli(["record", "-", "--db", f"sqlite:///{tmp_path / 'p.db'}"], input=pretty)
    assert result.returncode == 2 and "one event per line" in result.err and "line 1" in result.err
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- a new ledger, or none

def test_record_says_a_new_ledger_was_created_and_leaves_nothing_when_refused(tmp_path):
    """A refused first batch leaves no file; an accepted one says where the new ledger is."""
    url = f"sqlite:///{tmp_path / 'new.db'}"
    orphan = json.dumps({"type": "LoanAdvanced", "effective_date": "1990-01-02", "facility": "f", "amount": "1.00"})
    refused = cli(["record", "-", "--db", url], input=orphan)
    assert refused.returncode == 2 and list(tmp_path.iterdir()) == []
    made = cli(["record", "-", "--db", url], input=party("Lender", "congress", "lender"))
    assert made.returncode == 0 and f"a new ledger was created at {tmp_path / 'new.db'}" in made.err
    again = cli(["record", "-", "--db", url], input=party("B", "lpc"))
    assert again.returncode == 0 and "new ledger" not in again.err
    refused_later = cli(["record", "-", "--db", url], input=orphan)
    assert refused_later.returncode == 2 and (tmp_path / "new.db").exists()  # an existing ledger is never removed


def test_import_csv_refused_into_a_new_ledger_leaves_nothing(tmp_path):
    """`import-csv` like `record`: a refused first import leaves no file; an accepted one says it made one."""
    refused = tmp_path / "refused.csv"
    refused.write_text("facility,lender,borrower,kind,effective_date\nf,nobody,lpc,revolving,1990-01-01\n")
    url = f"sqlite:///{tmp_path / 'i.db'}"
    result = cli(["import-csv", "FacilityOpened", str(refused), "--db", url])
    assert result.returncode == 2 and sorted(p.name for p in tmp_path.iterdir()) == ["refused.csv"]
    good = tmp_path / "good.csv"
    good.write_text("party,name,roles,effective_date\nlpc,LPC,borrower,1990-01-01\n")
    made = cli(["import-csv", "PartyRegistered", str(good), "--db", url])
    assert made.returncode == 0 and "a new ledger was created at" in made.err


# ---------------------------------------------------------------- 9. the demo cleans up

def test_demo_leaves_no_folder_behind(tmp_path):
    """`cledger demo` without --db builds in a temporary folder and removes it."""
    result = cli(["demo"], env={"TMPDIR": str(tmp_path), "COLUMNS": "100"})
    assert result.returncode == 0 and "1996" in result.out
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- 10. did you mean

def test_mistyped_names_get_a_suggestion_and_look_alikes_are_pointed_at(tmp_path):
    """Type, field, terms key and a recorded id get "did you mean"; a Cyrillic letter is named."""
    url = f"sqlite:///{tmp_path / 'm.db'}"
    assert cli(["record", "-", "--db", url], input=party("Lender", "congress", "lender") + "\n"
               + party("Borrower", "lpc")).returncode == 0
    opened = {"type": "FacilityOpened", "effective_date": "1990-01-02", "facility": "rev", "lender": "congress",
              "borrower": "lpc", "kind": "revolving"}
    cases = [({**opened, "type": "FacilityOpend"}, "did you mean 'FacilityOpened'?"),
             ({**{k: v for k, v in opened.items() if k != "facility"}, "facilty": "rev"}, "did you mean 'facility'?"),
             ({**opened, "lender": "congres"}, "did you mean 'congress'?"),
             ({**opened, "kind": "revolvng"}, "did you mean 'revolving'?"),
             ({"type": "AgreementExecuted", "effective_date": "1990-01-02", "agreement": "a", "title": "t",
               "parties": ["lpc"], "terms": {"lendr": "congress"}}, "did you mean 'lender'?"),
             ({**opened, "borrower": "lp\u0441"}, "character 3 of 'lpс' is U+0441 CYRILLIC SMALL LETTER ES, "
                                                  "not an ASCII letter"),
             ({**opened, "facility": "rev\u2011x"}, "U+2011 NON-BREAKING HYPHEN")]
    for event, expected in cases:
        result = cli(["record", "-", "--db", url], input=json.dumps(event, ensure_ascii=False))
        assert result.returncode == 2 and expected in result.err, (expected, result.err)
    assert json.loads(cli(["events", "--json", "--db", url]).out)[-1]["party"] == "lpc"  # nothing recorded


def test_a_mistyped_breach_id_in_a_waiver_gets_the_recorded_one(demo_url, tmp_path):
    """Waiving `cit-location:mv-press-043` suggests `cit-location:mv-press-0043`."""
    import shutil

    copy = tmp_path / "w.db"
    shutil.copy(demo_url[len("sqlite:///"):], copy)
    waiver = {"type": "DefaultWaived", "effective_date": "1996-06-21", "breach": "cit-location:mv-press-043",
              "by": "congress"}
    result = cli(["record", "-", "--db", f"sqlite:///{copy}"], input=json.dumps(waiver))
    assert result.returncode == 2 and "did you mean 'cit-location:mv-press-0043'?" in result.err, result.err


# ---------------------------------------------------------------- 11. the timeline chart

def _three_agreements(tmp_path) -> str:
    """Three agreements whose terms take effect within four days, and a revolver with a 1,000,000.00 limit."""
    url = f"sqlite:///{tmp_path / 'ag.db'}"
    agreements = [json.dumps({"type": "AgreementExecuted", "effective_date": day, "agreement": name, "title": name,
                              "parties": ["congress", "lpc"], "terms": {"lender": "congress", "promptly_days": i}})
                  for i, (day, name) in enumerate((("1996-03-01", "first-financing-agreement"),
                                                   ("1996-03-02", "second-amendment-agreement"),
                                                   ("1996-03-04", "third-amendment-agreement")), start=1)]
    facility = json.dumps({"type": "FacilityOpened", "effective_date": "1996-01-02", "facility": "rev",
                           "lender": "congress", "borrower": "lpc", "kind": "revolving", "limit": "1000000.00"})
    lines = [party("Lender", "congress", "lender"), party("Borrower", "lpc"), *agreements, facility]
    assert cli(["record", "-", "--db", url], input="\n".join(lines)).returncode == 0
    return url


def _timeline(url: str, start, end):
    from ledger.charts import _style, draw_timeline, timeline_data

    with open_ledger(url, reference=True) as lg, _style():
        fig = draw_timeline(timeline_data(lg.snapshot(), start, end))
        fig.canvas.draw()
    own = next(ax for ax in fig.axes if "own loans" in ax.get_title(loc="left"))
    return fig, own


def test_timeline_chart_is_written_and_counts_in_singular_and_plural(tmp_path):
    """`cledger chart` writes the PNG and says `1 facility of the lender`, `0 financings`."""
    url = _three_agreements(tmp_path)
    out = tmp_path / "t.png"
    written = cli(["chart", "--db", url, "--from", "1996-01-01", "--to", "1996-06-01", "--out", str(out)])
    assert written.returncode == 0 and out.read_bytes()[:4] == b"\x89PNG"
    assert "1 facility of the lender" in written.err and "0 financings" in written.err


def test_timeline_agreement_labels_do_not_overlap(tmp_path):
    """The labels of three agreements within four days: their boxes on the page are disjoint."""
    from datetime import date

    fig, _ = _timeline(_three_agreements(tmp_path), date(1996, 1, 1), date(1996, 6, 1))
    renderer = fig.canvas.get_renderer()
    labels = [t for ax in fig.axes for t in ax.texts if t.get_text().startswith("in force from")]
    assert len(labels) == 3
    boxes = [t.get_window_extent(renderer) for t in labels]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1:])


def test_timeline_draws_the_line_limit(tmp_path):
    """The revolver's 1,000,000.00 limit (100,000,000 cents) is a line of its own, labelled."""
    from datetime import date

    _, own = _timeline(_three_agreements(tmp_path), date(1996, 1, 1), date(1996, 6, 1))
    assert [l for l in own.get_lines() if l.get_linestyle() != "-" and 100_000_000 in set(l.get_ydata())]
    assert any("limit $1,000,000" in t.get_text() for t in own.texts)


def test_timeline_shades_the_overadvance(demo_url):
    """Jan-Feb 1996: the revolver's 11,668,118.00 above availability of 10,573,118.00 is shaded."""
    from datetime import date

    _, own = _timeline(demo_url, date(1996, 1, 1), date(1996, 8, 1))
    assert own.collections, "a shaded area"
    assert any(t.get_text().startswith("overadvance") for t in own.get_legend().texts)


# ---------------------------------------------------------------- 12. status in plain language

def test_status_starts_with_a_headline_in_plain_language(demo_url, tmp_path):
    """6 Events of Default on 20 Jun 1996; the Feb 1996 overadvance of 1,095,000.00 (11,668,118.00 owed
    against 10,573,118.00 available); no microseconds; `1 lien`, not `1 liens`; no empty boxes."""
    june = cli(["status", "--db", demo_url, "--as-of", "1996-06-20"], env={"COLUMNS": "100"}).out
    assert june.splitlines()[0] == "6 Events of Default"
    assert not re.search(r"\d\d:\d\d:\d\d\.\d{6}", june)
    assert max(len(line) for line in june.splitlines()) <= 100
    feb = cli(["status", "--db", demo_url, "--as-of", "1996-02-01", "--known-at", "1996-03-15"]).out
    assert feb.splitlines()[0] == "no Default · overadvance 1,095,000.00"
    july = cli(["status", "--db", demo_url, "--as-of", "1996-07-31"]).out
    assert july.splitlines()[0] == "6 Events of Default · 1 installment past due"

    url = f"sqlite:///{tmp_path / 's.db'}"
    lines = [party("Lender", "congress", "lender"), party("Borrower", "lpc"),
             json.dumps({"type": "CollateralRegistered", "effective_date": "1990-01-01", "collateral": "press-1",
                         "kind": "equipment", "owner": "lpc", "location": "plant"}),
             json.dumps({"type": "LienGranted", "effective_date": "1990-01-01", "lien": "l1", "grantor": "lpc",
                         "holder": "congress", "collateral": ["press-1"], "kind": "security-interest"})]
    location = json.dumps({"type": "LocationRegistered", "effective_date": "1990-01-01", "location": "plant",
                           "address": "1 Main St"})
    assert cli(["record", "-", "--db", url], input="\n".join([lines[0], lines[1], location, *lines[2:]])).returncode == 0
    small = cli(["status", "--db", url, "--as-of", "1990-02-01"]).out
    assert small.splitlines()[0] == "no Default"
    assert "1 lien in force" in small and "1 item held" in small and "no breaches" in small
    assert "no facilities opened" in small and "Caps: none" in small
    assert small.count("┏") <= 1  # at most the borrowing base: no empty balances or caps box
    defaults = cli(["defaults", "--db", url, "--as-of", "1990-02-01"]).out
    assert "no breaches" in defaults and "┏" not in defaults
