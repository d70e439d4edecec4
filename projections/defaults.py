"""The covenant rules: breaches, when they began, when they became Events of Default, how they ended.

`find_breaches(ctx)` walks every known event once, in (effective date, log
position) order, and returns every breach whatever the query date; the view
for a date D then lists those begun by D with their state on D. Each rule is a
small function returning findings; none raises on odd input (an event naming an
item the fold does not hold is passed over).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from itertools import groupby

import attrs

from ledger.events import (
    AgreementExecuted,
    CollateralDisposed,
    CollateralMoved,
    CollateralRegistered,
    FacilityOpened,
    PaymentReceived,
    ProceedsReceived,
    DefaultCured,
    DefaultWaived,
    LoanAdvanced,
    NoticeForwarded,
    NoticeReceived,
    NoticeSent,
    Recorded,
)
from ledger.values import NoticeSubject, add_days, money
from projections.context import Context, fold_key
from projections.results import BreachView, DefaultsAnswer, Header
from projections.state import Item, Loan, apply_collateral, apply_loan

ZERO = Decimal("0.00")
LOAN_EVENTS = (FacilityOpened, LoanAdvanced, PaymentReceived, ProceedsReceived)


@attrs.define
class Breach:
    """A breach as the walk finds it; `end`/`ended_by` are set by cures, waivers or self-cure."""

    breach: str
    rule: str
    since: date
    grace: int
    cause: tuple[date, int]  # fold key of the event that caused it
    events: tuple[str, ...]
    detail: str
    end: date | None = None
    end_state: str | None = None  # cured or waived
    ended_by: str | None = None
    place: str | None = None  # for location rules: the location left, or the one entered
    clause: str | None = None  # the clause the terms in force on `since` give the rule (DEALS.md section 1), else None

    @property
    def event_of_default_from(self) -> date | None:
        """The day the Default matures; None where the grace runs past the end of the calendar (never)."""
        return add_days(self.since, self.grace)

    def ended_on(self, day: date) -> bool:
        return self.end is not None and self.end <= day

    def is_event_of_default_on(self, day: date) -> bool:
        matures = self.event_of_default_from
        return not self.ended_on(day) and matures is not None and matures <= day

    def state_on(self, day: date) -> str:
        if self.ended_on(day):
            return self.end_state or "cured"
        matures = self.event_of_default_from
        return "event-of-default" if matures is not None and matures <= day else "default"

    def view(self, day: date) -> BreachView:
        ended = self.ended_on(day)  # an ending after the query date is not yet known to that date's answer
        return BreachView(self.breach, self.rule, self.clause, self.since, self.event_of_default_from,
                          self.state_on(day), self.events, self.detail,
                          ended_on=self.end if ended else None, ended_by=self.ended_by if ended else None)


def _endings(ctx: Context) -> dict[str, tuple[date, int, str, str]]:
    """For each breach id, the earliest cure or lender's waiver: (date, position, state, event id)."""
    out: dict[str, tuple[date, int, str, str]] = {}
    for rec in ctx.events:
        ev = rec.event
        if isinstance(ev, DefaultCured):
            state = "cured"
        elif isinstance(ev, DefaultWaived) and ev.by == ctx.lender:
            state = "waived"
        else:
            continue
        key = (ev.effective_date, rec.position, state, rec.event_id)
        if ev.breach not in out or key < out[ev.breach]:
            out[ev.breach] = key
    return out


def _close(breach: Breach, endings: dict) -> Breach:
    ending = endings.get(breach.breach)
    if ending is not None and (breach.end is None or ending[0] < breach.end):
        breach.end, breach.end_state, breach.ended_by = max(ending[0], breach.since), ending[2], ending[3]
    return breach


# ---------------------------------------------------------------- rules

def _move_notices(ctx: Context) -> list[tuple[tuple[date, int], NoticeSent, str]]:
    notices = []
    for rec in ctx.folded:
        ev = rec.event
        if isinstance(ev, NoticeSent) and ev.subject == NoticeSubject.COLLATERAL_MOVE and ev.to == ctx.lender:
            notices.append((fold_key(rec), ev, rec.event_id))
    return notices


