"""Which events `cledger events` lists: by type, id, the party, facility or collateral they name, effective dates.

An event names an entity when one of its fields refers to it or declares it
(the field table of `ledger.events`), or, for a receipt, when a step of its
waterfall applies to that facility.
"""

from __future__ import annotations

from datetime import date

import attrs

from ledger.errors import UsageError
from ledger.events import COLLATERAL, EVENT_TYPES, FACILITY, PARTY, ProceedsReceived, Recorded, field_specs


def named(event, namespace: str) -> set[str]:
    """The ids of `namespace` (party, facility, collateral, ...) that an event refers to or declares."""
    out: set[str] = set()
    for spec in field_specs(type(event)):
        if (spec.ref or spec.declares) != namespace or spec.kind not in ("id", "ids"):
            continue
        value = getattr(event, spec.attr)
        if value is None:
            continue
        out.update(value if isinstance(value, tuple) else (value,))
    if namespace == FACILITY and isinstance(event, ProceedsReceived):
        out.update(step.facility for step in event.allocations)
    return out


@attrs.frozen
class EventFilter:
    types: frozenset[str] = frozenset()
    ids: frozenset[str] = frozenset()
    party: frozenset[str] = frozenset()
    facility: frozenset[str] = frozenset()
    collateral: frozenset[str] = frozenset()
    start: date | None = None
    end: date | None = None

    @classmethod
    def of(cls, *, types=(), ids=(), party=(), facility=(), collateral=(), start=None, end=None) -> "EventFilter":
        from ledger.suggest import hint

        for name in types:
            if name not in EVENT_TYPES:
                raise UsageError(f"--type {name!r} is not an event type{hint(name, EVENT_TYPES)}; "
                                 f"expected one of: {', '.join(sorted(EVENT_TYPES))}")
        return cls(frozenset(types), frozenset(ids), frozenset(party), frozenset(facility), frozenset(collateral),
                   start, end)

    def matches(self, rec: Recorded) -> bool:
        ev = rec.event
        if self.types and ev.type_name not in self.types:
            return False
        if self.ids and rec.event_id not in self.ids:
            return False
        if self.start is not None and ev.effective_date < self.start:
            return False
        if self.end is not None and ev.effective_date > self.end:
            return False
        for wanted, namespace in ((self.party, PARTY), (self.facility, FACILITY), (self.collateral, COLLATERAL)):
            if wanted and not (named(ev, namespace) & wanted):
                return False
        return True

    def described(self) -> str:
        """` (type LoanAdvanced; facility lpc-revolver; effective 1996-03-01 to …)`, or '' with no filter."""
        parts = [f"{label} {', '.join(sorted(values))}" for label, values in
                 (("type", self.types), ("id", self.ids), ("party", self.party), ("facility", self.facility),
                  ("collateral", self.collateral)) if values]
        if self.start or self.end:
            parts.append(f"effective {self.start or '…'} to {self.end or '…'}")
        return f" ({'; '.join(parts)})" if parts else ""
