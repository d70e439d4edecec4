"""Events to and from their JSON shape (the contract's input shape), and the canonical bytes.

`encode` writes an event as the JSON object `record` accepts; `decode` reads one
back, checking every field (the reader uses it for input, the store for stored
events). `canonical_bytes` is what the hash chain hashes: see docs/hashing.md.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

from ledger.events import (
    EVENT_TYPES,
    Allocation,
    Cap,
    Event,
    Installment,
    RestrictedCollateral,
    Terms,
    field_specs,
)
from ledger.errors import InputError
from ledger.values import (
    CollateralKind,
    NoticeCategory,
    PaymentOrder,
    ValueProblem,
    money,
    parse_amount,
    parse_date,
    parse_enum,
    parse_id,
    parse_rate,
    parse_text,
)

ENVELOPE_FIELDS = ("type", "effective_date", "id", "recorded_at", "actor", "position")
MAX_LIST = 100_000


# ---------------------------------------------------------------- encoding

def encode(event: Event) -> dict[str, Any]:
    """The event's type, effective date and fields as JSON-ready values (absent optionals omitted)."""
    out: dict[str, Any] = {"type": event.type_name, "effective_date": event.effective_date.isoformat()}
    for spec in field_specs(type(event)):
        value = getattr(event, spec.attr)
        if value is None:
            continue
        out[spec.json] = _encode_value(spec.kind, value)
    return out


def _encode_value(kind: str, value: Any) -> Any:
    if kind in ("id", "text", "breach"):
        return value
    if kind in ("ids", "texts"):
        return list(value)
    if kind in ("amount", "value"):
        return money(value)
    if kind == "date":
        return value.isoformat()
    if kind == "enum":
        return value.value
    if kind == "enums":
        return [v.value for v in value]
    if kind == "installments":
        return [{"due": i.due.isoformat(), "amount": money(i.amount)} for i in value]
    if kind == "allocations":
        steps = []
        for a in value:
            step: dict[str, Any] = {"facility": a.facility, "amount": a.amount}
            if a.order is not None:
                step["order"] = a.order.value
            if a.resolved is not None:
                step["resolved"] = money(a.resolved)
            steps.append(step)
        return steps
    if kind == "terms":
        return encode_terms(value)
    raise TypeError(f"unknown field kind {kind}")


def encode_terms(terms: Terms) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if terms.lender is not None:
        out["lender"] = terms.lender
    if terms.restricted_collateral is not None:
        out["restricted_collateral"] = [
            {"rule": r.rule, "holder": r.holder, "locations": list(r.locations),
             **({} if r.permitted is None else {"permitted": list(r.permitted)})}
            for r in terms.restricted_collateral
        ]
    for key in ("protected_locations", "ineligible_locations", "representation_financings",
                "self_curing", "conditions", "borrowing_base_facilities"):
        value = getattr(terms, key)
        if value is not None:
            out[key] = list(value)
    if terms.caps is not None:
        caps = []
        for cap in terms.caps:
            item: dict[str, Any] = {"financing": cap.financing}
            if cap.borrower is not None:
                item["borrower"] = cap.borrower
            item["amount"] = money(cap.amount)
            if cap.clause is not None:
                item["clause"] = cap.clause
            caps.append(item)
        out["caps"] = caps
    if terms.promptly_days is not None:
        out["promptly_days"] = terms.promptly_days
    if terms.grace_days is not None:
        out["grace_days"] = dict(terms.grace_days)
    if terms.exempt_notice_categories is not None:
        out["exempt_notice_categories"] = {
            fin: [c.value for c in cats] for fin, cats in terms.exempt_notice_categories
        }
    if terms.advance_rates is not None:
        out["advance_rates"] = dict(terms.advance_rates)
    if terms.first_priority_required is not None:
        out["first_priority_required"] = [k.value for k in terms.first_priority_required]
    if terms.clauses is not None:
        out["clauses"] = dict(terms.clauses)
    return out


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_bytes(body: dict[str, Any]) -> bytes:
    """The one byte form of a JSON object: sorted keys, no spaces, UTF-8."""
    return _CANONICAL.encode(body).encode("utf-8")


# ---------------------------------------------------------------- decoding

