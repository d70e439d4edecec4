"""The built-in rule ids, in one place (DEALS.md section 1).

A deal names its own location rules (`restricted_collateral[].rule`, any short
id). The rules the program judges by itself keep these ids; `grace_days`,
`self_curing` and `clauses` may name them, and any id a deal defines. No
clause is built in: a finding cites what the terms in force give for its rule
under `clauses`, else null.
"""

from __future__ import annotations

BUILT_IN_RULE_IDS: tuple[str, ...] = (
    "protected-location-in",     # tangible collateral moved into a protected location without notice
    "furnish-notices",           # a material financing notice not furnished to the lender in time
    "cap",                       # principal of a financing above a cap
    "no-default-at-advance",     # an advance under a listed financing while an Event of Default continues
    "ineligible-inventory",      # inventory at an ineligible location
    "ineligible-equipment",      # equipment at an ineligible location
    "ineligible-category",
    "ineligible-aged",
    "ineligible-cross-aged",
    "ineligible-debtor",
    "ineligible-contra",
    "ineligible-concentration",
    "payment-default",
    "over-limit",
    "overadvance",
    "not-first-priority",        # first_priority_required: the lender's lien does not rank first
)


def known_rule_ids(defined) -> list[str]:
    """The ids `grace_days`, `self_curing` and `clauses` may name: the built-in ones and those defined."""
    return [*BUILT_IN_RULE_IDS, *sorted(set(defined) - set(BUILT_IN_RULE_IDS))]


def cited(clause: str | None, rule: str) -> str:
    """How a screen names a finding's rule: `<clause> ineligible-inventory`, or the rule alone without a clause."""
    return rule if clause is None else f"{clause} {rule}"
