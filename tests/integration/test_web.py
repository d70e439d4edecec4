"""`cledger serve` through Starlette's TestClient: the API's bytes, bad dates, the token, escaping, following the log."""

from __future__ import annotations

import json
import time
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from ledger.api import open_ledger
from ledger.cli import cli
from ledger.web import create_app
from ledger.web.pages import API_VIEWS
from ledger.web.service import LedgerService
from tests.web_ledgers import HOSTILE_ACTOR, HOSTILE_DESCRIPTION, SCRIPT_ADDRESS, hostile_ledger, scenario_ledger

# (as of, known at): before the Amendment was recorded, after it, and a timestamp with an offset
QUESTIONS = [("1996-02-01", "1996-03-01"), ("1996-02-01", "1996-03-15"), ("1996-06-20", "1996-12-31"),
             ("1996-03-15", "1996-03-14T18:30:00-05:00")]


@pytest.fixture(scope="module")
def scenario_url(tmp_path_factory) -> str:
    return scenario_ledger(tmp_path_factory.mktemp("web") / "ledger.db")


@pytest.fixture(scope="module")
def client(scenario_url):
    with TestClient(create_app(LedgerService(scenario_url, interval=0.2))) as c:
        yield c


def cli_bytes(args: list[str]) -> bytes:
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout_bytes


@pytest.mark.parametrize("view", API_VIEWS)
def test_the_api_gives_the_bytes_the_cli_prints_for_every_view(client, scenario_url, view):
    """/api/<view> is byte for byte `cledger <view> --json`, trailing newline included."""
    for as_of, known_at in QUESTIONS:
        response = client.get(f"/api/{view}?as_of={as_of}&known_at={quote(known_at)}")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        expected = cli_bytes([view, "--db", scenario_url, "--as-of", as_of, "--known-at", known_at, "--json"])
        assert response.content == expected
        assert response.content.endswith(b"}\n")


def test_the_api_restatement_gives_the_bytes_the_cli_prints(client, scenario_url):
    """The consent of 14 March as of 1 Feb: the same report from the API and from `cledger restatement --json`."""
    response = client.get("/api/restatement?as_of=1996-02-01&from=1996-03-01&to=1996-03-15")
    assert response.status_code == 200
    expected = cli_bytes(["restatement", "--db", scenario_url, "--as-of", "1996-02-01", "--from", "1996-03-01",
                          "--to", "1996-03-15", "--json"])
    assert response.content == expected
    changes = json.loads(response.content)["changes"]
    assert {"view": "liens", "subject": "cit-lien", "field": "consent"} in [
        {k: c[k] for k in ("view", "subject", "field")} for c in changes]


def test_the_api_equals_a_real_cli_process_bytes(client, scenario_url, run_cli):
    """The same bytes as a `cledger status --json` subprocess prints on its stdout."""
    result = run_cli(["status", "--db", scenario_url, "--as-of", "1996-06-20", "--known-at", "1996-12-31", "--json"])
    assert result.code == 0
    assert client.get("/api/status?as_of=1996-06-20&known_at=1996-12-31").content == result.stdout.encode("utf-8")


def test_the_status_page_shows_the_events_of_default_of_june_1996(client):
    page = client.get("/?as_of=1996-06-20&known_at=1996-12-31")
    assert page.status_code == 200
    assert "Borrower status: <span class=\"state event-of-default\">event-of-default</span>" in page.text
    assert "Events of Default</strong>" in page.text
    assert "Caps passed" in page.text and "bank-one" in page.text


def test_the_liens_page_turns_cit_consented_once_the_amendment_is_known(client):
    """As of 1 Feb 1996: unconsented as known at 1 March, consented (from 17 Jan) as known at 15 March."""
    def cit_row(known_at: str) -> str:
        text = client.get(f"/liens?as_of=1996-02-01&known_at={known_at}").text
        start = text.index('<tr data-lien="cit-lien">')
        return text[start:text.index("</tr>", start)]

    assert ">unconsented<" in cit_row("1996-03-01")
    row = cit_row("1996-03-15")
    assert ">consented<" in row and "1996-01-17" in row


