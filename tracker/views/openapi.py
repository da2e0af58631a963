"""``GET /openapi.json``: the collector's description, for people and for client generators."""

from __future__ import annotations

from flask import Blueprint, Response

from clicktrail.serving.answers import json_answer
from tracker.openapi import document

bp = Blueprint("openapi", __name__)


@bp.get("/openapi.json")
def openapi() -> Response:
    response = json_answer(200, document())
    response.headers["Access-Control-Allow-Origin"] = "*"  # public, carries no secret
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