def _covering_notice(notices, used: set[tuple[str, str]], item: Item, move_date: date) -> str | None:
    """The first notice on or before the move that names the item and has not announced an earlier move of it."""
    for (day, _), ev, event_id in notices:
        if day > move_date:
            break
        if (event_id, item.collateral) in used:
            continue
        named = item.collateral in (ev.collateral or ()) or (item.serial is not None and item.serial in (ev.serials or ()))
        if named:
            used.add((event_id, item.collateral))
            return event_id
    return None


def location_findings(ctx: Context, rec: Recorded, item: Item, origin: str, liens_held: set[str],
                      notice: str | None = None) -> list[Breach]:
    """A move out of a restricted location without a covering notice, or with one to a place the restriction
    does not permit (`permitted`, DEALS.md sections 1 and 6); a move into a protected location without one."""
    ev: CollateralMoved = rec.event  # type: ignore[assignment]
    day = ev.effective_date
    terms = ctx.terms_on(day)
    found = []
    label = f"{item.collateral}" + (f" (serial {item.serial})" if item.serial else "")
    for rule in sorted(terms.restricted_collateral):
        restriction = terms.restricted_collateral[rule]
        if restriction.holder not in liens_held or origin not in restriction.locations:
            continue
        if notice is None:
            how = f"to {ev.to} on {day.isoformat()} without prior written notice to {ctx.lender} naming it"
        elif restriction.permitted is not None and ev.to not in restriction.permitted:
            allowed = ", ".join(restriction.permitted) or "none"
            how = (f"on {day.isoformat()}: moved with notice to {ev.to}, which is not a permitted location "
                   f"(restricted_collateral {rule} permits: {allowed}; notice {notice})")
        else:
            continue
        found.append(Breach(
            f"{rule}:{rec.event_id}", rule, day, terms.grace(rule), fold_key(rec), (rec.event_id,),
            f"{label}, under a lien of {restriction.holder}, was moved from {origin} {how}",
            place=origin, clause=terms.clause(rule)))
    if notice is None and ev.to in terms.protected_locations and item.kind.tangible and ctx.is_borrower(item.owner):
        rule = "protected-location-in"
        found.append(Breach(
            f"{rule}:{rec.event_id}", rule, day, terms.grace(rule), fold_key(rec), (rec.event_id,),
            f"{label}, {item.kind.value} of {item.owner}, was moved from {origin} into {ev.to}, one of the terms' "
            f"protected_locations, on {day.isoformat()} without prior written notice to {ctx.lender} naming it",
            place=ev.to, clause=terms.clause(rule)))
    return found


def forwards_of(ctx: Context, events) -> dict[str, list[tuple[date, str]]]:
    """For each notice id, when (and by which event) it was furnished to the lender."""
    forwards: dict[str, list[tuple[date, str]]] = {}
    for rec in events:
        ev = rec.event
        if isinstance(ev, NoticeForwarded) and ev.to == ctx.lender:
            forwards.setdefault(ev.notice, []).append((ev.effective_date, rec.event_id))
    return forwards


def notice_breach(ctx: Context, rec: Recorded, forwards: list[tuple[date, str]]) -> Breach | None:
    """furnish-notices: a material notice on a financing not forwarded to the lender within `promptly_days`."""
    ev = rec.event
    if isinstance(ev, NoticeReceived):
        if ev.to == ctx.lender:
            return None
        financing, category, how = ev.financing, ev.category, f"received by {ev.to} from {ev.sender}"
    elif (isinstance(ev, NoticeSent) and ev.subject == NoticeSubject.FINANCING and ev.financing
          and ev.to != ctx.lender and ev.sender != ctx.lender):
        financing, category, how = ev.financing, ev.category, f"sent by {ev.sender} to {ev.to}"
    else:
        return None
    terms = ctx.terms_on(ev.effective_date)
    if terms.promptly_days is None:
        return None
    if category is not None and category in terms.exempt_notice_categories.get(financing, frozenset()):
        return None
    deadline = add_days(ev.effective_date, terms.promptly_days)
    since = add_days(deadline, 1) if deadline is not None else None
    if since is None:
        return None  # the time allowed runs past the end of the calendar: it can never be missed
    sent = sorted(forwards)
    if sent and sent[0][0] <= deadline:
        return None
    rule = "furnish-notices"
    kind = category.value if category is not None else "financing"
    breach = Breach(
        f"{rule}:{rec.event_id}", rule, since, terms.grace(rule), fold_key(rec), (rec.event_id,),
        f"notice {ev.notice} ({kind}, {financing} financing), {how} on {ev.effective_date.isoformat()}, "
        f"was not furnished to {ctx.lender} within {terms.promptly_days} days "
        f"(promptly_days = {terms.promptly_days} is set by the terms, not a number the agreement gives)",
        clause=terms.clause(rule))
    if sent and rule in ctx.terms_on(sent[0][0]).self_curing:
        breach.end, breach.end_state, breach.ended_by = sent[0][0], "cured", sent[0][1]
    return breach