def test_a_page_without_dates_is_sent_on_with_both_in_its_url(client):
    response = client.get("/liens?token=", follow_redirects=False)
    assert response.status_code == 303
    assert "as_of=" in response.headers["location"] and "known_at=" in response.headers["location"]


@pytest.mark.parametrize("url, name", [
    ("/liens?as_of=1996-02-30&known_at=1996-03-01", "as_of"),
    ("/?as_of=1996-06-20&known_at=yesterday", "known_at"),
    ("/defaults?as_of=20-06-1996&known_at=1996-12-31", "as_of"),
    ("/restatement?as_of=1996-02-01&known_at=1996-12-31&from=1996-03-01&to=March", "to"),
    ("/restatement?as_of=1996-02-01&known_at=1996-12-31&from=1996-03-15&to=1996-03-01", "from"),
    ("/events?as_of=1996-02-01&known_at=1996-12-31&from=1996-1-1", "from"),
    ("/events?as_of=1996-02-01&known_at=1996-12-31&type=NoSuchEvent", "type"),
    ("/charts/timeline.svg?to=1996-06-31", "to"),
    ("/api/liens?as_of=1996-02-01&known_at=1996-03-01T10:00:00", "known_at"),
    ("/api/restatement?as_of=1996-02-01&from=1996-03-01", "to"),
    # a date given twice: which one the page answered would be a guess
    ("/liens?as_of=1996-02-01&as_of=1996-06-20&known_at=1996-03-01", "as_of"),
    ("/api/liens?as_of=1996-02-01&known_at=1996-03-01&known_at=1996-03-15", "known_at"),
    ("/events?as_of=1996-02-01&known_at=1996-12-31&from=1996-01-01&from=1996-02-01", "from"),
])
def test_a_bad_date_gets_a_400_naming_the_parameter(client, url, name):
    response = client.get(url)
    assert response.status_code == 400
    assert f"the parameter {name}:" in response.text
    assert "Traceback" not in response.text


def test_nothing_writes_and_no_parameter_names_a_file(client):
    assert client.post("/api/liens?as_of=1996-02-01").status_code == 405
    assert client.delete("/liens").status_code == 405
    assert client.get("/charts/..%2F..%2Fetc%2Fpasswd.svg").status_code == 404
    assert client.get("/static/../api.py").status_code == 404
    assert client.get("/api/audit").status_code == 404


def test_a_breach_links_to_its_events_and_that_page_lists_exactly_them(client):
    defaults = json.loads(client.get("/api/defaults?as_of=1996-06-20&known_at=1996-12-31").content)
    breach = next(b for b in defaults["breaches"] if b["rule"] == "protected-location-out")
    page = client.get("/defaults?as_of=1996-06-20&known_at=1996-12-31").text
    row = page[page.index(f'<tr data-breach="{breach["breach"]}">'):]
    href = row[row.index('href="') + 6:row.index('"', row.index('href="') + 6)].replace("&amp;", "&")
    assert href.startswith("/events?") and breach["clause"] in row
    events = client.get(href).text
    listed = [part.split('"')[0] for part in events.split('<tr data-event="')[1:]]
    assert listed == breach["events"]


def test_the_events_page_filters_by_party_facility_collateral_type_and_date(client):
    def ids(query: str) -> list[str]:
        text = client.get(f"/events?as_of=1996-06-20&known_at=1996-12-31&{query}").text
        return [part.split('"')[0] for part in text.split('<tr data-event="')[1:]]

    advances = ids("type=LoanAdvanced&facility=cit-equipment-loan")
    assert advances and all(i.startswith("adv-") for i in ids("type=LoanAdvanced"))
    cit = ids("party=cit")
    assert "ev-party-cit" in cit and set(advances) <= set(cit)
    moves = ids("collateral=nc-grinder-0012&type=CollateralMoved")
    assert moves == ["mv-nc-grinder-0012"]
    dated = ids("from=1996-06-01&to=1996-06-30")
    assert dated and "mv-nc-grinder-0012" in dated and "ev-party-cit" not in dated
    assert ids("known_at=1990-01-11") == ids("known_at=1990-01-11&from=1900-01-01")
    assert len(ids("")) == 110