def decode(obj: dict[str, Any], *, line: int | None = None, allow_resolved: bool = False) -> Event:
    """Build an event from its JSON object, checking every field; envelope keys are ignored here."""
    type_name = obj.get("type")
    cls = EVENT_TYPES.get(type_name) if isinstance(type_name, str) else None
    if cls is None:
        known = ", ".join(sorted(EVENT_TYPES))
        from ledger.suggest import hint

        raise InputError(f"unknown event type {type_name!r}{hint(type_name, EVENT_TYPES)}; expected one of: {known}",
                         line=line, field="type")
    if "effective_date" not in obj:
        raise InputError("missing; expected an ISO date (YYYY-MM-DD)", line=line, field="effective_date")
    kwargs: dict[str, Any] = {"effective_date": _field(parse_date, obj["effective_date"], line, "effective_date")}
    plan = _decode_plan(cls)
    allowed = plan[0]
    for key in obj:
        if key not in allowed:
            expected = ", ".join(s.json for s in field_specs(cls))
            from ledger.suggest import hint

            raise InputError(f"unknown field for {type_name}{hint(key, allowed)}; its fields are: {expected}",
                             line=line, field=key)
    for spec, fast in plan[1]:
        raw = obj.get(spec.json)
        if raw is None:
            if spec.optional:
                continue
            raise InputError(f"missing; {type_name} requires it", line=line, field=spec.json)
        if fast is not None:
            try:
                kwargs[spec.attr] = fast(raw)
            except ValueProblem as exc:
                raise InputError(_pointed(str(exc), raw, spec.enum), line=line, field=spec.json) from None
        else:
            kwargs[spec.attr] = _decode_value(spec, raw, line, spec.json, allow_resolved)
    return cls(**kwargs)


def _pointed(problem: str, raw: Any, enum=None) -> str:
    """A refused value: the nearest choice of an enum, and which character of it only looks ASCII
    (ledger.suggest)."""
    from ledger.suggest import closest, lookalike

    near = closest(raw, [e.value for e in enum]) if enum is not None and isinstance(raw, str) else None
    odd = lookalike(raw) if isinstance(raw, str) and not raw.isascii() else None
    return problem + (f" (did you mean {near!r}?)" if near else "") + (f"; {odd}" if odd else "")


def _fast_parser(spec):
    """A one-call parser for the simple kinds (None for lists and nested objects)."""
    if spec.kind == "id":
        return parse_id
    if spec.kind == "text":
        return parse_text
    if spec.kind == "amount":
        return parse_amount
    if spec.kind == "date":
        return parse_date
    if spec.kind == "enum":
        enum_type = spec.enum
        return lambda v: parse_enum(enum_type, v)
    return None


_PLANS: dict[type, tuple[frozenset[str], tuple]] = {}


def _decode_plan(cls) -> tuple[frozenset[str], tuple]:
    plan = _PLANS.get(cls)
    if plan is None:
        specs = field_specs(cls)
        plan = (frozenset({s.json for s in specs} | set(ENVELOPE_FIELDS)),
                tuple((s, _fast_parser(s)) for s in specs))
        _PLANS[cls] = plan
    return plan


def _field(parser, raw, line, name):
    try:
        return parser(raw)
    except ValueProblem as exc:
        raise InputError(_pointed(str(exc), raw), line=line, field=name) from None


def _list(raw: Any, line: int | None, name: str, *, non_empty: bool = True) -> list:
    if not isinstance(raw, list):
        raise InputError("expected a list", line=line, field=name)
    if non_empty and not raw:
        raise InputError("expected a list with at least one element", line=line, field=name)
    if len(raw) > MAX_LIST:
        raise InputError(f"a list longer than {MAX_LIST} elements", line=line, field=name)
    return raw


def _object(raw: Any, line: int | None, name: str, keys: set[str], required: set[str]) -> dict:
    if not isinstance(raw, dict):
        raise InputError("expected an object", line=line, field=name)
    for key in raw:
        if key not in keys:
            from ledger.suggest import hint

            raise InputError(f"unknown field{hint(key, keys)}; expected {', '.join(sorted(keys))}", line=line,
                             field=f"{name}.{key}")
    for key in sorted(required):
        if raw.get(key) is None:
            raise InputError("missing", line=line, field=f"{name}.{key}")
    return raw


def _unique(values: list, line, name):
    if len(set(values)) != len(values):
        raise InputError("the list names the same value twice", line=line, field=name)
    return tuple(values)


