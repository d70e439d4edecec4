"""`record`: check a batch against the ledger as it stands and append it in one transaction.

A batch is all or nothing. Every check that needs the stored ledger (references,
retries, waterfalls, breach ids) is made against the tail read just before the
insert; if another writer appends first, the insert fails on the position and
the whole batch is checked again against the new tail.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import random
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Iterable, Sequence

import attrs
from eventsourcing.persistence import IntegrityError, StoredEvent

from ledger.codec import canonical_bytes, encode
from ledger.errors import ConcurrentWrite, InputError, StrictRefusal
from ledger.events import (
    EVENT,
    AgreementExecuted,
    Allocation,
    ConditionSatisfied,
    ConditionWaived,
    DefaultCured,
    DefaultWaived,
    Event,
    EventVoided,
    FacilityOpened,
    LoanAdvanced,
    PaymentReceived,
    PriorityAgreed,
    ProceedsReceived,
    Recorded,
    field_specs,
)
from ledger.reader import Incoming
from ledger.store import LEDGER_STREAM, TOPIC_PREFIX, Store, Tail
from ledger.values import FacilityKind, iso_time, money, utc_now

MAX_ATTEMPTS = 30


@attrs.frozen
class RecordResult:
    """What a `record` did: the events appended and the ids that were already there (retries)."""

    recorded: tuple[Recorded, ...]
    already: tuple[str, ...]
    clock_behind: "timedelta | None" = None  # how far the machine clock was behind the ledger's last time
    warnings: tuple[tuple[int, str], ...] = ()  # (input line, message): recorded, but worth a second look

    @property
    def head(self) -> str | None:
        return f"{self.recorded[-1].position}:{self.recorded[-1].chain}" if self.recorded else None


def default_actor() -> str:
    try:
        return getpass.getuser()
    except Exception:  # containers without a passwd entry
        return f"uid-{os.getuid()}"


def chain_hash(previous: str, state: bytes) -> str:
    """sha256 over the previous hash (hex, ASCII) and the event's canonical bytes: docs/hashing.md."""
    return hashlib.sha256(previous.encode("ascii") + state).hexdigest()


def record_body(rec_event: Event, event_id: str, position: int, recorded_at: datetime, actor: str) -> dict:
    body = encode(rec_event)
    body.update({"id": event_id, "position": position, "recorded_at": iso_time(recorded_at), "actor": actor})
    return body


def _comparable(event: Event) -> dict:
    """The event's content as a retry compares it: resolved waterfall amounts left out."""
    body = encode(event)
    if isinstance(event, ProceedsReceived):
        body["apply"] = [{k: v for k, v in step.items() if k != "resolved"} for step in body["apply"]]
    return body


def record(store: Store, incoming: Sequence[Incoming], *, actor: str | None = None,
           now=utc_now, strict: bool = False) -> RecordResult:
    """Append the batch in one transaction, or refuse it whole with an InputError.

    The result carries the batch's warnings (DEALS.md, record warnings); with `strict`, a batch with any
    warning is refused whole with a StrictRefusal that carries them."""
    if not incoming:
        return RecordResult((), ())
    store.refuse_if_read_only()
    actor = actor or default_actor()
    import gc

    # a batch allocates many small objects and frees none until it ends: skip the collector's passes
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _record(store, incoming, actor, now, strict)
    finally:
        if enabled:
            gc.enable()


def _record(store: Store, incoming: Sequence[Incoming], actor: str, now, strict: bool = False) -> RecordResult:
    for attempt in range(MAX_ATTEMPTS):
        tail = store.tail()
        plan = _Plan(store, tail, incoming, actor, now())
        try:
            plan.check()
        except InputError:
            # the checks read the ledger in several queries: if another writer appended meanwhile, they may
            # have seen part of its batch (its names but not its ids); judge the batch again on the new tail
            if store.tail() != tail:
                continue
            raise
        warnings = tuple(plan.warnings)
        if strict and warnings:
            raise StrictRefusal(warnings)
        if not plan.records:
            return RecordResult((), tuple(plan.already), warnings=warnings)
        try:
            store.append(plan.stored(), plan.log_rows(), plan.name_rows())
        except IntegrityError:
            time.sleep(min(0.5, 0.01 * (2 ** min(attempt, 6))) * random.random())
            continue
        behind = None
        if tail.recorded_at is not None and plan.now < tail.recorded_at:
            behind = tail.recorded_at - plan.now
        return RecordResult(tuple(plan.records), tuple(plan.already), behind, warnings)
    raise ConcurrentWrite(f"other writers kept taking the next position; gave up after {MAX_ATTEMPTS} attempts")