def test_user_strings_that_look_like_html_render_as_text(tmp_path):
    """A <script> in an address, an <img onerror> in a description, markup in an actor: all escaped."""
    url = hostile_ledger(tmp_path / "hostile.db")
    with TestClient(create_app(LedgerService(url))) as c:
        page = c.get("/collateral?as_of=1996-06-20&known_at=1996-12-31").text
        assert "&lt;script&gt;alert(&#39;address&#39;)&lt;/script&gt; 1 Main St" in page
        assert "<script" not in page
        events = c.get("/events?as_of=1996-06-20&known_at=1996-12-31&collateral=press-hostile").text
        assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt; a press" in events
        assert "&lt;b&gt;mallory&lt;/b&gt;" in events
        assert "<img src=x" not in events and HOSTILE_ACTOR not in events
        assert "default-src 'none'" in c.get("/").headers["content-security-policy"]
    assert SCRIPT_ADDRESS and HOSTILE_DESCRIPTION  # the strings the checks above look for, escaped


def test_with_a_token_every_request_must_carry_it(scenario_url):
    with TestClient(create_app(LedgerService(scenario_url), token="s3cret-tøken")) as c:
        assert c.get("/api/liens?as_of=1996-02-01").status_code == 401
        assert c.get("/liens?as_of=1996-02-01&known_at=1996-03-01").status_code == 401
        assert c.get("/liens?as_of=1996-02-01&known_at=1996-03-01&token=wrong").status_code == 401
        assert c.get("/api/liens", headers={"Authorization": "Bearer wrong"}).status_code == 401
        denied = c.get("/static/style.css")
        assert denied.status_code == 401 and denied.headers["www-authenticate"].startswith("Bearer")
        ok = c.get("/api/liens?as_of=1996-02-01", headers={"Authorization": "Bearer s3cret-tøken".encode()})
        assert ok.status_code == 200
        page = c.get("/liens?as_of=1996-02-01&known_at=1996-03-01&token=" + quote("s3cret-tøken"))
        assert page.status_code == 200
        # the pages keep the token in their links and forms
        assert 'href="/defaults?as_of=1996-02-01&amp;known_at=1996-03-01&amp;token=s3cret-t%C3%B8ken"' in page.text
        assert '<input type="hidden" name="token" value="s3cret-tøken">' in page.text


def test_serve_refuses_another_host_without_a_token_and_a_missing_ledger(run_cli, tmp_path):
    refused = run_cli(["serve", "--host", "0.0.0.0", "--db", f"sqlite:///{tmp_path / 'x.db'}"])
    assert refused.code == 2
    assert "--host 0.0.0.0" in refused.stderr and "--token" in refused.stderr and "Traceback" not in refused.stderr
    empty = run_cli(["serve", "--host", "0.0.0.0", "--token", " "])
    assert empty.code == 2 and "empty" in empty.stderr
    missing = run_cli(["serve", "--db", f"sqlite:///{tmp_path / 'none.db'}", "--port", "0"])
    assert missing.code == 3 and "no ledger" in missing.stderr


