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
    "Receipt": {
        "type": "object",
        "required": ["subject", "person", "requested_at", "removed", "not_removed"],
        "description": "What an erasure removed, where and when (docs/privacy.md).",
        "properties": {
            "subject": {"type": "object"},
            "person": {
                "type": "object",
                "properties": {
                    "visitor_ids": {"type": "array", "items": {"type": "string"}},
                    "user_ids": {"type": "array", "items": {"type": "string"}},
                    "shared_visitor_ids": {"type": "array", "items": {"type": "string"}},
                },
            },
            "requested_by": {"type": "string"},
            "requested_at": {"type": "string", "format": "date-time"},
            "finished_at": {"type": ["string", "null"], "format": "date-time"},
            "removed": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["store", "what", "removed"],
                    "properties": {
                        "store": {"type": "string"},
                        "what": {"type": "string"},
                        "removed": {"type": "integer", "minimum": 0},
                        "note": {"type": "string"},
                    },
                },
            },
            "not_removed": {"type": "array", "items": {"type": "string"}},
            "tombstone_until": {"type": ["string", "null"], "format": "date-time"},
        },
    },
    "PersonExport": {
        "type": "object",
        "required": ["subject", "person", "clickhouse", "profiles"],
        "description": "Everything held about a person (docs/privacy.md): events, identity "
        "links and rollup rows, profile keys as stored, co-view contributions, caps, dead letters.",
        "properties": {
            "clickhouse": {
                "type": "object",
                "properties": {
                    "events": {"type": "array", "items": {"type": "object"}},
                    "identity_links": {"type": "array", "items": {"type": "object"}},
                    "rollups": {
                        "type": "object",
                        "description": "The person's rows of each rollup table, by table.",
                        "additionalProperties": {"type": "array", "items": {"type": "object"}},
                    },
                },
            },
            "profiles": {"type": "object"},
            "coview_contributions": {"type": "array", "items": {"type": "object"}},
            "frequency_caps": {"type": "object"},
            "dead_letters": {"type": "array", "items": {"type": "object"}},
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
    "429": error(
        "Over the rate limit of the sender's address (a browser) or of the site (a sender "
        "with the write key): nothing is kept; send again after Retry-After seconds.",
        ("Retry-After", "Access-Control-Allow-Origin"),
    ),
    "503": error(
        "The event log did not acknowledge in time (nothing is kept): send again.",
        ("Retry-After",),
    ),
}

_PRIVACY_RESPONSES = {
    "200": json_answer("Erased; the receipt.", ref("Receipt")),
    "400": error("No site_id, not exactly one of visitor_id and user_id, or a bad id."),
    "401": error("No admin token, or not a valid one."),
    "403": error("The token is not an admin token of this site."),
    "404": error("Unknown site."),
    "503": error("A store is not reachable: nothing is promised; send again."),
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
                "429": error(
                    "Over the rate limit of the sender's address: no image (a script's image "
                    "error tells it to send again), nothing kept; send again after Retry-After.",
                    ("Retry-After",),
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
    # Privacy (tracker/views/privacy.py, docs/privacy.md)
    "/v1/privacy/forget": {
        "post": {
            "summary": "Erase a person from every store (an admin token of the site)",
            "description": "The person is every visitor id and user id linked to the one named; "
            "answered with the receipt once every store has removed them.",
            "security": [{"adminToken": []}],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["site_id"],
                            "properties": {
                                "site_id": {"type": "string"},
                                "visitor_id": {"type": "string"},
                                "user_id": {"type": "string"},
                            },
                            "description": "Exactly one of visitor_id and user_id.",
                        }
                    }
                },
            },
            "responses": _PRIVACY_RESPONSES,
        }
    },
    "/v1/privacy/export": {
        "get": {
            "summary": "Everything held about a person, as JSON (an admin token of the site)",
            "security": [{"adminToken": []}],
            "parameters": [
                {
                    "name": name,
                    "in": "query",
                    "required": name == "site_id",
                    "schema": {"type": "string"},
                }
                for name in ("site_id", "visitor_id", "user_id")
            ],
            "responses": {
                **_PRIVACY_RESPONSES,
                "200": json_answer("The person's data.", ref("PersonExport")),
            },
        }
    },
    "/v1/privacy/forget-me": {
        "post": {
            "summary": "Self-service erasure of this browser's visitor id",
            "description": f"Only the visitor id of the request's own `{COLLECTOR_COOKIE}` "
            "cookie, from an origin the site allows, a few times an hour per address; the "
            "cookie is expired in the answer. Ids linked to it (a user id, other devices) "
            "are not erased: that takes the admin erasure (`POST /v1/privacy/forget`).",
            "parameters": [{**_SITE_QUERY, "required": True, "description": "The site."}, _ORIGIN],
            "responses": {
                "200": json_answer(
                    "Erased; the receipt.",
                    ref("Receipt"),
                    (
                        "Set-Cookie",
                        "Access-Control-Allow-Origin",
                        "Access-Control-Allow-Credentials",
                    ),
                ),
                "400": error("The body is not JSON."),
                "403": error(
                    f"No `{COLLECTOR_COOKIE}` cookie, another visitor's id, a user id, or an "
                    "origin the site does not allow."
                ),
                "404": error("Unknown site."),
                "429": error(
                    "Too many erasure requests from this address this hour.",
                    ("Retry-After", "Access-Control-Allow-Origin"),
                ),
                "503": error("A store is not reachable: nothing is promised; send again."),
            },
        },
        "options": {
            "summary": "CORS preflight",
            "parameters": [_ORIGIN],
            "responses": {
                "204": {
                    "description": "The site allows this origin.",
                    "headers": headers(
                        "Access-Control-Allow-Origin", "Access-Control-Allow-Credentials"
                    ),
                },
                "403": error("The site does not allow this origin."),
            },
        },
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
                "adminToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An admin API token of the site (`clicktrail tokens add "
                    "--role admin`).",
                },
                "writeKey": {
                    "type": "apiKey",
                    "in": "header",
                    "name": WRITE_KEY_HEADER,
                    "description": "The site's write key (`clicktrail sites add`): server-side "
                    "senders, who may state the end user's ip and user_agent.",
                },
            },
        },
        "paths": PATHS,
    }
