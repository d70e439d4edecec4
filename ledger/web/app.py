"""The Starlette application of `cledger serve`: read-only pages, the API, the journal and the charts.

Every page answers one question, "as of D, as known at K", both in the URL
(`?as_of=1996-06-20&known_at=1996-03-15`; a bare date for K is the end of
that day, UTC, as on the command line), so a page can be sent to a colleague
or an auditor. A page asked without them is sent on to the same page with
today's date in both. A bad date is a 400 page naming the parameter.

Only GET (and HEAD) is routed: nothing here writes, and no request parameter
names a file. Templates are Jinja2 with autoescape on; no user string is ever
marked safe. With a token every request must carry it, as
`Authorization: Bearer T` or `?token=T` (the pages keep it in their links).
"""

from __future__ import annotations

import asyncio
import hmac
from datetime import date, datetime, timedelta
from decimal import Decimal
from importlib.resources import files
from typing import Any, Callable
from urllib.parse import urlencode

import attrs
import jinja2
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from ledger.errors import LedgerError
from ledger.values import ValueProblem, iso_time, parse_date, parse_known_at, utc_now
from ledger.web import journal
from ledger.web.pages import API_VIEWS, OTHER_PAGES, PAGES, Page
from ledger.web.service import Behind, LedgerService, TooCostly, answer_bytes

