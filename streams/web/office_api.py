"""HTTP routes of the membership office: POST /members/{id}/adjustments and /members/{id}/claims,
the OpenAPI document, and the wiring of authentication (streams/web/auth.py) and the console
(streams/web/console.py) into the worker's web server. Registered by ``streams.runtime.app.create_app``."""
from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import Any

import orjson
from aiohttp import web

from streams.web import auth
from streams.web.office_requests import OfficeClient
from streams.web.openapi import openapi_document

log = logging.getLogger(__name__)
MAX_ID = 64
ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")  # member, adjustment, claim and charge ids (openapi.ID_PATTERN)


class BadRequest(ValueError):
    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field, self.problem = field, problem


def bad(e: BadRequest) -> web.Response:
    return web.json_response({"error": f"{e.field}: {e.problem}", "field": e.field}, status=400)


def parse_body(raw: bytes, spec: dict[str, tuple[type, bool]]) -> dict[str, Any]:
    """A JSON object with the fields of ``spec`` (name -> (type, required)); 400 names the field."""
    try:
        body = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError as exc:
        raise BadRequest("body", f"not JSON ({exc})") from None
    if not isinstance(body, dict):
        raise BadRequest("body", "must be a JSON object")
    for k in body:
        if k not in spec:
            raise BadRequest(k, "unknown field")
    out = {}
    for name, (typ, required) in spec.items():
        v = body.get(name)
        if v is None:
            if required:
                raise BadRequest(name, "required")
            continue
        if typ is int and (isinstance(v, bool) or not isinstance(v, int)):
            raise BadRequest(name, "must be an integer")
        if typ is int and abs(v) > 2**31 - 1:
            raise BadRequest(name, "out of range")
        if typ is str:
            if not isinstance(v, str) or not v:
                raise BadRequest(name, "must be a non-empty string")
            if name.endswith("_id") and not ID.match(v):
                raise BadRequest(name, "must be 1 to 64 of A-Z a-z 0-9 _ . : -")
            if len(v) > (500 if name == "note" else MAX_ID):
                raise BadRequest(name, "too long")
        out[name] = v
    return out


def check_member(member_id: str) -> None:
    if not re.match(r"^[A-Za-z0-9_-]{1,64}$", member_id):
        raise BadRequest("member_id", "must be 1 to 64 of A-Z a-z 0-9 _ -")


class OfficeRoutes:
    def __init__(self, host, settings):
        self.host = host
        self.settings = settings
        self._client: OfficeClient | None = None

    async def client(self) -> OfficeClient:
        parts = (await self.host.started()).parts  # the process: streams/runtime/host.py
        if self._client is None:
            self._client = OfficeClient(self.settings, parts.redis, codec=parts.codec)
        return self._client

    async def adjust(self, request: web.Request) -> web.Response:
        member_id = request.match_info["member_id"]
        try:
            check_member(member_id)
            body = parse_body(await request.read(), {"points": (int, True), "reason": (str, True),
                                                     "note": (str, False), "adjustment_id": (str, False)})
        except BadRequest as e:
            return bad(e)
        p = auth.principal_of(request) or auth.LOCAL
        c = await self.client()
        result = await self.run(self.file_adjustment, c, member_id, body, p.name)
        request["harmony.audit"] = {"adjustment": result}
        return web.json_response(result, status=200 if result.get("outcome") else 202)

    def file_adjustment(self, c: OfficeClient, member_id: str, body: dict, operator: str) -> dict:
        aid = c.adjust(member_id, body["points"], body["reason"], operator, body.get("note"), body.get("adjustment_id"))
        return c.wait(c.adjustment_outcome, member_id, aid, timeout=self.settings.api_wait_seconds) or \
            {"adjustment_id": aid, "member_id": member_id, "outcome": None, "reason": None}

    async def claim(self, request: web.Request) -> web.Response:
        member_id = request.match_info["member_id"]
        try:
            check_member(member_id)
            body = parse_body(await request.read(), {"source_id": (str, True), "claim_id": (str, False)})
        except BadRequest as e:
            return bad(e)
        c = await self.client()
        result = await self.run(self.file_claim, c, member_id, body)
        request["harmony.audit"] = {"claim": result}
        return web.json_response(result, status=200 if result.get("outcome") else 202)

    def file_claim(self, c: OfficeClient, member_id: str, body: dict) -> dict:
        cid = c.claim(member_id, body["source_id"], body.get("claim_id"))
        return c.wait(c.claim_outcome, member_id, cid, timeout=self.settings.api_wait_seconds) or \
            {"claim_id": cid, "member_id": member_id, "outcome": None, "reason": None}

    @staticmethod
    async def run(fn, *args):
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)

    def audit(self, record: dict) -> None:
        line = orjson.dumps(record, default=str)
        auth.audit_log.info(line.decode())
        redis = self.host.redis
        if redis is not None:
            try:
                redis.lpush(auth.AUDIT_KEY, line)
                redis.ltrim(auth.AUDIT_KEY, 0, auth.AUDIT_KEEP - 1)
            except Exception:  # noqa: BLE001 - the log line above is kept either way
                log.exception("audit record not stored in Redis")


def install(app, host, settings, book: auth.TokenBook | None = None) -> auth.TokenBook:
    """Authentication middleware, office routes, OpenAPI document and console on the faust web app."""
    book = book or auth.TokenBook.from_env()
    auth.check_bind(book, settings.web_host)
    routes = OfficeRoutes(host, settings)
    web_app = app.web.web_app
    web_app.middlewares.append(auth.middleware(book, routes.audit))
    web_app.router.add_post("/members/{member_id}/adjustments", routes.adjust)
    web_app.router.add_post("/members/{member_id}/claims", routes.claim)
    started = time.time()

    async def spec(request: web.Request) -> web.Response:
        return web.json_response(openapi_document(), headers={"Cache-Control": "max-age=60"})
    web_app.router.add_get("/openapi.json", spec)
    try:  # the liability report view (analytics) asks for its own check
        from streams.web import reports as web_reports
        web_reports.set_authorizer(auth.authorizer(book))
    except ImportError:
        pass
    from streams.web.console import install_console
    install_console(web_app, host, settings, book, routes)
    log.info("office API installed (%s, up since %s)", "local mode" if book.local else "token file", started)
    return book
