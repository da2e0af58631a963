"""``GET /openapi.json`` (and ``/v1/openapi.json``): the API's description."""

from __future__ import annotations

from flask import Blueprint, Response

from reports.openapi import document
from reports.views.common import json_answer

bp = Blueprint("openapi", __name__)


@bp.get("/openapi.json")
@bp.get("/v1/openapi.json")
def openapi() -> Response:
    response = json_answer(200, document())
    response.headers["Access-Control-Allow-Origin"] = "*"  # public, carries no secret
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
