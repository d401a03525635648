"""The membership office console at /office/: server-rendered pages (Jinja2, no JavaScript) over
the same store, requests and authentication as the API.

Sign-in takes an office token (checked against HARMONY_API_TOKENS_FILE like a bearer token; a
member-app token is refused) and starts a session: a random id in an HttpOnly, SameSite=Strict
cookie, its hash in Redis (``sess:<sha256>``, 8 hours). Every form carries a CSRF value derived from
the session. Adjustments filed here carry the token's name as operator; every change is audited.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from urllib.parse import quote

import orjson
from aiohttp import web
from jinja2 import Environment, PackageLoader, select_autoescape

from streams.redis.keys import session_key
from streams.web import auth
from streams.web.console_view import console_view, ja_date, ja_time, pts, yen

COOKIE = "harmony_session"
SESSION_SECONDS = 8 * 3600


def _env() -> Environment:
    env = Environment(loader=PackageLoader("streams.web", "templates"), autoescape=select_autoescape(["html"]))
    env.globals.update(ja_date=ja_date, ja_time=ja_time, pts=pts, yen=yen,
                       spts=lambda v: "—" if v is None else f"{v:+,}")
    return env


class Console:
    def __init__(self, host, settings, book: auth.TokenBook, routes):
        self.host, self.settings, self.book, self.routes = host, settings, book, routes
        self.env = _env()

    # ------------------------------------------------------------------ sessions
    def _redis(self):
        return self.host.redis  # the process: streams/runtime/host.py

    @staticmethod
    def _key(sid: str) -> str:
        return session_key(hashlib.sha256(sid.encode()).hexdigest())

    def session(self, request: web.Request) -> tuple[auth.Principal, str] | None:
        sid = request.cookies.get(COOKIE)
        if not sid or self.host.redis is None:
            return None
        raw = self._redis().get(self._key(sid))
        if not raw:
            return None
        d = orjson.loads(raw)
        return auth.Principal(d["name"], d["role"]), hmac.new(sid.encode(), b"csrf", "sha256").hexdigest()[:32]

    def page(self, name: str, status: int = 200, **ctx) -> web.Response:
        html = self.env.get_template(name).render(**ctx)
        return web.Response(text=html, status=status, content_type="text/html", charset="utf-8",
                            headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                                     "Content-Security-Policy": "default-src 'self'; style-src 'unsafe-inline'"})

    async def ready(self) -> None:
        await self.host.started()

    def _store(self):
        worker = self.host.worker  # built: the handlers await ready() first
        assert worker is not None
        return worker.parts.store

    # ------------------------------------------------------------------ handlers
    async def login_form(self, request: web.Request) -> web.Response:
        return self.page("login.html", local=self.book.local)

    async def login(self, request: web.Request) -> web.Response:
        await self.ready()
        form = await request.post()
        p = self.book.identify(str(form.get("token", "")).strip() or None)
        if p is None or p.role != "office":
            msg = "unknown token" if p is None else "this token has the member-app role: an office token is needed"
            return self.page("login.html", status=403 if p else 401, error=msg, local=self.book.local)
        sid = secrets.token_urlsafe(32)
        self._redis().set(self._key(sid), orjson.dumps({"name": p.name, "role": p.role}), ex=SESSION_SECONDS)
        self.routes.audit({"at": time.time(), "who": p.name, "role": p.role, "method": "POST",
                           "path": "/office/login", "status": 303})
        resp = web.HTTPSeeOther("/office/")
        resp.set_cookie(COOKIE, sid, httponly=True, samesite="Strict", path="/office", max_age=SESSION_SECONDS,
                        secure=request.secure)
        raise resp

    async def logout(self, request: web.Request) -> web.Response:
        await self.ready()
        sid = request.cookies.get(COOKIE)
        if sid:
            self._redis().delete(self._key(sid))
        resp = web.HTTPSeeOther("/office/login")
        resp.del_cookie(COOKIE, path="/office")
        raise resp

    def _signed_in(self, request: web.Request) -> tuple[auth.Principal, str]:
        s = self.session(request)
        if s is None:
            raise web.HTTPSeeOther("/office/login")
        return s

    async def index(self, request: web.Request) -> web.Response:
        await self.ready()
        who, csrf = self._signed_in(request)
        member = request.query.get("member", "").strip()
        if member:
            exists = await self._run(self._store().exists, member)
            if exists:
                raise web.HTTPSeeOther(f"/office/members/{quote(member, safe='')}")
            return self.page("search.html", status=404, who=who.name, csrf=csrf, query=member,
                             error=f"会員 {member} は見つかりません — no member {member}")
        return self.page("search.html", who=who.name, csrf=csrf)

    async def member(self, request: web.Request) -> web.Response:
        await self.ready()
        who, csrf = self._signed_in(request)
        mid = request.match_info["member_id"]
        try:
            page = int(request.query.get("page", "0"))
        except ValueError:
            page = 0
        cfg = self.host.config()
        view = await self._run(console_view, self._store(), cfg.thresholds, mid, page)
        if view is None:
            return self.page("search.html", status=404, who=who.name, csrf=csrf, query=mid,
                             error=f"会員 {mid} は見つかりません — no member {mid}")
        client = await self.routes.client()
        adj = claim = None
        if request.query.get("adj"):
            adj = await self._run(client.adjustment_outcome, mid, request.query["adj"]) or \
                {"adjustment_id": request.query["adj"], "outcome": None}
        if request.query.get("claim"):
            claim = await self._run(client.claim_outcome, mid, request.query["claim"]) or \
                {"claim_id": request.query["claim"], "outcome": None}
        return self.page("member.html", who=who.name, csrf=csrf, adj=adj, claim=claim,
                         form_error=request.query.get("error"), reasons=cfg.office.adjustment_reasons,
                         window=cfg.office.claim_window_days, **view)

    async def adjust(self, request: web.Request) -> web.Response:
        return await self._file(request, "adj")

    async def claim(self, request: web.Request) -> web.Response:
        return await self._file(request, "claim")

    async def _file(self, request: web.Request, kind: str) -> web.Response:
        await self.ready()
        who, csrf = self._signed_in(request)
        mid = request.match_info["member_id"]
        form = await request.post()
        back = f"/office/members/{quote(mid, safe='')}"
        if not hmac.compare_digest(str(form.get("csrf", "")), csrf):
            return web.Response(status=403, text="stale form: reload the page")
        client = await self.routes.client()
        if kind == "adj":
            try:
                points = int(str(form.get("points", "")).replace(",", "").strip())
            except ValueError:
                raise web.HTTPSeeOther(back + "?error=" + quote("points: a whole number, e.g. 500 or -500")) from None
            note = str(form.get("note", "")).strip() or None
            body = {"points": points, "reason": str(form.get("reason", "")), "note": note}
            result = await self._run(self.routes.file_adjustment, client, mid, body, who.name)
            ident = result["adjustment_id"]
        else:
            source = str(form.get("source_id", "")).strip()
            if not source:
                raise web.HTTPSeeOther(back + "?error=" + quote("source_id: the posting or bill id is required"))
            result = await self._run(self.routes.file_claim, client, mid, {"source_id": source})
            ident = result["claim_id"]
        self.routes.audit({"at": time.time(), "who": who.name, "role": who.role, "method": "POST", "path": request.path,
                           "status": 303, "what": result})
        raise web.HTTPSeeOther(f"{back}?{kind}={quote(ident)}")

    @staticmethod
    async def _run(fn, *args):
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


def install_console(web_app: web.Application, host, settings, book: auth.TokenBook, routes) -> Console:
    c = Console(host, settings, book, routes)
    r = web_app.router
    r.add_get("/office", lambda request: _redirect("/office/"))
    r.add_get("/office/", c.index)
    r.add_get("/office/login", c.login_form)
    r.add_post("/office/login", c.login)
    r.add_post("/office/logout", c.logout)
    r.add_get("/office/members/{member_id}", c.member)
    r.add_post("/office/members/{member_id}/adjust", c.adjust)
    r.add_post("/office/members/{member_id}/claim", c.claim)
    return c


async def _redirect(to: str):
    raise web.HTTPSeeOther(to)