def _decode_value(spec, raw: Any, line: int | None, name: str, allow_resolved: bool) -> Any:
    kind = spec.kind
    if kind == "id":
        return _field(parse_id, raw, line, name)
    if kind == "breach":
        return _field(lambda v: parse_text(v, max_len=600), raw, line, name)
    if kind == "text":
        return _field(parse_text, raw, line, name)
    if kind == "ids":
        items = _list(raw, line, name)
        return _unique([_field(parse_id, v, line, f"{name}[{i}]") for i, v in enumerate(items)], line, name)
    if kind == "texts":
        items = _list(raw, line, name)
        return _unique([_field(lambda v: parse_text(v, max_len=200), v, line, f"{name}[{i}]")
                        for i, v in enumerate(items)], line, name)
    if kind == "amount":
        return _field(parse_amount, raw, line, name)
    if kind == "value":
        return _field(lambda v: parse_amount(v, allow_zero=True), raw, line, name)
    if kind == "date":
        return _field(parse_date, raw, line, name)
    if kind == "enum":
        return _field(lambda v: parse_enum(spec.enum, v), raw, line, name)
    if kind == "enums":
        items = _list(raw, line, name)
        return _unique([_field(lambda v: parse_enum(spec.enum, v), v, line, f"{name}[{i}]")
                        for i, v in enumerate(items)], line, name)
    if kind == "installments":
        items = _list(raw, line, name)
        out = []
        for i, item in enumerate(items):
            where = f"{name}[{i}]"
            _object(item, line, where, {"due", "amount"}, {"due", "amount"})
            out.append(Installment(_field(parse_date, item["due"], line, f"{where}.due"),
                                   _field(parse_amount, item["amount"], line, f"{where}.amount")))
        dues = [i.due for i in out]
        if len(set(dues)) != len(dues):
            raise InputError("two installments fall due on the same date", line=line, field=name)
        return tuple(sorted(out, key=lambda i: i.due))
    if kind == "allocations":
        items = _list(raw, line, name)
        keys = {"facility", "amount", "order"} | ({"resolved"} if allow_resolved else set())
        out = []
        for i, item in enumerate(items):
            where = f"{name}[{i}]"
            _object(item, line, where, keys, {"facility", "amount"})
            facility = _field(parse_id, item["facility"], line, f"{where}.facility")
            amount = item["amount"]
            if amount not in ("payoff", "balance"):
                amount = money(_field(parse_amount, amount, line, f"{where}.amount"))
            order = None
            if item.get("order") is not None:
                order = _field(lambda v: parse_enum(PaymentOrder, v), item["order"], line, f"{where}.order")
            resolved = None
            if item.get("resolved") is not None:
                resolved = _field(lambda v: parse_amount(v, allow_zero=True), item["resolved"], line, f"{where}.resolved")
            out.append(Allocation(facility, amount, order, resolved))
        return tuple(out)
    if kind == "terms":
        return decode_terms(raw, line, name)
    raise TypeError(f"unknown field kind {kind}")


_TERMS_KEYS = {
    "lender", "restricted_collateral", "protected_locations", "ineligible_locations", "caps",
    "representation_financings", "self_curing", "promptly_days", "grace_days",
    "exempt_notice_categories", "conditions", "advance_rates", "borrowing_base_facilities",
    "first_priority_required", "clauses",
}


def _days(raw: Any, line, name) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= 3650:
        raise InputError(f"expected a whole number of days between 0 and 3650, got {raw!r}", line=line, field=name)
    return raw


def _ids(raw, line, name, *, non_empty=True) -> tuple[str, ...]:
    items = _list(raw, line, name, non_empty=non_empty)
    return _unique([_field(parse_id, v, line, f"{name}[{i}]") for i, v in enumerate(items)], line, name)