class _Plan:
    """One attempt: the batch checked against `tail`, positions, times and hashes assigned."""

    def __init__(self, store: Store, tail: Tail, incoming: Sequence[Incoming], actor: str, now: datetime):
        self.store, self.tail, self.incoming, self.actor, self.now = store, tail, incoming, actor, now
        self.records: list[Recorded] = []
        self.already: list[str] = []
        self.names: list[tuple[str, str, int]] = []
        self._stored_cache: dict[tuple, list[Recorded]] = {}
        self._pending: dict[str, list[Recorded]] = {}  # this batch's records by type, for the checks
        self._book: LoanBook | None = None
        self._by_id: dict[str, Recorded] = {}
        self.warnings: list[tuple[int, str]] = []
        self._voided: set[int] = set()

    # -- the checks

    def check(self) -> None:
        given = [i.event_id for i in self.incoming if i.event_id]
        stored = self.store.find_events(given) if given else {}
        self._names = [list(_names_of(inc.event)) for inc in self.incoming]
        referenced = {(spec.ref or spec.declares, name) for names in self._names for spec, name in names}
        known_names = self.store.find_names(referenced) if referenced else {}
        voided_positions = self._voided = self._voided_positions()
        batch_ids: dict[str, Incoming] = {}
        batch_names: dict[tuple[str, str], int] = {}
        position = self.tail.position
        last_time = self.tail.recorded_at
        for inc, names in zip(self.incoming, self._names):
            ev = inc.event
            if inc.event_id and inc.event_id in stored:
                prior = stored[inc.event_id]
                if _comparable(prior.event) != _comparable(ev):
                    raise InputError(f"id {inc.event_id!r} was recorded at position {prior.position} with other "
                                     "content; a correction is a new event (EventVoided, then the right one)",
                                     line=inc.line, field="id")
                self.already.append(inc.event_id)
                continue
            if inc.event_id and inc.event_id in batch_ids:
                if _comparable(batch_ids[inc.event_id].event) != _comparable(ev):
                    raise InputError(f"id {inc.event_id!r} is used by line {batch_ids[inc.event_id].line} "
                                     "with other content", line=inc.line, field="id")
                self.already.append(inc.event_id)
                continue
            position += 1
            recorded_at = self._recorded_at(inc, last_time)
            last_time = recorded_at
            event_id = inc.event_id or self._auto_id(position, stored, batch_ids)
            self._check_references(inc, names, known_names, voided_positions, batch_names, batch_ids)
            ev = self._check_semantics(inc, position)
            for spec, name in names:
                if spec.declares:
                    batch_names[(spec.declares, name)] = position
                    self.names.append((spec.declares, name, position))
            batch_ids[event_id] = inc
            rec = Recorded(position, event_id, recorded_at, inc.actor or self.actor, ev)
            self._warn_before(inc, rec)
            if isinstance(ev, EventVoided):
                self._void_in_batch(ev.event, voided_positions, stored)
            self.records.append(rec)
            self._by_id[event_id] = rec
            self._pending.setdefault(ev.type_name, []).append(rec)
            if self._book is not None:
                self._book.apply(rec)
            self._warn_after(inc, rec)

    # -- warnings (DEALS.md, record warnings): recorded all the same, unless `strict`

    def _warn(self, inc: Incoming, message: str) -> None:
        self.warnings.append((inc.line, message))

    def _warn_before(self, inc: Incoming, rec: Recorded) -> None:
        """Warnings judged against the ledger and the batch before this line."""
        ev = rec.event
        if inc.event_id is None:
            self._warn_repeated(inc, rec)
        if isinstance(ev, LoanAdvanced):
            self._warn_event_of_default(inc, rec)
        if isinstance(ev, (DefaultWaived, ConditionWaived)):
            lender = self._lender()
            if lender is not None and ev.by != lender:
                what = f"breach {ev.breach}" if isinstance(ev, DefaultWaived) else \
                    f"condition {ev.condition!r} of {ev.agreement}"
                self._warn(inc, f"{ev.type_name} of {what} is by {ev.by}, not by the lender ({lender}): "
                                "it has no effect")
        latest = _same_day_next_year(rec.recorded_at.astimezone(_UTC).date())
        if ev.effective_date > latest:
            self._warn(inc, f"effective date {ev.effective_date.isoformat()} is more than a year after the recorded "
                            f"time {iso_time(rec.recorded_at)} (later than {latest.isoformat()})")

    def _warn_after(self, inc: Incoming, rec: Recorded) -> None:
        """Warnings judged with this line in the ledger."""
        ev = rec.event
        if isinstance(ev, LoanAdvanced):
            book = self._loanbook()
            limit = book.limits.get(ev.facility)
            principal = book.principal_on(ev.facility, ev.effective_date)
            if limit is not None and principal > limit:
                self._warn(inc, f"the advance {rec.event_id} of {money(ev.amount)} takes {ev.facility} to "
                                f"{money(principal)} on {ev.effective_date.isoformat()}, above its limit of "
                                f"{money(limit)}")

    def _warn_repeated(self, inc: Incoming, rec: Recorded) -> None:
        """A line without id whose content equals an event already recorded, or earlier in the batch."""
        body = _comparable(rec.event)
        name = rec.event.type_name
        for earlier in [*self._stored_of((name,)), *self._pending.get(name, ())]:
            if earlier.position in self._voided:
                continue
            if _comparable(earlier.event) == body:
                where = "earlier in this batch" if earlier.position > self.tail.position else "already recorded"
                self._warn(inc, f"this {name} without id has the same content as {earlier.event_id} (position "
                                f"{earlier.position}, {where}); give the line an id to make a retry safe")
                return

    def _lender(self) -> str | None:
        """The `lender` of the first live agreement that names one, as known with the batch so far."""
        for rec in [*self._stored_of(("AgreementExecuted",)), *self._pending.get("AgreementExecuted", ())]:
            if rec.position in self._voided:
                continue
            terms = rec.event.terms
            if terms is not None and terms.lender:
                return terms.lender
        return None

    def _warn_event_of_default(self, inc: Incoming, rec: Recorded) -> None:
        """An advance on a date some breach, as known before this line, is in Event of Default (the advance's own
        breaches do not count). Breaches name no borrower yet: any breach counts (docs/decisions.md).

        The breaches come from the read models' breach engine, built once a batch over the stored log and given
        the batch's earlier lines one at a time, so a batch of many advances is judged in one pass."""
        day = rec.event.effective_date
        matured = [b for b in self._breach_engine().breaches() if b.is_event_of_default_on(day)]
        if matured:
            names = ", ".join(f"{b.breach} (in Event of Default since {b.event_of_default_from.isoformat()})"
                              for b in sorted(matured, key=lambda b: b.breach)[:3])
            more = f" and {len(matured) - 3} more" if len(matured) > 3 else ""
            self._warn(inc, f"the advance {rec.event_id} of {money(rec.event.amount)} on {rec.event.effective_date.isoformat()} "
                            f"is made while the borrower is in Event of Default: {names}{more}")

    def _breach_engine(self):
        """The breach engine over the stored log and this batch's lines checked so far (before the current one)."""
        from projections.breach_engine import BreachEngine

        if getattr(self, "_engine", None) is None:
            self._engine = BreachEngine(self._all_stored())
            self._engine_fed = 0
        for pending in self.records[self._engine_fed:]:
            self._engine.add(pending)
        self._engine_fed = len(self.records)
        return self._engine

    def _void_in_batch(self, target: str, voided_positions: set[int], stored: dict) -> None:
        """Keep the voided positions current as the batch voids (or un-voids) earlier events."""
        rec = self._by_id.get(target) or stored.get(target)
        if rec is None:
            found = self.store.find_events([target])
            rec = found.get(target)
        if rec is None:
            return
        if isinstance(rec.event, EventVoided):
            restored = self._by_id.get(rec.event.event) or self.store.find_events([rec.event.event]).get(rec.event.event)
            if restored is not None:
                voided_positions.discard(restored.position)
        else:
            voided_positions.add(rec.position)

    def _recorded_at(self, inc: Incoming, last: datetime | None) -> datetime:
        if inc.recorded_at is None:
            # the batch's start time, kept monotonic even if the machine clock stepped back
            return max(self.now, last) if last is not None else self.now
        if last is not None and inc.recorded_at < last:
            raise InputError(f"{iso_time(inc.recorded_at)} is earlier than the ledger's last recorded time "
                             f"{iso_time(last)}; recorded times never go backwards", line=inc.line, field="recorded_at")
        if inc.recorded_at > self.now:
            raise InputError(f"{iso_time(inc.recorded_at)} is later than now ({iso_time(self.now)}); "
                             "recorded_at is for loading a historical log", line=inc.line, field="recorded_at")
        return inc.recorded_at

    def _auto_id(self, position: int, stored, batch_ids) -> str:
        candidate = f"e{position}"
        suffix = 1
        while candidate in batch_ids or candidate in stored or self.store.find_events([candidate]):
            suffix += 1
            candidate = f"e{position}-{suffix}"
        return candidate

    def _voided_positions(self) -> set[int]:
        voids = self._stored_of(("EventVoided",))
        if not voids:
            return set()
        from projections.context import voided_ids

        ids = voided_ids(voids)
        return {r.position for r in self.store.find_events(ids).values()}

    def _check_references(self, inc, names, known_names, voided_positions, batch_names, batch_ids) -> None:
        ev = inc.event
        for spec, name in names:
            if spec.ref == EVENT:
                if name in batch_ids or self.store.find_events([name]):
                    continue
                from ledger.suggest import hint, recorded_event_ids

                raise InputError(f"names event {name!r}, which has not been recorded before this line"
                                 f"{hint(name, [*batch_ids, *recorded_event_ids(self.store, name)])}",
                                 line=inc.line, field=spec.json)
            namespace = spec.ref or spec.declares
            live = (namespace, name) in batch_names or any(
                p not in voided_positions for p in known_names.get((namespace, name), []))
            if spec.ref and not live:
                from ledger.suggest import hint, recorded_names

                near = hint(name, [*(n for ns, n in batch_names if ns == namespace), *recorded_names(self.store, namespace)])
                raise InputError(f"names {namespace} {name!r}, which has not been recorded before this line "
                                 f"(record its {_declaring(namespace)} first){near}", line=inc.line, field=spec.json)
            if spec.declares and live:
                raise InputError(f"{namespace} {name!r} is already recorded; to correct it, void the earlier "
                                 "event and record it again", line=inc.line, field=spec.json)
        if isinstance(ev, AgreementExecuted) and ev.terms is not None:
            self._check_terms_refs(inc, known_names, voided_positions, batch_names)

    def _check_terms_refs(self, inc, known_names, voided_positions, batch_names) -> None:
        terms = inc.event.terms
        refs = terms_refs(terms)
        self._check_rule_ids(inc, voided_positions)
        missing = [(ns, n, f) for ns, n, f in refs if (ns, n) not in batch_names]
        found = self.store.find_names([(ns, n) for ns, n, _ in missing]) if missing else {}
        for ns, name, field in missing:
            if not any(p not in voided_positions for p in found.get((ns, name), [])):
                raise InputError(f"names {ns} {name!r}, which has not been recorded before this line",
                                 line=inc.line, field=field)

    def _check_rule_ids(self, inc, voided_positions) -> None:
        """`grace_days`, `self_curing` and `clauses` name built-in rule ids or ones a deal defined (DEALS.md section 1):
        by this agreement or one recorded before it, whatever its effectiveness."""
        from ledger.rules import BUILT_IN_RULE_IDS, known_rule_ids

        terms = inc.event.terms
        named = [*((r, "terms.self_curing") for r in terms.self_curing or ()),
                 *((r, "terms.grace_days") for r, _ in terms.grace_days or ()),
                 *((r, "terms.clauses") for r, _ in terms.clauses or ())]
        if all(rule in BUILT_IN_RULE_IDS for rule, _ in named):
            return
        defined = {r.rule for r in terms.restricted_collateral or ()}
        earlier = [*(r for r in self._stored_of(("AgreementExecuted",)) if r.position not in voided_positions),
                   *self._pending.get("AgreementExecuted", ())]
        for rec in earlier:
            if rec.event.terms is not None:
                defined |= {r.rule for r in rec.event.terms.restricted_collateral or ()}
        for rule, field in named:
            if rule not in BUILT_IN_RULE_IDS and rule not in defined:
                from ledger.suggest import hint

                known = known_rule_ids(defined)
                raise InputError(f"{rule!r} is not a rule id{hint(rule, known)}: a rule id is built in or defined "
                                 "by restricted_collateral in this agreement or one recorded before it; known: "
                                 f"{', '.join(known)}", line=inc.line, field=f"{field}.{rule}"
                                 if field != "terms.self_curing" else field)

    # -- checks that need the ledger's state

    def _stored_of(self, types: tuple[str, ...]) -> list[Recorded]:
        if types not in self._stored_cache:
            self._stored_cache[types] = self.store.read_types(types, stop=self.tail.position)
        return self._stored_cache[types]

    def _known_with_batch(self, types: tuple[str, ...], position: int, event: Event) -> list[Recorded]:
        pending = sorted((r for t in types for r in self._pending.get(t, ())), key=lambda r: r.position)
        here = Recorded(position, "(this line)", self.now, self.actor, event)
        return [*self._stored_of(types), *pending, here]

    def _check_semantics(self, inc: Incoming, position: int) -> Event:
        ev = inc.event
        if type(ev) not in _CHECKED:
            return ev
        if isinstance(ev, FacilityOpened) and ev.installments and ev.kind != FacilityKind.TERM:
            raise InputError("an installment schedule belongs to a term facility", line=inc.line, field="installments")
        if isinstance(ev, (ConditionSatisfied, ConditionWaived)):
            self._check_condition(inc)
        if isinstance(ev, (LoanAdvanced, PaymentReceived)):
            self._check_opened(inc, [(ev.facility, "facility")])
        if isinstance(ev, ProceedsReceived):
            self._check_opened(inc, [(s.facility, f"apply[{i}].facility") for i, s in enumerate(ev.allocations)])
        if isinstance(ev, PaymentReceived):
            owed = self._principal(ev.facility, ev.effective_date, position, ev)
            if ev.amount > owed:
                raise InputError(f"the payment of {money(ev.amount)} exceeds the principal of {ev.facility} "
                                 f"outstanding on {ev.effective_date.isoformat()} ({money(owed)})",
                                 line=inc.line, field="amount")
            low, when = self._loanbook().lowest_from(ev.facility, ev.effective_date)
            if ev.amount > low:
                raise InputError(f"the payment of {money(ev.amount)} dated {ev.effective_date.isoformat()} would leave "
                                 f"{ev.facility} owing less than nothing on {when.isoformat()} (it owes "
                                 f"{money(low)} then, after the later repayments already recorded)",
                                 line=inc.line, field="amount")
        if isinstance(ev, ProceedsReceived):
            ev = self._resolve(inc, position)
        if isinstance(ev, PriorityAgreed):
            self._check_priority(inc, position)
        if isinstance(ev, (DefaultWaived, DefaultCured)):
            self._check_breach(inc, position)
        if isinstance(ev, EventVoided):
            self._check_void(inc, position)
        return ev

    def _check_condition(self, inc: Incoming) -> None:
        ev = inc.event
        agreements = self._known_with_batch(("AgreementExecuted",), 0, ev)[:-1]
        for rec in agreements:
            if rec.event.agreement == ev.agreement:
                conditions = rec.event.terms.conditions if rec.event.terms and rec.event.terms.conditions else ()
                if conditions and ev.condition not in conditions:
                    raise InputError(f"{ev.agreement} lists no condition {ev.condition!r}; its conditions are "
                                     f"{', '.join(conditions)}", line=inc.line, field="condition")

    def _loans(self, day: date, position: int, event: Event):
        """Every loan as of `day`, with installments: the full fold (waterfalls only)."""
        from projections.context import live_events, fold_key
        from projections.state import LOAN_TYPES, loans_on

        known = self._known_with_batch(LOAN_TYPES, position, event)[:-1]
        return loans_on(sorted(live_events(known), key=fold_key), day)

    def _principal(self, facility: str, day: date, position: int, event: Event) -> Decimal:
        return self._loanbook().principal_on(facility, day)

    def _loanbook(self) -> "LoanBook":
        if self._book is None:
            from projections.state import LOAN_TYPES

            self._book = LoanBook()
            stored = self._stored_of(LOAN_TYPES)  # voids included: the book applies them itself
            for rec in [*stored, *sorted((r for t in LOAN_TYPES for r in self._pending.get(t, ())),
                                         key=lambda r: r.position)]:
                self._book.apply(rec)
        return self._book

    def _check_opened(self, inc: Incoming, facilities: list[tuple[str, str]]) -> None:
        """Money cannot move on a facility before the date it was opened."""
        book = self._loanbook()
        for facility, field in facilities:
            opened = book.opened.get(facility)
            if opened is not None and inc.event.effective_date < opened:
                raise InputError(f"{facility} was opened on {opened.isoformat()}, after this event's effective date "
                                 f"{inc.event.effective_date.isoformat()}", line=inc.line, field=field)

    def _resolve(self, inc: Incoming, position: int) -> ProceedsReceived:
        ev: ProceedsReceived = inc.event  # type: ignore[assignment]
        loans = self._loans(ev.effective_date, position, ev)
        left = ev.amount
        steps = []
        for i, step in enumerate(ev.allocations):
            field = f"apply[{i}].amount"
            loan = loans.get(step.facility)
            owed = loan.principal if loan is not None else Decimal("0.00")
            if step.amount == "payoff":
                amount = owed
            elif step.amount == "balance":
                amount = left
            else:
                amount = Decimal(step.amount)
            if amount > left:
                raise InputError(f"this step needs {money(amount)} but only {money(left)} of the receipt of "
                                 f"{money(ev.amount)} is left", line=inc.line, field=field)
            if amount > owed:
                raise InputError(f"this step applies {money(amount)} to {step.facility}, which owes only "
                                 f"{money(owed)} on {ev.effective_date.isoformat()}", line=inc.line, field=field)
            if step.resolved is not None and step.resolved != amount:
                raise InputError(f"resolved amount {money(step.resolved)} differs from {money(amount)}, what the "
                                 "step resolves to now", line=inc.line, field=f"apply[{i}].resolved")
            if loan is not None and amount:
                loan.repay(amount, step.order)
            left -= amount
            steps.append(Allocation(step.facility, step.amount, step.order, amount))
        if left != 0:
            raise InputError(f"the steps leave {money(left)} of the receipt of {money(ev.amount)} unapplied; "
                             "end with a \"balance\" step", line=inc.line, field="apply")
        return attrs.evolve(ev, allocations=tuple(steps))

    def _check_priority(self, inc: Incoming, position: int) -> None:
        from projections.context import live_events

        ev: PriorityAgreed = inc.event  # type: ignore[assignment]
        if ev.senior == ev.junior:
            raise InputError("a lien cannot rank above itself", line=inc.line, field="junior")
        known = live_events(self._known_with_batch(("PriorityAgreed", "EventVoided"), position, ev)[:-1])
        edges: dict[str, set[str]] = {}
        for rec in known:
            if isinstance(rec.event, PriorityAgreed):
                edges.setdefault(rec.event.senior, set()).add(rec.event.junior)
        # adding senior -> junior makes a cycle if junior already ranks (transitively) above senior
        stack, seen = [ev.junior], set()
        while stack:
            node = stack.pop()
            if node == ev.senior:
                raise InputError(f"{ev.junior} already ranks above {ev.senior} by an earlier priority agreement; "
                                 "this one would make a cycle", line=inc.line, field="senior")
            if node not in seen:
                seen.add(node)
                stack.extend(edges.get(node, ()))

    def _check_breach(self, inc: Incoming, position: int) -> None:
        from projections.context import Context
        from projections.defaults import breach_ids

        known = [*self._all_stored(), *self.records]
        ids = breach_ids(Context(known))
        if inc.event.breach not in ids:
            sample = ", ".join(sorted(ids)[:5]) or "none"
            from ledger.suggest import hint

            raise InputError(f"no breach {inc.event.breach!r} exists as known now{hint(inc.event.breach, ids)} "
                             f"(breaches: {sample}{', ...' if len(ids) > 5 else ''})", line=inc.line, field="breach")

    def _all_stored(self) -> list[Recorded]:
        if ("*",) not in self._stored_cache:
            self._stored_cache[("*",)] = list(self.store.read(stop=self.tail.position))
        return self._stored_cache[("*",)]

    def _check_void(self, inc: Incoming, position: int) -> None:
        from projections.context import voided_ids

        ev: EventVoided = inc.event  # type: ignore[assignment]
        voids = self._known_with_batch(("EventVoided",), position, ev)[:-1]
        if ev.event in voided_ids(voids):
            raise InputError(f"event {ev.event!r} is already voided", line=inc.line, field="event")

    # -- rows for the store

    def stored(self) -> list[StoredEvent]:
        """The library's stored events, chaining each to the one before; fills `log_rows` as it goes."""
        out = []
        previous = self.tail.chain
        finished = []
        self._log_rows = []
        for rec in self.records:
            body = encode(rec.event)
            recorded_at = iso_time(rec.recorded_at)
            body.update({"id": rec.event_id, "position": rec.position, "recorded_at": recorded_at, "actor": rec.actor})
            state = canonical_bytes(body)
            chain = chain_hash(previous, state)
            previous = chain
            finished.append(Recorded(rec.position, rec.event_id, rec.recorded_at, rec.actor, rec.event, chain))
            out.append(StoredEvent(originator_id=LEDGER_STREAM, originator_version=rec.position,
                                   topic=TOPIC_PREFIX + rec.event.type_name, state=state))
            self._log_rows.append((rec.position, rec.event_id, rec.event.type_name, body["effective_date"],
                                   recorded_at, rec.actor, chain))
        self.records = finished
        return out

    def log_rows(self) -> list[tuple]:
        return self._log_rows

    def name_rows(self) -> list[tuple]:
        return list(self.names)


