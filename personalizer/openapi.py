"""The personalizer's HTTP API as an OpenAPI 3.1 document (served at ``/v1/openapi.json`` and
``/openapi.json``).

Request bodies come from the same pydantic models that validate them, so the description
cannot drift from what the server accepts; the answers' schemas are written here and checked
against real answers by the tests."""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic.json_schema import models_json_schema

from personalizer.campaigns import Campaign
from personalizer.catalog import Product
from personalizer.request import DecideRequest
from personalizer.signing import FIELDS, SIGNATURE

REF = "#/components/schemas/{model}"
OFFER_REASONS = ["co_viewed", "category_affinity", "popular_in_region", "trending", "fallback"]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


def _limited() -> dict[str, Any]:
    return {
        **_error(
            "Over the rate limit of the end user's address (a browser) or of the ad-server "
            "token: ask again after Retry-After seconds."
        ),
        "headers": {"Retry-After": {"schema": {"type": "string"}}},
    }


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ANSWER_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "string", "description": "What was wrong, for people."}},
    },
    "PlacedCreative": {
        "type": "object",
        "required": ["campaign_id", "creative", "source", "holdout", "impression_url", "click_url"],
        "properties": {
            "campaign_id": {"type": "string"},
            "creative": {
                "type": "object",
                "required": ["id", "image_url", "alt", "width", "height"],
                "properties": {
                    "id": {"type": "string"},
                    "image_url": {"type": "string", "format": "uri"},
                    "alt": {"type": "string"},
                    "headline": {"type": ["string", "null"]},
                    "width": {"type": "integer"},
                    "height": {"type": "integer"},
                },
            },
            "source": {
                "type": "string",
                "description": "campaign, region_default, global_default or holdout",
            },
            "holdout": {"type": "boolean"},
            "impression_url": {
                "type": "string",
                "description": "Signed; request it once when the creative was seen (a 1x1 GIF).",
            },
            "click_url": {
                "type": "string",
                "description": "Signed; redirects to the creative's registered landing URL.",
            },
        },
    },
    "Offer": {
        "type": "object",
        "required": ["sku", "title", "url", "price", "currency", "category", "reason"],
        "properties": {
            "sku": {"type": "string"},
            "title": {"type": "string"},
            "url": {"type": "string"},
            "image_url": {"type": "string", "description": "Empty when the feed has none."},
            "price": {"type": "integer", "description": "Minor units (cents)."},
            "currency": {"type": "string", "pattern": "^([A-Z]{3})?$"},
            "category": {"type": "string", "description": "A path: Shoes/Running."},
            "reason": {"enum": OFFER_REASONS},
        },
    },
    "Decision": {
        "type": "object",
        "required": ["decision_id", "visitor_id", "ttl", "placements", "offers"],
        "properties": {
            "decision_id": {"type": "string"},
            "visitor_id": {"type": "string"},
            "ttl": {"type": "integer", "description": "Seconds a page may reuse the decision."},
            "placements": {
                "type": "object",
                "description": "Per placement asked for: the creative, or null (nothing to show).",
                "additionalProperties": {
                    "anyOf": [_ref("PlacedCreative"), {"type": "null"}],
                },
            },
            "offers": {"type": "array", "items": _ref("Offer")},
            "degraded": {
                "type": "array",
                "items": {"type": "string"},
                "description": "Stores that were away (the answer used what was left).",
            },
            "explain": {
                "type": "object",
                "description": "With explain: per placement, per campaign, why it won or lost.",
            },
        },
    },
    "Changes": {
        "type": "object",
        "required": ["changes", "version"],
        "properties": {
            "changes": {"type": "array", "items": {"type": "string"}},
            "version": {"type": "integer"},
        },
    },
}