def decode_terms(raw: Any, line: int | None, name: str = "terms") -> Terms:
    if not isinstance(raw, dict):
        raise InputError("expected an object of terms", line=line, field=name)
    for key in raw:
        if key not in _TERMS_KEYS:
            from ledger.suggest import hint

            raise InputError(f"unknown terms key{hint(key, _TERMS_KEYS)}; expected one of {', '.join(sorted(_TERMS_KEYS))}",
                             line=line, field=f"{name}.{key}")
    kw: dict[str, Any] = {}
    if raw.get("lender") is not None:
        kw["lender"] = _field(parse_id, raw["lender"], line, f"{name}.lender")
    if raw.get("restricted_collateral") is not None:
        where = f"{name}.restricted_collateral"
        items = []
        for i, item in enumerate(_list(raw["restricted_collateral"], line, where, non_empty=False)):
            w = f"{where}[{i}]"
            _object(item, line, w, {"rule", "holder", "locations", "permitted"}, {"rule", "holder", "locations"})
            permitted = item.get("permitted")
            items.append(RestrictedCollateral(
                _field(parse_id, item["rule"], line, f"{w}.rule"),
                _field(parse_id, item["holder"], line, f"{w}.holder"),
                _ids(item["locations"], line, f"{w}.locations"),
                None if permitted is None else _ids(permitted, line, f"{w}.permitted", non_empty=False)))
        rules = [r.rule for r in items]
        if len(set(rules)) != len(rules):
            raise InputError("two restrictions with the same rule id", line=line, field=where)
        kw["restricted_collateral"] = tuple(items)
    for key in ("protected_locations", "ineligible_locations", "representation_financings",
                "borrowing_base_facilities"):
        if raw.get(key) is not None:
            kw[key] = _ids(raw[key], line, f"{name}.{key}", non_empty=False)
    if raw.get("self_curing") is not None:
        kw["self_curing"] = _ids(raw["self_curing"], line, f"{name}.self_curing", non_empty=False)
    if raw.get("conditions") is not None:
        where = f"{name}.conditions"
        kw["conditions"] = _unique(
            [_field(lambda v: parse_text(v, max_len=64), v, line, f"{where}[{i}]")
             for i, v in enumerate(_list(raw["conditions"], line, where, non_empty=False))], line, where)
    if raw.get("caps") is not None:
        where = f"{name}.caps"
        caps = []
        for i, item in enumerate(_list(raw["caps"], line, where, non_empty=False)):
            w = f"{where}[{i}]"
            _object(item, line, w, {"financing", "borrower", "amount", "clause"}, {"financing", "amount"})
            borrower = item.get("borrower")
            clause = item.get("clause")
            caps.append(Cap(_field(parse_id, item["financing"], line, f"{w}.financing"),
                            _field(parse_amount, item["amount"], line, f"{w}.amount"),
                            None if borrower is None else _field(parse_id, borrower, line, f"{w}.borrower"),
                            None if clause is None else _field(lambda v: parse_text(v, max_len=64), clause, line,
                                                               f"{w}.clause")))
        keys = [c.key for c in caps]
        if len(set(keys)) != len(keys):
            raise InputError("two caps for the same financing and borrower", line=line, field=where)
        kw["caps"] = tuple(caps)
    if raw.get("promptly_days") is not None:
        kw["promptly_days"] = _days(raw["promptly_days"], line, f"{name}.promptly_days")
    if raw.get("grace_days") is not None:
        where = f"{name}.grace_days"
        _object(raw["grace_days"], line, where, set(raw["grace_days"]) if isinstance(raw["grace_days"], dict) else set(), set())
        kw["grace_days"] = tuple(sorted(
            (_field(parse_id, k, line, where), _days(v, line, f"{where}.{k}")) for k, v in raw["grace_days"].items()))
    if raw.get("exempt_notice_categories") is not None:
        where = f"{name}.exempt_notice_categories"
        value = raw["exempt_notice_categories"]
        _object(value, line, where, set(value) if isinstance(value, dict) else set(), set())
        pairs = []
        for fin, cats in value.items():
            w = f"{where}.{fin}"
            parsed = _unique([_field(lambda v: parse_enum(NoticeCategory, v), c, line, f"{w}[{i}]")
                              for i, c in enumerate(_list(cats, line, w, non_empty=False))], line, w)
            pairs.append((_field(parse_id, fin, line, where), parsed))
        kw["exempt_notice_categories"] = tuple(sorted(pairs))
    if raw.get("advance_rates") is not None:
        where = f"{name}.advance_rates"
        value = raw["advance_rates"]
        _object(value, line, where, set(value) if isinstance(value, dict) else set(), set())
        pairs = []
        for kind, rate in value.items():
            _field(lambda v: parse_enum(CollateralKind, v), kind, line, where)
            pairs.append((kind, _field(parse_rate, rate, line, f"{where}.{kind}")))
        kw["advance_rates"] = tuple(sorted(pairs))
    if raw.get("first_priority_required") is not None:
        where = f"{name}.first_priority_required"
        kw["first_priority_required"] = _unique(
            [_field(lambda v: parse_enum(CollateralKind, v), v, line, f"{where}[{i}]")
             for i, v in enumerate(_list(raw["first_priority_required"], line, where, non_empty=False))],
            line, where)
    if raw.get("clauses") is not None:
        where = f"{name}.clauses"
        value = raw["clauses"]
        _object(value, line, where, set(value) if isinstance(value, dict) else set(), set())
        kw["clauses"] = tuple(sorted(
            (_field(parse_id, k, line, where), _field(lambda v: parse_text(v, max_len=64), v, line, f"{where}.{k}"))
            for k, v in value.items()))
    return Terms(**kw)


def decimal_of(text: str) -> Decimal:
    return Decimal(text)


__all__ = ["encode", "decode", "canonical_bytes", "encode_terms", "decode_terms", "date"]
