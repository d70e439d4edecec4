#!/usr/bin/env python
"""Generate a large, realistic synthetic ledger in the contract's JSON Lines.

    python scripts/synth.py --n 1000000 --seed 7 --out /tmp/synth.jsonl
    python scripts/synth.py --n 20000 --days 700 --items 300 --out -

The same arguments give the same bytes. Lines are written a recorded day at a
time, so memory grows with the number of collateral items (--items), not with
--n. Exactly N lines are written: the valuations fill each day up to a steady
share of N, and generation stops at the N-th line (every event refers only to
earlier lines, so any prefix is itself a valid log).

The story is the 1996 Lexington/Congress deal (ledger/data/lexington-1996.jsonl)
at scale:
- setup, recorded 1990-01-11 .. 1996-03-14: parties congress, lpc, lci, cit,
  bank-one; 40 locations; Congress's revolvers and term loans with dated
  history; the equipment and inventory lots acquired in batches, each batch
  under its own Congress blanket lien ("chunks"); CIT's loan, lien on part of
  the equipment at the three CIT Collateral Locations, subordination and
  consent effective 1996-01-17; Bank One's facilities, equipment lien and
  mortgages; the Amendment of 14 March 1996 with all its terms, conditions
  6(a)-6(i), and the 6(f)/6(g) proceeds with fixed amounts;
- activity, one recorded business day at a time from 1996-03-15 for --days
  calendar days (default: to 1999-12-31): valuations of every item (accounts
  and inventory about daily, equipment about weekly: the bulk), month-end
  borrowing base certificates recorded days late, revolver advances and
  collections, installment and monthly term payments, occasional CIT and Bank
  One advances within the caps, equipment acquisitions (with supplemental
  Congress liens) and disposals (with sale proceeds applied to the loans),
  moves with prior notice (some naming several items, some missing one), moves
  without notice (some found at field exams weeks later), late notices,
  notices received and sent on the CIT and Bank One financings forwarded in
  time, late or never, a 1997 Amendment No. 2 (conditions, one waived; CIT cap
  raised; a second CIT lien, consent and facility; a refinancing receipt),
  keyed valuations and moves voided and re-entered, and a few waivers and
  cures of breaches the generator knows exist.

Invariants the recorder checks and this script keeps: ids are unique and
explicit; every reference names something declared on an earlier line;
recorded_at increases strictly through the file (business days 08:00-20:00
UTC) and ends before now; loan events are recorded on their effective date in
date order, and a running principal per facility keeps every payment and
every waterfall step within the principal outstanding; waterfalls use fixed
amounts summing exactly to the receipt; only a keyed valuation or a keyed move
is voided, never twice, and nothing recorded later depends on it (the item is
held still until the correction); a waiver or cure names a breach the ledger
derives from events already recorded (the generator tracks each item's
location, liens and move-notice coverage, and each notice's forwarding).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from bisect import insort
from collections import Counter
from datetime import date, timedelta
from random import Random

ADMIN, ANALYST, FIELD = "congress-loan-admin", "congress-collateral-analyst", "congress-field-exam"
ACTIVITY_START = date(1996, 3, 15)
DEFAULT_END = date(1999, 12, 31)
SPAN_SECONDS = 12 * 3600  # recorded times fall in 08:00-20:00 UTC
CIT_LOCS = ("casa-grande-lear", "casa-grande-piper", "rochester-buffalo")
NORTH_CANTON = "north-canton"
EXEMPT_B1 = ("future-advance", "interest-rate", "interest-period")
PROMPTLY_DAYS = 5

# (id, address, owner group, weight for placing items); registered 1990-01-11 unless listed in LATE_LOCATIONS
LOCATIONS = [
    ("lpc-new-york", "767 Third Avenue, New York, NY 10017", "office", 0),
    ("casa-grande-lear", "3181 North Lear Avenue, Casa Grande, AZ", "lpc", 4),
    ("casa-grande-piper", "3011 North Piper Avenue, Casa Grande, AZ", "lpc", 4),
    ("rochester-buffalo", "677 Buffalo Road, Rochester, NY", "lpc", 4),
    ("north-canton", "North Canton Property, North Canton, OH (Exhibit A to the Amendment)", "lpc", 3),
    ("vienna-oh", "Vienna, OH real property of LCI", "lci", 3),
    ("jasper-ga", "LPC plant, Jasper, GA", "lpc", 3),
    ("akron-oh", "LPC plant, Akron, OH", "lpc", 3),
    ("lpc-akron-warehouse", "1875 Englewood Avenue, Akron, OH", "lpc", 1),
    ("lpc-rochester-lee", "1390 Lee Road, Rochester, NY", "lpc", 2),
    ("lpc-rochester-mt-read", "540 Mt. Read Boulevard, Rochester, NY", "lpc", 1),
    ("lpc-casa-grande-storage", "1520 East Florence Boulevard, Casa Grande, AZ", "lpc", 1),
    ("lpc-jasper-warehouse", "240 Industrial Parkway, Jasper, GA", "lpc", 1),
    ("lpc-lagrange-ga", "1510 Hogansville Road, LaGrange, GA", "lpc", 2),
    ("lpc-rome-ga", "800 Redmond Circle, Rome, GA", "lpc", 1),
    ("lpc-dalton-ga", "2200 Abutment Road, Dalton, GA", "lpc", 1),
    ("lpc-canton-oh", "3520 Navarre Road SW, Canton, OH", "lpc", 2),
    ("lpc-massillon-oh", "1200 Erie Street South, Massillon, OH", "lpc", 1),
    ("lpc-wooster-oh", "2450 Old Mansfield Road, Wooster, OH", "lpc", 1),
    ("lpc-medina-oh", "950 Lafayette Road, Medina, OH", "lpc", 1),
    ("lpc-cleveland-oh", "4700 Crayton Avenue, Cleveland, OH", "lpc", 2),
    ("lpc-youngstown-oh", "1635 Poland Avenue, Youngstown, OH", "lpc", 1),
    ("lpc-toledo-oh", "1550 Matzinger Road, Toledo, OH", "lpc", 1),
    ("lpc-erie-pa", "2310 West 15th Street, Erie, PA", "lpc", 1),
    ("lpc-buffalo-ny", "1850 Elmwood Avenue, Buffalo, NY", "lpc", 1),
    ("lpc-syracuse-ny", "6700 Thompson Road, Syracuse, NY", "lpc", 1),
    ("lpc-batavia-ny", "4000 Commerce Drive, Batavia, NY", "lpc", 1),
    ("lpc-phoenix-az", "2401 South 24th Street, Phoenix, AZ", "lpc", 1),
    ("lpc-tucson-az", "3700 East Irvington Road, Tucson, AZ", "lpc", 1),
    ("lpc-fort-wayne-in", "3915 Ferguson Road, Fort Wayne, IN", "lpc", 1),
    ("lpc-lebanon-in", "1202 North Lebanon Street, Lebanon, IN", "lpc", 1),
    ("lpc-detroit-mi", "12400 Dequindre Road, Detroit, MI", "lpc", 1),
    ("memphis-public-warehouse", "Public warehouse, 3350 Democrat Road, Memphis, TN", "lpc", 1),
    ("atlanta-public-warehouse", "Public warehouse, 4500 Fulton Industrial Boulevard, Atlanta, GA", "lpc", 1),
    ("repair-vendor-cleveland", "Machine rebuild vendor, 7800 Hub Parkway, Cleveland, OH", "lpc", 0),
    ("lci-niles-oh", "1100 Salt Springs Road, Niles, OH", "lci", 2),
    ("lci-warren-oh", "2800 Parkman Road NW, Warren, OH", "lci", 2),
    ("lci-girard-oh", "400 North State Street, Girard, OH", "lci", 1),
    ("lpc-flint-mi", "4300 Western Road, Flint, MI", "lpc", 1),
    ("lpc-el-paso-tx", "9500 Plaza Circle, El Paso, TX", "lpc", 1),
]
LCI_LOCATIONS_DATE = date(1991, 4, 1)
LATE_LOCATIONS = ("lpc-flint-mi", "lpc-el-paso-tx")  # registered during the activity (new plants)

# equipment: (id prefix, descriptions, [(serial code, maker)], low, high value in dollars)
EQUIPMENT = [
    ("press", ["{maker} {t}-ton injection molding press"], [("VD", "Van Dorn"), ("EN", "Engel"), ("CM", "Cincinnati Milacron")],
     350_000, 1_800_000),
    ("molder", ["{maker} rubber compression molder", "{maker} rubber transfer molding line"], [("MM", "Wabash"), ("RP", "REP")],
     150_000, 600_000),
    ("lathe", ["{maker} CNC lathe"], [("OK", "Okuma"), ("MZ", "Mazak")], 80_000, 400_000),
    ("grinder", ["{maker} centerless grinder"], [("CN", "Cincinnati")], 60_000, 300_000),
    ("mill", ["{maker} CNC vertical machining center"], [("HA", "Haas"), ("FD", "Fadal")], 90_000, 450_000),
    ("extruder", ["{maker} rubber extruder line"], [("DS", "Davis-Standard")], 200_000, 900_000),
    ("trimpress", ["{maker} deflashing and trim press"], [("MN", "Minster")], 30_000, 150_000),
    ("oven", ["{maker} post-cure oven"], [("DP", "Despatch")], 20_000, 120_000),
    ("robot", ["{maker} sprue picker robot"], [("YS", "Yushin")], 25_000, 90_000),
    ("cmm", ["{maker} coordinate measuring machine"], [("BS", "Brown & Sharpe")], 60_000, 250_000),
    ("forklift", ["{maker} electric forklift"], [("HY", "Hyster"), ("YL", "Yale")], 15_000, 45_000),
    ("chiller", ["{maker} process water chiller"], [("AE", "AEC")], 15_000, 70_000),
]
LOTS = ["Raw materials: rubber compounds", "Raw materials: thermoplastic resin", "Work in process: molded components",
        "Finished goods: rubber seals and connectors", "Finished goods: plastic medical components",
        "Finished goods: automotive wire-harness seals", "Finished goods: insulators for ignition wire sets"]
LCI_LOTS = ["LCI raw materials: metal inserts", "LCI finished goods: machined aluminum components",
            "LCI work in process: die castings"]


class Done(Exception):
    """The N-th line has been written."""


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def ymd(d: date) -> str:
    return f"{d.year:04d}{d.month:02d}{d.day:02d}"


def month_end(d: date) -> date:
    nxt = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return nxt - timedelta(days=1)


def add_months(d: date, months: int) -> date:
    y, m = divmod(d.month - 1 + months, 12)
    return month_end(date(d.year + y, m + 1, 1)) if d == month_end(d) else date(d.year + y, m + 1, min(d.day, 28))


def is_holiday(d: date) -> bool:
    """New Year's Day, Independence Day, Thanksgiving and Christmas: no one records on them."""
    if (d.month, d.day) in ((1, 1), (7, 4), (12, 25)):
        return True
    return d.month == 11 and d.weekday() == 3 and 22 <= d.day <= 28


