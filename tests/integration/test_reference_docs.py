"""The reference in docs/ must follow the code: its examples record, and it names every type, key and command.

docs/events.md and docs/terms.md carry their examples in ```json blocks, one event a
line; taken in order (events.md, then terms.md) they are one ledger that `cledger
record` accepts. Every event type of `ledger.events.EVENT_TYPES`, every terms key the
decoder accepts (`ledger.codec._TERMS_KEYS`) and every command of the click group
must have a heading of its own, so that the reference cannot drift from the code.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ledger.codec import _TERMS_KEYS
from ledger.events import EVENT_TYPES

DOCS = Path(__file__).resolve().parents[2] / "docs"
EVENTS_MD = DOCS / "events.md"
TERMS_MD = DOCS / "terms.md"
CLI_MD = DOCS / "cli.md"


def _text(path: Path) -> str:
    assert path.exists(), f"{path.relative_to(DOCS.parent)} is missing"
    return path.read_text(encoding="utf-8")


def json_example_lines(path: Path) -> list[str]:
    """Every non-blank line inside a ```json fenced block, in order."""
    lines, inside = [], False
    for raw in _text(path).splitlines():
        stripped = raw.strip()
        if stripped.startswith("```"):
            inside = (not inside) and stripped == "```json"
            continue
        if inside and stripped:
            lines.append(stripped)
    return lines


def headings(path: Path) -> list[str]:
    """The text of every markdown heading (## to ####), backticks removed."""
    return [m.group(1).replace("`", "").strip()
            for m in re.finditer(r"^#{2,4}\s+(.+?)\s*$", _text(path), flags=re.MULTILINE)]


def _recorded_count(stderr: str) -> int:
    found = re.search(r"recorded (\d+) event\(s\)", stderr)
    assert found, stderr
    return int(found.group(1))


# ---------------------------------------------------------------- the examples record

def test_every_example_line_is_one_json_event_with_an_id():
    for path in (EVENTS_MD, TERMS_MD):
        lines = json_example_lines(path)
        assert lines, f"{path.name} has no ```json examples"
        for line in lines:
            obj = json.loads(line)
            assert isinstance(obj, dict) and obj.get("type") in EVENT_TYPES, line
            assert obj.get("id"), f"an example without an explicit id: {line}"
    ids = [json.loads(l)["id"] for p in (EVENTS_MD, TERMS_MD) for l in json_example_lines(p)]
    assert len(ids) == len(set(ids)), "two examples share an id"


def test_the_examples_of_events_md_then_terms_md_record_as_one_ledger(run_cli, tmp_path):
    url = f"sqlite:///{tmp_path / 'reference.db'}"
    events_lines = json_example_lines(EVENTS_MD)
    terms_lines = json_example_lines(TERMS_MD)

    first = run_cli(["record", "-", "--db", url], input="\n".join(events_lines) + "\n")
    assert first.code == 0, first
    assert _recorded_count(first.stderr) == len(events_lines), first.stderr

    second = run_cli(["record", "-", "--db", url], input="\n".join(terms_lines) + "\n")
    assert second.code == 0, second
    assert _recorded_count(second.stderr) == len(terms_lines), second.stderr

    listed = run_cli(["events", "--db", url, "--json"])
    assert listed.code == 0, listed
    log = json.loads(listed.stdout)
    assert [e["id"] for e in log] == [json.loads(l)["id"] for l in events_lines + terms_lines]

    audit = run_cli(["audit", "--db", url])
    assert audit.code == 0, audit


def test_events_md_has_an_example_of_every_event_type():
    shown = {json.loads(line)["type"] for line in json_example_lines(EVENTS_MD)}
    assert set(EVENT_TYPES) - shown == set()


def test_the_recorded_examples_use_every_terms_key():
    used: set[str] = set()
    for path in (EVENTS_MD, TERMS_MD):
        for line in json_example_lines(path):
            obj = json.loads(line)
            if obj["type"] == "AgreementExecuted" and obj.get("terms"):
                used |= set(obj["terms"])
    assert set(_TERMS_KEYS) - used == set()


def test_terms_md_holds_one_agreement_example():
    lines = [json.loads(l) for l in json_example_lines(TERMS_MD)]
    assert [o["type"] for o in lines] == ["AgreementExecuted"]


# ---------------------------------------------------------------- the reference names what the code has

@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_every_event_type_has_a_heading_in_events_md(event_type):
    assert event_type in headings(EVENTS_MD), f"docs/events.md has no heading `{event_type}`"


@pytest.mark.parametrize("key", sorted(_TERMS_KEYS))
def test_every_terms_key_has_a_heading_in_terms_md(key):
    assert key in headings(TERMS_MD), f"docs/terms.md has no heading `{key}`"


def _commands() -> list[str]:
    from ledger.cli import cli

    return sorted(cli.commands)


@pytest.mark.parametrize("command", _commands())
def test_every_command_has_a_heading_in_cli_md(command):
    found = [h for h in headings(CLI_MD) if re.match(rf"cledger {re.escape(command)}(\s|$)", h)]
    assert found, f"docs/cli.md has no heading `cledger {command}`"


def test_no_reference_sends_a_user_to_internal_spec_files():
    for path in (EVENTS_MD, TERMS_MD, CLI_MD, DOCS / "decisions.md", DOCS / "scenario-figures.md",
                 DOCS.parent / "ledger" / "data" / "README.md"):
        text = _text(path)
        for word in ("/work/shared", "CONTRACT.md", "DOMAIN.md", "DEALS.md"):
            assert word not in text, f"{path.name} mentions {word}"
