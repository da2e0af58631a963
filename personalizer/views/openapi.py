"""``GET /v1/openapi.json``: the API's description, for people and for client generators."""

from __future__ import annotations

from flask import Blueprint, Response

from personalizer.openapi import document
from personalizer.views.common import json_answer

bp = Blueprint("openapi", __name__)


@bp.get("/v1/openapi.json")
@bp.get("/openapi.json")  # the same path as every service's
def openapi() -> Response:
    response = json_answer(200, document())
    response.headers["Access-Control-Allow-Origin"] = "*"  # public, carries no secret
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
