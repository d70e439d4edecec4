"""Liens, eligibility, balances and availability as of a date, from a Context (events known at K)."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from ledger.events import ConsentGranted, PriorityAgreed
from ledger.values import CENT, CollateralKind
from projections.context import Context
from projections.results import (
    AvailabilityAnswer,
    AvailabilityClass,
    BalancesAnswer,
    CapView,
    CollateralLiens,
    EligibilityAnswer,
    FacilityBalance,
    Header,
    InstallmentView,
    ItemEligibility,
    LiensAnswer,
    LienView,
    RankedLien,
    Reason,
)
from projections.state import Item, LienState, Loan, collateral_on, liens_on, loans_on

ZERO = Decimal("0.00")


# ---------------------------------------------------------------- liens

def _consents(ctx: Context, day: date) -> dict[str, tuple[date, str]]:
    """For each lien, the earliest date from which the lender's consent in force on `day` covers it."""
    out: dict[str, tuple[date, str]] = {}
    for rec in ctx.events:
        ev = rec.event
        if not isinstance(ev, ConsentGranted) or ev.by != ctx.lender or ev.effective_date > day:
            continue
        if ev.agreement is not None and ctx.agreement_effective(ev.agreement) is None:
            continue  # tied to an agreement not (yet) effective as known at K
        for lien in ev.liens:
            if lien not in out or ev.effective_date < out[lien][0]:
                out[lien] = (ev.effective_date, rec.event_id)
    return out


def _priorities(ctx: Context, day: date) -> list[tuple[str, str]]:
    edges = []
    for rec in ctx.events:
        ev = rec.event
        if not isinstance(ev, PriorityAgreed):
            continue
        agreed = ctx.agreement_effective(ev.agreement)
        if agreed is None or max(agreed, ev.effective_date) > day:
            continue
        edges.append((ev.senior, ev.junior))
    return edges


def rank_liens(liens: list[LienState], edges: list[tuple[str, str]]) -> list[LienState]:
    """First to file or perfect, unless an agreed priority in force puts one above another."""
    base = sorted(liens, key=lambda l: (l.event.perfected_on or l.event.effective_date, l.record.position))
    names = {l.lien for l in base}
    seniors: dict[str, set[str]] = {l.lien: set() for l in base}
    for senior, junior in edges:
        if senior in names and junior in names:
            seniors[junior].add(senior)
    placed: list[LienState] = []
    done: set[str] = set()
    remaining = list(base)
    while remaining:
        for i, lien in enumerate(remaining):
            if seniors[lien.lien] <= done:
                break
        else:  # a cycle cannot be recorded; stay total all the same
            i = 0
        lien = remaining.pop(i)
        placed.append(lien)
        done.add(lien.lien)
    return placed


def ranked_by_item(ctx: Context, day: date, in_force: dict[str, LienState]) -> dict[str, list[LienState]]:
    edges = _priorities(ctx, day)
    per_item: dict[str, list[LienState]] = {}
    for lien in in_force.values():
        for item in lien.event.collateral:
            per_item.setdefault(item, []).append(lien)
    ranked: dict[tuple[str, ...], list[LienState]] = {}  # most items share a few sets of liens: rank each set once
    out = {}
    for item, liens in per_item.items():
        key = tuple(l.lien for l in liens)
        if key not in ranked:
            ranked[key] = rank_liens(liens, edges)
        out[item] = ranked[key]
    return out


def liens_view(ctx: Context, header: Header) -> LiensAnswer:
    day = header.as_of
    in_force = liens_on(ctx.folded, day)
    consents = _consents(ctx, day)
    views = []
    for name in sorted(in_force):
        lien = in_force[name]
        ev = lien.event
        events = [lien.record.event_id]
        if ctx.lender is not None and ev.holder == ctx.lender:
            consent, effective = "lender", None
        elif name in consents:
            consent = "consented"
            effective = max(consents[name][0], ev.effective_date)
            events.append(consents[name][1])
        else:
            consent, effective = "unconsented", None
        views.append(LienView(name, ev.holder, ev.grantor, ev.kind.value, tuple(sorted(ev.collateral)),
                              tuple(sorted(ev.secures or ())),
                              consent, effective, tuple(events)))
    ranked = ranked_by_item(ctx, day, in_force)
    rows: dict[int, tuple[RankedLien, ...]] = {}  # items ranked alike share one list: one row tuple each
    for order in ranked.values():
        if id(order) not in rows:
            rows[id(order)] = tuple(RankedLien(l.lien, l.event.holder, i + 1) for i, l in enumerate(order))
    by_item = tuple(CollateralLiens(item, rows[id(ranked[item])]) for item in sorted(ranked))
    return LiensAnswer(header, tuple(views), by_item)


