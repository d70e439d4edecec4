"""`cledger serve` in a real headless Chromium (Debian's, driven by Playwright): what a loan administrator sees."""

from __future__ import annotations

import json
import os
import urllib.request

import pytest

from tests.web_ledgers import SCRIPT_ADDRESS, hostile_ledger, running_server

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason=f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run installs it)"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The 1996 scenario (plus a location whose address holds a <script>), served on a free 127.0.0.1 port."""
    url = hostile_ledger(tmp_path_factory.mktemp("browser") / "ledger.db")
    with running_server(url) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.dialogs = dialogs
    yield page
    context.close()


def test_the_status_page_of_june_1996_shows_the_event_of_default(server, page):
    page.goto(f"{server}/?as_of=1996-06-20&known_at=1996-12-31")
    headline = page.locator("section.headline")
    assert headline.locator("h1 .state").inner_text() == "event-of-default"
    assert "Events of Default" in headline.inner_text()
    assert page.locator("table.breaches tr[data-breach]").count() >= 1


def test_changing_known_at_from_1_to_15_march_turns_cits_lien_consented(server, page):
    """As of 1 Feb 1996, the consent of 14 March is retroactive: unconsented as known at 1 March, then consented."""
    page.goto(f"{server}/liens?as_of=1996-02-01&known_at=1996-03-01")
    consent = page.locator('tr[data-lien="cit-lien"] td.consent')
    assert consent.inner_text() == "unconsented"
    page.fill('form.question input[name="known_at"]', "1996-03-15")
    with page.expect_navigation():
        page.click('form.question button[type="submit"]')
    assert "known_at=1996-03-15" in page.url and "as_of=1996-02-01" in page.url
    assert page.locator('tr[data-lien="cit-lien"] td.consent').inner_text() == "consented"
    assert "1996-01-17" in page.locator('tr[data-lien="cit-lien"]').inner_text()


def test_a_breach_links_to_its_events(server, page):
    with urllib.request.urlopen(f"{server}/api/defaults?as_of=1996-06-20&known_at=1996-12-31", timeout=30) as r:
        breaches = json.loads(r.read())["breaches"]
    breach = next(b for b in breaches if b["rule"] == "furnish-notices")
    page.goto(f"{server}/defaults?as_of=1996-06-20&known_at=1996-12-31")
    row = page.locator(f'tr[data-breach="{breach["breach"]}"]')
    assert breach["clause"] in row.locator("td.clause").inner_text()
    with page.expect_navigation():
        row.locator("a.breach-events").click()
    assert page.url.startswith(f"{server}/events?")
    listed = [page.locator("tr[data-event]").nth(i).get_attribute("data-event")
              for i in range(page.locator("tr[data-event]").count())]
    assert listed == breach["events"]


def test_an_address_holding_a_script_renders_as_text(server, page):
    page.goto(f"{server}/collateral?as_of=1996-06-20&known_at=1996-12-31")
    address = page.locator('tr[data-collateral="press-hostile"] .address')
    assert address.inner_text() == SCRIPT_ADDRESS
    assert page.locator("script").count() == 0
    assert page.dialogs == []
    page.goto(f"{server}/events?as_of=1996-06-20&known_at=1996-12-31&collateral=press-hostile")
    assert "<img src=x" in page.locator('tr[data-event="ev-col-hostile"]').inner_text()
    assert page.locator("main img").count() == 0 and page.dialogs == []