def furnish_findings(ctx: Context) -> list[Breach]:
    """furnish-notices for every notice known."""
    forwards = forwards_of(ctx, ctx.events)
    found = []
    for rec in ctx.folded:
        if isinstance(rec.event, (NoticeReceived, NoticeSent)):
            breach = notice_breach(ctx, rec, forwards.get(rec.event.notice, []))
            if breach is not None:
                found.append(breach)
    return found


def _cap_scope(loans: dict[str, Loan], financing: str, borrower: str | None) -> Decimal:
    return sum((l.principal for l in loans.values()
                if l.opened.financing == financing and (borrower is None or l.opened.borrower == borrower)), ZERO)


# ---------------------------------------------------------------- the rules, entity by entity
#
# Each rule looks at one thing: the location rules at one item (its moves, the liens on it
# and the notices naming it), furnish-notices at one notice, the caps at one scope (a financing,
# or a financing and borrower) and no-default-at-advance at the advances given all other breaches.
# `find_breaches` is their union; the read models keep them per thing and redo
# only the things a new event touches.


def item_breaches(ctx: Context, events: list[Recorded], notices, endings) -> list[Breach]:
    """The location rules for one item: `events` are its registrations, moves, disposals and the liens naming it, in fold order;
    `notices` the move notices that may name it, in fold order."""
    used: set[tuple[str, str]] = set()
    items: dict[str, Item] = {}
    liens: dict[str, tuple[str, frozenset[str]]] = {}  # lien -> (holder, items)
    found: list[Breach] = []
    for rec in events:
        ev = rec.event
        if isinstance(ev, CollateralMoved):
            item = items.get(ev.collateral)
            if item is not None and not item.disposed and item.location != ev.to:
                day = ev.effective_date
                origin = item.location
                held = {holder for holder, covered in liens.values() if item.collateral in covered}
                _self_cure_location(ctx, found, item, ev.to, day, rec)
                notice = _covering_notice(notices, used, item, day)
                found.extend(_close(b, endings) for b in location_findings(ctx, rec, item, origin, held, notice))
        _apply_liens(liens, rec)
        apply_collateral(items, rec)
    return found


def scope_breaches(ctx: Context, key: tuple[str, str | None], events: list[Recorded], endings) -> list[Breach]:
    """The caps of one scope: `events` are the openings and principal changes of its facilities, in fold order."""
    agreement_of_day = _agreements_by_day(ctx)
    loans: dict[str, Loan] = {}
    open_caps: dict[tuple[str, str | None], Breach] = {}
    last_principal: dict[tuple[str, str | None], Decimal] = {}
    found: list[Breach] = []
    by_day = {d: list(g) for d, g in groupby(events, key=lambda r: r.event.effective_date)}
    for day in sorted(set(by_day) | set(agreement_of_day)):
        raised: dict[tuple[str, str | None], Recorded] = {}
        cap = ctx.terms_on(day).caps.get(key)
        for rec in by_day.get(day, []):
            before = _cap_scope(loans, *key) if isinstance(rec.event, LoanAdvanced) else None
            apply_loan(loans, rec)
            if before is not None:
                after = _cap_scope(loans, *key)
                # the cause is the advance that took principal over the cap (the last one to, on a busy day);
                # failing that, the first advance of the day that added to an excess already there
                crossed = cap is not None and before <= cap.amount < after
                if after > before and (crossed or key not in raised):
                    raised[key] = (rec, crossed)
        if key in ctx.terms_on(day).caps:
            _cap_at_end_of_day(ctx, day, key, loans, open_caps, last_principal, raised, agreement_of_day, found,
                               endings)
    return found


