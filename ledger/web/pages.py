"""The pages of `cledger serve`, one entry a view: its path, its template, the answer it shows.

A new view is one `Page` here (the route: `/<name>` answered by the
`Snapshot` view of that name) and one template `templates/<name>.html`; its
API, `/api/<view>`, is one name in `API_VIEWS`. What a page shows beyond the
answer (the status page's headline, the collateral's moves and addresses) is
an optional `extra` function of the snapshot and the answer.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Callable

import attrs

from ledger.events import CollateralMoved, CollateralRegistered, LocationRegistered
from projections.context import fold_key, voided_ids

# the views `/api/<view>` answers, as `cledger <view> --json` does (restatement has its own route)
API_VIEWS = ("liens", "eligibility", "balances", "defaults", "availability", "status")


@attrs.frozen
class Page:
    name: str  # the path (/name), the template (name.html)
    title: str
    view: str  # the Snapshot view it shows
    path: str = ""
    extra: Callable[..., dict[str, Any]] | None = None

    @property
    def url(self) -> str:
        return self.path or f"/{self.name}"


# ------------------------------------------------------------ what pages show beyond the answer


def names(snapshot) -> dict[str, Any]:
    """Party names and location addresses known at K (the liens, the terms and the registrations carry them)."""
    ctx = snapshot.ctx
    addresses = {r.event.location: r.event.address for r in ctx.events if isinstance(r.event, LocationRegistered)}
    return {"parties": {p: reg.name for p, reg in ctx.parties.items()}, "addresses": addresses}


@attrs.frozen
class Headline:
    status: str
    events_of_default: tuple  # BreachView
    open_breaches: tuple
    excess: Decimal
    caps_over: tuple  # CapView
    past_due: tuple  # (facility, InstallmentView)


def headline(answer, as_of: date) -> Headline:
    """The status page's first lines: what a credit officer looks at before anything else."""
    d = answer.defaults
    past_due = tuple((f.facility, i) for f in answer.balances.facilities for i in f.installments
                     if i.amount > 0 and i.due < as_of)
    return Headline(d.status, tuple(b for b in d.breaches if b.state == "event-of-default"),
                    tuple(b for b in d.breaches if b.state in ("default", "event-of-default")),
                    answer.availability.excess, tuple(c for c in answer.balances.caps if c.headroom < 0), past_due)


def status_extra(service, snapshot, answer, q) -> dict[str, Any]:
    return {"headline": headline(answer, q.as_of), **names(snapshot)}


def collateral_extra(service, snapshot, answer, q) -> dict[str, Any]:
    """Each item's locations up to D (registered, then every move), as known at K, with the addresses."""
    store = service.ledger().store
    k = service.position_known_at(q.known_at)
    events = store.read_types(["CollateralRegistered", "CollateralMoved", "EventVoided"], stop=k)
    voided = voided_ids(events)
    history: dict[str, list[tuple[date, str, str]]] = {}
    for rec in sorted((r for r in events if r.event_id not in voided), key=fold_key):
        ev = rec.event
        if ev.effective_date > q.as_of:
            continue
        if isinstance(ev, CollateralRegistered) and ev.collateral not in history:
            history[ev.collateral] = [(ev.effective_date, ev.location, rec.event_id)]
        elif isinstance(ev, CollateralMoved) and ev.collateral in history:
            history[ev.collateral].append((ev.effective_date, ev.to, rec.event_id))
    return {"history": history, **names(snapshot)}


def liens_extra(service, snapshot, answer, q) -> dict[str, Any]:
    return names(snapshot)


PAGES = (
    Page("status", "Status", "status", path="/", extra=status_extra),
    Page("liens", "Liens", "liens", extra=liens_extra),
    Page("collateral", "Collateral", "eligibility", extra=collateral_extra),
    Page("balances", "Balances", "balances"),
    Page("availability", "Borrowing base", "availability"),
    Page("defaults", "Defaults", "defaults"),
)
# beside the answer pages, in the navigation bar
OTHER_PAGES = (("restatement", "Restatement", "/restatement"), ("events", "Events", "/events"))
