"""Breaches kept up to date one event at a time, for the read models.

`find_breaches` judges every item, notice, cap scope and advance from scratch.
The engine keeps each one's breaches and, when an event arrives, judges again
only what it touches: the item a move or registration names, the items of a
lien or a move notice, the notice a forward names, the cap scopes of a loan
event's financing, and the no-default-at-advance representations from the earliest date that changed.
Events that change the terms, the lender, the parties or the facilities, and
voids, make it judge everything again (they are few). The rules themselves are
those of `projections.defaults`; the property tests hold the two to the same
answers.
"""

from __future__ import annotations

import bisect
from datetime import date
from typing import Iterable

from ledger.events import (
    AgreementExecuted,
    CollateralDisposed,
    CollateralMoved,
    CollateralRegistered,

    ConditionSatisfied,
    ConditionWaived,
    DefaultCured,
    DefaultWaived,
    EventVoided,
    FacilityOpened,
    LienGranted,
    LienReleased,
    LoanAdvanced,
    NoticeForwarded,
    NoticeReceived,
    NoticeSent,
    PartyRegistered,
    PaymentReceived,
    ProceedsReceived,
    Recorded,
)
from ledger.values import NoticeSubject
from projections.context import Context, fold_key, live_events
from projections.defaults import (
    Breach,
    _close,
    _endings,
    cap_scopes,
    forwards_of,
    in_scope,
    item_breaches,
    names_item,
    notice_breach,
    representation_breaches,
    scope_breaches,
)

GLOBAL = (AgreementExecuted, ConditionSatisfied, ConditionWaived, PartyRegistered, FacilityOpened)
ENDINGS = (DefaultCured, DefaultWaived)
LOANS = (LoanAdvanced, PaymentReceived, ProceedsReceived)
IRRELEVANT = ("CollateralValued", "LocationRegistered", "ConsentGranted", "PriorityAgreed")


def signature(b: Breach) -> tuple:
    return (b.breach, b.rule, b.since, b.grace, b.cause, b.events, b.detail, b.end, b.end_state, b.ended_by,
            b.place, b.clause)