def _agreements_by_day(ctx: Context) -> dict[date, list[Recorded]]:
    out: dict[date, list[Recorded]] = {}
    for state in ctx.agreements.values():
        if state.effective is not None and state.agreement.terms is not None:
            out.setdefault(state.effective, []).append(state.record)
    for records in out.values():
        records.sort(key=lambda r: r.position)
    return out


def representation_breaches(ctx: Context, advances: list[Recorded], others: list[Breach], endings,
                            *, earlier: list[Breach] = (), start: tuple[date, int] | None = None) -> list[Breach]:
    """no-default-at-advance: each advance under a listed financing while an Event of Default caused before it continues.

    `advances` in fold order; `others` every breach of the other rules. With `start`, only the advances
    from that fold key on are judged, `earlier` being the no-default-at-advance breaches found before it."""
    rule = "no-default-at-advance"
    found = list(earlier)
    for rec in advances:
        key = fold_key(rec)
        if start is not None and key < start:
            continue
        ev: LoanAdvanced = rec.event  # type: ignore[assignment]
        opened = ctx.facilities.get(ev.facility)
        day = ev.effective_date
        terms = ctx.terms_on(day)
        if opened is None or opened.event.effective_date > day:
            continue
        financing = opened.event.financing
        if financing not in terms.representation_financings:
            continue
        continuing = sorted((b for b in (*others, *found) if b.cause < key and b.is_event_of_default_on(day)),
                            key=lambda b: (b.since, b.breach))
        if not continuing:
            continue
        names = ", ".join(b.breach for b in continuing[:3])
        more = f" and {len(continuing) - 3} more" if len(continuing) > 3 else ""
        found.append(_close(Breach(
            f"{rule}:{rec.event_id}", rule, day, terms.grace(rule), key, (rec.event_id,),
            f"advance of {money(ev.amount)} on {ev.facility} ({financing} financing) on {day.isoformat()} "
            f"represented that no Event of Default existed, but {names}{more} continued", clause=terms.clause(rule)),
            endings))
    return found


def cap_scopes(ctx: Context) -> list[tuple[str, str | None]]:
    """Every (financing, borrower) that a cap of any terms in force at some date names."""
    keys = set()
    for day in ctx.terms_change_dates():
        keys |= set(ctx.terms_on(day).caps)
    return sorted(keys, key=lambda k: (k[0], k[1] or ""))


def in_scope(opened, key: tuple[str, str | None]) -> bool:
    return opened.financing == key[0] and (key[1] is None or opened.borrower == key[1])


def find_breaches(ctx: Context) -> list[Breach]:
    """Every breach the known events give, with its end where a cure, waiver or self-cure ends it."""
    endings = _endings(ctx)
    breaches: list[Breach] = [_close(b, endings) for b in furnish_findings(ctx)]
    notices = _move_notices(ctx)
    per_item: dict[str, list[Recorded]] = {}
    lien_items: dict[str, tuple[str, ...]] = {}
    for rec in ctx.folded:
        for item in _items_of(rec.event, lien_items):
            per_item.setdefault(item, []).append(rec)
    serials = {}
    for item, events in per_item.items():
        registered = next((r.event for r in events if isinstance(r.event, CollateralRegistered)), None)
        serials[item] = registered.serial if registered is not None else None
    for item, events in per_item.items():
        mine = [n for n in notices if names_item(n[1], item, serials[item])]
        breaches.extend(item_breaches(ctx, events, mine, endings))
    loan_events = [r for r in ctx.folded if isinstance(r.event, LOAN_EVENTS)]
    for key in cap_scopes(ctx):
        facilities = {name for name, rec in ctx.facilities.items() if in_scope(rec.event, key)}
        events = [r for r in loan_events if _facilities_of(r.event) & facilities]
        breaches.extend(scope_breaches(ctx, key, events, endings))
    advances = [r for r in loan_events if isinstance(r.event, LoanAdvanced)]
    return breaches + representation_breaches(ctx, advances, breaches, endings)


def names_item(notice: NoticeSent, item: str, serial: str | None) -> bool:
    return item in (notice.collateral or ()) or (serial is not None and serial in (notice.serials or ()))


