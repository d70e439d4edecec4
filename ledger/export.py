"""`cledger export`: the answers as of D, as known at K, as tables a user can browse (SQLite or CSV).

The tables hold exactly what the query commands answer (`Snapshot.liens`,
`.eligibility`, `.balances`, `.defaults`, `.availability`), one row per
entity, joined by foreign keys, so that datasette, a spreadsheet or plain SQL
can browse them:

    summary                   one row: as of, known at, the last event known and the head digest there,
                              the borrower's status, the borrowing base
    events                    the log as known at K (what the answers rest on), voided ones flagged
    facilities                principal per facility (and each facility a lien secures)
    installments              what remains unpaid of each installment   -> facilities
    caps                      each cap in force: cap, principal, headroom
    collateral                each item held: kind, location, value, eligible (and each item a lien covers)
    eligibility_reasons       why an item is ineligible, with the clause -> collateral
    liens                     the liens in force, consent and from when  -> events
    lien_ranks                rank of each lien on each item (1 = senior) -> collateral, liens
    lien_secures              the facilities each lien secures          -> liens, facilities
    breaches                  every breach begun by D, its state on D
    breach_events             the events each breach cites              -> breaches, events
    availability              the borrowing base per kind of collateral
    availability_ineligible   ineligible value per kind and rule        -> availability
    about                     what each table holds

Money is written exactly: a decimal string with two places (`"381882.00"`, as in
the JSON answers) and, beside it, the same amount in whole cents as an integer
(`principal_cents`) for sorting and sums. No amount is ever a binary float.
Dates are ISO text; flags are 0/1.

The SQLite file is built in a temporary file beside the target with
`sqlite-utils`, checked (`PRAGMA foreign_key_check`, `integrity_check`) and
then moved into place, so a half-written export is never left behind.
"""

from __future__ import annotations

import csv
import json
import os
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable

import attrs

from ledger.errors import UsageError
from ledger.files import replaced_atomically, temporary_beside
from ledger.values import iso_time, money


@attrs.frozen
class Table:
    """One exported table: its columns (name -> str or int), keys and rows."""

    name: str
    about: str
    columns: dict[str, type]
    pk: tuple[str, ...]
    foreign_keys: tuple[tuple[str, str, str], ...] = ()
    indexes: tuple[tuple[str, ...], ...] = ()
    unique: tuple[tuple[str, ...], ...] = ()
    rows: tuple[dict[str, Any], ...] = ()


@attrs.frozen
class ExportResult:
    """What an export wrote: where, for which question, and how many rows per table."""

    out: str
    format: str  # sqlite or csv
    as_of: date
    known_at: datetime
    known_through: str | None
    rows: dict[str, int]

    def to_json(self) -> dict[str, Any]:
        return {"out": self.out, "format": self.format, "as_of": self.as_of.isoformat(),
                "known_at": iso_time(self.known_at), "known_through": self.known_through,
                "tables": dict(self.rows)}


# ---------------------------------------------------------------- rows from the answers

def _cents(amount: Decimal | None) -> int | None:
    return None if amount is None else int((amount * 100).to_integral_value())


def _money(row: dict[str, Any], name: str, amount: Decimal | None) -> None:
    row[name] = money(amount) if amount is not None else None
    row[f"{name}_cents"] = _cents(amount)