class BreachEngine:
    """The breaches of a growing set of known events (valuations never matter and are never given)."""

    def __init__(self, events: Iterable[Recorded] = ()):
        self.log: list[Recorded] = [r for r in events if r.event.type_name not in IRRELEVANT]
        self.rebuild()

    # ------------------------------------------------------------ state

    def rebuild(self) -> None:
        self.changed: set[str] | None = None  # every breach may have changed
        self.by_event = {r.event_id: r for r in self.log}
        live = live_events(self.log)
        self.global_events = [r for r in live if isinstance(r.event, (*GLOBAL, *ENDINGS))]
        self.ctx = Context(self.global_events)
        self.endings = _endings(self.ctx)
        self.by_item: dict[str, list[Recorded]] = {}
        self.serial: dict[str, str | None] = {}
        self.lien_items: dict[str, tuple[str, ...]] = {}
        self.move_notices: list[tuple] = []  # (fold key, NoticeSent, event id), fold order
        self.notices_naming: dict[str, list[tuple]] = {}  # item id or "serial:" + serial -> move notices
        self.notices: dict[str, Recorded] = {}  # notice id -> the NoticeSent/Received event
        self.forward_events: list[Recorded] = []
        self.by_facility: dict[str, list[Recorded]] = {}
        self.advances: list[Recorded] = []
        for rec in sorted(live, key=fold_key):
            self._index(rec)
        self.forwards = forwards_of(self.ctx, self.forward_events)
        self.results: dict[tuple, list[Breach]] = {}
        for item in self.by_item:
            self.results[("item", item)] = self._judge_item(item)
        for notice in self.notices:
            self.results[("notice", notice)] = self._judge_notice(notice)
        for key in cap_scopes(self.ctx):
            self.results[("scope", key)] = self._judge_scope(key)
        self.rep: list[Breach] = representation_breaches(self.ctx, self.advances, self._others(), self.endings)

    def _index(self, rec: Recorded) -> None:
        ev = rec.event
        key = fold_key(rec)
        if isinstance(ev, (CollateralRegistered, CollateralMoved, CollateralDisposed)):
            _insort(self.by_item.setdefault(ev.collateral, []), rec)
            if isinstance(ev, CollateralRegistered) and ev.collateral not in self.serial:
                self.serial[ev.collateral] = ev.serial
        elif isinstance(ev, LienGranted):
            self.lien_items.setdefault(ev.lien, ev.collateral)
            for item in ev.collateral:
                _insort(self.by_item.setdefault(item, []), rec)
        elif isinstance(ev, LienReleased):
            for item in self.lien_items.get(ev.lien, ()):
                _insort(self.by_item.setdefault(item, []), rec)
        elif isinstance(ev, NoticeSent) and ev.subject == NoticeSubject.COLLATERAL_MOVE:
            if ev.to == self.ctx.lender:
                entry = (key, ev, rec.event_id)
                bisect.insort(self.move_notices, entry, key=lambda n: n[0])
                for name in (*(ev.collateral or ()), *(f"serial:{s}" for s in (ev.serials or ()))):
                    bisect.insort(self.notices_naming.setdefault(name, []), entry, key=lambda n: n[0])
        if isinstance(ev, (NoticeSent, NoticeReceived)):
            self.notices.setdefault(ev.notice, rec)
        elif isinstance(ev, NoticeForwarded):
            self.forward_events.append(rec)
        elif isinstance(ev, LOANS):
            facilities = {s.facility for s in ev.allocations} if isinstance(ev, ProceedsReceived) else {ev.facility}
            for facility in facilities:
                _insort(self.by_facility.setdefault(facility, []), rec)
            if isinstance(ev, LoanAdvanced):
                _insort(self.advances, rec)

    # ------------------------------------------------------------ judging one thing

    def _judge_item(self, item: str) -> list[Breach]:
        serial = self.serial.get(item)
        candidates = {n[2]: n for n in (*self.notices_naming.get(item, ()),
                                        *(self.notices_naming.get(f"serial:{serial}", ()) if serial else ()))}
        notices = sorted((n for n in candidates.values() if names_item(n[1], item, serial)), key=lambda n: n[0])
        return item_breaches(self.ctx, self.by_item.get(item, []), notices, self.endings)

    def _judge_notice(self, notice: str) -> list[Breach]:
        breach = notice_breach(self.ctx, self.notices[notice], self.forwards.get(notice, []))
        return [_close(breach, self.endings)] if breach is not None else []

    def _judge_scope(self, key) -> list[Breach]:
        facilities = [name for name, rec in self.ctx.facilities.items() if in_scope(rec.event, key)]
        seen: dict[int, Recorded] = {}
        for facility in facilities:
            seen[self.ctx.facilities[facility].position] = self.ctx.facilities[facility]
            for rec in self.by_facility.get(facility, []):
                seen[rec.position] = rec
        return scope_breaches(self.ctx, key, sorted(seen.values(), key=fold_key), self.endings)

    def _others(self) -> list[Breach]:
        return [b for found in self.results.values() for b in found]

    # ------------------------------------------------------------ the breach set

    def breaches(self) -> list[Breach]:
        return self._others() + self.rep

    def current(self) -> dict[str, Breach]:
        return {b.breach: b for b in self.breaches()}

    def find(self, ids: set[str]) -> dict[str, Breach]:
        """The breaches with these ids that exist now."""
        out = {}
        for name in ids:
            if name.startswith("no-default-at-advance:"):
                found = next((b for b in self.rep if b.breach == name), None)
            else:
                found = next((b for key in self._owners(name) for b in self.results.get(key, ()) if b.breach == name),
                             None)
            if found is None:  # ids may hold ':' themselves: look everywhere
                found = next((b for b in self.breaches() if b.breach == name), None)
            if found is not None:
                out[name] = found
        return out

    def _owners(self, name: str) -> list[tuple]:
        """Where a breach of this id can be: its rule and event name the item, notice or scope."""
        rule, _, rest = name.partition(":")
        if rule == "furnish-notices":
            rec = self._by_event(rest)
            return [("notice", rec.event.notice)] if rec is not None else []
        if rule == "cap":
            financing, borrower, _ = rest.split(":", 2)
            return [("scope", (financing, None if borrower == "*" else borrower))]
        rec = self._by_event(rest)
        return [("item", rec.event.collateral)] if rec is not None and hasattr(rec.event, "collateral") else []

    def _by_event(self, event_id: str) -> Recorded | None:
        return self.by_event.get(event_id)

    # ------------------------------------------------------------ one event more

    def add(self, rec: Recorded) -> bool:
        """Take one more known event (in log order); True if the breaches may have changed."""
        ev = rec.event
        if ev.type_name in IRRELEVANT:
            return False
        self.log.append(rec)
        self.by_event[rec.event_id] = rec
        if isinstance(ev, EventVoided):
            return self._void(ev)
        if isinstance(ev, GLOBAL):
            self.rebuild()
            return True
        if isinstance(ev, ENDINGS):
            self.global_events.append(rec)
            self.ctx = Context(self.global_events)
            self.endings = _endings(self.ctx)
            owner = next((k for k, found in self.results.items() if any(b.breach == ev.breach for b in found)), None)
            touched = {owner} if owner else set()
            since = min((b.since for b in self.rep if b.breach == ev.breach), default=None)
            return self._rejudge(touched, since or ev.effective_date, rep_all=owner is None)
        before_notices = len(self.move_notices)
        self._index(rec)
        touched: set[tuple] = set()
        if isinstance(ev, (CollateralRegistered, CollateralMoved, CollateralDisposed)):
            touched.add(("item", ev.collateral))
        elif isinstance(ev, LienGranted):
            touched |= {("item", i) for i in ev.collateral}
        elif isinstance(ev, LienReleased):
            touched |= {("item", i) for i in self.lien_items.get(ev.lien, ())}
        elif isinstance(ev, NoticeSent) and ev.subject == NoticeSubject.COLLATERAL_MOVE:
            if len(self.move_notices) != before_notices:
                named = set(ev.collateral or ()) | {i for i, s in self.serial.items() if s and s in (ev.serials or ())}
                touched |= {("item", i) for i in named}
        if isinstance(ev, (NoticeSent, NoticeReceived)):
            touched.add(("notice", ev.notice))
        elif isinstance(ev, NoticeForwarded):
            self.forwards = forwards_of(self.ctx, self.forward_events)
            if ev.notice in self.notices:
                touched.add(("notice", ev.notice))
        elif isinstance(ev, LOANS):
            facilities = {s.facility for s in ev.allocations} if isinstance(ev, ProceedsReceived) else {ev.facility}
            financings = {self.ctx.facilities[f].event.financing for f in facilities if f in self.ctx.facilities}
            touched |= {("scope", k) for k in cap_scopes(self.ctx) if k[0] in financings}
        rep_from = ev.effective_date if isinstance(ev, LoanAdvanced) else None
        return self._rejudge(touched, rep_from)

    def _void(self, ev: EventVoided) -> bool:
        """A void: nothing to judge if what it takes away (or gives back) never mattered; one item if a move."""
        target = self.by_event.get(ev.event)
        base = target
        while base is not None and isinstance(base.event, EventVoided):
            base = self.by_event.get(base.event.event)
        if base is None:
            return False  # a valuation, location, consent or priority (or a void of one): breaches never see them
        if target is base and isinstance(base.event, (CollateralMoved, CollateralDisposed)):
            items = self.by_item.get(base.event.collateral, [])
            if base in items:
                items.remove(base)
                return self._rejudge({("item", base.event.collateral)}, None)
        self.rebuild()  # anything else (rare): judge everything again
        return True

    def _rejudge(self, touched: set[tuple], rep_from: date | None, *, rep_all: bool = False) -> bool:
        changed_since: list[date] = [rep_from] if rep_from else []
        changed: set[str] = set()
        for key in touched:
            kind, name = key
            new = (self._judge_item(name) if kind == "item" else
                   self._judge_notice(name) if kind == "notice" else self._judge_scope(name))
            old = self.results.get(key, [])
            if [signature(b) for b in old] != [signature(b) for b in new]:
                changed_since += [b.since for b in (*old, *new)]
                changed_since += [b.end for b in (*old, *new) if b.end is not None]
                changed |= {b.breach for b in (*old, *new)}
            self.results[key] = new
        old_rep = self.rep
        if rep_all:
            self.rep = representation_breaches(self.ctx, self.advances, self._others(), self.endings)
        elif changed_since:
            start = (min(changed_since), 0)
            earlier = [b for b in self.rep if b.cause < start]
            self.rep = representation_breaches(self.ctx, self.advances, self._others(), self.endings,
                                               earlier=earlier, start=start)
        if self.rep is not old_rep:
            before = {b.breach: signature(b) for b in old_rep}
            after = {b.breach: signature(b) for b in self.rep}
            changed |= {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}
        if self.changed is not None:
            self.changed |= changed
        return bool(touched) or rep_all or bool(changed_since)

    def take_changes(self) -> set[str] | None:
        """The ids of the breaches that may have changed since the last call (None: any of them)."""
        changed, self.changed = self.changed, set()
        return changed


def _insort(items: list[Recorded], rec: Recorded) -> None:
    bisect.insort(items, rec, key=fold_key)
