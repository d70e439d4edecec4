"""`cledger chart`, `cledger export` and `cledger import-csv` on the bundled 1996 scenario (SQLite).

Expected figures come from the scenario's own notes (ledger/data/README.md)
and docs/scenario-figures.md, worked by hand from the Amendment; none is
copied from the program's output.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import struct
from datetime import date
from pathlib import Path

import pytest

from ledger import open_ledger
from ledger.demo import scenario_path

SCENARIO = scenario_path()
LINES = SCENARIO.read_text(encoding="utf-8").splitlines()
OBJECTS = [json.loads(line) for line in LINES]
RANGE = ["--from", "1996-01-01", "--to", "1996-08-01"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _recorded(run_cli, url: str) -> None:
    result = run_cli(["record", str(SCENARIO), "--db", url])
    assert result.code == 0, result


def _png_chunks(data: bytes) -> list[bytes]:
    """The chunk types of a PNG file, in order."""
    assert data[:8] == PNG_SIGNATURE
    chunks, at = [], 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at:at + 4])
        chunks.append(data[at + 4:at + 8])
        at += 12 + length
    return chunks


def _png_size(data: bytes) -> tuple[int, int]:
    return struct.unpack(">II", data[16:24])


def _events_json(run_cli, url: str) -> list[dict]:
    result = run_cli(["events", "--json", "--db", url])
    assert result.code == 0, result
    return json.loads(result.stdout)


def _head(run_cli, url: str) -> str:
    result = run_cli(["audit", "--head", "--db", url])
    assert result.code == 0, result
    return result.stdout.strip()


# ---------------------------------------------------------------- charts

def test_both_charts_of_the_1996_scenario_are_written_as_pngs(sqlite_url, run_cli, tmp_path):
    """The timeline and the collateral map are PNG files, and their summaries count what the scenario holds."""
    _recorded(run_cli, sqlite_url)
    summaries = {}
    for chart in ("timeline", "collateral"):
        out = tmp_path / f"{chart}.png"
        result = run_cli(["chart", chart, *RANGE, "--out", str(out), "--db", sqlite_url, "--json"])
        assert result.code == 0, result
        data = out.read_bytes()
        chunks = _png_chunks(data)
        assert chunks[0] == b"IHDR" and chunks[-1] == b"IEND"
        assert b"tIME" not in chunks  # no time of writing in the file
        assert b"Software" not in data  # nor the software's name
        width, height = _png_size(data)
        assert width == 1500 and height > 600
        summaries[chart] = json.loads(result.stdout)
    timeline = summaries["timeline"]
    # README, "Later events": seven breaches (cit-location, two caps, furnish-notices,
    # protected-location-in, no-default-at-advance, protected-location-out); four moves
    # (press-0042, press-0043, molder-0117, nc-grinder-0012); eight notice events
    # (2 move notices sent, 1 financing notice sent, 3 received, 2 forwarded).
    assert timeline["breaches"] == 7
    assert timeline["moves"] == 4
    assert timeline["notices"] == 8
    # CIT and Bank One (all), Bank One LPC's and LCI's shares: four lines against caps;
    # Congress's own four facilities below them.
    assert timeline["financings"] == 4
    assert timeline["facilities_of_lender"] == 4
    assert timeline["known_through"] == "110 at 1996-07-01T15:00:00.000000+00:00"
    collateral = summaries["collateral"]
    assert collateral["items"] == 15 and collateral["items_not_shown"] == 0
    assert collateral["moves"] == 4


def test_the_same_ledger_and_options_give_byte_identical_charts(sqlite_url, run_cli, tmp_path):
    """Drawing twice, and drawing from a second ledger of the same log, give the same bytes."""
    _recorded(run_cli, sqlite_url)
    other = f"sqlite:///{tmp_path / 'other.db'}"
    _recorded(run_cli, other)
    for chart in ("timeline", "collateral"):
        paths = [tmp_path / f"{chart}-{n}.png" for n in range(3)]
        for path, url in zip(paths, (sqlite_url, sqlite_url, other)):
            result = run_cli(["chart", chart, *RANGE, "--out", str(path), "--db", url])
            assert result.code == 0, result
        first = paths[0].read_bytes()
        assert paths[1].read_bytes() == first
        assert paths[2].read_bytes() == first


def test_a_chart_as_known_before_the_amendment_shows_no_breach(sqlite_url, run_cli, tmp_path):
    """Known at 1 Mar 1996 the Amendment (caps, location rules) was not recorded: no breach, other bytes."""
    _recorded(run_cli, sqlite_url)
    now, before = tmp_path / "now.png", tmp_path / "before.png"
    assert run_cli(["chart", *RANGE, "--out", str(now), "--db", sqlite_url]).code == 0
    result = run_cli(["chart", *RANGE, "--out", str(before), "--known-at", "1996-03-01", "--db", sqlite_url,
                      "--json"])
    assert result.code == 0, result
    summary = json.loads(result.stdout)
    known = [o for o in OBJECTS if o["recorded_at"] <= "1996-03-01T23:59:59"]
    assert summary["known_through"].startswith(f"{len(known)} at ")
    assert summary["breaches"] == 0 and summary["moves"] == 0
    assert before.read_bytes() != now.read_bytes()


def test_chart_usage_errors_exit_2_and_a_missing_ledger_exits_3(sqlite_url, run_cli, tmp_path):
    """--from after --to, a non-PNG name, a missing folder: exit 2; no ledger: exit 3, and no file written."""
    missing = run_cli(["chart", *RANGE, "--out", str(tmp_path / "x.png"), "--db", sqlite_url])
    assert missing.code == 3, missing
    assert not (tmp_path / "x.png").exists()
    _recorded(run_cli, sqlite_url)
    for args in (["--from", "1996-09-01", "--to", "1996-08-01", "--out", str(tmp_path / "x.png")],
                 [*RANGE, "--out", str(tmp_path / "x.svg")],
                 [*RANGE, "--out", str(tmp_path / "no-such-folder" / "x.png")],
                 [*RANGE, "--out", str(tmp_path / "x.png"), "--kind", "equipment"]):
        result = run_cli(["chart", *args, "--db", sqlite_url])
        assert result.code == 2, (args, result)
        assert "Traceback" not in result.stderr
    assert not (tmp_path / "x.png").exists()


def test_the_timeline_follows_principal_caps_and_breaches_of_the_scenario(sqlite_url):
    """The sampled lines and bands are the scenario's figures: caps passed on 15 May, the waiver of 19 April."""
    from ledger.charts import collateral_data, timeline_data

    with open_ledger(sqlite_url, reference=True) as lg:
        lg.record_file(SCENARIO)
        snapshot = lg.snapshot()
        data = timeline_data(snapshot, date(1996, 1, 1), date(1996, 8, 1))
        places = collateral_data(snapshot, date(1996, 1, 1), date(1996, 8, 1))

    def value(series_key, day, field="principal"):
        series = next(s for s in data.others if s.key == series_key)
        i = max(n for n, d in enumerate(data.days) if d <= day)
        return getattr(series, field)[i]

    # README: adv-b1-lpc-term-3 (05-15) takes LPC's Bank One principal to 4,500,000.00 and all
    # Bank One to 6,000,000.00, above the 4,300,000 and 5,800,000 caps; the 07-01 repayment
    # of the interim loan brings them to 3,500,000.00 and 5,000,000.00.
    assert value("bank-one / lpc", date(1996, 5, 15)) == 4_500_000_00
    assert value("bank-one / lpc", date(1996, 5, 15), "cap") == 4_300_000_00
    assert value("bank-one", date(1996, 5, 15)) == 6_000_000_00
    assert value("bank-one", date(1996, 5, 15), "cap") == 5_800_000_00
    assert value("bank-one / lpc", date(1996, 7, 1)) == 3_500_000_00
    assert value("bank-one", date(1996, 7, 1)) == 5_000_000_00
    # CIT: 3.0M (01-17) + 1.5M (02-29) + 0.5M (03-20) + 0.3M (06-14) against 5.5M, a cap only
    # from 14 March, when the Amendment took effect.
    assert value("cit", date(1996, 2, 1)) == 3_000_000_00
    assert value("cit", date(1996, 2, 1), "cap") is None
    assert value("cit", date(1996, 6, 14)) == 5_300_000_00
    assert value("cit", date(1996, 6, 14), "cap") == 5_500_000_00
    assert [day for day, _ in data.terms] == [date(1996, 3, 14)]

    rows = {b.breach: b for b in data.breaches}
    waived = rows["cit-location:mv-press-0043"]
    assert waived.ended == (date(1996, 4, 19), "waived")
    assert [(s.start, s.stop, s.value) for s in waived.stretches] == [
        (date(1996, 4, 5), date(1996, 4, 19), "event-of-default")]  # grace 0: an EoD at once
    furnish = rows["furnish-notices:rcv-cit-demand-0520"]
    # received 05-20, 5 promptly days: a Default from 05-26, an EoD after 10 grace days, from 06-05
    assert [(s.start, s.value) for s in furnish.stretches] == [
        (date(1996, 5, 26), "default"), (date(1996, 6, 5), "event-of-default")]
    assert furnish.stretches[-1].stop == date(1996, 8, 2)
    cited = {m.event_id: m.breaches for m in data.marks}
    assert cited["mv-press-0042"] == ()  # moved with notice
    assert cited["mv-press-0043"] == ("§3(a) cit-location",)

    items = {r.collateral: r for r in places.rows}
    grinder = [(s.start, s.value[0], s.value[1]) for s in items["nc-grinder-0012"].stretches]
    # eligible at North Canton until the Amendment (§4(ii) from 03-14), eligible again at Akron from 06-17
    assert grinder == [(date(1996, 1, 1), "north-canton", "eligible"),
                       (date(1996, 3, 14), "north-canton", "ineligible"),
                       (date(1996, 6, 17), "akron-oh", "eligible")]
    assert items["nc-grinder-0012"].stretches[1].value[2] == ("§4(ii)",)
    assert items["molder-0117"].stretches[-1].start == date(1996, 6, 3)
    assert items["vienna-real-property"].stretches[0].value[1] == "not-lent"  # real property: no advance rate