def _d(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _money_columns(*names: str) -> dict[str, type]:
    out: dict[str, type] = {}
    for name in names:
        out[name] = str
        out[f"{name}_cents"] = int
    return out


def head_at(lg, position: int | None) -> str | None:
    """The head digest POSITION:SHA256HEX of the log as it stood at `position` (what `audit --expect-head` takes)."""
    if not position:
        return None
    row = next(iter(lg.store.log_rows(start=position, chunk=1)), None)
    return f"{row.position}:{row.chain}" if row is not None and row.position == position else None


def build_tables(snapshot, as_of: date, *, head: str | None = None) -> list[Table]:
    """Every table of the export, in an order where a table comes after the tables it refers to."""
    from ledger.recording import record_body
    from projections.context import voided_ids

    status = snapshot.status(as_of)
    liens, eligibility, balances = status.liens, status.eligibility, status.balances
    defaults, availability = status.defaults, status.availability
    ctx = snapshot.ctx
    known = ctx.known
    voided = voided_ids(known)

    # -- summary
    last = known[-1] if known else None
    summary = {"as_of": as_of.isoformat(), "known_at": iso_time(snapshot.known_at),
               "last_position": last.position if last else None,
               "last_recorded_at": iso_time(last.recorded_at) if last else None,
               "head": head,
               "lender": ctx.lender, "status": defaults.status}
    _money(summary, "availability", availability.availability)
    _money(summary, "borrowing_base_principal", availability.principal)
    _money(summary, "excess", availability.excess)
    summary["borrowing_base_facilities"] = ";".join(availability.facilities)

    # -- events known at K
    events = []
    for rec in known:
        body = record_body(rec.event, rec.event_id, rec.position, rec.recorded_at, rec.actor)
        events.append({"id": rec.event_id, "position": rec.position, "type": rec.event.type_name,
                       "effective_date": rec.event.effective_date.isoformat(),
                       "recorded_at": iso_time(rec.recorded_at), "actor": rec.actor,
                       "voided": int(rec.event_id in voided),
                       "json": json.dumps(body, ensure_ascii=False, sort_keys=True)})

    # -- facilities (those opened by D, and any a lien in force secures that opens later)
    facilities: dict[str, dict[str, Any]] = {}
    installments = []
    for f in balances.facilities:
        opened = ctx.facilities.get(f.facility)
        row = {"facility": f.facility, "lender": f.lender, "borrower": f.borrower, "financing": f.financing,
               "kind": opened.event.kind.value if opened else None,
               "opened_on": _d(opened.event.effective_date) if opened else None, "open_on_as_of": 1}
        _money(row, "principal", f.principal)
        _money(row, "credit_limit", f.limit)
        facilities[f.facility] = row
        for i in f.installments:
            inst = {"facility": f.facility, "due": i.due.isoformat()}
            _money(inst, "unpaid", i.amount)
            inst["paid_in_full"] = int(i.amount == 0)
            installments.append(inst)
    for lien in liens.liens:
        for name in lien.secures:
            if name not in facilities:
                rec = ctx.facilities.get(name)
                ev = rec.event if rec else None
                row = {"facility": name, "lender": ev.lender if ev else None, "borrower": ev.borrower if ev else None,
                       "financing": ev.financing if ev else None, "kind": ev.kind.value if ev else None,
                       "opened_on": _d(ev.effective_date) if ev else None, "open_on_as_of": 0}
                _money(row, "principal", None)
                _money(row, "credit_limit", ev.limit if ev else None)
                facilities[name] = row

    caps = []
    for c in balances.caps:
        row = {"cap": f"{c.financing}:{c.borrower or '*'}", "financing": c.financing, "borrower": c.borrower}
        _money(row, "cap_amount", c.cap)
        _money(row, "principal", c.principal)
        _money(row, "headroom", c.headroom)
        row["over_cap"] = int(c.headroom < 0)
        caps.append(row)

    # -- collateral (held on D, and any a lien in force covers that is no longer held)
    collateral: dict[str, dict[str, Any]] = {}
    reasons = []
    for item in eligibility.collateral:
        reg = ctx.collateral.get(item.collateral)
        ev = reg.event if reg else None
        row = {"collateral": item.collateral, "kind": item.kind, "owner": ev.owner if ev else None,
               "location": item.location, "serial": ev.serial if ev else None,
               "description": ev.description if ev else None, "held": 1, "eligible": int(item.eligible)}
        _money(row, "value", item.value)
        collateral[item.collateral] = row
        for r in item.reasons:
            reasons.append({"collateral": item.collateral, "rule": r.rule, "clause": r.clause, "detail": r.detail})
    for entry in liens.by_collateral:
        if entry.collateral not in collateral:
            reg = ctx.collateral.get(entry.collateral)
            ev = reg.event if reg else None
            row = {"collateral": entry.collateral, "kind": ev.kind.value if ev else None,
                   "owner": ev.owner if ev else None, "location": None, "serial": ev.serial if ev else None,
                   "description": ev.description if ev else None, "held": 0, "eligible": None}
            _money(row, "value", None)
            collateral[entry.collateral] = row

    # -- liens
    lien_rows, ranks, secures = [], [], []
    for lien in liens.liens:
        granted_by = lien.events[0] if lien.events else None
        consented_by = lien.events[1] if len(lien.events) > 1 else None
        lien_rows.append({"lien": lien.lien, "holder": lien.holder, "grantor": lien.grantor, "kind": lien.kind,
                          "consent": lien.consent, "consent_effective": _d(lien.consent_effective),
                          "granted_by": granted_by, "consented_by": consented_by,
                          "collateral": ";".join(lien.collateral), "secures": ";".join(lien.secures)})
        for name in lien.secures:
            secures.append({"lien": lien.lien, "facility": name})
    for entry in liens.by_collateral:
        for ranked in entry.liens:
            ranks.append({"collateral": entry.collateral, "lien": ranked.lien, "holder": ranked.holder,
                          "rank": ranked.rank})

    # -- breaches
    breach_rows, breach_events = [], []
    for b in defaults.breaches:
        breach_rows.append({"breach": b.breach, "rule": b.rule, "clause": b.clause, "since": b.since.isoformat(),
                            "event_of_default_from": b.event_of_default_from.isoformat() if b.event_of_default_from else None, "state": b.state,
                            "open": int(b.state in ("default", "event-of-default")), "detail": b.detail})
        for event_id in b.events:
            breach_events.append({"breach": b.breach, "event": event_id})

    # -- availability
    classes, by_rule = [], []
    for c in availability.classes:
        row = {"kind": c.kind}
        for name in ("gross", "ineligible", "eligible"):
            _money(row, name, getattr(c, name))
        row["advance_rate"] = c.advance_rate
        _money(row, "availability", c.availability)
        classes.append(row)
        for rule, amount in c.ineligible_by_rule:
            r = {"kind": c.kind, "rule": rule}
            _money(r, "ineligible", amount)
            by_rule.append(r)

    tables = [
        Table("summary", "One row: the question (as of, known at), the last event known, the borrower's "
              "status and the borrowing base.",
              {"as_of": str, "known_at": str, "last_position": int, "last_recorded_at": str, "head": str,
               "lender": str, "status": str, **_money_columns("availability", "borrowing_base_principal", "excess"),
               "borrowing_base_facilities": str},
              ("as_of",), rows=(summary,)),
        Table("events", "The log as known at K, in recorded order: every answer rests on these. "
              "voided = 1 where a later EventVoided known at K removed it.",
              {"id": str, "position": int, "type": str, "effective_date": str, "recorded_at": str, "actor": str,
               "voided": int, "json": str},
              ("id",), indexes=(("type",), ("effective_date",)), unique=(("position",),), rows=tuple(events)),
        Table("facilities", "Principal per facility opened by the as-of date (open_on_as_of = 1), and any "
              "facility a lien in force secures that opens later (open_on_as_of = 0).",
              {"facility": str, "lender": str, "borrower": str, "financing": str, "kind": str, "opened_on": str,
               "open_on_as_of": int, **_money_columns("principal", "credit_limit")},
              ("facility",), indexes=(("financing",), ("borrower",), ("lender",)),
              rows=tuple(facilities[k] for k in sorted(facilities))),
        Table("installments", "What remains unpaid of each scheduled installment, by due date.",
              {"facility": str, "due": str, **_money_columns("unpaid"), "paid_in_full": int},
              ("facility", "due"), foreign_keys=(("facility", "facilities", "facility"),), indexes=(("due",),),
              rows=tuple(installments)),
        Table("caps", "Each cap in the terms in force on the as-of date, against the principal it covers "
              "(cap = financing:borrower, * for all borrowers).",
              {"cap": str, "financing": str, "borrower": str, **_money_columns("cap_amount", "principal", "headroom"),
               "over_cap": int},
              ("cap",), indexes=(("financing",),), rows=tuple(caps)),
        Table("collateral", "Each item held on the as-of date (held = 1) with its eligibility, and any item a "
              "lien in force still covers that is no longer held (held = 0).",
              {"collateral": str, "kind": str, "owner": str, "location": str, "serial": str, "description": str,
               "held": int, "eligible": int, **_money_columns("value")},
              ("collateral",), indexes=(("kind",), ("location",), ("eligible",)),
              rows=tuple(collateral[k] for k in sorted(collateral))),
        Table("eligibility_reasons", "Why an item is ineligible: the rule, the clause and a sentence.",
              {"collateral": str, "rule": str, "clause": str, "detail": str},
              ("collateral", "rule"), foreign_keys=(("collateral", "collateral", "collateral"),),
              indexes=(("rule",),), rows=tuple(reasons)),
        Table("liens", "The liens in force on the as-of date; consent is lender (the lender's own), consented "
              "or unconsented. collateral and secures repeat lien_ranks and lien_secures as ;-lists.",
              {"lien": str, "holder": str, "grantor": str, "kind": str, "consent": str, "consent_effective": str,
               "granted_by": str, "consented_by": str, "collateral": str, "secures": str},
              ("lien",), foreign_keys=(("granted_by", "events", "id"), ("consented_by", "events", "id")),
              indexes=(("holder",), ("consent",)), rows=tuple(lien_rows)),
        Table("lien_ranks", "The rank of each lien on each item it covers: 1 = senior.",
              {"collateral": str, "lien": str, "holder": str, "rank": int},
              ("collateral", "lien"),
              foreign_keys=(("collateral", "collateral", "collateral"), ("lien", "liens", "lien")),
              indexes=(("lien",), ("holder",)), unique=(("collateral", "rank"),), rows=tuple(ranks)),
        Table("lien_secures", "The facilities each lien secures.",
              {"lien": str, "facility": str}, ("lien", "facility"),
              foreign_keys=(("lien", "liens", "lien"), ("facility", "facilities", "facility")),
              indexes=(("facility",),), rows=tuple(secures)),
        Table("breaches", "Every breach begun on or before the as-of date, its state on that date "
              "(default, event-of-default, cured, waived; open = 1 for the first two), and why.",
              {"breach": str, "rule": str, "clause": str, "since": str, "event_of_default_from": str,
               "state": str, "open": int, "detail": str},
              ("breach",), indexes=(("rule",), ("state",), ("since",)), rows=tuple(breach_rows)),
        Table("breach_events", "The events each breach cites.",
              {"breach": str, "event": str}, ("breach", "event"),
              foreign_keys=(("breach", "breaches", "breach"), ("event", "events", "id")),
              indexes=(("event",),), rows=tuple(breach_events)),
        Table("availability", "The borrowing base per kind of collateral: gross, ineligible and eligible value, "
              "the advance rate (as given) and the availability, rounded half-even to the cent.",
              {"kind": str, **_money_columns("gross", "ineligible", "eligible"), "advance_rate": str,
               **_money_columns("availability")},
              ("kind",), rows=tuple(classes)),
        Table("availability_ineligible", "Ineligible value per kind and rule.",
              {"kind": str, "rule": str, **_money_columns("ineligible")}, ("kind", "rule"),
              foreign_keys=(("kind", "availability", "kind"),), rows=tuple(by_rule)),
    ]
    about = Table("about", "What each table holds.", {"table": str, "holds": str}, ("table",),
                  rows=tuple({"table": t.name, "holds": t.about} for t in tables))
    return [about, *tables]


# ---------------------------------------------------------------- writing

def _target_checks(out: Path, replace: bool, ledger_db: str | None) -> None:
    if ledger_db and ledger_db.startswith("sqlite:///"):
        own = Path(ledger_db[len("sqlite:///"):].split("?", 1)[0])
        if own.exists() and out.exists() and own.resolve() == out.resolve():
            raise UsageError(f"--out {out} is the ledger's own database; export to another file")
    if out.exists() and out.is_dir():
        raise UsageError(f"--out {out} is a folder; name a .db file (or use --csv DIR)")
    if out.exists() and not replace:
        raise UsageError(f"{out} already exists; choose another file or pass --replace")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"there is no folder {folder} for {out}")