class LoanBook:
    """Principal per facility and effective date, kept as each checked event is added.

    principal_on(F, D) = the facility's total less what was booked after D; checks
    mostly ask about recent dates, so only the few later dates are walked.
    """

    def __init__(self):
        self.total: dict[str, Decimal] = {}
        self.by_date: dict[str, dict[date, Decimal]] = {}
        self.dates: dict[str, list[date]] = {}
        self.deltas: dict[str, list[tuple[str, date, Decimal]]] = {}  # event id -> what it booked
        self.opened: dict[str, date] = {}
        self.limits: dict[str, Decimal] = {}

    def _book(self, event_id: str, facility: str, day: date, delta: Decimal) -> None:
        import bisect

        self.total[facility] = self.total.get(facility, Decimal("0.00")) + delta
        days = self.by_date.setdefault(facility, {})
        if day not in days:
            bisect.insort(self.dates.setdefault(facility, []), day)
            days[day] = Decimal("0.00")
        days[day] += delta
        self.deltas.setdefault(event_id, []).append((facility, day, delta))

    def apply(self, rec: Recorded) -> None:
        ev = rec.event
        if isinstance(ev, EventVoided):
            # the void books the reversal as its own, so voiding the void restores the original
            for facility, day, delta in self.deltas.pop(ev.event, []):
                self._book(rec.event_id, facility, day, -delta)
        elif isinstance(ev, FacilityOpened):
            self.opened.setdefault(ev.facility, ev.effective_date)
            if ev.limit is not None:
                self.limits[ev.facility] = ev.limit
        elif ev.type_name == "LoanAdvanced":
            self._book(rec.event_id, ev.facility, ev.effective_date, ev.amount)
        elif isinstance(ev, PaymentReceived):
            self._book(rec.event_id, ev.facility, ev.effective_date, -ev.amount)
        elif isinstance(ev, ProceedsReceived):
            for step in ev.allocations:
                if step.resolved:
                    self._book(rec.event_id, step.facility, ev.effective_date, -step.resolved)

    def lowest_from(self, facility: str, day: date) -> tuple[Decimal, date]:
        """The lowest principal on `day` or any later booked date, and that date."""
        import bisect

        dates = self.dates.get(facility, [])
        booked = self.by_date.get(facility, {})
        principal = self.principal_on(facility, day)
        low, when = principal, day
        for d in dates[bisect.bisect_right(dates, day):]:
            principal += booked[d]
            if principal < low:
                low, when = principal, d
        return low, when

    def principal_on(self, facility: str, day: date) -> Decimal:
        import bisect

        dates = self.dates.get(facility, [])
        later = self.by_date.get(facility, {})
        principal = self.total.get(facility, Decimal("0.00"))
        for d in dates[bisect.bisect_right(dates, day):]:
            principal -= later[d]
        return principal


