"""The OpenAPI 3.0 document of the worker's HTTP API (served at /openapi.json; the test suite runs
schemathesis against it: tests/integration/test_api_schema.py)."""
from __future__ import annotations

from functools import cache

from streams.web.reports import YEN_PATTERN

ID_PATTERN = "^[A-Za-z0-9_.:-]+$"
ERROR = {"type": "object", "required": ["error"],
         "properties": {"error": {"type": "string"}, "field": {"type": "string"}}}
MEMBER_ID = {"name": "member_id", "in": "path", "required": True,
             "schema": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9_-]+$"}}
LOT = {"type": "object", "required": ["expires_on", "points"],
       "properties": {"expires_on": {"type": "string", "format": "date"}, "points": {"type": "integer"}}}
QUALIFYING = {"type": "object", "additionalProperties": {
    "type": "object", "required": ["points", "nights", "carried_points", "carried_nights"],
    "properties": {k: {"type": "integer"} for k in ("points", "nights", "carried_points", "carried_nights")}}}
ENTRY = {"type": "object", "required": ["id", "type", "points", "balance_after", "source_id", "at"],
         "properties": {"id": {"type": "string"}, "type": {"type": "string"}, "points": {"type": "integer"},
                        "lot": {"type": "string", "nullable": True}, "balance_after": {"type": "integer"},
                        "source_id": {"type": "string"}, "at": {"type": "string"}}}
MEMBER = {"type": "object",
          "required": ["member_id", "status", "status_valid_until", "balance", "lots", "qualifying"],
          "properties": {"member_id": {"type": "string"},
                         "status": {"type": "string", "enum": ["REGULAR", "LOYAL", "EXCLUSIVE"]},
                         "status_valid_until": {"type": "string", "format": "date", "nullable": True},
                         "balance": {"type": "integer"}, "debt": {"type": "integer"},
                         "enrolled_on": {"type": "string", "format": "date", "nullable": True},
                         "lots": {"type": "array", "items": LOT}, "qualifying": QUALIFYING,
                         "last_entries": {"type": "array", "items": ENTRY}}}
LEDGER = {"type": "object", "required": ["member_id", "entries", "offset", "limit", "total_kept", "next_offset"],
          "properties": {"member_id": {"type": "string"}, "entries": {"type": "array", "items": ENTRY},
                         "offset": {"type": "integer"}, "limit": {"type": "integer"},
                         "total_kept": {"type": "integer"}, "next_offset": {"type": "integer", "nullable": True}}}
ADJUSTMENT_IN = {"type": "object", "required": ["points", "reason"], "additionalProperties": False,
                 "properties": {
                     "points": {"type": "integer", "description": "credit (> 0) or debit (< 0); 0 and beyond "
                                "the configured limit (±1,000,000) are REJECTED", "minimum": -2147483647,
                                "maximum": 2147483647},
                     "reason": {"type": "string", "minLength": 1, "maxLength": 64,
                                "description": "GOODWILL, SERVICE_RECOVERY, MIGRATION, CORRECTION or OTHER "
                                               "(another value is REJECTED UNKNOWN_REASON)"},
                     "note": {"type": "string", "minLength": 1, "maxLength": 500, "nullable": True},
                     "adjustment_id": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": ID_PATTERN,
                                       "nullable": True,
                                       "description": "idempotency key (generated when absent)"}}}
ADJUSTMENT_OUT = {"type": "object", "required": ["adjustment_id", "member_id", "outcome", "reason"],
                  "properties": {"adjustment_id": {"type": "string"}, "member_id": {"type": "string"},
                                 "outcome": {"type": "string", "enum": ["APPLIED", "REJECTED"], "nullable": True},
                                 "reason": {"type": "string", "nullable": True},
                                 "points": {"type": "integer"}, "balance_after": {"type": "integer", "nullable": True},
                                 "detail": {"type": "string", "nullable": True},
                                 "lots": {"type": "array", "items": LOT}}}
CLAIM_IN = {"type": "object", "required": ["source_id"], "additionalProperties": False,
            "properties": {"source_id": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": ID_PATTERN,
                                         "description":
                                             "posting_id or bill_id of a charge published without member id"},
                           "claim_id": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": ID_PATTERN,
                                        "nullable": True}}}