# ---------------------------------------------------------------- export

def _rows(db: Path, sql: str) -> list[dict]:
    with sqlite3.connect(db) as conn:  # a fresh connection: what any reader of the file sees
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(sql)]


def _answer(run_cli, url: str, view: str, as_of: str, known_at: str | None = None) -> dict:
    args = [view, "--as-of", as_of, "--json", "--db", url] + (["--known-at", known_at] if known_at else [])
    result = run_cli(args)
    assert result.code == 0, result
    return json.loads(result.stdout)


def test_export_to_sqlite_matches_the_answers_on_a_fresh_read(sqlite_url, run_cli, tmp_path):
    """Every answer as of 1 Jul 1996 can be read back from the SQLite file, keys and indexes in place."""
    _recorded(run_cli, sqlite_url)
    out = tmp_path / "answers.db"
    result = run_cli(["export", "--as-of", "1996-07-01", "--out", str(out), "--db", sqlite_url, "--json"])
    assert result.code == 0, result
    assert json.loads(result.stdout)["tables"]["events"] == len(LINES)

    # docs/scenario-figures.md, "as of 1996-07-01, known now"
    (summary,) = _rows(out, "SELECT * FROM summary")
    assert summary["availability"] == "12107500.12" and summary["availability_cents"] == 1210750012
    assert summary["borrowing_base_principal"] == "11668118.00"
    assert summary["excess"] == "439382.12"
    assert summary["status"] == "event-of-default"
    assert summary["head"] == _head(run_cli, sqlite_url)

    caps = {r["cap"]: r for r in _rows(out, "SELECT * FROM caps")}
    assert caps["bank-one:lpc"]["principal"] == "3500000.00" and caps["bank-one:lpc"]["headroom"] == "800000.00"
    assert caps["bank-one:*"]["principal"] == "5000000.00"
    assert caps["cit:*"]["headroom_cents"] == 200_000_00

    balances = _answer(run_cli, sqlite_url, "balances", "1996-07-01")
    facilities = {r["facility"]: r for r in _rows(out, "SELECT * FROM facilities")}
    for f in balances["facilities"]:
        row = facilities[f["facility"]]
        assert (row["lender"], row["borrower"], row["financing"], row["principal"], row["credit_limit"]) == (
            f["lender"], f["borrower"], f["financing"], f["principal"], f["limit"])
        unpaid = _rows(out, f"SELECT due, unpaid FROM installments WHERE facility = '{f['facility']}' ORDER BY due")
        assert [{"due": r["due"], "amount": r["unpaid"]} for r in unpaid] == f["installments"]
    assert len(facilities) == len(balances["facilities"])
    assert [{k: c[k] for k in ("financing", "borrower")} | {"cap": c["cap_amount"], "principal": c["principal"],
                                                           "headroom": c["headroom"]}
            for c in _rows(out, "SELECT * FROM caps ORDER BY financing, coalesce(borrower, '')")] == balances["caps"]

    liens = _answer(run_cli, sqlite_url, "liens", "1996-07-01")
    stored = {r["lien"]: r for r in _rows(out, "SELECT * FROM liens")}
    assert set(stored) == {l["lien"] for l in liens["liens"]}
    for l in liens["liens"]:
        assert stored[l["lien"]]["consent"] == l["consent"]
        assert stored[l["lien"]]["consent_effective"] == l["consent_effective"]
        secured = _rows(out, f"SELECT facility FROM lien_secures WHERE lien = '{l['lien']}' ORDER BY facility")
        assert [r["facility"] for r in secured] == sorted(l["secures"])
    ranks = _rows(out, "SELECT collateral, lien, holder, rank FROM lien_ranks ORDER BY collateral, rank")
    assert [{"collateral": c["collateral"], "liens": [{"lien": r["lien"], "holder": r["holder"], "rank": r["rank"]}
                                                      for r in ranks if r["collateral"] == c["collateral"]]}
            for c in liens["by_collateral"]] == liens["by_collateral"]
    press = [r["holder"] for r in ranks if r["collateral"] == "press-0043"]
    assert press == ["cit", "congress"]  # the Subordination Agreement puts CIT first

    eligibility = _answer(run_cli, sqlite_url, "eligibility", "1996-07-01")
    items = {r["collateral"]: r for r in _rows(out, "SELECT * FROM collateral")}
    for c in eligibility["collateral"]:
        row = items[c["collateral"]]
        assert (row["kind"], row["location"], bool(row["eligible"])) == (c["kind"], c["location"], c["eligible"])
        reasons = _rows(out, f"SELECT rule, clause, detail FROM eligibility_reasons "
                             f"WHERE collateral = '{c['collateral']}' ORDER BY rule")
        assert reasons == sorted(c["reasons"], key=lambda r: r["rule"])
    assert sorted(k for k, r in items.items() if not r["eligible"]) == ["inv-north-canton", "molder-0117",
                                                                        "nc-lathe-0007"]

    defaults = _answer(run_cli, sqlite_url, "defaults", "1996-07-01")
    breaches = _rows(out, "SELECT * FROM breaches ORDER BY since, breach")
    assert [{k: b[k] for k in ("breach", "rule", "clause", "since", "event_of_default_from", "state", "detail")}
            for b in breaches] == [{k: b[k] for k in ("breach", "rule", "clause", "since", "event_of_default_from",
                                                      "state", "detail")} for b in defaults["breaches"]]
    for b in defaults["breaches"]:
        cited = _rows(out, f"SELECT event FROM breach_events WHERE breach = '{b['breach']}'")
        assert sorted(r["event"] for r in cited) == sorted(b["events"])
    waived = next(b for b in breaches if b["breach"] == "cit-location:mv-press-0043")
    assert waived["state"] == "waived" and waived["open"] == 0

    availability = _answer(run_cli, sqlite_url, "availability", "1996-07-01")
    classes = _rows(out, "SELECT kind, gross, ineligible, eligible, advance_rate, availability FROM availability "
                         "ORDER BY kind")
    assert classes == [{k: c[k] for k in ("kind", "gross", "ineligible", "eligible", "advance_rate",
                                          "availability")} for c in availability["classes"]]

    with sqlite3.connect(out) as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        fks = {(r[2], r[3]) for r in conn.execute("PRAGMA foreign_key_list(lien_ranks)")}
        assert fks == {("collateral", "collateral"), ("liens", "lien")}
        assert {(r[2], r[3]) for r in conn.execute("PRAGMA foreign_key_list(breach_events)")} == {
            ("breaches", "breach"), ("events", "event")}
        indexed = {r[1] for r in conn.execute("PRAGMA index_list(breaches)")}
        assert any("state" in name for name in indexed)
        assert conn.execute("SELECT typeof(principal_cents), typeof(principal) FROM facilities LIMIT 1").fetchone() \
            == ("integer", "text")  # money exact: text with two places, and whole cents