class Item:
    __slots__ = ("cid", "kind", "owner", "loc", "serial", "cents", "base", "reg_eff", "disposed", "locked",
                 "last_move_eff", "credits", "liens", "hist", "val_ymd", "val_k", "lien_chunk")

    def __init__(self, cid, kind, owner, loc, serial, cents, reg_eff):
        self.cid, self.kind, self.owner, self.loc, self.serial = cid, kind, owner, loc, serial
        self.cents = self.base = cents
        self.reg_eff = reg_eff
        self.disposed = False
        self.locked = False
        self.last_move_eff = reg_eff
        self.credits: list[date] = []  # effective dates of move notices naming the item, not yet used by a move
        self.liens: list[tuple[str, date]] = []  # (holder, grant effective date), other than Congress's
        self.hist: list[tuple] = []  # per move: (origin, previous last_move_eff, credit used or None)
        self.val_ymd = ""
        self.val_k = 0
        self.lien_chunk = None  # the Congress blanket lien holding it


class Facility:
    __slots__ = ("fid", "lender", "borrower", "financing", "limit", "principal", "installments", "next_inst",
                 "monthly", "seq")

    def __init__(self, fid, lender, borrower, financing, limit, installments=None, monthly=0):
        self.fid, self.lender, self.borrower, self.financing, self.limit = fid, lender, borrower, financing, limit
        self.principal = 0
        self.installments = installments or []  # [(due, cents)]
        self.next_inst = 0
        self.monthly = monthly
        self.seq = 0