CLAIM_OUT = {"type": "object", "required": ["claim_id", "member_id", "outcome", "reason"],
             "properties": {"claim_id": {"type": "string"}, "member_id": {"type": "string"},
                            "outcome": {"type": "string", "nullable": True,
                                        "enum": ["EARNED", "EXCLUDED", "HELD", "REJECTED"]},
                            "reason": {"type": "string", "nullable": True},
                            "source_id": {"type": "string", "nullable": True},
                            "base_points": {"type": "integer"}, "bonus_points": {"type": "integer"},
                            "nights": {"type": "integer"}}}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict:
    text = {400: "malformed request (the error names the field)", 401: "no or unknown bearer token",
            403: "the token's role may not do this", 404: "unknown member or path"}
    return {str(c): _json({"$ref": "#/components/schemas/Error"}, text[c]) for c in codes}


@cache
def openapi_document() -> dict:
    secured: list[dict[str, list[str]]] = [{"bearer": []}]
    return {
        "openapi": "3.0.3",
        "info": {"title": "One Harmony points engine", "version": "1",
                 "description": "Member balances and ledgers for member apps (role member-app); adjustments "
                                "and missing-points claims for the membership office (role office). The office "
                                "console is at /office/."},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": ERROR, "Member": MEMBER, "Ledger": LEDGER},
        },
        "paths": {
            "/members/{member_id}": {"get": {
                "summary": "balance, status and validity, lots, qualifying counters, recent entries",
                "security": secured, "parameters": [MEMBER_ID],
                "responses": {"200": _json({"$ref": "#/components/schemas/Member"}, "the member"),
                              **_errors(401, 403, 404)}}},
            "/members/{member_id}/ledger": {"get": {
                "summary": "recent ledger entries, newest first, paged", "security": secured,
                "parameters": [MEMBER_ID,
                               {"name": "offset", "in": "query", "schema": {"type": "integer"},
                                "description": "entries to skip (clamped to 0..100000)"},
                               {"name": "limit", "in": "query", "schema": {"type": "integer"},
                                "description": "entries per page (clamped to 1..500)"}],
                "responses": {"200": _json({"$ref": "#/components/schemas/Ledger"}, "a page of entries"),
                              **_errors(400, 401, 403, 404)}}},
            "/members/{member_id}/adjustments": {"post": {
                "summary": "credit or debit points by hand (office role); waits for the outcome",
                "security": secured, "parameters": [MEMBER_ID],
                "requestBody": {"required": True, "content": {"application/json": {"schema": ADJUSTMENT_IN}}},
                "responses": {"200": _json(ADJUSTMENT_OUT, "decided: APPLIED or REJECTED with a reason"),
                              "202": _json(ADJUSTMENT_OUT, "published, not decided yet (outcome null)"),
                              **_errors(400, 401, 403, 404)}}},
            "/members/{member_id}/claims": {"post": {
                "summary": "claim a charge published without member id (office role); waits for the outcome",
                "security": secured, "parameters": [MEMBER_ID],
                "requestBody": {"required": True, "content": {"application/json": {"schema": CLAIM_IN}}},
                "responses": {"200": _json(CLAIM_OUT, "decided: EARNED (or as the charge would be) or REJECTED"),
                              "202": _json(CLAIM_OUT, "published, not decided yet (outcome null)"),
                              **_errors(400, 401, 403, 404)}}},
            "/reports/liability": {"get": {
                "summary": "points liability: outstanding by expiry and status, movement, breakage (office role)",
                "security": secured,
                "parameters": [{"name": "as_of", "in": "query", "schema": {"type": "string", "format": "date"},
                                "description": "the reporting date (YYYY-MM-DD, default today JST)"},
                               {"name": "yen_per_point", "in": "query",
                                "schema": {"type": "string", "pattern": "^" + YEN_PATTERN.pattern + "$"},
                                "description": "yen value of a point (default: the PAY_BY_POINTS award, 1.25)"}],
                "responses": {"200": _json({"type": "object"}, "the report (as `harmony report liability --json`)"),
                              **_errors(400, 401, 403)}}},
            "/health": {"get": {"summary": "readiness (open)", "security": [], "responses": {
                "200": _json({"type": "object"}, "Redis and the broker are reachable"),
                "503": _json({"type": "object"}, "not ready")}}},
            "/metrics": {"get": {"summary": "Prometheus text (open unless HARMONY_METRICS_PROTECTED=1)",
                                 "security": [], "responses": {"200": {
                                     "description": "metrics",
                                     "content": {"text/plain": {"schema": {"type": "string"}}}},
                                                               **_errors(401)}}},
        },
    }