def test_export_known_at_shows_the_retroactive_consent(sqlite_url, run_cli, tmp_path):
    """As of 1 Feb 1996, CIT's lien is unconsented as known at 1 Mar and consented from 17 Jan as known at 15 Mar."""
    _recorded(run_cli, sqlite_url)
    early, late = tmp_path / "early.db", tmp_path / "late.db"
    for out, known in ((early, "1996-03-01"), (late, "1996-03-15")):
        result = run_cli(["export", "--as-of", "1996-02-01", "--known-at", known, "--out", str(out),
                          "--db", sqlite_url])
        assert result.code == 0, result
    assert _rows(early, "SELECT consent, consent_effective FROM liens WHERE lien = 'cit-lien'") == [
        {"consent": "unconsented", "consent_effective": None}]
    assert _rows(late, "SELECT consent, consent_effective, consented_by FROM liens WHERE lien = 'cit-lien'") == [
        {"consent": "consented", "consent_effective": "1996-01-17", "consented_by": "ev-consent-cit"}]
    known_early = sum(1 for o in OBJECTS if o["recorded_at"] <= "1996-03-01T23:59:59")
    assert _rows(early, "SELECT count(*) AS n FROM events")[0]["n"] == known_early
    (head,) = [r["head"] for r in _rows(early, "SELECT head FROM summary")]
    assert head.startswith(f"{known_early}:")
    proved = run_cli(["audit", "--expect-head", head, "--db", sqlite_url])  # the log still extends that head
    assert proved.code == 0, proved


