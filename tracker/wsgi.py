"""WSGI entry point for gunicorn: ``gunicorn -c python:tracker.gunicorn_conf tracker.wsgi:app``."""

from tracker.app import create_app

app = create_app()
