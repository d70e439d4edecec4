"""The events page: which events of the log a filter keeps, and each one's fields as a reader sees them.

A filter names ids by namespace, as the event vocabulary declares them
(`ledger.events.field_specs`): `party=cit` keeps every event with a field that
declares or names the party cit (a grantor, a holder, a sender...) and every
event on a facility cit lends or borrows under; `facility=` and `collateral=`
keep the events that name it (the steps of a waterfall included).
"""

from __future__ import annotations

from datetime import date
from typing import Iterable, Iterator, Sequence

import attrs

from ledger.codec import encode
from ledger.events import COLLATERAL, EVENT_TYPES, FACILITY, PARTY, FacilityOpened, Recorded, field_specs
from ledger.values import iso_time

LIMIT = 500  # rows a page shows; the filters narrow the rest
STANDARD = ("type", "id", "effective_date", "position", "recorded_at", "actor")


@attrs.frozen
class EventFilter:
    """What the events page was asked for (every part optional)."""

    types: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    party: str | None = None
    facility: str | None = None
    collateral: str | None = None
    effective_from: date | None = None
    effective_to: date | None = None

    @property
    def empty(self) -> bool:
        return self == EventFilter()


def _names(rec: Recorded, namespace: str) -> Iterator[str]:
    """The ids of `namespace` the event declares or refers to."""
    ev = rec.event
    for spec in field_specs(type(ev)):
        value = getattr(ev, spec.attr)
        if value is None:
            continue
        if spec.kind == "allocations" and namespace == FACILITY:
            yield from (step.facility for step in value)
        elif namespace in (spec.ref, spec.declares):
            if isinstance(value, str):
                yield value
            else:
                yield from value


def keeps(f: EventFilter, rec: Recorded, facility_parties: dict[str, set[str]] | None = None) -> bool:
    """Whether the filter keeps the event; a party's events include those on its facilities (lender or borrower)."""
    if f.types and rec.type_name not in f.types:
        return False
    if f.ids and rec.event_id not in f.ids:
        return False
    day = rec.effective_date
    if f.effective_from and day < f.effective_from:
        return False
    if f.effective_to and day > f.effective_to:
        return False
    for namespace, wanted in ((FACILITY, f.facility), (COLLATERAL, f.collateral)):
        if wanted and wanted not in set(_names(rec, namespace)):
            return False
    if f.party and f.party not in set(_names(rec, PARTY)):
        facilities = set(_names(rec, FACILITY))
        if not any(f.party in (facility_parties or {}).get(name, ()) for name in facilities):
            return False
    return True


@attrs.frozen
class EventRow:
    """One event as the page lists it: its log entry and the rest of its fields, in the input's JSON shape."""

    position: int
    event_id: str
    type: str
    effective_date: date
    recorded_at: str
    actor: str
    fields: tuple[tuple[str, str], ...]


def _shown(value) -> str:
    import json

    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def row_of(rec: Recorded) -> EventRow:
    body = encode(rec.event)
    fields = tuple((k, _shown(v)) for k, v in body.items() if k not in STANDARD and v is not None)
    return EventRow(rec.position, rec.event_id, rec.type_name, rec.effective_date, iso_time(rec.recorded_at),
                    rec.actor, fields)


def select(events: Sequence[Recorded], f: EventFilter, known_through: int,
           limit: int = LIMIT) -> tuple[list[EventRow], int]:
    """The rows kept among the events known (position <= known_through), at most `limit`, and how many matched."""
    known = events[:known_through]
    facility_parties: dict[str, set[str]] = {}
    if f.party:
        for rec in known:
            if isinstance(rec.event, FacilityOpened):
                facility_parties.setdefault(rec.event.facility, set()).update((rec.event.lender, rec.event.borrower))
    kept = [rec for rec in known if keeps(f, rec, facility_parties)]
    return [row_of(rec) for rec in kept[:limit]], len(kept)


def event_types() -> Iterable[str]:
    return sorted(EVENT_TYPES)
