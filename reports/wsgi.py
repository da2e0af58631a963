"""``gunicorn reports.wsgi:app``."""

from reports.app import create_app

app = create_app()
