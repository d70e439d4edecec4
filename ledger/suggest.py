""""Did you mean": the nearest known word for a mistyped type, field, terms key or id, and look-alike characters.

A refusal that names something unknown ends with what the user probably meant
(`difflib`'s closest match), and an id that differs from a recorded one only by
a character that merely looks like an ASCII one (a Cyrillic `с`, a non-breaking
hyphen) says which character it is, by position and Unicode name.
"""

from __future__ import annotations

import difflib
import unicodedata
from typing import Iterable

# how many recorded names a suggestion looks through at most (it runs only when a line is refused)
MAX_CANDIDATES = 20_000

_ASCII_LIKE = {"Pd": "an ASCII hyphen (-)", "Zs": "an ASCII space", "Pi": "an ASCII quote", "Pf": "an ASCII quote"}


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate nearest to `word` (or to it with look-alikes made ASCII), if one is close enough."""
    pool = [c for c in candidates if isinstance(c, str)]
    if not isinstance(word, str) or not pool:
        return None
    for probe in (word, ascii_folded(word), word.lower()):
        if probe in pool and probe != word:
            return probe
        found = difflib.get_close_matches(probe, pool, n=1, cutoff=0.6)
        if found and found[0] != word:
            return found[0]
    return None


def ascii_folded(text: str) -> str:
    """`text` with each look-alike character replaced by the ASCII one it imitates, where one is known."""
    out = []
    for ch in text:
        if ord(ch) < 128:
            out.append(ch)
            continue
        out.append(_ascii_of(ch) or ch)
    return "".join(out)


def _ascii_of(ch: str) -> str | None:
    decomposed = unicodedata.normalize("NFKD", ch)
    plain = "".join(c for c in decomposed if ord(c) < 128)
    if len(plain) == 1:
        return plain
    name = unicodedata.name(ch, "")
    category = unicodedata.category(ch)
    if category == "Pd" or "HYPHEN" in name or "DASH" in name:
        return "-"
    if category == "Zs":
        return " "
    # Cyrillic and Greek letters that are drawn like Latin ones
    for prefix in ("CYRILLIC SMALL LETTER ", "CYRILLIC CAPITAL LETTER ", "GREEK SMALL LETTER ", "GREEK CAPITAL LETTER "):
        if name.startswith(prefix):
            letter = _HOMOGLYPHS.get(name[len(prefix):])
            if letter:
                return letter.upper() if "CAPITAL" in prefix else letter
    return None


_HOMOGLYPHS = {"A": "a", "IE": "e", "O": "o", "ES": "c", "ER": "p", "HA": "x", "U": "y", "I": "i",
               "BYELORUSSIAN-UKRAINIAN I": "i", "JE": "j", "DZE": "s", "KA": "k", "EM": "m", "EN": "h",
               "TE": "t", "VE": "b", "GHE": "r", "OMICRON": "o", "ALPHA": "a", "EPSILON": "e", "RHO": "p",
               "IOTA": "i", "KAPPA": "k", "NU": "v", "TAU": "t", "CHI": "x", "UPSILON": "u"}


def lookalike(text: str) -> str | None:
    """`character 3 of 'lpс' is U+0441 CYRILLIC SMALL LETTER ES, not an ASCII letter`, for the first such one."""
    if not isinstance(text, str):
        return None
    for i, ch in enumerate(text, start=1):
        if ord(ch) < 128:
            continue
        name = unicodedata.name(ch, "an unnamed character")
        imitated = _ascii_of(ch)
        if imitated is None:
            what = "an ASCII character"
        elif imitated.isalpha():
            what = "an ASCII letter"
        elif imitated.isdigit():
            what = "an ASCII digit"
        else:
            what = _ASCII_LIKE.get(unicodedata.category(ch), f"an ASCII {imitated!r}")
        return f"character {i} of {text!r} is U+{ord(ch):04X} {name}, not {what}"
    return None


def hint(word: str, candidates: Iterable[str] = ()) -> str:
    """What to append to a refusal: ` (did you mean 'lpc'? character 3 of 'lpс' is U+0441 ...)`, or ''."""
    parts = []
    near = closest(word, candidates)
    if near is not None:
        parts.append(f"did you mean {near!r}?")
    odd = lookalike(word)
    if odd is not None:
        parts.append(odd)
    return f" ({' '.join(parts)})" if parts else ""


def recorded_names(store, namespace: str) -> list[str]:
    """Names of `namespace` in the ledger to suggest from (only asked when a line is already refused)."""
    try:
        rows = store._query(f"SELECT DISTINCT name FROM {store.q}cledger_names WHERE namespace = ? LIMIT {MAX_CANDIDATES}",
                            [namespace])
    except Exception:  # a suggestion is a courtesy: never let it hide the refusal itself
        return []
    return [r[0] for r in rows]


def recorded_event_ids(store, near: str) -> list[str]:
    """Event ids to suggest from: those that begin like `near` (the log may hold millions)."""
    prefix = ascii_folded(near)[:2]
    try:
        rows = store._query(f"SELECT event_id FROM {store.q}cledger_log WHERE event_id LIKE ? LIMIT {MAX_CANDIDATES}",
                            [prefix.replace("%", "").replace("_", "") + "%"])
    except Exception:
        return []
    return [r[0] for r in rows]