def test_export_csv_writes_the_same_tables_as_sqlite(sqlite_url, run_cli, tmp_path):
    """--csv DIR writes one file per table, header first, holding the rows of the SQLite export."""
    _recorded(run_cli, sqlite_url)
    out, folder = tmp_path / "answers.db", tmp_path / "csv"
    question = ["--as-of", "1996-06-20", "--known-at", "1996-12-31"]
    assert run_cli(["export", *question, "--out", str(out), "--db", sqlite_url]).code == 0
    result = run_cli(["export", *question, "--csv", str(folder), "--db", sqlite_url])
    assert result.code == 0, result
    tables = [r["name"] for r in _rows(out, "SELECT name FROM sqlite_master WHERE type = 'table'")]
    assert sorted(p.stem for p in folder.glob("*.csv")) == sorted(tables)
    for table in tables:
        text = (folder / f"{table}.csv").read_text(encoding="utf-8-sig")
        from_csv = list(csv.DictReader(io.StringIO(text, newline="")))
        from_db = [{k: "" if v is None else str(v) for k, v in row.items()}
                   for row in _rows(out, f"SELECT * FROM [{table}]")]
        assert from_csv == from_db, table
    breaches = list(csv.DictReader(io.StringIO((folder / "breaches.csv").read_text(encoding="utf-8-sig"))))
    assert {b["clause"] for b in breaches} >= {"§3(a)", "§3(b)", "§5(a)"}


