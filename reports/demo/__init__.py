"""The demo shop (docs/demo.md): a small shop under ``/demo`` on the reports service, only when
``CLICKTRAIL_DEMO`` is on (``DEMO=1 make up``), with the simulator's catalog, pages that embed
the snippet and ``ct('personalize', ...)``, a "browse from" picker and its front to the
collector. ``init_demo(app)`` adds it to the reports app."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask

from clicktrail.serving.relay import Upstream
from clicktrail.settings import Settings
from reports.demo.shop import Shop
from reports.demo.views import Demo, bp


def collector_address(settings: Settings) -> tuple[str, int]:
    """Where the collector listens, reached on loopback when it binds a wildcard address."""
    host, _, port = settings.collector_bind.rpartition(":")
    if host in ("", "0.0.0.0", "::", "[::]"):
        host = "127.0.0.1"
    return host.strip("[]"), int(port)


def init_demo(app: Flask, settings: Settings) -> None:
    """Serve the demo shop when the settings say so; otherwise add nothing at all."""
    if not settings.demo:
        return
    host, port = collector_address(settings)
    public = urlsplit(settings.personalizer_public_url)
    app.extensions["demo"] = Demo(
        shop=Shop.build(),
        front=Upstream(
            host, port, read_timeout=5.0, max_idle=8, source_address=settings.demo_front_address
        ),
        # make up signs the personalizer's links under the collector's address
        signed_origins=(f"http://{host}:{port}", f"{public.scheme}://{public.netloc}"),
    )
    app.register_blueprint(bp)
