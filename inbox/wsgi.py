"""WSGI entry point for production servers (gunicorn inbox.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inbox.settings")
application = get_wsgi_application()