def write_sqlite(tables: Iterable[Table], out: Path) -> None:
    """Create every table with its keys and indexes, insert the rows, check, then move into place."""
    import sqlite_utils

    with temporary_beside(out) as tmp:
        os.unlink(tmp)  # sqlite-utils creates the file itself
        db = sqlite_utils.Database(tmp)
        try:
            for t in tables:
                not_null = {c for c in t.pk}
                db[t.name].create(t.columns, pk=t.pk[0] if len(t.pk) == 1 else t.pk, not_null=not_null,
                                  foreign_keys=list(t.foreign_keys))
                if t.rows:
                    db[t.name].insert_all(t.rows, batch_size=500)
                for cols in t.unique:
                    db[t.name].create_index(list(cols), unique=True)
                for cols in t.indexes:
                    db[t.name].create_index(list(cols))
            problems = db.execute("PRAGMA foreign_key_check").fetchall()
            if problems:  # the tables above are built so that this cannot happen: a bug
                raise RuntimeError(f"the export breaks its own foreign keys: {problems[:5]}")
            check = db.execute("PRAGMA integrity_check").fetchone()[0]
            if check != "ok":
                raise RuntimeError(f"SQLite integrity check of the export failed: {check}")
        finally:
            db.close()


def csv_cell(value: Any) -> Any:
    return "" if value is None else value


