"""The audit: prove the log was not altered and that the state follows from it.

1. The chain: every stored event, in position order, must sit at its position
   (no gap, no extra row), decode, agree with its `cledger_log` row, keep
   recorded times non-decreasing, and hash (with the hash before it) to the
   chain value it carries (docs/hashing.md).
2. The head: `--expect-head P:H` proves the log still extends a digest kept
   outside the database (catches a cut or rewritten tail).
3. The replay: the projections are rebuilt twice from independent reads of the
   log and their digests compared, at every date on which the terms change and
   at the last effective date.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Callable, Iterator

import attrs

from ledger.codec import canonical_bytes
from ledger.errors import AuditFailure, UsageError
from ledger.recording import chain_hash
from ledger.store import GENESIS, LEDGER_STREAM, TOPIC_PREFIX, Store, decode_state
from ledger.values import parse_time


@attrs.frozen
class AuditReport:
    events: int
    head: str
    digests: tuple[tuple[str, str], ...]  # (date, digest) of the replayed projections
    dates: tuple[str, ...]

    def to_json(self) -> dict:
        return {"ok": True, "events": self.events, "head": self.head,
                "projection_digests": [{"as_of": d, "digest": h} for d, h in self.digests]}


def parse_head(digest: str) -> tuple[int, str]:
    try:
        position, chain = digest.strip().split(":")
        position_n = int(position)
        if len(chain) != 64 or int(chain, 16) < 0 or position_n < 0:
            raise ValueError
    except ValueError:
        raise UsageError(f"--expect-head {digest!r}: expected POSITION:SHA256HEX as printed by `cledger audit --head`") from None
    return position_n, chain.lower()


def verify_chain(store: Store, progress: Callable[[int], None] | None = None) -> tuple[int, str]:
    """Walk the whole log; raise AuditFailure naming the first bad event. Returns (position, chain) of the head."""
    expected = 1
    previous = GENESIS
    last_time = None
    logs: Iterator = store.log_rows()
    for stored in store.read_stored():
        where = f"position {expected}"
        if stored.originator_version != expected:
            if stored.originator_version > expected:
                raise AuditFailure(f"{where}: the event is missing (the next stored event is at position "
                                   f"{stored.originator_version}); an event was deleted")
            raise AuditFailure(f"{where}: found a second event at position {stored.originator_version}")
        if stored.originator_id != LEDGER_STREAM and str(stored.originator_id) != str(LEDGER_STREAM):
            raise AuditFailure(f"{where}: the event belongs to another stream ({stored.originator_id})")
        log = next(logs, None)
        state = bytes(stored.state)
        try:
            body = json.loads(state)
            rec = decode_state(state)
        except Exception as exc:
            event_id = log.event_id if log is not None else "?"
            raise AuditFailure(f"{where} (event {event_id}): the stored event cannot be read ({exc}); "
                               "its bytes were altered") from None
        where = f"position {expected} (event {rec.event_id})"
        if body.get("position") != expected:
            raise AuditFailure(f"{where}: the event says it belongs at position {body.get('position')}; "
                               "events were moved or copied")
        if stored.topic != TOPIC_PREFIX + rec.event.type_name:
            raise AuditFailure(f"{where}: stored topic {stored.topic} does not match its type {rec.event.type_name}")
        if log is None or log.position != expected:
            raise AuditFailure(f"{where}: its row in cledger_log is missing")
        claimed = log.chain
        recomputed = chain_hash(previous, state)
        if recomputed != claimed:
            raise AuditFailure(f"{where}: the hash chain breaks here (logged {claimed[:12]}…, computed "
                               f"{recomputed[:12]}…); the event or one before it was altered, swapped or replaced")
        if canonical_bytes(body) != state:
            raise AuditFailure(f"{where}: the stored bytes are not in canonical form; they were rewritten")
        if (log.event_id, log.recorded_at, log.event_type, log.actor, log.effective_date) != (
                rec.event_id, body["recorded_at"], rec.event.type_name, rec.actor, body["effective_date"]):
            raise AuditFailure(f"{where}: cledger_log disagrees with the stored event")
        moment = parse_time(body["recorded_at"])
        if last_time is not None and moment < last_time:
            raise AuditFailure(f"{where}: recorded time {body['recorded_at']} is earlier than the event before it")
        last_time = moment
        previous = claimed
        if progress:
            progress(expected)
        expected += 1
    extra = next(logs, None)
    if extra is not None:
        raise AuditFailure(f"position {extra.position} (event {extra.event_id}): listed in cledger_log but the "
                           "stored event is missing; an event was deleted")
    return expected - 1, previous


def check_head(store: Store, digest: str) -> None:
    """Prove the log still extends `digest`: the event at its position carries its hash."""
    position, chain = parse_head(digest)
    if position == 0:
        return
    rows = [r for r in store.log_rows(start=position) if r.position == position][:1]
    if not rows:
        raise AuditFailure(f"the log no longer reaches position {position} of the expected head {digest}: "
                           "its tail was cut")
    if rows[0].chain != chain:
        raise AuditFailure(f"position {position} (event {rows[0].event_id}) no longer carries the expected hash "
                           f"{chain[:12]}… (it carries {rows[0].chain[:12]}…): the log was rewritten")


def audit_dates(events) -> list[date]:
    from projections.context import Context

    ctx = Context(events)
    dates = set(ctx.terms_change_dates())
    if events:
        dates.add(max(e.event.effective_date for e in events))
    return sorted(dates)


def projection_digest(events, as_of: date, known_at) -> str:
    from projections.query import Snapshot

    answer = Snapshot(events, known_at).status(as_of).to_json()
    return hashlib.sha256(json.dumps(answer, sort_keys=True).encode()).hexdigest()


def audit(store: Store, *, expect_head: str | None = None, progress=None) -> AuditReport:
    position, chain = verify_chain(store, progress)
    if expect_head:
        check_head(store, expect_head)
    first = list(store.read())
    second = list(store.read())
    known_at = first[-1].recorded_at if first else None
    digests = []
    for day in audit_dates(first):
        a = projection_digest(first, day, known_at)
        b = projection_digest(second, day, known_at)
        if a != b:
            raise AuditFailure(f"replaying the log twice gives different answers as of {day}: {a[:12]} vs {b[:12]}")
        digests.append((day.isoformat(), a))
    return AuditReport(position, f"{position}:{chain}", tuple(digests), tuple(d for d, _ in digests))
