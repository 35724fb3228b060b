"""App config for the project app: registers the deployment checks."""

from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "inbox"
    verbose_name = "Workspaces and agents"

    def ready(self) -> None:
        from inbox import checks  # noqa: F401  (registers the checks)
