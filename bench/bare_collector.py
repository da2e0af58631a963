"""The ceiling for the collector benchmark: same gunicorn settings, reads the body, answers a
constant 202, writes nothing."""

from __future__ import annotations

from flask import Flask, Response, request

app = Flask(__name__)
BODY = b'{"accepted":1,"rejected":[]}'


@app.post("/v1/events")
def collect() -> Response:
    request.get_data(cache=False)
    return Response(BODY, status=202, content_type="application/json")


@app.get("/healthz")
def healthz() -> Response:
    return Response(b'{"status":"ok"}', content_type="application/json")
