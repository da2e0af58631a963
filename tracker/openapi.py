"""The collector's HTTP API as an OpenAPI 3.1 document (served at ``/openapi.json``).

The event's schema is the contract's own pydantic model (``clicktrail.contract.event.Event``),
so the description cannot drift from what the collector validates; the envelope around it is
written from ``clicktrail.contract.envelope``'s limits. Answers' schemas are written here and
checked against real answers by ``tests/integration/test_collector_openapi.py``, which also
fails on a route of the app that is not described here.

A new route: one entry in ``PATHS`` (path in OpenAPI form ``/v1/x/{name}`` -> method ->
operation), built with ``json_answer``, ``error`` and ``HEADERS`` below."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic.json_schema import models_json_schema

from clicktrail.contract.envelope import MAX_BODY_BYTES, MAX_EVENTS, SITE_ID
from clicktrail.contract.event import EARLIEST_MS, LATEST_MS, SCHEMA_VERSION, Event
from clicktrail.contract.pixel import ENVELOPE_KEY, LINKER_KEY, PIXEL_KEYS, SENT_KEY, SITE_KEY
from clicktrail.contract.protocol import (
    COLLECT_PATH,
    COLLECTOR_COOKIE,
    PIXEL_PATH,
    WITHDRAW_PATH,
    WRITE_KEY_HEADER,
)

REF = "#/components/schemas/{model}"


def ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def _header(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "schema": schema or {"type": "string"}}


HEADERS: dict[str, dict[str, Any]] = {
    "Set-Cookie": _header(
        f"`{COLLECTOR_COOKIE}`: the visitor id the collector keeps (HttpOnly, 400 days), or the "
        "same cookie expired when every event refused cookies."
    ),
    "Retry-After": _header("Seconds to wait before sending again.", {"type": "integer"}),
    "Access-Control-Allow-Origin": _header("The request's Origin, when a site allows it."),
    "Access-Control-Allow-Credentials": _header("`true` beside an allowed origin."),
    "X-Clicktrail-Error": _header("Why the pixel's event was not accepted (ASCII, 200 at most)."),
    "Cache-Control": _header("Never cached (`no-store`), except the snippet files."),
}


def headers(*names: str) -> dict[str, Any]:
    return {name: HEADERS[name] for name in names}


def json_answer(
    description: str, schema: dict[str, Any], header_names: tuple[str, ...] = ()
) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }
    if header_names:
        answer["headers"] = headers(*header_names)
    return answer


def error(description: str, header_names: tuple[str, ...] = ()) -> dict[str, Any]:
    return json_answer(description, ref("Error"), header_names)


def _gif(description: str, header_names: tuple[str, ...] = ()) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {"image/gif": {"schema": {"type": "string", "format": "binary"}}},
    }
    if header_names:
        answer["headers"] = headers(*header_names)
    return answer


ANSWER_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "string", "description": "What was wrong, for people."}},
    },
    "Rejection": {
        "type": "object",
        "required": ["index", "reason"],
        "properties": {
            "index": {"type": "integer", "minimum": 0, "description": "The event's position."},
            "reason": {"type": "string", "description": "Field and problem, for people."},
        },
    },
    "Accepted": {
        "type": "object",
        "required": ["accepted", "rejected"],
        "properties": {
            "accepted": {"type": "integer", "minimum": 1},
            "rejected": {"type": "array", "items": ref("Rejection")},
            "linked": {
                "type": "string",
                "description": "The visitor a valid cross-domain identifier (the batch's "
                "`linker`) gave the events; the snippet adopts it. Absent otherwise.",
            },
        },
    },
    "NoneAccepted": {
        "type": "object",
        "required": ["accepted", "rejected", "error"],
        "description": "Every event of the batch was refused: each one's reason.",
        "properties": {
            "accepted": {"const": 0},
            "rejected": {"type": "array", "items": ref("Rejection")},
            "error": {"type": "string"},
        },
    },
    "Batch": {
        "type": "object",
        "required": ["site_id", "events"],
        "description": "A batch of events for one site (docs/protocol.md). A broken envelope "
        "refuses the request; a bad event refuses only itself (its neighbours are kept).",
        "properties": {
            "schema": {
                "type": "integer",
                "minimum": 1,
                "description": f"The contract's version the events follow (1 when absent; "
                f"now {SCHEMA_VERSION}).",
            },
            "site_id": {"type": "string", "pattern": f"^{SITE_ID.pattern}$"},
            "sent_at": {
                "type": "integer",
                "minimum": EARLIEST_MS,
                "exclusiveMaximum": LATEST_MS,
                "description": "The device's clock when sent (UTC ms): corrects its skew.",
            },
            "linker": {
                "type": "string",
                "maxLength": 128,
                "description": "The cross-domain identifier (`_ct`) the page landed with.",
            },
            "events": {
                "type": "array",
                "minItems": 1,
                "items": ref("Event"),
                "description": f"At most {MAX_EVENTS} are read; the rest are refused.",
            },
        },
    },
}

_SITE_QUERY = {
    "name": SITE_KEY,
    "in": "query",
    "required": False,
    "schema": {"type": "string"},
    "description": "The site id (one event in the query; not with `j`).",
}


def _pixel_parameters() -> list[dict[str, Any]]:
    kinds = {str: {"type": "string"}, int: {"type": "string", "pattern": "^-?[0-9]{1,18}$"}}
    fields = [
        {
            "name": key,
            "in": "query",
            "required": False,
            "schema": kinds.get(kind, {"type": "string"}),
            "description": f"The event's `{field}`" + (" (`a/b/c`)." if kind is list else "."),
        }
        for key, (field, kind) in PIXEL_KEYS.items()
    ]
    return [
        {
            "name": ENVELOPE_KEY,
            "in": "query",
            "required": False,
            "schema": {"type": "string"},
            "description": "A whole batch envelope as JSON (what POST /v1/events takes); no "
            "other key counts beside it.",
        },
        _SITE_QUERY,
        {"name": SENT_KEY, "in": "query", "required": False, "schema": kinds[int]},
        {"name": LINKER_KEY, "in": "query", "required": False, "schema": {"type": "string"}},
        *fields,
    ]


_ORIGIN = {
    "name": "Origin",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "A browser's origin: must be one the site allows (without a write key).",
}

_BATCH_CONTENT = {
    "application/json": {"schema": ref("Batch")},
    "text/plain": {
        "schema": {
            "type": "string",
            "description": "The same JSON, sent as text/plain so a browser needs no preflight.",
        }
    },
}

_RELAYED = {
    "description": "The personalizer's own answer, relayed as it came (its /openapi.json "
    "describes it)."
}
_PERSONALIZER_AWAY = error(
    "The personalizer could not be reached; try again.",
    ("Retry-After", "Access-Control-Allow-Origin"),
)


def _relay(summary: str) -> dict[str, Any]:
    return {
        "summary": summary,
        "description": "Relayed to the personalizer with the client's address "
        "(docs/personalizer.md, deploying behind one origin).",
        "responses": {"default": _RELAYED, "503": _PERSONALIZER_AWAY},
    }


def _script(summary: str, version: bool) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "200": {
            "description": "The file (gzip when accepted), with an ETag and Cache-Control.",
            "content": {"text/javascript": {"schema": {"type": "string"}}},
        },
        "304": {"description": "Not modified (If-None-Match)."},
    }
    if version:
        responses["404"] = error("Not the current version: no other bytes are served for it.")
    operation: dict[str, Any] = {"summary": summary, "responses": responses}
    if version:
        operation["parameters"] = [
            {
                "name": "version",
                "in": "path",
                "required": True,
                "schema": {"type": "string"},
                "description": "The first 12 hex digits of the file's SHA-256.",
            }
        ]
    return operation


def _plain(summary: str, content_type: str = "application/json") -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "responses": {"200": {"description": summary, "content": {content_type: {}}}},
        }
    }


_COLLECT_RESPONSES = {
    "202": json_answer(
        "Written to the event log and acknowledged; refused events are listed.",
        ref("Accepted"),
        ("Set-Cookie", "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials"),
    ),
    "400": json_answer(
        "The envelope is unusable (not JSON, not UTF-8, no site_id, no events...), or no "
        "event of the batch was valid (each one's reason).",
        {"anyOf": [ref("NoneAccepted"), ref("Error")]},
        ("Access-Control-Allow-Origin",),
    ),
    "403": error(
        "Unknown site, a wrong write key, no Origin and no write key, or an origin the site "
        "does not allow.",
        ("Access-Control-Allow-Origin",),
    ),
    "413": error(f"The body is larger than {MAX_BODY_BYTES} bytes."),
    "503": error(
        "The event log did not acknowledge in time (nothing is kept): send again.",
        ("Retry-After",),
    ),
}

PATHS: dict[str, dict[str, Any]] = {
    COLLECT_PATH: {
        "post": {
            "summary": "Send a batch of events",
            "description": "From a browser (Origin of a registered site) or a server with the "
            f"site's write key in `{WRITE_KEY_HEADER}` (which may state ip and user_agent). "
            "Answered once the event log acknowledged every accepted event.",
            "parameters": [_ORIGIN],
            "security": [{}, {"writeKey": []}],
            "requestBody": {"required": True, "content": _BATCH_CONTENT},
            "responses": _COLLECT_RESPONSES,
        },
        "options": {
            "summary": "CORS preflight",
            "parameters": [_ORIGIN],
            "responses": {
                "204": {
                    "description": "The origin is one some site allows.",
                    "headers": headers(
                        "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials"
                    ),
                },
                "403": error("No site allows this origin."),
            },
        },
    },
    PIXEL_PATH: {
        "get": {
            "summary": "One event (or a whole envelope in `j`) as a 1x1 GIF request",
            "description": "For pages that cannot POST and for e-mail: the outcome is in the "
            "status and X-Clicktrail-Error, the body a 1x1 GIF, except on 503 (no image, so a "
            "script's image error tells it to send again).",
            "parameters": _pixel_parameters(),
            "responses": {
                "200": _gif("Accepted.", ("Set-Cookie",)),
                "400": _gif("Not a valid event or envelope.", ("X-Clicktrail-Error",)),
                "403": _gif("Unknown site.", ("X-Clicktrail-Error",)),
                "413": _gif(
                    f"The envelope is larger than {MAX_BODY_BYTES} bytes.", ("X-Clicktrail-Error",)
                ),
                "503": {
                    "description": "Not accepted: send again (an empty body).",
                    "content": {"image/gif": {"schema": {"type": "string", "maxLength": 0}}},
                    "headers": headers("Retry-After", "X-Clicktrail-Error"),
                },
            },
        }
    },
    WITHDRAW_PATH: {
        method: {
            "summary": "Consent withdrawn: the collector's cookie is expired in this browser",
            "parameters": [{**_SITE_QUERY, "description": "The site, for the record (optional)."}],
            "responses": {
                "204": {"description": "Forgotten.", "headers": headers("Set-Cookie")},
            },
        }
        for method in ("get", "post")
    },
    "/v1/decide": {method: _relay("A decision (relayed)") for method in ("get", "post", "options")},
    "/v1/pz/i": {"get": _relay("A signed impression (relayed)")},
    "/v1/pz/c": {"get": _relay("A signed click (relayed)")},
    "/v1/clicktrail.js": {"get": _script("The browser snippet (stable name, 1 hour)", False)},
    "/v1/clicktrail.{version}.js": {
        "get": _script("The browser snippet (versioned name, immutable)", True)
    },
    "/v1/clicktrail-personalize.js": {
        "get": _script("The personalization file (stable name)", False)
    },
    "/v1/clicktrail-personalize.{version}.js": {
        "get": _script("The personalization file (versioned name, immutable)", True)
    },
    "/v1/clicktrail-linker.js": {
        "get": _script("The linker file, imported by the snippet (stable name)", False)
    },
    "/v1/clicktrail-linker.{version}.js": {
        "get": _script("The linker file (versioned name, immutable)", True)
    },
    "/healthz": _plain("Alive."),
    "/readyz": {
        "get": {
            "summary": "Ready: the event log acknowledges and the state Redis answers",
            "responses": {
                "200": {"description": "Ready.", "content": {"application/json": {}}},
                "503": {
                    "description": "Not ready (checks say which).",
                    "content": {"application/json": {}},
                },
            },
        }
    },
    "/metrics": _plain("Prometheus metrics.", "text/plain"),
    "/openapi.json": _plain("This document."),
}


@cache
def document() -> dict[str, Any]:
    _, defs = models_json_schema([(Event, "validation")], ref_template=REF)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Clicktrail collector",
            "version": "1",
            "description": "Events from browsers, pixels and servers, written to the event log "
            "before they are acknowledged; the browser files; the personalizer's browser paths "
            "relayed. See docs/collector.md and docs/protocol.md.",
        },
        "components": {
            "schemas": {**defs.get("$defs", {}), **ANSWER_SCHEMAS},
            "securitySchemes": {
                "writeKey": {
                    "type": "apiKey",
                    "in": "header",
                    "name": WRITE_KEY_HEADER,
                    "description": "The site's write key (`clicktrail sites add`): server-side "
                    "senders, who may state the end user's ip and user_agent.",
                }
            },
        },
        "paths": PATHS,
    }