_UTC = timezone.utc


def _same_day_next_year(day: date) -> date:
    """The latest effective date that does not warn: the recorded day's date a year on (29 Feb: 28 Feb)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


_CHECKED = {LoanAdvanced, FacilityOpened, ConditionSatisfied, ConditionWaived, PaymentReceived, ProceedsReceived,
            PriorityAgreed, DefaultWaived, DefaultCured, EventVoided}
_ID_SPECS: dict[type, tuple] = {}


def _id_specs(cls) -> tuple:
    specs = _ID_SPECS.get(cls)
    if specs is None:
        specs = tuple(s for s in field_specs(cls) if (s.ref or s.declares) and s.kind in ("id", "ids"))
        _ID_SPECS[cls] = specs
    return specs


def _names_of(event: Event) -> Iterable:
    for spec in _id_specs(type(event)):
        value = getattr(event, spec.attr)
        if value is None:
            continue
        for name in (value if isinstance(value, tuple) else (value,)):
            yield spec, name
    if isinstance(event, ProceedsReceived):
        from ledger.events import FieldSpec

        spec = FieldSpec("allocations", "apply.facility", "id", "facility", None, False, None)
        for step in event.allocations:
            yield spec, step.facility


def terms_refs(terms) -> list[tuple[str, str, str]]:
    """The (namespace, name, field) of every id that an agreement's terms name."""
    refs: list[tuple[str, str, str]] = []
    if terms.lender:
        refs.append(("party", terms.lender, "terms.lender"))
    for i, r in enumerate(terms.restricted_collateral or ()):
        refs.append(("party", r.holder, f"terms.restricted_collateral[{i}].holder"))
        refs += [("location", l, f"terms.restricted_collateral[{i}].locations") for l in r.locations]
        refs += [("location", l, f"terms.restricted_collateral[{i}].permitted") for l in (r.permitted or ())]
    for key in ("protected_locations", "ineligible_locations"):
        refs += [("location", l, f"terms.{key}") for l in (getattr(terms, key) or ())]
    refs += [("facility", f, "terms.borrowing_base_facilities") for f in (terms.borrowing_base_facilities or ())]
    refs += [("party", c.borrower, f"terms.caps[{i}].borrower") for i, c in enumerate(terms.caps or ()) if c.borrower]
    return refs


def names_of(event: Event) -> Iterable:
    """(spec, name) of every id an event declares or refers to (its field spec says which)."""
    return _names_of(event)


def _declaring(namespace: str) -> str:
    return {
        "party": "PartyRegistered", "location": "LocationRegistered", "agreement": "AgreementExecuted",
        "facility": "FacilityOpened", "collateral": "CollateralRegistered", "lien": "LienGranted",
        "consent": "ConsentGranted", "notice": "NoticeSent or NoticeReceived",
    }.get(namespace, namespace)
