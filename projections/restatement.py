"""The restatement report: what changed in the answers for date D between knowledge K1 and K2, and why.

Each answer is flattened to (view, subject, field) -> value; a change is a key
whose value differs. The causing events are found by replaying the events
recorded between K1 and K2 one at a time and noting which recordings moved
each changed value.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any, Sequence

import attrs

from ledger.events import Recorded
from ledger.values import iso_time
from projections.query import Snapshot


def _strip(item: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in item.items():
        if key == "detail":
            continue
        if key == "reasons":
            value = [{k: v for k, v in r.items() if k != "detail"} for r in value]
        out[key] = value
    return out


def flatten(snapshot: Snapshot, as_of: date) -> dict[tuple[str, str, str], Any]:
    """Every comparable value of the five answers, keyed by (view, subject, field)."""
    status = snapshot.status(as_of).to_json()
    items: dict[tuple[str, str], dict[str, Any]] = {}
    for lien in status["liens"]["liens"]:
        items[("liens", lien["lien"])] = lien
    for entry in status["liens"]["by_collateral"]:
        items[("liens", f"rank:{entry['collateral']}")] = {"liens": entry["liens"]}
    for item in status["eligibility"]["collateral"]:
        items[("eligibility", item["collateral"])] = item
    for fac in status["balances"]["facilities"]:
        items[("balances", fac["facility"])] = fac
    for cap in status["balances"]["caps"]:
        items[("balances", f"cap:{cap['financing']}:{cap['borrower'] or '*'}")] = cap
    for cls in status["availability"]["classes"]:
        items[("availability", cls["kind"])] = cls
    items[("availability", "total")] = {k: status["availability"][k] for k in ("availability", "principal", "excess")}
    for breach in status["defaults"]["breaches"]:
        items[("defaults", breach["breach"])] = breach
    items[("defaults", "status")] = {"status": status["defaults"]["status"]}
    flat: dict[tuple[str, str, str], Any] = {}
    for (view, subject), item in items.items():
        flat[(view, subject, None)] = True  # the item exists
        for key, value in _strip(item).items():
            flat[(view, subject, key)] = value
    return flat


@attrs.frozen
class Change:
    view: str
    subject: str
    field: str | None
    before: Any
    after: Any
    events: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {"view": self.view, "subject": self.subject, "field": self.field, "before": self.before,
                "after": self.after, "events": list(self.events)}


@attrs.frozen
class Restatement:
    as_of: date
    k1: datetime
    k2: datetime
    changes: tuple[Change, ...]

    def to_json(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "from": iso_time(self.k1), "to": iso_time(self.k2),
                "changes": [c.to_json() for c in self.changes]}


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def restatement(events: Sequence[Recorded], as_of: date, k1: datetime, k2: datetime) -> Restatement:
    before = flatten(Snapshot(events, k1), as_of)
    after = flatten(Snapshot(events, k2), as_of)
    changed = {}
    for key in set(before) | set(after):
        view, subject, field = key
        if field is None:
            if (key in before) != (key in after):
                changed[key] = (None, None)
            continue
        if _key(before.get(key)) != _key(after.get(key)):
            if (view, subject, None) in before and (view, subject, None) in after:
                changed[key] = (before.get(key), after.get(key))
    between = [e for e in events if k1 < e.recorded_at <= k2]
    causes: dict[tuple, list[str]] = {key: [] for key in changed}
    if changed and between:
        known_before = [e for e in events if e.recorded_at <= k1]
        previous = before
        for i, rec in enumerate(between):
            # one event at a time, by log position, so each change is credited to the recording that made it
            current = flatten(Snapshot(known_before + between[: i + 1], rec.recorded_at), as_of)
            for key in changed:
                moved = _key(previous.get(key)) != _key(current.get(key))
                if key[2] is None:
                    moved = (key in previous) != (key in current)
                if moved:
                    causes[key].append(rec.event_id)
            previous = current
        # an event also caused a change if, without it, the answer known at K2 would not show the change
        # (a consent recorded before the agreement that makes it count took effect, say)
        for rec in between:
            without = flatten(Snapshot([e for e in events if e is not rec], k2), as_of)
            for key in changed:
                differs = _key(without.get(key)) != _key(after.get(key))
                if key[2] is None:
                    differs = (key in without) != (key in after)
                if differs and rec.event_id not in causes[key]:
                    causes[key].append(rec.event_id)
        position = {e.event_id: e.position for e in between}
        for key in causes:
            causes[key].sort(key=position.__getitem__)
    out = []
    for key, (b, a) in changed.items():
        view, subject, field = key
        if field is None:
            b = _whole(before, view, subject)
            a = _whole(after, view, subject)
        out.append(Change(view, subject, field, b, a, tuple(causes[key])))
    out.sort(key=lambda c: (c.view, c.subject, c.field or ""))
    return Restatement(as_of, k1, k2, tuple(out))


def _whole(flat: dict, view: str, subject: str) -> Any:
    if (view, subject, None) not in flat:
        return None
    return {field: value for (v, s, field), value in flat.items() if v == view and s == subject and field is not None}
