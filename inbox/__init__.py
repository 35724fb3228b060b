"""The Django project: settings, URLs, Celery app; workspaces, agents and API keys."""

from inbox.celery import app as celery_app

__all__ = ["celery_app"]