def test_the_server_follows_the_log_as_others_record(tmp_path):
    """Events recorded by another writer reach the shared read models without a request catching up."""
    url = scenario_ledger(tmp_path / "follow.db")
    service = LedgerService(url, interval=0.1, fold_limit=0)
    with TestClient(create_app(service)) as c:
        with open_ledger(url, reference=True) as writer:  # records without touching the read models
            writer.record([{"type": "LoanAdvanced", "id": "adv-late-1", "effective_date": "1996-07-02",
                            "facility": "lpc-revolver", "amount": "1000.00"}])
        deadline = time.monotonic() + 20
        while service.progress.position < 111 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert service.progress.position == 111
        answer = json.loads(c.get("/api/balances?as_of=1996-07-02").content)
        revolver = next(f for f in answer["facilities"] if f["facility"] == "lpc-revolver")
        before = json.loads(c.get("/api/balances?as_of=1996-07-02&known_at=1996-12-31").content)
        old = next(f for f in before["facilities"] if f["facility"] == "lpc-revolver")
        assert float(revolver["principal"]) - float(old["principal"]) == 1000.0


def test_while_the_read_models_are_behind_a_page_says_how_far_they_are(tmp_path):
    """A long log behind the read models: a catching-up page (with a refresh), not a wait; older K still answer."""
    url = scenario_ledger(tmp_path / "behind.db")
    service = LedgerService(url, interval=3600, fold_limit=0)  # the follower looks once, then sleeps
    with TestClient(create_app(service)) as c:
        with open_ledger(url, reference=True) as writer:
            writer.record([{"type": "LoanAdvanced", "id": f"adv-late-{i}", "effective_date": "1996-07-02",
                            "facility": "lpc-revolver", "amount": "10.00"} for i in range(3)])
        page = c.get("/balances?as_of=1996-07-02&known_at=2999-01-01")
        assert page.status_code == 503
        assert "catching up: position 110 of 113" in page.text
        assert '<meta http-equiv="refresh" content="2">' in page.text
        api = c.get("/api/balances?as_of=1996-07-02")
        assert api.status_code == 503 and json.loads(api.content) == {"catching_up": {"position": 110, "of": 113}}
        # what was known before the new events is in the read models already
        assert c.get("/balances?as_of=1996-07-02&known_at=1996-12-31").status_code == 200


def test_the_charts_are_svg_drawn_by_the_charts_module_and_the_same_each_time(client):
    url = "/charts/timeline.svg?from=1996-01-01&to=1996-08-01&known_at=1996-12-31"
    first = client.get(url)
    assert first.status_code == 200 and first.headers["content-type"] == "image/svg+xml"
    assert first.content.startswith(b"<?xml") and b"<svg" in first.content[:2000]
    assert client.get(url).content == first.content
    collateral = client.get("/charts/collateral.svg?from=1996-01-01&to=1996-08-01&known_at=1996-12-31")
    assert collateral.status_code == 200 and collateral.content != first.content
    assert client.get("/charts/covenants.svg").status_code == 404


def test_concurrent_readers_on_worker_threads_get_the_same_bytes(scenario_url):
    """Many requests at once, on several worker threads with their own read-model connections: one answer."""
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    from tests.web_ledgers import running_server

    with running_server(scenario_url) as base:
        def fetch(i: int) -> bytes:
            view = API_VIEWS[i % len(API_VIEWS)]
            with urllib.request.urlopen(f"{base}/api/{view}?as_of=1996-06-20&known_at=1996-12-31", timeout=60) as r:
                return view, r.read()

        with ThreadPoolExecutor(max_workers=12) as pool:
            answers = list(pool.map(fetch, range(48)))
    expected = {view: cli_bytes([view, "--db", scenario_url, "--as-of", "1996-06-20", "--known-at", "1996-12-31",
                                 "--json"]) for view in API_VIEWS}
    assert all(body == expected[view] for view, body in answers)