def write_csv(tables: Iterable[Table], folder: Path, *, replace: bool, ledger_store=None) -> None:
    """One UTF-8 CSV file per table (with a BOM, so spreadsheets read § and → right), header first."""
    tables = list(tables)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"--csv {folder} is a file; name a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        from ledger.errors import StoreUnavailable, printable

        raise StoreUnavailable(f"cannot write {printable(str(folder))}: {exc.strerror or exc}") from None
    existing = [t.name + ".csv" for t in tables if (folder / f"{t.name}.csv").exists()]
    if existing and not replace:
        raise UsageError(f"{folder} already holds {', '.join(existing[:3])}"
                         f"{' …' if len(existing) > 3 else ''}; choose another folder or pass --replace")
    for t in tables:
        if ledger_store is not None:
            from ledger.api import refuse_own_file

            refuse_own_file(ledger_store, folder / f"{t.name}.csv", "--csv")
    for t in tables:
        with replaced_atomically(folder / f"{t.name}.csv", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(list(t.columns))
            for row in t.rows:
                writer.writerow([csv_cell(row.get(c)) for c in t.columns])


def export(lg, as_of: date, known_at: datetime, *, out: str | None = None, csv_dir: str | None = None,
           replace: bool = False, ledger_db: str | None = None) -> ExportResult:
    """Write the answers as of `as_of`, as known at `known_at`, to a SQLite file or a folder of CSV files."""
    if (out is None) == (csv_dir is None):
        raise UsageError("give either --out FILE.db or --csv DIR")
    from ledger.api import refuse_own_file

    if out is not None:
        refuse_own_file(lg.store, out, "--out")
        _target_checks(Path(out), replace, ledger_db)
    snapshot = lg.snapshot(known_at)
    known = snapshot.ctx.known
    tables = build_tables(snapshot, as_of, head=head_at(lg, known[-1].position if known else None))
    if out is not None:
        write_sqlite(tables, Path(out))
        target, fmt = out, "sqlite"
    else:
        write_csv(tables, Path(csv_dir), replace=replace, ledger_store=lg.store)
        target, fmt = csv_dir, "csv"
    through = f"{known[-1].position} at {iso_time(known[-1].recorded_at)}" if known else None
    return ExportResult(str(target), fmt, as_of, known_at, through, {t.name: len(t.rows) for t in tables})