# ---------------------------------------------------------------- eligibility

def eligibility_view(ctx: Context, header: Header, items: dict[str, Item] | None = None) -> EligibilityAnswer:
    """Every item held on D with its reasons; `items` as of D may come from a read model instead of the fold."""
    day = header.as_of
    terms = ctx.terms_on(day)
    items = items if items is not None else collateral_on(ctx.folded, day)
    ranked = ranked_by_item(ctx, day, liens_on(ctx.folded, day)) if terms.first_priority_required else {}
    out = []
    for name in sorted(items):
        item = items[name]
        if item.disposed:
            continue
        reasons = []
        if item.location in terms.ineligible_locations:
            if item.kind in (CollateralKind.INVENTORY, CollateralKind.EQUIPMENT):
                rule = f"ineligible-{item.kind.value}"
                reasons.append(Reason(rule, terms.clause(rule),
                                      f"{item.kind.value} at {item.location}, which the terms list in "
                                      "ineligible_locations, is ineligible"))
        if item.kind in terms.first_priority_required:
            liens = ranked.get(name, [])
            first = liens[0].event.holder if liens else None
            if first != ctx.lender:
                detail = (f"the first-ranking lien on it is {liens[0].lien} held by {first}, not the lender's"
                          if liens else "the lender holds no lien on it")
                reasons.append(Reason("not-first-priority", terms.clause("not-first-priority"),
                                      f"{detail} (first_priority_required lists {item.kind.value})"))
        out.append(ItemEligibility(name, item.kind.value, item.location, not reasons, tuple(reasons), item.value))
    return EligibilityAnswer(header, tuple(out))


# ---------------------------------------------------------------- balances

def balances_view(ctx: Context, header: Header, loans: dict[str, Loan] | None = None) -> BalancesAnswer:
    """Every facility opened by D; `loans` as of D may come from a read model instead of the fold."""
    day = header.as_of
    loans = loans if loans is not None else loans_on(ctx.folded, day)
    facilities = []
    for name in sorted(loans):
        loan = loans[name]
        ev = loan.opened
        facilities.append(FacilityBalance(
            name, ev.lender, ev.borrower, ev.financing, loan.principal, ev.limit,
            tuple(InstallmentView(due, amount) for due, amount in sorted(loan.installments))))
    caps = []
    terms = ctx.terms_on(day)
    for key in sorted(terms.caps, key=lambda k: (k[0], k[1] or "")):
        cap = terms.caps[key]
        principal = sum((l.principal for l in loans.values()
                         if l.opened.financing == cap.financing
                         and (cap.borrower is None or l.opened.borrower == cap.borrower)), ZERO)
        caps.append(CapView(cap.financing, cap.borrower, cap.amount, principal))
    return BalancesAnswer(header, tuple(facilities), tuple(caps))


# ---------------------------------------------------------------- availability

def availability_view(ctx: Context, header: Header, eligibility: EligibilityAnswer | None = None,
                      loans: dict[str, Loan] | None = None) -> AvailabilityAnswer:
    day = header.as_of
    terms = ctx.terms_on(day)
    eligibility = eligibility or eligibility_view(ctx, header)
    classes = []
    for kind in sorted(terms.advance_rates):
        rate = terms.advance_rates[kind]
        gross = ineligible = ZERO
        by_rule: dict[str, Decimal] = {}
        for item in eligibility.collateral:
            if item.kind != kind:
                continue
            gross += item.value
            if not item.eligible:
                ineligible += item.value
                for reason in item.reasons:
                    by_rule[reason.rule] = by_rule.get(reason.rule, ZERO) + item.value
        available = ((gross - ineligible) * Decimal(rate)).quantize(CENT, rounding=ROUND_HALF_EVEN)
        classes.append(AvailabilityClass(kind, gross, ineligible, rate, available, tuple(sorted(by_rule.items()))))
    loans = loans if loans is not None else loans_on(ctx.folded, day)
    principal = sum((loans[f].principal for f in terms.borrowing_base_facilities if f in loans), ZERO)
    return AvailabilityAnswer(header, tuple(classes), principal, terms.borrowing_base_facilities)
