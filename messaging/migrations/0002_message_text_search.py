"""Full-text search over message text on PostgreSQL (GIN over a tsvector).

Serves `GET /messages?search=...` and the inbox search box: the expression is
exactly what `messaging.selectors.search_messages` filters on, so the planner
uses this index. Other databases fall back to a substring scan and get nothing.
"""

from django.db import migrations

INDEX = "msg_text_search"
EXPRESSION = "to_tsvector('simple'::regconfig, COALESCE(\"text\", ''))"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON messaging_message USING GIN ({EXPRESSION})"
        )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("messaging", "0001_initial")]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]
