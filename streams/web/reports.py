"""GET /reports/liability: the liability report as JSON (``?as_of=YYYY-MM-DD``, default today JST;
``?yen_per_point=``), for the office role.

AUTH HOOK — the lead wires this to the office API auth at merge: ``authorize`` is called with the
request and the role the view needs ("office"); it returns None to let the request through, or
(HTTP status, message) to refuse it. Until wired it lets everything through: without a token file
the API listens on loopback only (interfaces.md).
"""
from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import UTC, date, datetime

from processors.validity import jst_date

# the role check: open until streams/web/office_api.py installs the bearer-token check (auth.authorizer)
Authorizer = Callable[[object, str], "tuple[int, str] | None"]
authorize: Authorizer = lambda request, role: None  # noqa: E731


ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
YEN_PATTERN = re.compile(r"[0-9]{1,6}(\.[0-9]{1,6})?")  # yen_per_point (also in the OpenAPI document)


def set_authorizer(fn: Authorizer) -> None:
    global authorize
    authorize = fn
# -----------------------------------------------------------------------------------------------------


def register(app, host) -> None:
    """Add the report views to the faust app (one line in streams/runtime/app.py)."""
    from streams.reports.liability import build

    @app.page("/reports/liability")
    async def liability(web, request):
        refused = authorize(request, "office")
        if refused is not None:
            status, message = refused
            return web.json({"error": message}, status=status)
        try:
            as_of_text = request.query.get("as_of")
            if as_of_text is not None and not ISO_DATE.fullmatch(as_of_text):
                raise ValueError(as_of_text)  # "" or 20261126 are not the documented YYYY-MM-DD
            as_of = date.fromisoformat(as_of_text) if as_of_text is not None else jst_date(datetime.now(UTC))
        except ValueError:
            return web.json({"error": "as_of must be a date YYYY-MM-DD"}, status=400)
        yen = request.query.get("yen_per_point")
        if yen is not None and not _plain_decimal(yen):
            return web.json({"error": "yen_per_point must be a decimal number >= 0, e.g. 1.25"}, status=400)
        report = await asyncio.get_running_loop().run_in_executor(
            None, lambda: build(host.s, as_of, yen, redis=host.redis))
        return web.json(report)


def _plain_decimal(text: str) -> bool:
    """Digits with an optional fraction: the pattern of the OpenAPI document (streams/web/openapi.py)."""
    return YEN_PATTERN.fullmatch(text) is not None
