"""``gunicorn personalizer.wsgi:app``."""

from personalizer.app import create_app

app = create_app()
