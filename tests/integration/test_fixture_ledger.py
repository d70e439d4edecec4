"""A ledger written by an earlier release (commit 5c3a441) still audits clean and answers as it did.

The fixture is that release's SQLite file of the bundled 1996 scenario, with its answers as of
1996-06-20 known at 1996-12-31 saved beside it. Later releases may add keys to an answer (the
contract's shapes are extended, never changed), so every key and value saved then must still be
there, unchanged, with one exception that DEALS.md makes: "terms without `clauses` cite `null`"
(DEALS.md, introduction and §1: "Built-in defaults such as "§3(a)" are gone from the code"). This
ledger's terms have no `clauses`, so a `clause` the earlier release saved as one of its built-in
citations (`OLD_CITATIONS`) may now be `null`, and a `detail` sentence may read differently (it is
built from the facts and the terms, DEALS.md's principle). A clause the terms themselves gave (a cap's
own `clause`) must still be there, and every other key and value must still match.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ledger import open_ledger

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
STEM = "ledger-v1-5c3a441"
HEAD = "110:c1b681f78a3aaf803974cfce7a6e19f6077a33bcd52a2437c13bb8cf2f3725fa"
VIEWS = ("liens", "eligibility", "balances", "defaults", "availability")
#: The clauses the earlier release built in (its CLAUSES tables), which DEALS.md removes from the code.
OLD_CITATIONS = {"§3(a)", "§3(b)", "§4(i)", "§4(ii)", "§5(a)", "§1(c), §1(g), §2",
                 "Financing Agreements (first-priority lien)"}


def contains(new, old, where="") -> list[str]:
    """Where `new` lacks or changes something `old` has (dicts may gain keys; lists keep their items).

    The DEALS.md exception: a `clause` saved as a built-in citation may now be null, and a `detail` may change."""
    if isinstance(old, dict):
        if not isinstance(new, dict):
            return [f"{where}: was an object"]
        return [p for key, value in old.items()
                for p in (contains(new[key], value, f"{where}.{key}") if key in new else [f"{where}.{key}: missing"])]
    if isinstance(old, list):
        if not isinstance(new, list) or len(new) != len(old):
            return [f"{where}: was a list of {len(old)}"]
        return [p for i, (a, b) in enumerate(zip(new, old)) for p in contains(a, b, f"{where}[{i}]")]
    if where.endswith(".clause") and old in OLD_CITATIONS and new is None:
        return []
    if where.endswith(".detail") and isinstance(old, str) and isinstance(new, str):
        return []
    return [] if new == old else [f"{where}: {old!r} became {new!r}"]


def test_the_exception_is_only_for_built_in_citations():
    """A clause the terms gave may not vanish; a built-in one may become null but not another text."""
    assert contains({"clause": None}, {"clause": "§3(a)"}) == []
    assert contains({"clause": None}, {"clause": "§1(c), §2(ii)"}) != []
    assert contains({"clause": "§9"}, {"clause": "§3(a)"}) != []
    assert contains({"rule": None}, {"rule": "§3(a)"}) != []


@pytest.fixture(scope="module")
def old_ledger(tmp_path_factory):
    folder = tmp_path_factory.mktemp("v1")
    shutil.copy(FIXTURES / f"{STEM}.db", folder / "ledger.db")
    with open_ledger(f"sqlite:///{folder / 'ledger.db'}", create=False) as lg:
        yield lg


def test_an_old_ledger_keeps_its_head_digest(old_ledger):
    """The chain written by the earlier release is read back to the same head."""
    assert old_ledger.head() == HEAD


@pytest.mark.parametrize("view", VIEWS)
def test_an_old_ledger_answers_what_it_answered(old_ledger, view):
    """Every key and value of the earlier release's answer is still in today's."""
    saved = json.loads((FIXTURES / f"{STEM}.{view}.json").read_text())
    now = getattr(old_ledger, view)(as_of="1996-06-20", known_at="1996-12-31").to_json()
    assert contains(now, saved) == []