def test_export_does_not_overwrite_without_replace(sqlite_url, run_cli, tmp_path):
    """An existing file is refused (exit 2) and left as it was; --replace overwrites; no ledger is exit 3."""
    out = tmp_path / "answers.db"
    assert run_cli(["export", "--as-of", "1996-06-20", "--out", str(out), "--db", sqlite_url]).code == 3
    assert not out.exists()
    _recorded(run_cli, sqlite_url)
    assert run_cli(["export", "--as-of", "1996-06-20", "--out", str(out), "--db", sqlite_url]).code == 0
    before = out.read_bytes()
    again = run_cli(["export", "--as-of", "1996-03-13", "--out", str(out), "--db", sqlite_url])
    assert again.code == 2 and "already exists" in again.stderr, again
    assert out.read_bytes() == before
    replaced = run_cli(["export", "--as-of", "1996-03-13", "--out", str(out), "--replace", "--db", sqlite_url])
    assert replaced.code == 0, replaced
    assert _rows(out, "SELECT as_of FROM summary") == [{"as_of": "1996-03-13"}]
    both = run_cli(["export", "--as-of", "1996-03-13", "--out", str(out), "--csv", str(tmp_path / "c"),
                    "--db", sqlite_url])
    assert both.code == 2, both
    own = run_cli(["export", "--out", sqlite_url[len("sqlite:///"):], "--replace", "--db", sqlite_url])
    assert own.code == 2 and "own database" in own.stderr, own