CHARTS = ("timeline", "collateral")
SECURITY_HEADERS = {
    # no script at all, nothing from elsewhere; the token may be in a URL, so no Referer leaves the page
    "content-security-policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


class BadParameter(Exception):
    """A request parameter that does not parse: a 400 that names it."""

    def __init__(self, name: str, message: str):
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


@attrs.frozen
class Question:
    """As of D, as known at K, with the text each was given as (kept in links as typed)."""

    as_of: date
    known_at: datetime
    as_of_text: str
    known_at_text: str

    @property
    def known_at_iso(self) -> str:
        return iso_time(self.known_at)


def _one(request: Request, name: str) -> str | None:
    """A parameter's one value: asked twice (as_of=A&as_of=B) the page would answer one of them silently."""
    values = request.query_params.getlist(name)
    if len(values) > 1:
        raise BadParameter(name, f"given {len(values)} times; give it once")
    return values[0] if values else None


def _date(request: Request, name: str, default: date | None = None) -> date | None:
    text = _one(request, name)
    if text is None or text == "":
        return default
    try:
        return parse_date(text.strip())
    except ValueProblem as exc:
        raise BadParameter(name, str(exc)) from None


def _time(request: Request, name: str) -> datetime | None:
    text = _one(request, name)
    if text is None or text == "":
        return None
    text = text.strip()
    # an unencoded "+" in a URL arrives as a space: 1996-03-15T09:00:00 00:00 meant +00:00
    if len(text) > 6 and text[-6] == " " and text[-5:-3].isdigit():
        text = text[:-6] + "+" + text[-5:]
    try:
        return parse_known_at(text)
    except ValueProblem as exc:
        raise BadParameter(name, str(exc)) from None
    except OverflowError:  # an offset that moves it past year 1 or year 9999 (parse_time's astimezone)
        raise BadParameter(name, f"{text!r} is outside the calendar once made UTC") from None


def question(request: Request) -> Question | None:
    """The question a page asks, or None when the URL lacks one of the two dates (it is then filled in)."""
    as_of = _date(request, "as_of")
    known_at = _time(request, "known_at")
    if as_of is None or known_at is None:
        return None
    return Question(as_of, known_at, request.query_params["as_of"].strip(), request.query_params["known_at"].strip())


def _filled_in(request: Request) -> RedirectResponse:
    """The same page with the dates it lacks: today, as known by the end of today (UTC)."""
    today = utc_now().date().isoformat()
    params = dict(request.query_params.multi_items())
    params.setdefault("as_of", today)
    if not params["as_of"]:
        params["as_of"] = today
    if not params.get("known_at"):
        params["known_at"] = today
    pairs = [(k, v) for k, v in request.query_params.multi_items() if k not in ("as_of", "known_at")]
    pairs = [("as_of", params["as_of"]), ("known_at", params["known_at"]), *pairs]
    return RedirectResponse(f"{request.url.path}?{urlencode(pairs)}", status_code=303)


# ------------------------------------------------------------ templates

def money(value: Decimal | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def _shown(value: Any) -> str:
    """A restatement's before or after: text as it is, anything else as its JSON."""
    import json

    return "" if value is None else value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ledger.web", "templates"),
        autoescape=True,  # every page is HTML: escape everything, in every template
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = money
    env.filters["iso"] = lambda d: "" if d is None else d.isoformat()
    env.globals["shown"] = _shown
    return env


class Links:
    """URLs that keep the question (and the token, when it came in the URL) from page to page."""

    def __init__(self, request: Request, q: Question | None):
        self.token = request.query_params.get("token")
        self.base: list[tuple[str, str]] = []
        if q is not None:
            self.base = [("as_of", q.as_of_text), ("known_at", q.known_at_text)]

    def __call__(self, path: str, *pairs: tuple[str, Any], keep: bool = True, **params: Any) -> str:
        given = [*params.items(), *pairs]
        named = {k for k, _ in given}
        items = [(k, v) for k, v in self.base if k not in named] if keep else []
        for k, v in given:
            if isinstance(v, (list, tuple)):
                items += [(k, x) for x in v]
            elif v is not None:
                items.append((k, v))
        if self.token:
            items.append(("token", self.token))
        return f"{path}?{urlencode([(k, str(v)) for k, v in items])}" if items else path


class App:
    """The routes over one `LedgerService`."""

    def __init__(self, service: LedgerService, *, token: str | None = None):
        self.service = service
        self.token = token
        self.env = _environment()
        self.css = (files("ledger.web") / "static" / "style.css").read_bytes()

    # -- rendering

    def render(self, request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
        q = context.get("q")
        html = self.env.get_template(template).render(
            link=Links(request, q), path=request.url.path, pages=PAGES, other_pages=OTHER_PAGES,
            token=request.query_params.get("token"), progress=self.service.progress,
            today=utc_now().date().isoformat(), **{"q": None, **context})
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    def problem(self, request: Request, status: int, title: str, message: str, *, refresh: int | None = None,
                api: bool = False) -> Response:
        if api:
            body = answer_bytes({"error": message})
            return Response(body, status_code=status, media_type="application/json", headers=SECURITY_HEADERS)
        return self.render(request, "problem.html", status=status, title=title, message=message, refresh=refresh)

    async def answer(self, request: Request, work: Callable[[], Response], *, api: bool = False) -> Response:
        """Run `work` on a worker thread; map what can go wrong to a page (or a JSON body) without a traceback."""
        try:
            return await asyncio.wrap_future(self.service.run(work))
        except asyncio.CancelledError:  # the server stops while a long answer runs: say so, and end the request
            return self.problem(request, 503, "The server is stopping", "the server stopped before this answer was "
                                "ready; ask again when it is back", api=api)
        except BadParameter as exc:
            return self.problem(request, 400, f"Bad parameter {exc.name}", f"the parameter {exc.name}: {exc.message}",
                                api=api)
        except Behind as exc:
            if api:
                body = answer_bytes({"catching_up": {"position": exc.position, "of": exc.tail}})
                return Response(body, status_code=503, media_type="application/json",
                                headers={**SECURITY_HEADERS, "retry-after": "2"})
            response = self.render(request, "catching_up.html", status=503, position=exc.position, tail=exc.tail,
                                   refresh=2)
            response.headers["retry-after"] = "2"
            return response
        except TooCostly as exc:
            return self.problem(request, 400, "Bad parameters from and to", f"the parameters from and to: {exc}",
                                api=api)
        except LedgerError as exc:
            return self.problem(request, 503 if exc.exit_code == 3 else 400, "The ledger could not answer", str(exc),
                                refresh=5 if exc.exit_code == 3 else None, api=api)

    # -- the answer pages

    def page_endpoint(self, page: Page):
        async def endpoint(request: Request) -> Response:
            try:
                q = question(request)
            except BadParameter as exc:
                return self.problem(request, 400, f"Bad parameter {exc.name}",
                                    f"the parameter {exc.name}: {exc.message}")
            if q is None:
                return _filled_in(request)

            def work() -> Response:
                snapshot, source = self.service.snapshot(q.known_at)
                answer = snapshot.view(page.view, q.as_of)
                extra = page.extra(self.service, snapshot, answer, q) if page.extra else {}
                return self.render(request, f"{page.name}.html", page=page, q=q, answer=answer, source=source,
                                   **extra)

            return await self.answer(request, work)

        return endpoint

    async def restatement_page(self, request: Request) -> Response:
        try:
            q = question(request)
            k1, k2 = _time(request, "from"), _time(request, "to")
            if k1 and k2 and k1 > k2:
                raise BadParameter("from", "is later than to")
        except BadParameter as exc:
            return self.problem(request, 400, f"Bad parameter {exc.name}", f"the parameter {exc.name}: {exc.message}")
        if q is None:
            return _filled_in(request)

        def work() -> Response:
            report = self.service.restatement(q.as_of, k1, k2) if k1 and k2 else None
            return self.render(request, "restatement.html", q=q, report=report,
                               k1_text=request.query_params.get("from", ""), k2_text=request.query_params.get("to", ""))

        return await self.answer(request, work)

    async def events_page(self, request: Request) -> Response:
        params = request.query_params
        try:
            q = question(request)
            types = tuple(t for t in params.getlist("type") if t)
            unknown = [t for t in types if t not in set(journal.event_types())]
            if unknown:
                raise BadParameter("type", f"no event type {unknown[0]!r}")
            ids = tuple(part.strip() for value in params.getlist("id") for part in value.split(",") if part.strip())
            f = journal.EventFilter(types, ids, params.get("party") or None, params.get("facility") or None,
                                    params.get("collateral") or None, _date(request, "from"), _date(request, "to"))
        except BadParameter as exc:
            return self.problem(request, 400, f"Bad parameter {exc.name}", f"the parameter {exc.name}: {exc.message}")
        if q is None:
            return _filled_in(request)

        def work() -> Response:
            events = self.service.journal()
            k = self.service.position_known_at(q.known_at)
            rows, matched = journal.select(events, f, k)
            return self.render(request, "events.html", q=q, rows=rows, matched=matched, known=k, filter=f,
                               types=list(journal.event_types()), limit=journal.LIMIT,
                               text={name: params.get(name, "") for name in
                                     ("party", "facility", "collateral", "from", "to")},
                               ids_text=", ".join(ids))

        return await self.answer(request, work)

    # -- charts

    async def chart(self, request: Request) -> Response:
        name = request.path_params["chart"]
        if name not in CHARTS:
            return self.problem(request, 404, "No such chart", f"no chart {name!r}; there are {', '.join(CHARTS)}")
        try:
            end = _date(request, "to") or _date(request, "as_of") or utc_now().date()
            if end >= date.max:  # a chart runs to the day after its end
                raise BadParameter("to" if request.query_params.get("to") else "as_of",
                                   f"a chart must end before {date.max.isoformat()}")
            start = _date(request, "from") or (end - timedelta(days=365) if end.year > 1 else date.min)
            given = _time(request, "known_at")
            if start > end:
                raise BadParameter("from", "is later than to")
        except BadParameter as exc:
            return self.problem(request, 400, f"Bad parameter {exc.name}", f"the parameter {exc.name}: {exc.message}")
        known_at = given or utc_now()

        def work() -> Response:
            # the chart names what it knew by the last log position known (as `cledger chart` does without
            # --known-at); the time asked is in the page's URL and heading
            svg = self.service.chart_svg(name, start, end, known_at, explicit=False)
            return Response(svg, media_type="image/svg+xml", headers=SECURITY_HEADERS)

        return await self.answer(request, work)

    # -- the API: the CLI's bytes

    async def api(self, request: Request) -> Response:
        view = request.path_params["view"]
        if view == "restatement":
            return await self.api_restatement(request)
        if view not in API_VIEWS:
            return self.problem(request, 404, "No such view", f"no view {view!r}; there are "
                                f"{', '.join((*API_VIEWS, 'restatement'))}", api=True)
        try:
            as_of = _date(request, "as_of", utc_now().date())
            known_at = _time(request, "known_at") or utc_now()
        except BadParameter as exc:
            return self.problem(request, 400, "", f"the parameter {exc.name}: {exc.message}", api=True)

        def work() -> Response:
            return Response(self.service.view_bytes(view, as_of, known_at), media_type="application/json",
                            headers=SECURITY_HEADERS)

        return await self.answer(request, work, api=True)

    async def api_restatement(self, request: Request) -> Response:
        try:
            as_of = _date(request, "as_of", utc_now().date())
            k1, k2 = _time(request, "from"), _time(request, "to")
            for name, value in (("from", k1), ("to", k2)):
                if value is None:
                    raise BadParameter(name, "missing: a knowledge time (a date, or a timestamp with an offset)")
            if k1 > k2:
                raise BadParameter("from", "is later than to")
        except BadParameter as exc:
            return self.problem(request, 400, "", f"the parameter {exc.name}: {exc.message}", api=True)

        def work() -> Response:
            report = self.service.restatement(as_of, k1, k2)
            return Response(answer_bytes(report.to_json()), media_type="application/json", headers=SECURITY_HEADERS)

        return await self.answer(request, work, api=True)

    async def style(self, request: Request) -> Response:
        return Response(self.css, media_type="text/css", headers={**SECURITY_HEADERS, "cache-control": "max-age=300"})

    async def not_found(self, request: Request, exc) -> Response:
        return self.problem(request, 404, "Not found", f"there is no page {request.url.path}",
                            api=request.url.path.startswith("/api/"))

    async def not_allowed(self, request: Request, exc) -> Response:
        response = self.problem(request, 405, "Read-only", "this server only reads the ledger: use GET",
                                api=request.url.path.startswith("/api/"))
        response.headers["allow"] = "GET, HEAD"
        return response

    def routes(self) -> list[Route]:
        routes = [Route(page.url, self.page_endpoint(page), methods=["GET"], name=page.name) for page in PAGES]
        routes += [
            Route("/restatement", self.restatement_page, methods=["GET"]),
            Route("/events", self.events_page, methods=["GET"]),
            Route("/charts/{chart}.svg", self.chart, methods=["GET"]),
            Route("/api/{view}", self.api, methods=["GET"]),
            Route("/static/style.css", self.style, methods=["GET"]),
        ]
        return routes


class TokenGate:
    """Every request must carry the token: `Authorization: Bearer T` or `?token=T` (compared in constant time)."""

    def __init__(self, app, token: str):
        self.app = app
        self.token = token.encode("utf-8")

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request = Request(scope)
        query = request.query_params.get("token")
        given = query.encode("utf-8") if query is not None else None
        header = request.headers.get("authorization", "")
        if header[:7].lower() == "bearer ":
            given = header[7:].strip().encode("latin-1")  # header bytes as sent (Starlette decodes them as latin-1)
        if given is None or not hmac.compare_digest(given, self.token):
            api = scope["path"].startswith("/api/")
            text = "this server needs its token: send Authorization: Bearer TOKEN, or add ?token=TOKEN to the URL"
            if api:
                response = Response(answer_bytes({"error": text}), status_code=401, media_type="application/json")
            else:
                response = HTMLResponse(_token_page(request, text), status_code=401)
            response.headers["www-authenticate"] = 'Bearer realm="cledger"'
            response.headers.update(SECURITY_HEADERS)
            return await response(scope, receive, send)
        return await self.app(scope, receive, send)


class HostGate:
    """Only requests naming one of `hosts` in their Host header (any port): without a token, the defence
    against DNS rebinding, where a page on another site renames itself to 127.0.0.1 and reads the answers."""

    def __init__(self, app, hosts: tuple[str, ...]):
        self.app = app
        self.hosts = {h.lower().strip("[]") for h in hosts}

    def allowed(self, header: str) -> bool:
        name = header.strip().lower()
        if name.startswith("["):  # [::1] or [::1]:8000
            end = name.find("]")
            rest = name[end + 1:]
            if end < 0 or (rest and not (rest[0] == ":" and rest[1:].isdigit())):
                return False
            name = name[1:end]
        elif ":" in name:
            name, _, port = name.partition(":")
            if not port.isdigit():
                return False
        return name in self.hosts

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        header = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
        if self.allowed(header):
            return await self.app(scope, receive, send)
        text = ("this server answers only at " + ", ".join(sorted(self.hosts)) + " (the Host header): to read it "
                "from another machine, start it with --token")
        response = Response(answer_bytes({"error": text}), status_code=421, media_type="application/json",
                            headers=SECURITY_HEADERS)
        return await response(scope, receive, send)


def _token_page(request: Request, text: str) -> str:
    """A form asking for the token, keeping the rest of the question (every value escaped)."""
    from html import escape

    # the path as this server's own: "//host/x" (or "///host", "/\\host") in an action is another site,
    # which would receive the token typed into the form
    action = "/" + request.url.path.lstrip("/\\")
    kept = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
                   for k, v in request.query_params.multi_items() if k != "token")
    return ("<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>Token needed · cledger</title>"
            f"<h1>Token needed</h1><p>{escape(text)}</p>"
            f'<form method="get" action="{escape(action)}">{kept}'
            '<label>token <input type="password" name="token" autocomplete="current-password" required></label> '
            '<button type="submit">Open</button></form></html>')


def create_app(service: LedgerService, *, token: str | None = None,
               hosts: tuple[str, ...] | None = None) -> Starlette:
    """The application over `service` (started with the app, closed when it stops).

    With `hosts`, a request whose Host header names another is refused (421), before the token is asked."""
    from contextlib import asynccontextmanager

    app_routes = App(service, token=token)

    @asynccontextmanager
    async def lifespan(app):
        await asyncio.get_running_loop().run_in_executor(None, service.start)
        try:
            yield
        finally:
            await asyncio.get_running_loop().run_in_executor(None, service.close)

    middleware = [Middleware(HostGate, hosts=tuple(hosts))] if hosts else []
    middleware += [Middleware(TokenGate, token=token)] if token else []
    return Starlette(routes=app_routes.routes(), middleware=middleware, lifespan=lifespan,
                     exception_handlers={404: app_routes.not_found, 405: app_routes.not_allowed})