class Synth:
    def __init__(self, n: int, seed: int, days: int, items: int, out):
        self.n, self.out = n, out
        self.rng = Random(seed)
        self.total = 0  # lines emitted (written or buffered)
        self.buf: list[tuple] = []
        self.cur_day: date | None = None
        self.mix: Counter = Counter()
        self.nval = 0
        self.items: list[Item] = []
        self.by_id: dict[str, Item] = {}
        self.daily: list[Item] = []  # accounts and inventory: valued about every business day
        self.weekly: list[Item] = []  # equipment and real property
        self.movable: list[Item] = []
        self.ptr_d = self.ptr_w = 0
        self.fac: dict[str, Facility] = {}
        self.locs_open: list[str] = []
        self.loc_group: dict[str, str] = {}
        self.loc_weight: dict[str, int] = {}
        self.seq = Counter()
        self.chunks: list[tuple[str, list[Item]]] = []  # Congress blanket liens in grant order
        self.amend2_eff: date | None = None
        self.days = days
        self.n_items = items
        self.width = max(4, len(str(items)))
        self.lot_no = 0
        self.eq_no = 0
        end = ACTIVITY_START + timedelta(days=days - 1)
        self.bdays = [d for d in (ACTIVITY_START + timedelta(days=i) for i in range(days))
                      if d.weekday() < 5 and not is_holiday(d)]
        self.end = end
        self.sched: dict[int, list] = {}
        self.waiver_budget = 6 + n // 200_000
        self.lci_share = 0.08

    # ------------------------------------------------------------ output

    def day(self, d: date) -> None:
        if self.cur_day is not None and d < self.cur_day:
            raise AssertionError(f"recorded days must not go backwards: {d} after {self.cur_day}")
        if d != self.cur_day:
            self.flush()
            self.cur_day = d

    def flush(self) -> None:
        buf = self.buf
        count = len(buf)
        if not count:
            return
        prefix = self.cur_day.isoformat() + "T"
        lines = []
        append = lines.append
        dumps = json.dumps
        if count <= SPAN_SECONDS:
            step = min(557, SPAN_SECONDS // count)
            t = 8 * 3600
            stamps = None
        else:
            step_us = SPAN_SECONDS * 1_000_000 // count
            stamps = [8 * 3600 * 1_000_000 + i * step_us for i in range(count)]
        for i, e in enumerate(buf):
            if stamps is None:
                h, rem = divmod(t, 3600)
                ts = f"{prefix}{h:02d}:{rem // 60:02d}:{rem % 60:02d}+00:00"
                t += step
            else:
                sec, us = divmod(stamps[i], 1_000_000)
                h, rem = divmod(sec, 3600)
                ts = f"{prefix}{h:02d}:{rem // 60:02d}:{rem % 60:02d}.{us:06d}+00:00"
            if e[0] is None:
                c = e[4]
                append(f'{{"type": "CollateralValued", "id": "{e[1]}", "effective_date": "{e[2]}", '
                       f'"recorded_at": "{ts}", "actor": "{e[5]}", "collateral": "{e[3]}", '
                       f'"value": "{c // 100}.{c % 100:02d}"}}\n')
            else:
                append(f'{{"type": "{e[0]}", "id": "{e[1]}", "effective_date": "{e[2]}", "recorded_at": "{ts}", '
                       f'"actor": "{e[3]}", ' + dumps(e[4], ensure_ascii=False)[1:] + "\n")
        self.out.write("".join(lines))
        buf.clear()

    def emit(self, etype: str, eid: str, eff: date, actor: str, fields: dict) -> str:
        if self.total >= self.n:
            raise Done
        self.buf.append((etype, eid, eff.isoformat(), actor, fields))
        self.total += 1
        self.mix[etype] += 1
        return eid

    def emit_value(self, eid: str, eff_iso: str, cid: str, cents: int, actor: str = ANALYST) -> None:
        if self.total >= self.n:
            raise Done
        self.buf.append((None, eid, eff_iso, cid, cents, actor))
        self.total += 1
        self.nval += 1

    # ------------------------------------------------------------ helpers

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def count(self, lam: float) -> int:
        k = int(lam)
        return k + (1 if self.rng.random() < lam - k else 0)

    def cents(self, lo_dollars: int, hi_dollars: int) -> int:
        return self.rng.randint(lo_dollars * 100, hi_dollars * 100)

    def round_cents(self, lo_dollars: int, hi_dollars: int, unit: int = 1000) -> int:
        return self.rng.randint(lo_dollars // unit, hi_dollars // unit) * unit * 100

    def pick_location(self, group: str, exclude: str | None = None, allow_zero_weight=False) -> str:
        choices = [l for l in self.locs_open if self.loc_group[l] == group and l != exclude
                   and (allow_zero_weight or self.loc_weight[l] > 0)]
        weights = [max(self.loc_weight[l], 1) for l in choices]
        return self.rng.choices(choices, weights)[0]

    def schedule(self, b: int, fn) -> None:
        self.sched.setdefault(b, []).append(fn)

    # ------------------------------------------------------------ entities

    def party(self, d, pid, name, roles):
        self.emit("PartyRegistered", f"ev-party-{pid}", d, ADMIN, {"party": pid, "name": name, "roles": roles})

    def location(self, d, lid):
        addr = next(a for l, a, _, _ in LOCATIONS if l == lid)
        self.emit("LocationRegistered", f"ev-loc-{lid}", d, ADMIN, {"location": lid, "address": addr})
        self.locs_open.append(lid)

    def open_facility(self, d, fid, lender, borrower, kind, limit, financing=None, installments=None, monthly=0):
        f = Facility(fid, lender, borrower, financing, limit, installments, monthly)
        fields = {"facility": fid, "lender": lender, "borrower": borrower, "kind": kind, "limit": money(limit)}
        if financing:
            fields["financing"] = financing
        if installments:
            fields["installments"] = [{"due": due.isoformat(), "amount": money(a)} for due, a in installments]
        self.emit("FacilityOpened", f"ev-fac-{fid}", d, ADMIN, fields)
        self.fac[fid] = f
        return f

    def advance(self, d, fid, cents):
        f = self.fac[fid]
        f.seq += 1
        self.emit("LoanAdvanced", f"adv-{fid}-{f.seq:04d}", d, ADMIN, {"facility": fid, "amount": money(cents)})
        f.principal += cents

    def pay(self, d, fid, cents, order=None):
        f = self.fac[fid]
        assert 0 < cents <= f.principal, (fid, cents, f.principal)
        f.seq += 1
        fields = {"facility": fid, "amount": money(cents)}
        if order:
            fields["order"] = order
        self.emit("PaymentReceived", f"pay-{fid}-{f.seq:04d}", d, ADMIN, fields)
        f.principal -= cents
        self._reduce_installments(f, cents, order)

    def _reduce_installments(self, f: Facility, cents: int, order):
        if not f.installments:
            return
        idx = range(len(f.installments) - 1, -1, -1) if order == "inverse-maturity" else range(len(f.installments))
        left = cents
        for i in idx:
            if left <= 0:
                break
            due, amt = f.installments[i]
            take = min(amt, left)
            f.installments[i] = (due, amt - take)
            left -= take

    def proceeds(self, d, sender, steps, eid=None):
        """steps: [(facility, cents, order)]; fixed amounts, each within the principal, summing to the receipt."""
        steps = [(fid, c, o) for fid, c, o in steps if c > 0]
        if not steps:
            return
        total = sum(c for _, c, _ in steps)
        apply = []
        for fid, c, order in steps:
            assert c <= self.fac[fid].principal, (fid, c, self.fac[fid].principal)
            step = {"facility": fid, "amount": money(c)}
            if order:
                step["order"] = order
            apply.append(step)
        self.seq["prc"] += 1
        self.emit("ProceedsReceived", eid or f"prc-{self.seq['prc']:04d}", d, ADMIN,
                  {"from": sender, "amount": money(total), "apply": apply})
        for fid, c, order in steps:
            f = self.fac[fid]
            f.principal -= c
            self._reduce_installments(f, c, order)

    def new_item(self, d, kind, owner, loc) -> Item:
        rng = self.rng
        if kind == "equipment":
            self.eq_no += 1
            prefix, descs, makers, lo, hi = rng.choice(EQUIPMENT)
            code, maker = rng.choice(makers)
            cid = f"{prefix}-{self.eq_no:0{self.width}d}"
            year = max(d.year - rng.randint(0, 6), 1978)
            serial = f"{code}-{year % 100:02d}-{self.eq_no:0{self.width}d}"
            desc = rng.choice(descs).format(maker=maker, t=rng.choice((150, 200, 300, 400, 500, 700)))
            cents = self.cents(lo, hi)
        else:
            self.lot_no += 1
            cid = f"inv-lot-{self.lot_no:0{self.width}d}"
            serial = None
            desc = rng.choice(LCI_LOTS if owner == "lci" else LOTS)
            cents = self.cents(50_000, 1_500_000)
        it = Item(cid, kind, owner, loc, serial, cents, d)
        fields = {"collateral": cid, "kind": kind, "owner": owner, "location": loc}
        if serial:
            fields["serial"] = serial
        fields["description"] = desc
        fields["value"] = money(cents)
        self.emit("CollateralRegistered", f"ev-col-{cid}", d, ANALYST, fields)
        self._track(it)
        return it

    def fixed_item(self, d, cid, kind, owner, loc, desc, cents) -> Item:
        it = Item(cid, kind, owner, loc, None, cents, d)
        self.emit("CollateralRegistered", f"ev-col-{cid}", d, ANALYST,
                  {"collateral": cid, "kind": kind, "owner": owner, "location": loc, "description": desc,
                   "value": money(cents)})
        self._track(it)
        return it

    def _track(self, it: Item):
        self.items.append(it)
        self.by_id[it.cid] = it
        if it.kind in ("accounts", "inventory"):
            self.daily.append(it)
        else:
            self.weekly.append(it)
        if it.kind in ("equipment", "inventory"):
            self.movable.append(it)

    def acquire(self, d, count, owner, secures):
        """Register a batch of items and put them under a Congress blanket lien of their own (in chunks of 250)."""
        got = []
        for _ in range(count):
            loc = self.pick_location(owner)
            kind = "inventory" if self.chance(0.24) else "equipment"
            got.append(self.new_item(d, kind, owner, loc))
        for i in range(0, len(got), 250):
            chunk = got[i:i + 250]
            self.seq["blanket"] += 1
            lien = f"congress-blanket-{self.seq['blanket']:02d}" if owner == "lpc" else \
                f"congress-lci-blanket-{self.seq['blanket']:02d}"
            self.emit("LienGranted", f"ev-lien-{lien}", d, ADMIN,
                      {"lien": lien, "grantor": owner, "holder": "congress", "collateral": [it.cid for it in chunk],
                       "kind": "security-interest", "secures": [s for s in secures if s in self.fac],
                       "perfected_on": (d + timedelta(days=self.rng.randint(1, 4))).isoformat()})
            self.chunks.append((lien, chunk))
            for it in chunk:
                it.lien_chunk = lien
        return got

    # ------------------------------------------------------------ setup (1990-01-11 .. 1996-03-14)

    def setup(self):
        rng = self.rng
        n_fixed = 4
        n_setup_items = max(10, int((self.n_items - n_fixed) * 0.85))
        self.n_later_items = max(0, self.n_items - n_fixed - n_setup_items)
        first = int(n_setup_items * 0.6)
        batches = [date(1990, 6, 15) + timedelta(days=91 * k + rng.randint(0, 20)) for k in range(22)]
        batches = [b for b in batches if b < date(1996, 1, 10)]
        lci_batches = [b for b in batches if b > LCI_LOCATIONS_DATE]
        rest = n_setup_items - first
        per = [rest // len(batches) + (1 if k < rest % len(batches) else 0) for k in range(len(batches))]

        d0 = date(1990, 1, 11)
        self.day(d0)
        self.party(d0, "congress", "Congress Financial Corporation", ["lender"])
        self.party(d0, "lpc", "Lexington Precision Corporation", ["borrower"])
        self.party(d0, "lci", "Lexington Components, Inc.", ["borrower", "guarantor"])
        for lid, _, group, weight in LOCATIONS:
            self.loc_group[lid] = group
            self.loc_weight[lid] = weight
            if group != "lci" and lid not in LATE_LOCATIONS:
                self.location(d0, lid)
        self.open_facility(d0, "lpc-revolver", "congress", "lpc", "revolving", 15_000_000_00)
        self.emit("AgreementExecuted", "ev-agr-financing-1990", d0, ADMIN, {
            "agreement": "financing-agreements-1990",
            "title": "Financing Agreements (Accounts Financing Agreement [Security Agreement] and supplements), "
                     "Congress-LPC",
            "parties": ["congress", "lpc"],
            "terms": {"lender": "congress", "advance_rates": {"accounts": "0.85", "inventory": "0.50",
                                                               "equipment": "0.70"},
                      "borrowing_base_facilities": ["lpc-revolver"]}})
        accounts = self.fixed_item(d0, "lpc-accounts", "accounts", "lpc", "lpc-new-york",
                                   "LPC accounts receivable (all account debtors)", 5_000_000_00)
        nc_rp = self.fixed_item(d0, "nc-real-property", "real-property", "lpc", NORTH_CANTON,
                                "North Canton Property: land and buildings (Exhibit A)", 2_000_000_00)
        self.acquire(d0, first, "lpc", ["lpc-revolver"])
        # the accounts pool joins the first blanket lien
        self.buf[-1][4]["collateral"].insert(0, accounts.cid)
        self.chunks[-1][1].insert(0, accounts)
        self.advance(d0, "lpc-revolver", 8_000_000_00)

        def batch_until(limit: date):
            while batches and batches[0] < limit:
                b = batches.pop(0)
                k = per.pop(0)
                self.day(b)
                n_lci = min(k, int(k * self.lci_share * 2 + rng.random())) if b in lci_batches else 0
                if k - n_lci:
                    self.acquire(b, k - n_lci, "lpc", [f for f in ("lpc-revolver", "lpc-second-restated-note")
                                                      if f in self.fac])
                if n_lci:
                    self.acquire(b, n_lci, "lci", ["lci-revolver"])
                if self.chance(0.5):
                    self.pay_or_advance_setup(b)

        d = LCI_LOCATIONS_DATE
        batch_until(d)
        self.day(d)
        for lid, _, group, _ in LOCATIONS:
            if group == "lci":
                self.location(d, lid)
        self.open_facility(d, "lci-revolver", "congress", "lci", "revolving", 2_000_000_00)
        self.emit("AgreementExecuted", "ev-agr-lci-financing-1991", d, ADMIN, {
            "agreement": "lci-financing-agreements-1991", "title": "LCI Financing Agreements, Congress-LCI",
            "parties": ["congress", "lci"]})
        lci_acc = self.fixed_item(d, "lci-accounts", "accounts", "lci", "vienna-oh",
                                  "LCI accounts receivable", 900_000_00)
        vienna = self.fixed_item(d, "vienna-real-property", "real-property", "lci", "vienna-oh",
                                 "LCI land and buildings, Vienna, OH", 1_800_000_00)
        self.emit("LienGranted", "ev-lien-congress-lci-accounts", d, ADMIN, {
            "lien": "congress-lci-accounts", "grantor": "lci", "holder": "congress", "collateral": [lci_acc.cid],
            "kind": "security-interest", "secures": ["lci-revolver"], "perfected_on": "1991-04-02"})
        self.advance(d, "lci-revolver", 800_000_00)

        d = date(1992, 6, 15)
        batch_until(d)
        self.day(d)
        self.advance(d, "lpc-revolver", 2_500_000_00)
        d = date(1994, 3, 31)
        batch_until(d)
        self.day(d)
        self.pay(d, "lpc-revolver", 750_000_00)
        d = date(1994, 4, 1)
        self.day(d)
        inst = [(date(1995 + k, 4, 1), 100_000_00) for k in range(10)]
        self.open_facility(d, "lci-ohio-re-loan", "congress", "lci", "term", 1_000_000_00, installments=inst)
        self.advance(d, "lci-ohio-re-loan", 1_000_000_00)
        self.emit("LienGranted", "ev-lien-congress-vienna-mortgage", d, ADMIN, {
            "lien": "congress-vienna-mortgage", "grantor": "lci", "holder": "congress", "collateral": [vienna.cid],
            "kind": "mortgage", "secures": ["lci-ohio-re-loan"], "perfected_on": "1994-04-01"})
        d = date(1995, 3, 31)
        batch_until(d)
        self.day(d)
        self.pay(d, "lci-ohio-re-loan", 100_000_00)
        d = date(1995, 5, 1)
        batch_until(d)
        self.day(d)
        self.advance(d, "lci-revolver", 400_000_00)
        d = date(1995, 6, 30)
        batch_until(d)
        self.day(d)
        note_inst = []
        q = date(1995, 9, 30)
        for _ in range(24):
            note_inst.append((q, 50_000_00))
            q = add_months(q, 3)
        self.open_facility(d, "lpc-second-restated-note", "congress", "lpc", "term", 1_200_000_00,
                           installments=note_inst)
        self.advance(d, "lpc-second-restated-note", 1_200_000_00)
        for pd in (date(1995, 9, 29), date(1995, 12, 29)):
            batch_until(pd)
            self.day(pd)
            self.pay(pd, "lpc-second-restated-note", 50_000_00)
            self.fac["lpc-second-restated-note"].next_inst += 1
        batch_until(date(1996, 1, 17))
        # the revolver is brought to 12,250,000.00 before the Amendment, as in the 1996 scenario
        gap = 11_650_000_00 - self.fac["lpc-revolver"].principal
        self.day(date(1995, 10, 16) if self.cur_day < date(1995, 10, 16) else self.cur_day)
        if gap > 0:
            self.advance(self.cur_day, "lpc-revolver", gap)
        elif gap < 0:
            self.pay(self.cur_day, "lpc-revolver", -gap)

        # ---- CIT, January 1996
        d = date(1996, 1, 17)
        self.day(d)
        self.party(d, "cit", "The CIT Group/Equipment Financing, Inc.", ["lender"])
        self.emit("AgreementExecuted", "ev-agr-cit-loan-1996", d, ADMIN, {
            "agreement": "cit-loan-agreement-1996",
            "title": "Loan and Security Agreement and Rider A, LPC-CIT (CIT Financing Agreements)",
            "parties": ["lpc", "cit"]})
        self.open_facility(d, "cit-equipment-loan", "cit", "lpc", "term", 5_500_000_00, financing="cit",
                           monthly=60_000_00)
        self.emit("AgreementExecuted", "ev-agr-cit-subordination-1996", d, ADMIN, {
            "agreement": "cit-subordination-1996",
            "title": "Subordination Agreement, CIT-Congress, agreed to and confirmed by LPC",
            "parties": ["cit", "congress", "lpc"]})
        self.advance(d, "cit-equipment-loan", 3_000_000_00)
        d = date(1996, 1, 19)
        self.day(d)
        cit_items = [it for it in self.items if it.kind == "equipment" and it.owner == "lpc" and it.loc in CIT_LOCS
                     and self.chance(0.6)]
        if not cit_items:
            cit_items = [it for it in self.items if it.kind == "equipment" and it.owner == "lpc"][:3]
        self.emit("LienGranted", "ev-lien-cit", date(1996, 1, 17), ADMIN, {
            "lien": "cit-lien", "grantor": "lpc", "holder": "cit", "collateral": [it.cid for it in cit_items],
            "kind": "security-interest", "secures": ["cit-equipment-loan"], "perfected_on": "1996-01-19"})
        for it in cit_items:
            it.liens.append(("cit", date(1996, 1, 17)))
        self.priorities(date(1996, 1, 17), "cit-lien", cit_items, "cit-subordination-1996")

        d = date(1996, 2, 6)
        self.day(d)
        self.certificate(d, date(1996, 1, 31))
        d = date(1996, 2, 15)
        self.day(d)
        self.advance(d, "lpc-revolver", 600_000_00)
        d = date(1996, 2, 29)
        self.day(d)
        self.emit("AgreementExecuted", "ev-agr-cit-subordination-amendment-1", d, ADMIN, {
            "agreement": "cit-subordination-amendment-1",
            "title": "Amendment No. 1 to Subordination Agreement, CIT-Congress", "parties": ["cit", "congress", "lpc"]})
        self.advance(d, "cit-equipment-loan", 1_500_000_00)
        d = date(1996, 3, 5)
        self.day(d)
        self.certificate(d, date(1996, 2, 29))

        # ---- the Amendment, 14 March 1996
        d = date(1996, 3, 14)
        self.day(d)
        self.party(d, "bank-one", "Bank One, Akron, NA", ["lender"])
        self.emit("AgreementExecuted", "ev-agr-bank-one-credit-1996", d, ADMIN, {
            "agreement": "bank-one-credit-1996",
            "title": "Credit Facility and Security Agreement, LPC-LCI-Bank One (Bank One Financing Agreements)",
            "parties": ["lpc", "lci", "bank-one"]})
        self.open_facility(d, "b1-north-canton-interim", "bank-one", "lpc", "term", 1_000_000_00, financing="bank-one")
        self.open_facility(d, "b1-vienna-term", "bank-one", "lci", "term", 1_500_000_00, financing="bank-one",
                           monthly=25_000_00)
        self.open_facility(d, "b1-lpc-term", "bank-one", "lpc", "term", 3_500_000_00, financing="bank-one",
                           monthly=45_000_00)
        self.emit("AgreementExecuted", "ev-agr-amendment-1996-03-14", d, ADMIN, {
            "agreement": "amendment-1996-03-14",
            "title": "Amendment to Financing Agreements and Consent, Congress-LPC, consented to by LCI as guarantor",
            "parties": ["congress", "lpc"],
            "terms": {
                "conditions": [f"6({c})" for c in "abcdefghi"],
                "restricted_collateral": [
                    {"rule": "cit-location", "holder": "cit", "locations": list(CIT_LOCS)},
                    {"rule": "protected-location-out", "holder": "bank-one", "locations": [NORTH_CANTON]}],
                "protected_locations": [NORTH_CANTON],
                "ineligible_locations": [NORTH_CANTON],
                "caps": [{"financing": "cit", "amount": "5500000.00", "clause": "§1(g), §2(i)"},
                         {"financing": "bank-one", "amount": "5800000.00", "clause": "§1(c), §2(ii)"},
                         {"financing": "bank-one", "borrower": "lpc", "amount": "4300000.00",
                          "clause": "§1(c), §2(ii)"},
                         {"financing": "bank-one", "borrower": "lci", "amount": "1500000.00",
                          "clause": "§1(c), §2(ii)"}],
                "representation_financings": ["cit", "bank-one"],
                "promptly_days": PROMPTLY_DAYS,
                "grace_days": {"cit-location": 0, "protected-location-out": 0, "protected-location-in": 0,
                               "furnish-notices": 10, "cap": 0, "no-default-at-advance": 0},
                "exempt_notice_categories": {"bank-one": list(EXEMPT_B1)}}})
        self.emit("AgreementExecuted", "ev-agr-intercreditor", d, ADMIN, {
            "agreement": "intercreditor-congress-bank-one",
            "title": "Intercreditor Agreement, Congress-Bank One (Section 6(c))", "parties": ["congress", "bank-one"]})
        b1_items = [it for it in self.items if it.kind == "equipment" and it.owner == "lpc" and it.loc == NORTH_CANTON]
        others = [it for it in self.items if it.kind == "equipment" and it.owner == "lpc" and it.loc == "akron-oh"
                  and not it.liens]
        b1_items += rng.sample(others, min(len(others), max(2, len(self.items) // 60)))
        if not b1_items:
            b1_items = [it for it in self.items if it.kind == "equipment" and not it.liens][:2]
        secures_b1 = ["b1-north-canton-interim", "b1-lpc-term", "b1-vienna-term"]
        self.emit("LienGranted", "ev-lien-b1-equipment", d, ADMIN, {
            "lien": "b1-equipment-lien", "grantor": "lpc", "holder": "bank-one",
            "collateral": [it.cid for it in b1_items], "kind": "security-interest", "secures": secures_b1,
            "perfected_on": "1996-03-14"})
        for it in b1_items:
            it.liens.append(("bank-one", d))
        self.emit("LienGranted", "ev-lien-b1-north-canton-mortgage", d, ADMIN, {
            "lien": "b1-north-canton-mortgage", "grantor": "lpc", "holder": "bank-one", "collateral": [nc_rp.cid],
            "kind": "mortgage", "secures": secures_b1, "perfected_on": "1996-03-14"})
        self.emit("LienGranted", "ev-lien-b1-vienna-mortgage", d, ADMIN, {
            "lien": "b1-vienna-mortgage", "grantor": "lci", "holder": "bank-one", "collateral": [vienna.cid],
            "kind": "mortgage", "secures": ["b1-vienna-term"], "perfected_on": "1996-03-14"})
        self.priorities(d, "b1-equipment-lien", b1_items, "intercreditor-congress-bank-one")
        self.emit("ConsentGranted", "ev-consent-cit", date(1996, 1, 17), ADMIN, {
            "consent": "consent-cit", "by": "congress", "liens": ["cit-lien"], "agreement": "amendment-1996-03-14"})
        self.emit("ConsentGranted", "ev-consent-bank-one", d, ADMIN, {
            "consent": "consent-bank-one", "by": "congress",
            "liens": ["b1-equipment-lien", "b1-north-canton-mortgage", "b1-vienna-mortgage"],
            "agreement": "amendment-1996-03-14"})
        for c in "abcde":
            self.condition(d, "amendment-1996-03-14", f"6({c})")
        self.advance(d, "b1-vienna-term", 1_500_000_00)
        self.advance(d, "b1-north-canton-interim", 1_000_000_00)
        self.advance(d, "b1-lpc-term", 2_000_000_00)
        re_loan = self.fac["lci-ohio-re-loan"].principal
        self.proceeds(d, "bank-one", [("lci-ohio-re-loan", re_loan, None),
                                      ("lci-revolver", 1_500_000_00 - re_loan, None)], eid="prc-6f")
        self.emit("LienReleased", "rel-congress-vienna-mortgage", d, ADMIN, {"lien": "congress-vienna-mortgage"})
        self.condition(d, "amendment-1996-03-14", "6(f)")
        self.proceeds(d, "bank-one", [("lpc-second-restated-note", 418_118_00, "inverse-maturity"),
                                      ("lpc-revolver", 581_882_00, None)], eid="prc-6g")
        for c in "ghi":
            self.condition(d, "amendment-1996-03-14", f"6({c})")

    def pay_or_advance_setup(self, d):
        f = self.fac["lpc-revolver"]
        if self.chance(0.5) and f.principal > 1_000_000_00:
            self.pay(d, "lpc-revolver", self.round_cents(100_000, 900_000))
        else:
            self.advance(d, "lpc-revolver", self.round_cents(100_000, 900_000))

    def condition(self, d, agreement, cond):
        self.emit("ConditionSatisfied", f"cond-{agreement}-{cond.replace('(', '').replace(')', '')}", d, ADMIN,
                  {"agreement": agreement, "condition": cond})

    def priorities(self, d, senior, items, agreement):
        juniors = []
        for it in items:
            if it.lien_chunk and it.lien_chunk not in juniors:
                juniors.append(it.lien_chunk)
        for j in juniors:
            self.emit("PriorityAgreed", f"ev-prio-{senior}-over-{j}", d, ADMIN,
                      {"senior": senior, "junior": j, "agreement": agreement})

    def certificate(self, d, as_of: date, share: float = 1.0):
        """A borrowing base certificate: accounts and inventory valued as of a month end, recorded days later."""
        eff = as_of.isoformat()
        tag = ymd(as_of)
        for it in self.daily:
            if it.disposed or it.reg_eff > as_of:
                continue
            if share < 1.0 and it.kind != "accounts" and self.rng.random() >= share:
                continue
            v = it.cents + it.cents * (int(self.rng.random() * 601) - 300) // 10000
            self.emit_value(f"bbc-{it.cid}-{tag}", eff, it.cid, max(v, 100))

    # ------------------------------------------------------------ activity

    def run(self):
        self.setup()
        setup_lines = self.total
        B = len(self.bdays)
        A = max(0, self.n - setup_lines)
        self.lam_move = 0.010 * A / B
        self.lam_notice = 0.0012 * A / B
        self.p_rev = min(0.9, 0.9 * A / 400_000)
        self.p_disp = 0.04 * max(1, sum(1 for it in self.items if it.kind == "equipment")) / B
        self.p_keyed_val = 0.0005
        months = max(1, self.days // 30)
        inv = max(1, len(self.daily))
        bbc_total = inv * months
        self.bbc_share = min(1.0, 0.3 * 0.9 * A / bbc_total) if bbc_total else 1.0
        # dates of structural events, as business-day indexes
        at = lambda frac: min(B - 1, int(B * frac))  # noqa: E731
        plan: dict[int, list] = {}
        plan.setdefault(at(0.12), []).append(self.open_new_equipment_1)
        plan.setdefault(at(0.38), []).append(self.amendment_2)
        plan.setdefault(at(0.55), []).append(self.open_new_equipment_2)
        plan.setdefault(at(0.30), []).append(lambda b, d: self.location(d, "lpc-el-paso-tx"))
        plan.setdefault(at(0.62), []).append(lambda b, d: self.location(d, "lpc-flint-mi"))
        quarters = max(1, self.days // 91)
        per_q = [self.n_later_items // quarters + (1 if k < self.n_later_items % quarters else 0)
                 for k in range(quarters)]
        for k in range(quarters):
            if per_q[k]:
                plan.setdefault(at((k + 0.5) / quarters), []).append(
                    lambda b, d, c=per_q[k]: self.acquisition(d, c))
        interim_done = False
        last_month = None
        target_base = setup_lines
        for b, d in enumerate(self.bdays):
            self.day(d)
            self.b = b
            iso = d.isoformat()
            for fn in plan.pop(b, ()):
                fn(b, d)
            for fn in self.sched.pop(b, ()):
                fn(b, d)
            if not interim_done and d >= date(1996, 7, 1):
                f = self.fac["b1-north-canton-interim"]
                if f.principal:
                    self.pay(d, f.fid, f.principal)
                interim_done = True
            self.loans(b, d)
            if self.chance(self.p_disp):
                self.dispose(b, d)
            for _ in range(self.count(self.lam_notice)):
                self.financing_notice(b, d)
            moves = self.count(self.lam_move)
            while moves > 0:
                moves -= self.move_event(b, d)
            if d.month != last_month:
                if last_month is not None:
                    k = b + 3
                    prev = month_end(d - timedelta(days=d.day))
                    self.schedule(k, lambda bb, dd, p=prev: self.certificate(dd, p, self.bbc_share))
                last_month = d.month
            # valuations fill the day to its share of N
            target = target_base + (A * (b + 1)) // B
            if b == B - 1:
                target = self.n
            self.valuations(iso, target - self.total)

    def valuations(self, iso: str, quota: int):
        if quota <= 0:
            return
        daily, weekly = self.daily, self.weekly
        nd = min(len(daily), (quota * 6 + 9) // 10) if weekly else quota
        nw = quota - nd
        rnd = self.rng.random
        tag = iso.replace("-", "")
        keyed = self.p_keyed_val
        emit = self.emit_value
        for lst, count, which in ((daily, nd, "d"), (weekly, nw, "w")):
            if not lst or count <= 0:
                continue
            ptr = self.ptr_d if which == "d" else self.ptr_w
            size = len(lst)
            done = 0
            guard = 0
            while done < count and guard < count * 4 + size:
                guard += 1
                it = lst[ptr]
                ptr += 1
                if ptr == size:
                    ptr = 0
                if it.disposed:
                    continue
                c = it.cents
                r = rnd()
                if it.kind == "equipment":
                    c = c * (9990 + int(r * 14)) // 10000
                elif it.kind == "real-property":
                    c = c * (9995 + int(r * 14)) // 10000
                else:
                    c = c + (it.base - c) // 25 + c * (int(r * 801) - 400) // 10000
                if c < 100:
                    c = 100
                it.cents = c
                if it.val_ymd == tag:
                    it.val_k += 1
                    eid = f"val-{it.cid}-{tag}-{it.val_k}"
                else:
                    it.val_ymd, it.val_k = tag, 1
                    eid = f"val-{it.cid}-{tag}"
                if rnd() < keyed:
                    wrong = c * 10 if rnd() < 0.5 else c // 10 + 1
                    emit(eid, iso, it.cid, wrong)
                    self.schedule(self.b + self.rng.randint(1, 4),
                                  lambda bb, dd, e=eid, i=iso, it=it, c=c, w=wrong: self.fix_value(dd, e, i, it, c, w))
                else:
                    emit(eid, iso, it.cid, c)
                done += 1
            if which == "d":
                self.ptr_d = ptr
            else:
                self.ptr_w = ptr

    def fix_value(self, d, eid, eff_iso, it, right, wrong):
        self.emit("EventVoided", f"void-{eid}", d, ANALYST, {
            "event": eid, "reason": f"keying error: {money(wrong)} entered for {money(right)}"})
        self.emit_value(f"{eid}-corr", eff_iso, it.cid, right)

    # ---- loans

    def loans(self, b, d):
        f = self.fac["lpc-revolver"]
        if self.chance(self.p_rev):
            self.revolver(d, f, 11_000_000_00, 25_000, 900_000)
        if self.chance(self.p_rev / 3):
            self.revolver(d, self.fac["lci-revolver"], 900_000_00, 10_000, 150_000)
        first_bday = b == 0 or self.bdays[b - 1].month != d.month
        for fid in ("lpc-second-restated-note", "lpc-new-equipment-term-1", "lpc-new-equipment-term-2"):
            fac = self.fac.get(fid)
            if fac is None:
                continue
            while fac.next_inst < len(fac.installments) and fac.installments[fac.next_inst][0] - timedelta(days=3) <= d:
                amount = min(fac.installments[fac.next_inst][1], fac.principal)
                fac.next_inst += 1
                if amount > 0:
                    self.pay(d, fid, amount)
            if fac.principal > 200_000_00 and self.chance(0.002):
                self.pay(d, fid, self.round_cents(20_000, 100_000), order="inverse-maturity")
        if first_bday:
            for fid in ("cit-equipment-loan", "cit-equipment-loan-2", "b1-lpc-term", "b1-vienna-term"):
                fac = self.fac.get(fid)
                if fac is not None and fac.principal > 0:
                    self.pay(d, fid, min(fac.monthly, fac.principal))
        # occasional CIT and Bank One advances, always within the caps in force
        if self.chance(0.008):
            fid = "cit-equipment-loan-2" if "cit-equipment-loan-2" in self.fac and self.chance(0.6) else \
                "cit-equipment-loan"
            fac = self.fac[fid]
            room = min(self.cit_cap(d) - self.financing_principal("cit"), fac.limit - fac.principal)
            amount = min(self.round_cents(100_000, 600_000), room)
            if amount >= 50_000_00:
                self.advance(d, fid, amount)
        if self.chance(0.006):
            fac = self.fac["b1-lpc-term"]
            room = min(4_300_000_00 - self.financing_principal("bank-one", "lpc"),
                       5_800_000_00 - self.financing_principal("bank-one"), fac.limit - fac.principal)
            amount = min(self.round_cents(100_000, 500_000), room)
            if amount >= 50_000_00:
                self.advance(d, "b1-lpc-term", amount)

    def revolver(self, d, f: Facility, target, lo, hi):
        amount = self.rng.randint(lo * 100, hi * 100)
        collect = self.chance(0.65 if f.principal > target else 0.35)
        if collect:
            amount = min(amount, f.principal)
            if amount > 0:
                self.pay(d, f.fid, amount)
        else:
            amount = min(amount, f.limit - f.principal)
            if amount > 0:
                self.advance(d, f.fid, amount)

    def cit_cap(self, d):
        return 7_500_000_00 if self.amend2_eff is not None and d >= self.amend2_eff else 5_500_000_00

    def financing_principal(self, financing, borrower=None):
        return sum(f.principal for f in self.fac.values()
                   if f.financing == financing and (borrower is None or f.borrower == borrower))

    def open_new_equipment_1(self, b, d):
        self._new_equipment(d, "lpc-new-equipment-term-1", 2_400_000_00, 60)

    def open_new_equipment_2(self, b, d):
        self._new_equipment(d, "lpc-new-equipment-term-2", 1_800_000_00, 48)

    def _new_equipment(self, d, fid, amount, months):
        each = amount // months
        due = month_end(d)
        inst = []
        for k in range(months):
            due = month_end(add_months(due, 1)) if k else month_end(date(d.year + (d.month == 12), d.month % 12 + 1, 1))
            inst.append((due, each if k < months - 1 else amount - each * (months - 1)))
        self.open_facility(d, fid, "congress", "lpc", "term", amount, installments=inst)
        self.advance(d, fid, amount)

    def amendment_2(self, b, d):
        """Amendment No. 2 (1997-ish): a larger CIT financing, a second CIT lien and facility, three conditions."""
        agr = f"amendment-no-2-{d.year}"
        self.emit("AgreementExecuted", "ev-agr-cit-subordination-amendment-2", d, ADMIN, {
            "agreement": "cit-subordination-amendment-2",
            "title": "Amendment No. 2 to Subordination Agreement, CIT-Congress", "parties": ["cit", "congress", "lpc"]})
        self.emit("AgreementExecuted", f"ev-agr-{agr}", d, ADMIN, {
            "agreement": agr,
            "title": "Amendment No. 2 to Financing Agreements and Consent, Congress-LPC (CIT Financing increase)",
            "parties": ["congress", "lpc"],
            "terms": {"conditions": ["5(a)", "5(b)", "5(c)"],
                      "caps": [{"financing": "cit", "amount": "7500000.00",
                                "clause": "§1(g), §2(i), as amended by Amendment No. 2"}],
                      "ineligible_locations": [NORTH_CANTON, "memphis-public-warehouse"],
                      "grace_days": {"furnish-notices": 15}}})
        self.open_facility(d, "cit-equipment-loan-2", "cit", "lpc", "term", 2_000_000_00, financing="cit",
                           monthly=35_000_00)
        pool = [it for it in self.items if it.kind == "equipment" and it.owner == "lpc" and not it.liens
                and not it.disposed and it.reg_eff < d]
        chosen = self.rng.sample(pool, min(len(pool), max(3, len(pool) // 12)))
        chosen.sort(key=lambda it: it.cid)
        if chosen:
            self.emit("LienGranted", "ev-lien-cit-2", d, ADMIN, {
                "lien": "cit-lien-2", "grantor": "lpc", "holder": "cit", "collateral": [it.cid for it in chosen],
                "kind": "security-interest", "secures": ["cit-equipment-loan-2"],
                "perfected_on": (d + timedelta(days=2)).isoformat()})
            for it in chosen:
                it.liens.append(("cit", d))
            self.priorities(d, "cit-lien-2", chosen, "cit-subordination-amendment-2")
            self.emit("ConsentGranted", "ev-consent-cit-2", d, ADMIN, {
                "consent": "consent-cit-2", "by": "congress", "liens": ["cit-lien-2"], "agreement": agr})
        self.condition(d, agr, "5(a)")
        self.schedule(b + 2, lambda bb, dd: self.condition(dd, agr, "5(b)"))

        def waive(bb, dd):
            self.emit("ConditionWaived", f"cond-{agr}-5c-waived", dd, ADMIN,
                      {"agreement": agr, "condition": "5(c)", "by": "congress"})
            self.amend2_eff = dd

        self.schedule(b + 5, waive)
        self.schedule(b + 7, self.cit_refinancing)

    def cit_refinancing(self, b, d):
        """CIT advances on its new facility; the proceeds prepay Congress's equipment term loan and the revolver."""
        fac = self.fac["cit-equipment-loan-2"]
        room = min(self.cit_cap(d) - self.financing_principal("cit"), fac.limit - fac.principal)
        amount = min(1_500_000_00, room)
        if amount < 100_000_00:
            return
        self.advance(d, fac.fid, amount)
        term = self.fac.get("lpc-new-equipment-term-1")
        first = min(term.principal, amount * 2 // 5) if term else 0
        rest = min(amount - first, self.fac["lpc-revolver"].principal)
        steps = []
        if first:
            steps.append((term.fid, first, "inverse-maturity"))
        steps.append(("lpc-revolver", rest, None))
        self.proceeds(d, "cit", steps)

    # ---- collateral in and out

    def acquisition(self, d, count):
        n_lci = min(count, int(count * self.lci_share + self.rng.random()))
        secures = [f for f in ("lpc-revolver", "lpc-second-restated-note", "lpc-new-equipment-term-1",
                               "lpc-new-equipment-term-2") if f in self.fac]
        got = []
        if count - n_lci:
            got += self.acquire(d, count - n_lci, "lpc", secures)
        if n_lci:
            got += self.acquire(d, n_lci, "lci", ["lci-revolver"])
        return got

    def dispose(self, b, d):
        pool = self.weekly
        for _ in range(8):
            it = pool[self.rng.randrange(len(pool))]
            if it.kind == "equipment" and not it.disposed and not it.locked and it.last_move_eff < d \
                    and it.reg_eff < d:
                break
        else:
            return
        it.disposed = True
        self.emit("CollateralDisposed", f"disp-{it.cid}", d, ADMIN, {"collateral": it.cid})
        if it.owner != "lpc":
            return
        sale = it.cents * self.rng.randint(30, 70) // 100
        term = next((self.fac[f] for f in ("lpc-new-equipment-term-2", "lpc-new-equipment-term-1")
                     if f in self.fac and self.fac[f].principal > 0), None)
        first = min(term.principal, sale // 2) if term else 0
        rest = min(sale - first, self.fac["lpc-revolver"].principal)
        steps = [(term.fid, first, "inverse-maturity")] if first else []
        steps.append(("lpc-revolver", rest, None))
        self.proceeds(d, "lpc", steps)

    # ---- moves and move notices

    def rules_broken(self, it: Item, origin: str, dest: str, eff: date) -> tuple[list[str], bool]:
        """The location rules an uncovered move breaks, and whether the generator is certain of them."""
        rules = []
        certain = True
        holders = set()
        for holder, since in it.liens:
            if since <= eff:
                holders.add(holder)
            if since == eff:
                certain = False
        if "cit" in holders and origin in CIT_LOCS:
            rules.append("cit-location")
        if "bank-one" in holders and origin == NORTH_CANTON:
            rules.append("protected-location-out")
        if dest == NORTH_CANTON:
            rules.append("protected-location-in")
        return rules, certain

    def destination(self, it: Item, origin: str) -> str:
        group = it.owner
        if group == "lpc" and origin != NORTH_CANTON and self.chance(0.04):
            return NORTH_CANTON
        if group == "lpc" and it.kind == "equipment" and self.chance(0.03):
            if origin != "repair-vendor-cleveland" and "repair-vendor-cleveland" in self.locs_open:
                return "repair-vendor-cleveland"
        dest = self.pick_location(group, exclude=origin)
        if dest == NORTH_CANTON and self.chance(0.7):
            dest = self.pick_location(group, exclude=origin)
        return dest

    def pick_movable(self, d) -> Item | None:
        pool = self.movable
        for _ in range(10):
            it = pool[self.rng.randrange(len(pool))]
            if not it.disposed and not it.locked and it.last_move_eff < d and it.reg_eff < d:
                return it
        return None

    def move_event(self, b, d) -> int:
        """One move decision (a single item, or a batch from one location); returns the number of items."""
        it = self.pick_movable(d)
        if it is None:
            return 1
        origin = it.loc
        dest = self.destination(it, origin)
        if dest == origin:
            return 1
        group = [it]
        if self.chance(0.25):
            for other in self.movable[max(0, self.movable.index(it) - 40):self.movable.index(it) + 40]:
                if len(group) >= 4:
                    break
                if other is not it and other.loc == origin and other.owner == it.owner and not other.disposed \
                        and not other.locked and other.last_move_eff < d and other.reg_eff < d and self.chance(0.3):
                    group.append(other)
        sensitive = any(self.rules_broken(x, origin, dest, d)[0] for x in group)
        if self.chance(0.93 if sensitive else 0.35):
            # prior written notice now, the move a few business days later
            named = list(group)
            if len(named) > 1 and self.chance(0.1):
                named.pop(self.rng.randrange(len(named)))  # the notice forgets one of the items
            self.move_notice(d, named)
            for x in group:
                x.locked = True
            k = self.rng.randint(2, 8)
            self.schedule(b + k, lambda bb, dd, g=group, dst=dest: self.planned_moves(bb, dd, g, dst))
        elif self.chance(0.3 if sensitive else 0.1):
            # found at a field exam weeks later: the ledger learns it then, effective today
            lag = self.rng.randint(5, 30)
            for x in group:
                x.locked = True
                entry = self.apply_move(x, dest, d, f"mv-{x.cid}-{ymd(d)}")
                self.schedule(b + lag, lambda bb, dd, x=x, e=entry: self.record_late_move(bb, dd, x, e))
        else:
            for x in group:
                self.do_move(b, d, x, dest, allow_keyed=True)
            if self.chance(0.12):
                self.schedule(b + self.rng.randint(1, 3), lambda bb, dd, g=group: self.late_notice(dd, g))
        return len(group)

    def move_notice(self, d, items):
        self.seq["ntc"] += 1
        k = self.seq["ntc"]
        fields = {"notice": f"ntc-move-{k:06d}", "from": "lpc" if items[0].owner == "lpc" else "lci",
                  "to": "congress", "subject": "collateral-move"}
        how = self.rng.random()
        ids = [x.cid for x in items]
        serials = [x.serial for x in items if x.serial]
        if how < 0.4 or not serials or len(serials) < len(items):
            fields["collateral"] = ids
            if how > 0.8 and serials:
                fields["serials"] = serials
        else:
            fields["serials"] = serials
            if how > 0.8:
                fields["collateral"] = ids
        self.emit("NoticeSent", f"snt-move-{k:06d}", d, ADMIN, fields)
        for x in items:
            insort(x.credits, d)

    def late_notice(self, d, group):
        items = [x for x in group if not x.locked and not x.disposed and x.last_move_eff < d]
        if items:
            self.move_notice(d, items)

    def apply_move(self, it: Item, dest: str, eff: date, eid: str):
        """Update the item as the ledger's fold will; returns what the move record needs."""
        origin = it.loc
        credit = None
        for i, c in enumerate(it.credits):
            if c <= eff:
                credit = it.credits.pop(i)
                break
        rules, certain = self.rules_broken(it, origin, dest, eff) if credit is None else ([], True)
        it.hist.append((origin, it.last_move_eff, credit))
        it.loc = dest
        it.last_move_eff = eff
        return (eid, eff, dest, rules, certain)

    def do_move(self, b, d, it: Item, dest: str, allow_keyed: bool):
        eid = f"mv-{it.cid}-{ymd(d)}"
        if allow_keyed and self.chance(0.01):
            wrong = self.pick_location(it.owner, exclude=it.loc, allow_zero_weight=True)
            if wrong != dest:
                entry = self.apply_move(it, wrong, d, eid)
                self.emit("CollateralMoved", eid, d, ADMIN, {"collateral": it.cid, "to": wrong})
                it.locked = True
                self.schedule(b + self.rng.randint(1, 4),
                              lambda bb, dd: self.fix_move(bb, dd, it, eid, d, wrong, dest))
                return
        entry = self.apply_move(it, dest, d, eid)
        self.emit("CollateralMoved", eid, d, ADMIN, {"collateral": it.cid, "to": dest})
        self.after_move(b, it, entry)

    def fix_move(self, b, d, it: Item, eid: str, eff: date, wrong: str, right: str):
        self.emit("EventVoided", f"void-{eid}", d, ADMIN, {
            "event": eid, "reason": f"keyed to {wrong}; {it.cid} went to {right}"})
        origin, prev_eff, credit = it.hist.pop()
        it.loc, it.last_move_eff = origin, prev_eff
        if credit is not None:
            insort(it.credits, credit)
        if right == origin:
            it.locked = False
            return
        entry = self.apply_move(it, right, eff, f"{eid}-corr")
        self.emit("CollateralMoved", f"{eid}-corr", eff, ADMIN, {"collateral": it.cid, "to": right})
        it.locked = False
        self.after_move(b, it, entry)

    def planned_moves(self, b, d, group, dest):
        for it in group:
            it.locked = False
            if it.disposed or it.loc == dest or it.last_move_eff >= d:
                continue
            self.do_move(b, d, it, dest, allow_keyed=True)

    def record_late_move(self, b, d, it: Item, entry):
        eid, eff, dest, rules, certain = entry
        self.emit("CollateralMoved", eid, eff, FIELD, {"collateral": it.cid, "to": dest})
        it.locked = False
        self.after_move(b, it, entry)

    def after_move(self, b, it: Item, entry):
        eid, eff, dest, rules, certain = entry
        if rules and certain and self.waiver_budget > 0 and self.chance(0.5):
            self.waiver_budget -= 1
            rule = self.rng.choice(rules)
            breach = f"{rule}:{eid}"
            self.schedule(b + self.rng.randint(5, 20), lambda bb, dd: self.emit(
                "DefaultWaived", f"waive-{breach}", dd, ADMIN, {"breach": breach, "by": "congress"}))

    # ---- notices on the CIT and Bank One financings (§3(b))

    def financing_notice(self, b, d):
        rng = self.rng
        fin = "cit" if self.chance(0.45) else "bank-one"
        r = rng.random()
        if fin == "cit":
            cat = "material" if r < 0.6 else "interest-rate" if r < 0.8 else "future-advance" if r < 0.9 \
                else "interest-period"
        else:
            cat = "material" if r < 0.4 else "future-advance" if r < 0.6 else "interest-rate" if r < 0.85 \
                else "interest-period"
        borrower = "lci" if fin == "bank-one" and self.chance(0.25) else "lpc"
        self.seq["ntc"] += 1
        k = self.seq["ntc"]
        received = self.chance(0.7)
        if received:
            notice = f"ntc-{fin}-{k:06d}"
            eid = f"rcv-{fin}-{k:06d}"
            fields = {"notice": notice, "from": fin, "to": borrower, "financing": fin, "category": cat}
            etype = "NoticeReceived"
        else:
            notice = f"ntc-{borrower}-{fin}-{k:06d}"
            eid = f"snt-{borrower}-{fin}-{k:06d}"
            fields = {"notice": notice, "from": borrower, "to": fin, "subject": "financing", "financing": fin,
                      "category": cat}
            etype = "NoticeSent"
        exempt = fin == "bank-one" and cat in EXEMPT_B1
        late_recorded = self.chance(0.06)

        def record(bb, dd):
            self.emit(etype, eid, d, FIELD if dd != d else ADMIN, fields)
            self.after_notice(bb, d, notice, eid, exempt, forced_late=dd != d)

        if late_recorded:
            self.schedule(b + rng.randint(8, 30), record)
        else:
            record(b, d)

    def after_notice(self, b, eff, notice, eid, exempt, forced_late):
        rng = self.rng
        r = rng.random()
        if exempt:
            fwd_in = rng.randint(1, 4) if r < 0.3 else None
        elif forced_late:
            fwd_in = rng.randint(1, 5) if r < 0.7 else None
        else:
            fwd_in = rng.randint(1, 3) if r < 0.86 else rng.randint(5, 15) if r < 0.95 else None
        fwd_day = self.bdays[b + fwd_in] if fwd_in is not None and b + fwd_in < len(self.bdays) else None
        if fwd_day is not None:
            self.schedule(b + fwd_in, lambda bb, dd: self.emit(
                "NoticeForwarded", f"fwd-{notice}", dd, ADMIN, {"notice": notice, "to": "congress"}))
        if exempt:
            return
        deadline = eff + timedelta(days=PROMPTLY_DAYS)
        if fwd_day is not None and fwd_day <= deadline:
            return
        # a furnish-notices breach the ledger will derive: cure it on a late forward, or sometimes waive it
        if self.waiver_budget <= 0 or not self.chance(0.5):
            return
        breach = f"furnish-notices:{eid}"
        since = deadline + timedelta(days=1)
        if fwd_day is not None:
            self.waiver_budget -= 1
            wb = b + fwd_in + rng.randint(1, 3)
            self.schedule(wb, lambda bb, dd: self.emit("DefaultCured", f"cure-{breach}", dd, ADMIN,
                                                       {"breach": breach}))
        else:
            self.waiver_budget -= 1
            wb = b + rng.randint(10, 25)
            self.schedule(wb, lambda bb, dd: self.emit("DefaultWaived", f"waive-{breach}", dd, ADMIN,
                                                       {"breach": breach, "by": "congress"}) if dd >= since else None)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000, help="number of events (lines) to write")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", required=True, help="output file, or - for stdout")
    ap.add_argument("--days", type=int, default=None,
                    help=f"calendar days of activity from {ACTIVITY_START} (default: to {DEFAULT_END})")
    ap.add_argument("--items", type=int, default=None, help="collateral items (default: N/500, at least 200)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    if args.n < 1:
        ap.error("--n must be at least 1")
    days = args.days if args.days is not None else (DEFAULT_END - ACTIVITY_START).days + 1
    if days < 7:
        ap.error("--days must be at least 7")
    if ACTIVITY_START + timedelta(days=days) >= date.today():
        ap.error("--days reaches today: recorded times must be in the past")
    items = args.items if args.items is not None else max(200, args.n // 500)
    if items < 20:
        ap.error("--items must be at least 20")
    started = time.perf_counter()
    out = sys.stdout if args.out == "-" else open(args.out, "w", encoding="utf-8", newline="\n", buffering=1 << 20)
    gen = Synth(args.n, args.seed, days, items, out)
    try:
        gen.run()
    except Done:
        pass
    gen.flush()
    if out is not sys.stdout:
        out.close()
    if not args.quiet:
        mix = Counter(gen.mix)
        mix["CollateralValued"] += gen.nval
        elapsed = time.perf_counter() - started
        print(f"{gen.total} events, {len(gen.items)} items, {elapsed:.1f}s", file=sys.stderr)
        for k, v in mix.most_common():
            print(f"  {k:22s} {v:9d}  {100 * v / max(1, gen.total):6.2f}%", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
