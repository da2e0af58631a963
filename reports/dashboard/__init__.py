"""The marketer dashboard: server-rendered pages over the reports (docs/dashboard.md), in
the reports service under ``/dashboard``. ``init_dashboard(app)`` adds it to the reports app."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from clicktrail.accounts.registry import AccountRegistry
from reports.dashboard.security import DashboardSessionInterface, SignInLimit
from reports.dashboard.session_key import session_key
from reports.dashboard.views import Dashboard, bp, csrf


def init_dashboard(app: Flask) -> None:
    """Sessions (Flask's signed cookie), CSRF protection (Flask-WTF), the sign-in limit and
    the pages, on the reports app (its ``Reports`` extension must be there)."""
    settings = app.extensions["reports"].settings
    app.config.update(
        SECRET_KEY=session_key(settings.dashboard_session_key_file),
        SESSION_COOKIE_NAME="clicktrail_dashboard",
        SESSION_COOKIE_PATH="/dashboard",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.dashboard_session_hours),
        WTF_CSRF_CHECK_DEFAULT=False,  # the dashboard's forms only (the API has no cookie)
    )
    app.session_interface = DashboardSessionInterface(settings.trusted_proxies)
    csrf.init_app(app)
    app.extensions["dashboard"] = Dashboard(
        accounts=AccountRegistry(settings.accounts_file, settings.sites_reload_seconds),
        signin_limit=SignInLimit(settings.state_url.url, settings.dashboard_signin_limit),
        trusted_proxies=tuple(settings.trusted_proxies),
        collector_url=settings.dashboard_collector_url,
    )
    import reports.dashboard.campaign_views  # noqa: F401 - its routes join the blueprint

    app.register_blueprint(bp)
