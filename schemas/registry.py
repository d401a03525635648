"""Minimal Confluent Schema Registry REST client (standard library only).

Only what the codec needs: register a schema under a subject, fetch a schema by id.
Credentials, when needed, go in the URL (``https://user:secret@host``) and are sent as HTTP basic
auth, never in the request path.
"""
from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from .errors import RegistryError

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class RegistryClient:
    def __init__(self, url: str, timeout: float = 5.0):
        url = url.split(",")[0].strip()  # several URLs may be configured; the first is used
        parts = urllib.parse.urlsplit(url)
        self._auth = None
        if parts.username is not None:
            user = urllib.parse.unquote(parts.username)
            secret = urllib.parse.unquote(parts.password or "")
            self._auth = "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()
            host = parts.hostname or ""
            if parts.port:
                host += f":{parts.port}"
            parts = parts._replace(netloc=host)
        self.url = urllib.parse.urlunsplit(parts).rstrip("/")
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"RegistryClient({self.url!r})"

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Accept", CONTENT_TYPE + ", application/json")
        if data is not None:
            req.add_header("Content-Type", CONTENT_TYPE)
        if self._auth:
            req.add_header("Authorization", self._auth)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                answer: dict[str, Any] = json.loads(resp.read() or b"{}")
                return answer
        except urllib.error.HTTPError as e:
            try:
                detail = json.loads(e.read() or b"{}").get("message", "")
            except (ValueError, AttributeError, OSError):
                detail = ""
            raise RegistryError(f"schema registry {method} {path}: HTTP {e.code} {detail}".rstrip(),
                                status=e.code, transient=e.code >= 500 or e.code == 429) from None
        except (urllib.error.URLError, OSError, ValueError) as e:
            raise RegistryError(f"schema registry {method} {path} failed: {e}", transient=True) from None

    def register(self, subject: str, schema_text: str) -> int:
        """Register (idempotently) an Avro schema under ``subject``; returns its global id."""
        path = "/subjects/" + urllib.parse.quote(subject, safe="") + "/versions"
        reply = self._request("POST", path, {"schema": schema_text})
        try:
            return int(reply["id"])
        except (KeyError, TypeError, ValueError):
            raise RegistryError(f"schema registry POST {path}: no id in reply {reply!r}") from None

    def schema_by_id(self, schema_id: int) -> str | None:
        """The schema text for a global id, or None when the registry does not know the id."""
        try:
            reply = self._request("GET", f"/schemas/ids/{schema_id}")
        except RegistryError as e:
            if e.status == 404:
                return None
            raise
        if reply.get("schemaType", "AVRO") != "AVRO":
            raise RegistryError(f"schema id {schema_id} is a {reply['schemaType']} schema, not Avro")
        text = reply.get("schema")
        if not isinstance(text, str):
            raise RegistryError(f"schema registry: no schema in reply for id {schema_id}")
        return text