@pytest.mark.postgres
def test_on_postgresql_the_server_follows_what_others_record_and_answers_as_the_cli(postgres_url):
    from ledger.demo import scenario_path

    with open_ledger(postgres_url) as lg:
        lg.record_file(scenario_path())
    service = LedgerService(postgres_url, interval=0.1)
    with TestClient(create_app(service)) as c:
        with open_ledger(postgres_url, reference=True) as writer:  # another writer, not the server
            writer.record([{"type": "LoanAdvanced", "id": "adv-pg-late", "effective_date": "1996-07-02",
                            "facility": "lpc-revolver", "amount": "5.00"}])
        deadline = time.monotonic() + 30
        while service.progress.position < 111 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert service.progress == type(service.progress)(111, 111, None)
        for view in API_VIEWS:
            args = [view, "--db", postgres_url, "--as-of", "1996-07-02", "--known-at", "2999-01-01", "--json"]
            assert c.get(f"/api/{view}?as_of=1996-07-02&known_at=2999-01-01").content == cli_bytes(args)


def test_cledger_serve_answers_over_http_with_its_token_and_stops_on_sigterm(scenario_url, tmp_path):
    """The command itself: a real process on a free 127.0.0.1 port, CLEDGER_TOKEN required, a clean stop."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import urllib.error
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "CLEDGER_TOKEN": "t0ken"}
    proc = subprocess.Popen([sys.executable, "-m", "ledger.cli", "serve", "--db", scenario_url, "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}/api/liens?as_of=1996-02-01&known_at=1996-03-15"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base, timeout=5)
            except urllib.error.HTTPError as exc:
                assert exc.code == 401
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read().decode()
                time.sleep(0.2)
        with urllib.request.urlopen(base + "&token=t0ken", timeout=30) as r:
            body = r.read()
        assert body == cli_bytes(["liens", "--db", scenario_url, "--as-of", "1996-02-01", "--known-at", "1996-03-15",
                                  "--json"])
        taken = subprocess.run([sys.executable, "-m", "ledger.cli", "serve", "--db", scenario_url, "--port",
                                str(port)], capture_output=True, timeout=60)
        assert taken.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in taken.stderr.decode()
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode()
    assert "serving" in err.decode() and "Traceback" not in err.decode()


def test_a_restatement_too_long_for_a_request_is_refused_naming_from_and_to(scenario_url, monkeypatch):
    """Each event between K1 and K2 is replayed over the whole log: past the budget, a 400 that says what to do."""
    import ledger.web.service as service_module

    with TestClient(create_app(LedgerService(scenario_url))) as c:
        whole = "as_of=1996-06-20&from=1990-01-01&to=1996-12-31"
        assert c.get(f"/api/restatement?{whole}").status_code == 200  # the whole scenario is within the budget
        monkeypatch.setattr(service_module, "RESTATEMENT_BUDGET", 1000)
        refused = c.get("/restatement?as_of=1996-06-20&from=1990-01-02&to=1996-12-31&known_at=1996-12-31")
        assert refused.status_code == 400
        assert "the parameters from and to:" in refused.text and "cledger restatement" in refused.text
        assert c.get("/api/restatement?as_of=1996-06-20&from=1990-01-03&to=1996-12-31").status_code == 400
        assert c.get("/api/restatement?as_of=1996-02-01&from=1996-12-30&to=1996-12-31").status_code == 200
        assert c.get(f"/api/restatement?{whole}").status_code == 200  # asked before: kept, not computed again


def test_without_its_token_a_page_asks_for_it_and_keeps_the_question(scenario_url):
    with TestClient(create_app(LedgerService(scenario_url), token="k")) as c:
        asked = c.get('/liens?as_of=1996-02-01&known_at="><script>x</script>')
        assert asked.status_code == 401
        assert '<input type="hidden" name="as_of" value="1996-02-01">' in asked.text
        assert "&#x27;" in asked.text or "&quot;&gt;&lt;script&gt;" in asked.text
        assert "<script>" not in asked.text and 'name="token"' in asked.text
        page = c.get("/liens?as_of=1996-02-01&known_at=1996-03-01&token=k").text
        assert 'href="/api/liens?as_of=1996-02-01&amp;known_at=1996-03-01&amp;token=k"' in page


@pytest.mark.parametrize("url, name", [
    # an offset that moves the time past the calendar's ends (parse_time raises OverflowError, not ValueProblem)
    ("/?as_of=1996-06-20&known_at=0001-01-01T00:00:00%2B05:00", "known_at"),
    ("/api/liens?as_of=1996-02-01&known_at=9999-12-31T23:59:59-05:00", "known_at"),
    ("/api/restatement?as_of=1996-02-01&from=0001-01-01T00:00:00%2B01:00&to=1996-03-15", "from"),
    # a chart runs to the day after its end: not past the calendar's last day
    ("/charts/timeline.svg?from=9999-12-01&to=9999-12-31", "to"),
    ("/charts/collateral.svg?from=9999-12-01&to=9999-12-31", "to"),
])
def test_a_time_past_the_calendars_ends_is_a_400_not_a_500(scenario_url, url, name):
    with TestClient(create_app(LedgerService(scenario_url)), raise_server_exceptions=False) as c:
        response = c.get(url)
    assert response.status_code == 400, response.text[:200]
    assert f"the parameter {name}:" in response.text


def test_a_chart_ending_in_the_first_year_starts_on_the_first_day(client):
    """Without from, a chart covers the year before its end: no further back than 1 January of year 1."""
    for chart in ("timeline", "collateral"):
        response = client.get(f"/charts/{chart}.svg?to=0001-03-01")
        assert response.status_code == 200 and response.content.startswith(b"<?xml")


def test_the_token_form_never_sends_the_token_to_another_host(scenario_url):
    """A path of //host (or ///host) is another site in a form's action: the form stays on this server."""
    import socket

    from tests.web_ledgers import running_server

    with running_server(scenario_url, token="k") as base:
        host, port = base.split("//")[1].split(":")
        for target in ("//evil.example/x?as_of=1996-02-01", "///evil.example/", "/%2F%2Fevil.example"):
            with socket.create_connection((host, int(port)), timeout=30) as s:
                s.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
            text = data.decode("utf-8")
            assert text.startswith("HTTP/1.1 401")
            action = text.split('<form method="get" action="')[1].split('"')[0]
            assert action.startswith("/") and not action.startswith("//") and "\\" not in action, action


