"""Who may call the HTTP API: bearer tokens with roles (interfaces.md, "HTTP").

The file named by ``HARMONY_API_TOKENS_FILE`` (TOML) lists token *hashes*, never tokens::

    [[tokens]]
    name = "front-desk-app"        # who: written in the audit log and as the operator of adjustments
    role = "member-app"            # member-app: reads members and ledgers; office: everything
    sha256 = "9f86d081884c7d65..."  # hex SHA-256 of the token (`harmony api-token NAME --role R` makes one)

Tokens are random 256-bit strings, so one SHA-256 is enough (no password stretching needed); the
comparison is constant-time. ``/health`` is open; ``/metrics`` is open unless
``HARMONY_METRICS_PROTECTED=1``. Without a token file the API is for this machine only: it binds to
loopback and every request acts as ``local`` with the office role; :func:`check_bind` refuses any
other address.

Other modules protect their routes with :func:`require` (aiohttp handlers) or rely on the
middleware's route table (:data:`RULES`); :func:`principal_of` tells a handler who is calling.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import os
import secrets
import time
import tomllib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from streams.redis.keys import AUDIT_LOG

ROLES = ("member-app", "office")
audit_log = logging.getLogger("harmony.audit")
AUDIT_KEY = AUDIT_LOG  # Redis list of recent audit records (newest first), capped
AUDIT_KEEP = 10_000


class AuthConfigError(SystemExit):
    pass


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    role: str

    def may(self, role: str) -> bool:
        return role == "member-app" or self.role == "office"


LOCAL = Principal("local", "office")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "hmy_" + secrets.token_urlsafe(32)


class TokenBook:
    """The token hashes of the file (or none: local mode)."""

    def __init__(self, entries: dict[str, Principal] | None):
        self.entries = entries  # sha256 hex -> principal; None: no token file (local mode)

    @property
    def local(self) -> bool:
        return self.entries is None

    @classmethod
    def from_env(cls, env=os.environ) -> TokenBook:
        path = env.get("HARMONY_API_TOKENS_FILE")
        return cls(None) if not path else cls.load(Path(path))

    @classmethod
    def load(cls, path: Path) -> TokenBook:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise AuthConfigError(f"HARMONY_API_TOKENS_FILE {path}: {exc}") from None
        entries: dict[str, Principal] = {}
        for i, t in enumerate(data.get("tokens", [])):
            name, role, digest = t.get("name"), t.get("role"), str(t.get("sha256", "")).lower()
            if not name or role not in ROLES or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
                raise AuthConfigError(f"HARMONY_API_TOKENS_FILE {path}: tokens[{i}] needs a name, a role "
                                      f"({' or '.join(ROLES)}) and the hex sha256 of the token")
            if "token" in t:
                raise AuthConfigError(f"HARMONY_API_TOKENS_FILE {path}: tokens[{i}] holds a plain token; "
                                      "store its sha256 only")
            entries[digest] = Principal(name, role)
        return cls(entries)

    def identify(self, token: str | None) -> Principal | None:
        if self.entries is None:
            return LOCAL
        if not token:
            return None
        digest = token_hash(token)
        for known, p in self.entries.items():
            if hmac.compare_digest(known, digest):
                return p
        return None


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(book: TokenBook, host: str) -> None:
    """Without a token file the API must listen on loopback only."""
    if book.local and not is_loopback(host):
        raise AuthConfigError(
            f"harmony: refusing to serve the API on {host}: no HARMONY_API_TOKENS_FILE is set, so the API "
            "has no authentication and may only listen on loopback (HARMONY_WEB_HOST=127.0.0.1). Create a "
            "token file (harmony api-token NAME --role office) and set HARMONY_API_TOKENS_FILE to open it up.")


# ------------------------------------------------------------------ the route table
def required_role(method: str, path: str) -> str | None:
    """The role a request needs; None: open."""
    if path == "/health" or path.startswith("/office/") or path == "/office" or path in ("/openapi.json", "/docs"):
        return None  # the console has its own sign-in (session cookie), the API description is public
    if path == "/metrics":
        return "member-app" if os.environ.get("HARMONY_METRICS_PROTECTED", "0") in ("1", "true", "yes") else None
    if method in ("GET", "HEAD") and path.startswith("/members/"):
        return "member-app"
    return "office"


def bearer(request: web.Request) -> str | None:
    h = request.headers.get("Authorization", "")
    scheme, _, token = h.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def principal_of(request: web.Request) -> Principal | None:
    return request.get("harmony.principal")


def error(status: int, message: str, headers: dict | None = None, **extra) -> web.Response:
    if status == 401:
        headers = {**(headers or {}), "WWW-Authenticate": 'Bearer realm="harmony"'}
    return web.json_response({"error": message, **extra}, status=status, headers=headers)


def middleware(book: TokenBook, audit: Callable[[dict], None] | None = None):
    @web.middleware
    async def auth(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]):
        response = await _checked(request, handler)
        if request.method not in ("GET", "HEAD", "OPTIONS") and audit is not None \
                and not request.path.startswith("/office"):  # the console audits its own changes
            p = principal_of(request)
            audit({"at": time.time(), "who": p.name if p else "anonymous", "role": p.role if p else None,
                   "method": request.method, "path": request.path, "status": response.status,
                   "what": request.get("harmony.audit")})
        return response

    async def _checked(request: web.Request, handler) -> web.StreamResponse:
        need = required_role(request.method, request.path)
        if need is not None:
            p = book.identify(bearer(request))
            if p is None:
                return error(401, "a valid bearer token is required (Authorization: Bearer TOKEN)")
            if not p.may(need):
                request["harmony.principal"] = p
                return error(403, f"the {p.role} role may not do this (needs {need})")
            request["harmony.principal"] = p
        try:
            return await handler(request)
        except web.HTTPException as exc:  # the router's 404/405: JSON like every other API error
            if exc.status < 400 or request.path.startswith("/office"):
                raise
            allowed = getattr(exc, "allowed_methods", None)
            return error(exc.status, exc.reason, {"Allow": ", ".join(sorted(allowed))} if allowed else None)
    return auth


def authorizer(book: TokenBook):
    """For views that check for themselves (streams/web/reports.py's ``set_authorizer`` hook):
    ``(request, role) -> None`` to let it through, or ``(status, message)``. The middleware has
    already checked routes of the table; this repeats the check for a view that asks."""
    def check(request, role: str):
        p = book.identify(bearer(request))
        if p is None:
            return 401, "a valid bearer token is required (Authorization: Bearer TOKEN)"
        if not p.may(role):
            return 403, f"the {p.role} role may not do this (needs {role})"
        return None
    return check


def require(book: TokenBook, role: str):
    """Decorator for an aiohttp handler outside the route table's defaults."""
    def wrap(handler):
        async def checked(request: web.Request):
            p = book.identify(bearer(request))
            if p is None:
                return error(401, "a valid bearer token is required (Authorization: Bearer TOKEN)")
            if not p.may(role):
                return error(403, f"the {p.role} role may not do this (needs {role})")
            request["harmony.principal"] = p
            return await handler(request)
        return checked
    return wrap