# ---------------------------------------------------------------- import-csv

CSV_COLUMNS = {
    "CollateralRegistered": ["collateral", "kind", "owner", "location", "serial", "description", "value",
                             "effective_date", "id", "recorded_at", "actor"],
    "LienGranted": ["lien", "grantor", "holder", "collateral", "kind", "secures", "perfected_on",
                    "effective_date", "id", "recorded_at", "actor"],
}


def _csv_of(type_name: str, objects: list[dict]) -> str:
    """The CSV a lender would keep for these events: lists as ;-separated cells."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS[type_name])
    for obj in objects:
        assert obj["type"] == type_name
        writer.writerow([";".join(v) if isinstance(v := obj.get(c, ""), list) else v
                         for c in CSV_COLUMNS[type_name]])
    return buffer.getvalue()


def test_csv_import_of_the_equipment_list_round_trips_through_events_json(sqlite_url, run_cli, tmp_path):
    """The scenario recorded with its equipment list and blanket lien imported from CSV is the same log, byte for byte."""
    equipment = [n for n, o in enumerate(OBJECTS)
                 if o["type"] == "CollateralRegistered" and o["kind"] == "equipment"]
    blanket = next(n for n, o in enumerate(OBJECTS) if o.get("lien") == "congress-blanket")
    assert equipment == list(range(equipment[0], equipment[-1] + 1)) and blanket > equipment[-1]

    direct = f"sqlite:///{tmp_path / 'direct.db'}"
    _recorded(run_cli, direct)

    def record_lines(first: int, stop: int) -> None:
        path = tmp_path / f"lines-{first}.jsonl"
        path.write_text("\n".join(LINES[first:stop]) + "\n", encoding="utf-8")
        result = run_cli(["record", str(path), "--db", sqlite_url])
        assert result.code == 0, result

    def import_rows(type_name: str, rows: list[int]) -> None:
        path = tmp_path / f"{type_name}.csv"
        path.write_bytes(b"\xef\xbb\xbf" + _csv_of(type_name, [OBJECTS[n] for n in rows]).encode("utf-8"))
        result = run_cli(["import-csv", type_name, str(path), "--db", sqlite_url])
        assert result.code == 0, result
        assert f"recorded {len(rows)} {type_name} event(s)" in result.stderr

    record_lines(0, equipment[0])
    import_rows("CollateralRegistered", equipment)
    record_lines(equipment[-1] + 1, blanket)
    import_rows("LienGranted", [blanket])  # its 13 items as one ;-separated cell
    record_lines(blanket + 1, len(LINES))

    imported = _events_json(run_cli, sqlite_url)
    assert imported == _events_json(run_cli, direct)
    assert _head(run_cli, sqlite_url) == _head(run_cli, direct)  # same canonical bytes, same hash chain
    press = next(e for e in imported if e["id"] == "ev-col-press-0042")
    given = OBJECTS[equipment[0]]
    assert {k: v for k, v in press.items() if k not in ("position", "recorded_at")} == {
        k: v for k, v in given.items() if k != "recorded_at"}
    assert press["recorded_at"] == "1990-01-11T10:10:00.000000+00:00" == given["recorded_at"].replace("+", ".000000+")
    assert len(next(e for e in imported if e["id"] == "ev-lien-congress-blanket")["collateral"]) == 13


def _equipment_csv_with(bad_row: list[str]) -> bytes:
    """Two good rows (the second with a two-line description), then `bad_row` on line 5."""
    good = [
        ["press-9001", "equipment", "lpc", "akron-oh", "VD-96-9001", "Van Dorn press", "900000.00", "1996-06-01"],
        ["press-9002", "equipment", "lpc", "akron-oh", "VD-96-9002", "Van Dorn press\nrebuilt 1995", "800000.00",
         "1996-06-01"],
    ]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS["CollateralRegistered"][:8])
    writer.writerows(good + [bad_row])
    return buffer.getvalue().encode("utf-8")


@pytest.mark.parametrize("bad_row, column, words", [
    (["press-9003", "equipment", "lpc", "akron-oh", "VD-96-9003", "press", "1,250,000.00", "1996-06-01"],
     "value", "plain digits"),
    (["press-9003", "equipment", "lpc", "north-canton-2", "VD-96-9003", "press", "700000.00", "1996-06-01"],
     "location", "north-canton-2"),
    (["press-9003", "machine", "lpc", "akron-oh", "VD-96-9003", "press", "700000.00", "1996-06-01"],
     "kind", "equipment, inventory"),
    (["press-9003", "equipment", "lpc", "akron-oh", "VD-96-9003", "press", "700000.00", "1996-06-31"],
     "effective_date", "not a calendar date"),
    (["press-9001", "equipment", "lpc", "akron-oh", "VD-96-9003", "press", "700000.00", "1996-06-01"],
     "collateral", "already recorded"),
])
def test_a_bad_csv_cell_is_refused_naming_line_and_column_and_nothing_is_recorded(
        sqlite_url, run_cli, tmp_path, bad_row, column, words):
    """The third data row (line 5: the header is line 1, a quoted cell spans lines 3-4) is named; the log is unchanged."""
    _recorded(run_cli, sqlite_url)
    before_events, before_head = _events_json(run_cli, sqlite_url), _head(run_cli, sqlite_url)
    path = tmp_path / "equipment.csv"
    path.write_bytes(_equipment_csv_with(bad_row))
    result = run_cli(["import-csv", "CollateralRegistered", str(path), "--db", sqlite_url])
    assert result.code == 2, result
    assert f"line 5, column '{column}'" in result.stderr, result
    assert words in result.stderr, result
    assert "Traceback" not in result.stderr
    assert _events_json(run_cli, sqlite_url) == before_events
    assert _head(run_cli, sqlite_url) == before_head


def test_a_bad_header_or_list_cell_is_refused_with_line_and_column(sqlite_url, run_cli, tmp_path):
    """An unknown column and a missing required one are line 1; an empty list item names its line and column."""
    _recorded(run_cli, sqlite_url)
    cases = [
        ("CollateralRegistered", "collateral,kind,owner,location,colour,effective_date\n",
         "line 1, column 'colour'"),
        ("CollateralRegistered", "collateral,kind,owner,effective_date\npress-9,equipment,lpc,1996-06-01\n",
         "line 1: the header has no column 'location'"),
        ("LienGranted", "lien,grantor,holder,collateral,kind,effective_date\n"
                        "lien-9,lpc,congress,press-0042;;press-0043,security-interest,1996-06-01\n",
         "line 2, column 'collateral'"),
        ("LienGranted", "lien,grantor,holder,collateral,kind,effective_date\n"
                        "lien-9,lpc,congress,press-0042;press-9999,security-interest,1996-06-01\n",
         "press-9999"),
    ]
    head = _head(run_cli, sqlite_url)
    for n, (type_name, text, expected) in enumerate(cases):
        path = tmp_path / f"case-{n}.csv"
        path.write_text(text, encoding="utf-8")
        result = run_cli(["import-csv", type_name, str(path), "--db", sqlite_url])
        assert result.code == 2, (text, result)
        assert expected in result.stderr, (text, result)
    assert _head(run_cli, sqlite_url) == head


def test_import_csv_template_prints_the_header_a_type_takes(run_cli):
    """--template prints the columns, required first; an unknown type is exit 2."""
    result = run_cli(["import-csv", "CollateralRegistered", "--template"])
    assert result.code == 0, result
    assert result.stdout.strip() == ("collateral,kind,owner,location,effective_date,"
                                     "serial,description,value,id,recorded_at,actor")
    unknown = run_cli(["import-csv", "EquipmentList", "--template"])
    assert unknown.code == 2 and "CollateralRegistered" in unknown.stderr, unknown