def test_without_a_token_only_a_loopback_host_header_is_answered(scenario_url):
    """Without a token, a page on another site that rebinds its name to 127.0.0.1 must not read the ledger."""
    from ledger.cli_web import LOOPBACK

    app = create_app(LedgerService(scenario_url), hosts=LOOPBACK)
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:
        assert c.get("/api/liens?as_of=1996-02-01").status_code == 200
        for host in ("localhost:8000", "[::1]:8000", "127.0.0.1", "LOCALHOST:8000"):
            assert c.get("/api/liens?as_of=1996-02-01", headers={"host": host}).status_code == 200, host
        for host in ("evil.example", "evil.example:8000", "127.0.0.1.evil.example:8000", "", "[::1]x:8000",
                     "localhost@evil.example"):
            refused = c.get("/api/liens?as_of=1996-02-01", headers={"host": host})
            assert refused.status_code == 421, host
            assert b"host" in refused.content.lower()


def test_cledger_serve_without_a_token_refuses_a_foreign_host_header(scenario_url):
    import os
    import signal
    import socket
    import subprocess
    import sys

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "CLEDGER_TOKEN"}
    proc = subprocess.Popen([sys.executable, "-m", "ledger.cli", "serve", "--db", scenario_url, "--port", str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def status(host: str) -> int:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall(f"GET /api/liens?as_of=1996-02-01 HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
                      .encode())
            return int(s.recv(64).split()[1])

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                first = status(f"127.0.0.1:{port}")
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read().decode()
                time.sleep(0.2)
        assert first == 200 and status(f"localhost:{port}") == 200
        assert status(f"rebound.evil.example:{port}") == 421
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