def _items_of(ev, lien_items: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """The items whose location-rule judgement an event can change (notices aside); `lien_items` learns each lien's items."""
    from ledger.events import LienGranted, LienReleased

    if isinstance(ev, (CollateralRegistered, CollateralMoved, CollateralDisposed)):
        return (ev.collateral,)
    if isinstance(ev, LienGranted):
        lien_items.setdefault(ev.lien, ev.collateral)
        return ev.collateral
    if isinstance(ev, LienReleased):
        return lien_items.get(ev.lien, ())
    return ()


def _facilities_of(ev) -> set[str]:
    if isinstance(ev, ProceedsReceived):
        return {s.facility for s in ev.allocations}
    return {ev.facility}


def _apply_liens(liens: dict, rec: Recorded) -> None:
    from ledger.events import LienGranted, LienReleased

    ev = rec.event
    if isinstance(ev, LienGranted) and ev.lien not in liens:
        liens[ev.lien] = (ev.holder, frozenset(ev.collateral))
    elif isinstance(ev, LienReleased):
        liens.pop(ev.lien, None)


def _self_cure_location(ctx: Context, breaches: list[Breach], item: Item, to: str, day: date, rec: Recorded) -> None:
    """Where the terms make a location rule self-curing, the item's return ends the breach."""
    self_curing = ctx.terms_on(day).self_curing
    for b in breaches:
        if b.end is not None or b.rule not in self_curing or b.events[0] not in item.moved_by:
            continue
        cured = (to != b.place) if b.rule == "protected-location-in" else (to == b.place)
        if cured:
            b.end, b.end_state, b.ended_by = day, "cured", rec.event_id


def _cap_at_end_of_day(ctx, day, key, loans, open_caps, last_principal, raised, agreement_of_day, breaches, endings):
    """cap: principal above a cap at the end of a day is unconsented debt."""
    terms = ctx.terms_on(day)
    self_curing = "cap" in terms.self_curing
    cap = terms.caps[key]
    principal = _cap_scope(loans, *key)
    current = open_caps.get(key)
    if current is not None and current.ended_on(day):
        open_caps.pop(key)
        current = None
    if current is not None:
        if self_curing and principal <= cap.amount and current.end is None:
            current.end, current.end_state, current.ended_by = day, "cured", None
            open_caps.pop(key)
        return
    if principal <= cap.amount:
        last_principal[key] = principal
        return
    terms_took_effect = day in agreement_of_day
    if key in last_principal and last_principal[key] > cap.amount and key not in raised and not terms_took_effect:
        return  # the same excess a cure or waiver already dealt with
    cause = raised[key][0] if key in raised else (agreement_of_day.get(day) or [None])[-1]
    if cause is None:
        return
    who = f"{cap.borrower}'s " if cap.borrower else ""
    breach = Breach(
        f"cap:{cap.financing}:{cap.borrower or '*'}:{cause.event_id}", "cap", day, terms.grace("cap"),
        fold_key(cause), (cause.event_id,),
        f"{who}{cap.financing} financing principal {money(principal)} exceeds the consented cap of "
        f"{money(cap.amount)} by {money(principal - cap.amount)} at the end of {day.isoformat()}",
        clause=cap.clause if cap.clause is not None else terms.clause("cap"))
    _close(breach, endings)
    breaches.append(breach)
    open_caps[key] = breach
    last_principal[key] = principal


# ---------------------------------------------------------------- the view

def defaults_view(ctx: Context, header: Header, breaches: list[Breach] | None = None) -> DefaultsAnswer:
    day = header.as_of
    found = breaches if breaches is not None else find_breaches(ctx)
    listed = sorted((b for b in found if b.since <= day), key=lambda b: (b.since, b.breach))
    views = tuple(b.view(day) for b in listed)
    states = {v.state for v in views}
    status = "event-of-default" if "event-of-default" in states else "default" if "default" in states else "none"
    return DefaultsAnswer(header, status, views)


def breach_ids(ctx: Context) -> set[str]:
    return {b.breach for b in find_breaches(ctx)}


__all__ = ["Breach", "find_breaches", "defaults_view", "breach_ids", "AgreementExecuted"]