@cache
def document() -> dict[str, Any]:
    _, defs = models_json_schema(
        [(DecideRequest, "validation"), (Campaign, "validation"), (Product, "validation")],
        ref_template=REF,
    )
    schemas = {**defs.get("$defs", {}), **ANSWER_SCHEMAS}
    site = {"name": "site_id", "in": "path", "required": True, "schema": {"type": "string"}}
    campaign_id = {
        "name": "campaign_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string"},
    }
    denied = {
        "401": _error("No or an unknown bearer token."),
        "403": _error("The token's role or site does not allow this."),
        "503": _error("The durable store is unavailable; retry after Retry-After seconds."),
    }
    signed = [
        {
            "name": key,
            "in": "query",
            "required": True,
            "schema": {"type": "string"},
            "description": f"Signed {field}.",
        }
        for key, field in FIELDS
    ] + [{"name": SIGNATURE, "in": "query", "required": True, "schema": {"type": "string"}}]
    bearer: list[dict[str, list[str]]] = [{"bearer": []}]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Clicktrail personalizer",
            "version": "1",
            "description": "Decisions (banners and offers), signed impression and click "
            "tracking, and the token-protected management API. See docs/personalizer.md.",
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token from `clicktrail tokens add` (roles: admin, "
                    "marketer, adserver, read).",
                }
            },
        },
        "paths": {
            "/v1/decide": {
                "post": {
                    "summary": "Decide the creatives and offers for one visitor on one page",
                    "description": "From a browser (Origin of a registered site) or an ad "
                    "server with an adserver token (which may state ip, user_agent, user_id).",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("DecideRequest")}},
                    },
                    "security": [{}, *bearer],
                    "responses": {
                        "200": _json("The decision.", _ref("Decision")),
                        "400": _error("The request is not valid (the error says why)."),
                        "403": _error("Unknown site, origin not allowed, or untrusted fields."),
                        "429": _limited(),
                    },
                },
                "get": {
                    "summary": "The same decision from a query string (simple ad tags)",
                    "parameters": [
                        {
                            "name": name,
                            "in": "query",
                            "required": name == "site_id",
                            "schema": {"type": "string"},
                        }
                        for name in (
                            "site_id",
                            "visitor_id",
                            "placements",
                            "offers",
                            "url",
                            "category",
                            "sku",
                            "explain",
                        )
                    ],
                    "security": [{}, *bearer],
                    "responses": {
                        "200": _json("The decision.", _ref("Decision")),
                        "400": _error("The request is not valid."),
                        "403": _error("Unknown site or origin not allowed."),
                        "429": _limited(),
                    },
                },
            },
            "/v1/pz/i": {
                "get": {
                    "summary": "Count a signed impression (once per decision and placement)",
                    "parameters": [
                        *signed,
                        {
                            "name": "vw",
                            "in": "query",
                            "required": False,
                            "schema": {"enum": ["0", "1"]},
                            "description": "Unsigned: 1 when the browser saw half of the "
                            "banner for a second (a viewable impression).",
                        },
                    ],
                    "responses": {
                        "200": {"description": "A 1x1 GIF.", "content": {"image/gif": {}}},
                        "400": {
                            "description": "Tampered, expired or unknown signature "
                            "(X-Clicktrail-Error says which).",
                            "content": {"image/gif": {}},
                        },
                        "503": {
                            "description": "Not counted; send again.",
                            "content": {"image/gif": {}},
                        },
                    },
                }
            },
            "/v1/pz/c": {
                "get": {
                    "summary": "Count a signed click and redirect to the registered landing URL",
                    "parameters": signed,
                    "responses": {
                        "302": {"description": "To the creative's landing URL, never elsewhere."},
                        "400": _error("Tampered, expired or unknown signature: no redirect."),
                    },
                }
            },
            "/v1/manage/sites/{site_id}/campaigns": {
                "get": {
                    "summary": "The site's campaigns",
                    "parameters": [site],
                    "security": bearer,
                    "responses": {
                        "200": _json(
                            "The campaigns.",
                            {
                                "type": "object",
                                "properties": {
                                    "campaigns": {"type": "array", "items": _ref("Campaign")}
                                },
                            },
                        ),
                        **denied,
                    },
                }
            },
            "/v1/manage/sites/{site_id}/campaigns/{campaign_id}": {
                "get": {
                    "summary": "One campaign",
                    "parameters": [site, campaign_id],
                    "security": bearer,
                    "responses": {
                        "200": _json("The campaign.", _ref("Campaign")),
                        "404": _error("No such campaign."),
                        **denied,
                    },
                },
                "put": {
                    "summary": "Create or replace a campaign (recorded in the history)",
                    "parameters": [site, campaign_id],
                    "security": bearer,
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": _ref("Campaign")}},
                    },
                    "responses": {
                        "200": _json("Replaced.", _ref("Changes")),
                        "201": _json("Created.", _ref("Changes")),
                        "400": _error("Not JSON, or id/site_id differ from the URL."),
                        "422": _error("Not a valid campaign (the error names the field)."),
                        **denied,
                    },
                },
                "delete": {
                    "summary": "Remove a campaign (recorded in the history)",
                    "parameters": [site, campaign_id],
                    "security": bearer,
                    "responses": {
                        "200": _json("Removed.", _ref("Changes")),
                        "404": _error("No such campaign."),
                        **denied,
                    },
                },
            },
            "/v1/manage/sites/{site_id}/history": {
                "get": {
                    "summary": "The latest campaign changes, newest first (what, when, by whom)",
                    "parameters": [
                        site,
                        {
                            "name": "count",
                            "in": "query",
                            "required": False,
                            "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
                        },
                    ],
                    "security": bearer,
                    "responses": {
                        "200": _json(
                            "The changes.",
                            {
                                "type": "object",
                                "properties": {
                                    "history": {"type": "array", "items": {"type": "object"}}
                                },
                            },
                        ),
                        "400": _error("Bad count."),
                        **denied,
                    },
                }
            },
            "/v1/manage/sites/{site_id}/catalog": {
                "get": {
                    "summary": "How many products the site's catalog holds",
                    "parameters": [site],
                    "security": bearer,
                    "responses": {
                        "200": _json(
                            "The count.",
                            {"type": "object", "properties": {"products": {"type": "integer"}}},
                        ),
                        **denied,
                    },
                },
                "post": {
                    "summary": "Import a product feed (idempotent; rejected rows are reported)",
                    "parameters": [
                        site,
                        {
                            "name": "kind",
                            "in": "query",
                            "required": False,
                            "schema": {"enum": ["json", "csv"]},
                        },
                        {
                            "name": "replace",
                            "in": "query",
                            "required": False,
                            "schema": {"enum": ["0", "1"]},
                            "description": "1: remove the products the feed does not list.",
                        },
                    ],
                    "security": bearer,
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "anyOf": [
                                        {"type": "array", "items": _ref("Product")},
                                        {
                                            "type": "object",
                                            "properties": {
                                                "products": {
                                                    "type": "array",
                                                    "items": _ref("Product"),
                                                }
                                            },
                                        },
                                    ]
                                }
                            },
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                    "responses": {
                        "200": _json(
                            "What was written, left unchanged, removed and rejected (with why).",
                            {
                                "type": "object",
                                "properties": {
                                    "written": {"type": "integer"},
                                    "unchanged": {"type": "integer"},
                                    "removed": {"type": "integer"},
                                    "rejected": {"type": "array", "items": {"type": "object"}},
                                },
                            },
                        ),
                        "400": _error("The feed cannot be read at all."),
                        **denied,
                    },
                },
            },
            "/healthz": {"get": {"summary": "Alive", "responses": {"200": {"description": "ok"}}}},
            "/readyz": {
                "get": {
                    "summary": "Ready when the durable Redis answers",
                    "responses": {
                        "200": {"description": "ready"},
                        "503": {"description": "the durable Redis is away"},
                    },
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics",
                    "responses": {"200": {"description": "text exposition format"}},
                }
            },
            "/v1/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": {"description": "OpenAPI 3.1"}},
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document (the path every service serves it at)",
                    "responses": {"200": {"description": "OpenAPI 3.1"}},
                }
            },
        },
    }
