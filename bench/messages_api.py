"""Benchmark of the Messages API over real HTTP on PostgreSQL with a million messages.

    .venv/bin/python bench/messages_api.py [--messages N] [--requests R]
        [--database-url URL] [--keep] [--concurrency C]

What it does, in order:

1. Creates the database if it is missing (default
   `postgres://postgres@127.0.0.1:5432/inbox_bench`) and migrates it. An
   existing database is used only if it holds nothing but the benchmark
   workspace, so pointing `--database-url` at real data is refused.
2. Seeds one workspace with one sandbox WhatsApp channel, N messages (default
   1,000,000) over 90 days, inbound and outbound text, in up to 10,000
   contacts/conversations; one "hot" conversation holds ~5% of them (50,000 at
   1M) so deep thread pages are exercised. The rows go in with COPY, bypassing
   the services (this is a benchmark, not product code); public ids have the
   exact format of `inbox.ids.new_public_id`. Conversation counters and
   `last_message` are then set with one UPDATE ... FROM an aggregate, and the
   tables are VACUUM ANALYZEd, so the planner and the visibility map look like
   a settled production table. The message table's secondary indexes are
   dropped for the COPY and rebuilt from their own definitions right after, in
   the same transaction. With `--keep`, a rerun reuses the data when the
   seeded count matches.
3. Receives one fresh inbound message in the hot conversation through the
   real `receive_message` service, so WhatsApp's 24-hour window is open.
4. Creates an API key with `inbox.services.create_api_key`, and sends each
   operation once in-process through Django's test client: that counts its
   SQL queries, and the message queries of the list and thread endpoints are
   then run again under EXPLAIN (ANALYZE, BUFFERS), checking that they use
   `msg_ws_created` and `msg_thread`.
5. Starts gunicorn (`inbox.wsgi`, 2 sync workers, 127.0.0.1, a free port) with
   DEBUG=false, CELERY_TASK_ALWAYS_EAGER=true (a send then includes the sandbox
   delivery inside the request) and a very high API_RATE_LIMIT, and times R
   requests per operation (after a short warm-up) from a keep-alive
   `http.client` (`--concurrency` connections, default 1).
6. Drops the database unless `--keep`.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import platform
import random
import re
import secrets
import shlex
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/inbox_bench"
WORKSPACE_SLUG = "bench"
RATE_LIMIT = 1_000_000_000
DAYS = 90
SEED = 20260101
COPY_CHUNK_ROWS = 20_000
BULK_READ_SIZE = 20
# The environment as started, before `setup_django` changes this process's own.
ORIGINAL_ENV = dict(os.environ)
CHANNEL_PHONE = "+5511930000000"

# --- Small helpers --------------------------------------------------------------------


def log(message: str) -> None:
    print(message, flush=True)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(q * len(sorted_values)))
    return sorted_values[rank - 1]


# Same alphabet and length as `inbox.ids.new_public_id`, drawn from the OS CSPRNG
# in bulk: `new_public_id` costs ~50 s per million ids (22 `secrets.choice` calls
# each), this costs well under a second. Bytes >= 248 are dropped so every
# character stays uniform over the 62 symbols.
_ALPHABET = string.ascii_letters + string.digits
_RANDOM_LENGTH = 22
_ID_TABLE = bytes(ord(_ALPHABET[b % len(_ALPHABET)]) for b in range(256))
_ID_REJECT = bytes(range(248, 256))


def public_ids(prefix: str, count: int) -> list[str]:
    need = count * _RANDOM_LENGTH
    parts: list[str] = []
    have = 0
    while have < need:
        raw = secrets.token_bytes(need - have + 64).translate(_ID_TABLE, _ID_REJECT)
        text = raw.decode("ascii")[: need - have]
        parts.append(text)
        have += len(text)
    chars = "".join(parts)
    n = _RANDOM_LENGTH
    return [f"{prefix}_{chars[i * n : (i + 1) * n]}" for i in range(count)]


# --- COPY text format -----------------------------------------------------------------

_COPY_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_escape(value: str) -> str:
    return value.translate(_COPY_ESCAPE)


def copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dict | list):
        return copy_escape(json.dumps(value, separators=(",", ":"), ensure_ascii=False))
    if isinstance(value, datetime):
        return value.isoformat()
    return copy_escape(str(value))


def zulu(at: datetime) -> str:
    """`inbox.timefmt.iso`, inlined for speed: milliseconds, UTC, `Z`."""
    return at.isoformat(timespec="milliseconds")[:-6] + "Z"


def copy_template(
    model: Any, varying: tuple[str, ...], constants: dict[str, Any], now: datetime
) -> tuple[list[str], str]:
    """Columns and a `str.format` line template for COPYing rows of `model`.

    Every concrete column but the identity primary key is written: `varying`
    ones from each row's tuple (in that order), `constants` as given, and the
    rest from the model field's default. So a field added to the model later
    still gets a sensible value, or a clear error when it has none.
    """
    from django.db import models

    columns: list[str] = []
    parts: list[str] = []
    index = {name: i for i, name in enumerate(varying)}
    seen: set[str] = set()
    for f in model._meta.concrete_fields:
        if f.primary_key:
            continue
        columns.append(f.column)
        seen.add(f.attname)
        if f.attname in index:
            parts.append(f"{{{index[f.attname]}}}")
            continue
        if f.attname in constants:
            value = constants[f.attname]
        elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            value = now
        elif f.has_default():
            value = f.get_default()
        elif f.null:
            value = None
        elif isinstance(f, models.CharField | models.TextField):
            value = ""
        else:
            raise SystemExit(f"bench: no seed value for {model.__name__}.{f.attname}")
        parts.append(copy_value(value).replace("{", "{{").replace("}", "}}"))
    unknown = (set(varying) | set(constants)) - seen
    if unknown:
        raise SystemExit(f"bench: {model.__name__} has no fields {sorted(unknown)}")
    return columns, "\t".join(parts) + "\n"


def copy_rows(cursor: Any, table: str, columns: list[str], chunks: Iterable[str]) -> None:
    from psycopg import sql
    from psycopg.copy import QueuedLibpqWriter

    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )
    # The queued writer sends to the server from a thread, so Python builds the
    # next chunk while PostgreSQL ingests the previous one.
    with cursor.copy(statement, writer=QueuedLibpqWriter(cursor)) as copy:
        for chunk in chunks:
            copy.write(chunk)


def chunked(lines: Iterable[str], size: int = COPY_CHUNK_ROWS) -> Iterator[str]:
    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= size:
            yield "".join(batch)
            batch = []
    if batch:
        yield "".join(batch)


# --- The database ---------------------------------------------------------------------


def _with_dbname(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def database_name(url: str) -> str:
    name = urlsplit(url).path.lstrip("/")
    if not name:
        raise SystemExit("--database-url needs a database name")
    return name


def prepare_database(url: str) -> bool:
    """Create the database if missing; refuse one that holds other workspaces.

    Returns True when the database was created now.
    """
    import psycopg
    from psycopg import sql

    name = database_name(url)
    with psycopg.connect(_with_dbname(url, "postgres"), autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            return True
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass('inbox_workspace')").fetchone()[0]:
            others = conn.execute(
                "SELECT count(*) FROM inbox_workspace WHERE slug <> %s", [WORKSPACE_SLUG]
            ).fetchone()[0]
            if others:
                raise SystemExit(
                    f"Refusing to use database {name!r}: it holds {others} workspace(s) other "
                    f"than {WORKSPACE_SLUG!r}, so it is not a benchmark database."
                )
    return False


def drop_database(url: str) -> None:
    import psycopg
    from django.db import connections
    from psycopg import sql

    connections.close_all()
    with psycopg.connect(_with_dbname(url, "postgres"), autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(database_name(url))
            )
        )


def server_env(url: str) -> dict[str, str]:
    """The environment of gunicorn, and of this process's own Django."""
    env = dict(ORIGINAL_ENV)
    env.pop("DJANGO_ENV", None)  # development defaults (no SECRET_KEY/ALLOWED_HOSTS needed)
    env.update(
        DJANGO_SETTINGS_MODULE="inbox.settings",
        DATABASE_URL=url,
        DEBUG="false",
        CELERY_TASK_ALWAYS_EAGER="true",
        API_RATE_LIMIT=str(RATE_LIMIT),
        PYTHONUNBUFFERED="1",
    )
    return env


def setup_django(url: str) -> None:
    env = server_env(url)
    os.environ.pop("DJANGO_ENV", None)
    os.environ.update(env)
    # Quiet logs here (the in-process pass logs every eager task); gunicorn keeps INFO.
    os.environ["LOG_LEVEL"] = "WARNING"
    import django

    django.setup()


def migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


# --- Seeding --------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    messages: int
    conversations: int
    hot_messages: int

    @classmethod
    def for_messages(cls, n: int) -> Shape:
        conversations = min(10_000, max(10, n // 100))
        hot = min(50_000, max(10, n // 20))
        return cls(messages=n, conversations=conversations, hot_messages=hot)

    @property
    def deep_offset(self) -> int:
        """How far back the deep thread page starts: ~40,000 at 1M."""
        return min(40_000, int(self.hot_messages * 0.8))


def workspace_name(n: int) -> str:
    return f"Benchmark: {n} seeded messages"


FIRST_NAMES = (
    "Ana", "Bruno", "Carla", "Diego", "Elisa", "Felipe", "Gabi", "Hugo", "Iris", "Joao",
    "Karen", "Lucas", "Marta", "Nina", "Otavio", "Paula", "Rafael", "Sofia", "Tiago", "Vera",
    "Alice", "Ben", "Chloe", "Dan", "Emma", "Finn", "Grace", "Wesley", "Yara", "Zeca",
)  # fmt: skip
LAST_NAMES = (
    "Silva", "Souza", "Costa", "Santos", "Oliveira", "Pereira", "Lima", "Carvalho", "Ferreira",
    "Rodrigues", "Almeida", "Nascimento", "Araujo", "Ribeiro", "Martins", "Rocha", "Smith",
    "Jones", "Brown", "Taylor", "Wilson", "Evans",
)  # fmt: skip
PRODUCTS = ("blue sneakers", "wireless earbuds", "coffee grinder", "yoga mat", "backpack")
CITIES = ("Campinas", "Recife", "Porto Alegre", "Lisbon", "Curitiba", "Belo Horizonte")
INBOUND_TEXTS = (
    "Hi, my order #{n} still hasn't arrived. Can you check?",
    "Hello! Do you ship to {city}?",
    "I was charged twice for order #{n}",
    "Can I change the delivery address for order #{n}?",
    "Thanks, that worked!",
    "What are your opening hours on Saturday?",
    "The tracking page says delivered but I have nothing here",
    "Is the {product} back in stock?",
    "I'd like to return the {product} I bought last week",
    "ok",
    "Perfect, thank you so much \U0001f64f",
    "Any news about my refund for #{n}?",
)
OUTBOUND_TEXTS = (
    "Hi! Thanks for reaching out, let me check order #{n} for you.",
    "Your order #{n} left our warehouse today: https://track.example.com/{n}",
    "I've refunded the duplicate charge; it takes 3-5 business days to show up.",
    "We're open 9am-6pm, Monday to Saturday.",
    "Yes, the {product} is back in stock \u2014 want me to reserve one?",
    "Anything else I can help you with?",
    "We deliver to {city} in 2-4 business days.",
    "Sure, send me the new address and I'll update order #{n}.",
    "I've opened a return for the {product}; you'll get a label by email.",
)


def text_pool(rng: random.Random, templates: tuple[str, ...], size: int) -> list[tuple[str, str]]:
    """(COPY text, COPY content JSON) pairs, precomputed so seeding stays fast."""
    pool = []
    for _ in range(size):
        text = rng.choice(templates).format(
            n=rng.randrange(100_000, 999_999), product=rng.choice(PRODUCTS), city=rng.choice(CITIES)
        )
        content = {"type": "text", "text": text}
        pool.append((copy_escape(text), copy_value(content)))
    return pool


def seed(url: str, shape: Shape) -> dict[str, Any]:
    """Workspace and channel through the services, the bulk through COPY."""
    import psycopg
    from django.utils import timezone
    from psycopg import sql

    from channels_app.services import create_channel
    from inbox.services import create_workspace
    from messaging.models import Contact, ContactIdentifier, Conversation, Message

    started = time.perf_counter()
    rng = random.Random(SEED)  # noqa: S311 -- reproducible test data, not secrets
    now = timezone.now()
    now_ts = now.timestamp()
    span = DAYS * 86400

    workspace = create_workspace(slug=WORKSPACE_SLUG, name=workspace_name(shape.messages))
    channel = create_channel(
        workspace=workspace,
        type="whatsapp",
        name="WhatsApp (bench)",
        config={"sandbox": True, "phoneNumber": CHANNEL_PHONE},
    )
    C = shape.conversations

    # Contacts (one per conversation), phones valid Brazilian mobiles.
    phones = [f"+55119{61_000_000 + i:08d}" for i in range(C)]
    names = [f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}" for _ in range(C)]

    # Messages per conversation: the hot one, at least one each, a long tail.
    counts = [1] * C
    counts[0] = shape.hot_messages
    rest = shape.messages - shape.hot_messages - (C - 1)
    if rest < 0:
        raise SystemExit("--messages is too small for the shape; use at least 1000")
    weights = [rng.lognormvariate(0.0, 1.2) for _ in range(C - 1)]
    for i in rng.choices(range(1, C), weights=weights, k=rest):
        counts[i] += 1

    # (timestamp, conversation) for every message, oldest first, so ids grow
    # with created_at and the heap is in time order, as in a real table.
    newest = now_ts - 600  # the last ten minutes stay free for the fresh inbound message
    items = sorted(
        (newest - rng.random() * span, conv) for conv, n in enumerate(counts) for _ in range(n)
    )

    statuses = ["open"] * 15 + ["pending"] * 10 + ["closed"] * 75
    priorities = ["normal"] * 85 + ["high"] * 8 + ["low"] * 5 + ["urgent"] * 2

    result: dict[str, Any] = {"workspace": workspace.pk, "channel": channel.pk}
    timings: dict[str, float] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET maintenance_work_mem = '512MB'")
        # Skip FK triggers during the load: every row references ids this
        # function just wrote. Needs a superuser; without one, FKs are checked.
        with contextlib.suppress(psycopg.Error):
            conn.execute("SET session_replication_role = replica")
        conn.autocommit = False
        cur = conn.cursor()
        ws, ch = workspace.pk, channel.pk

        t = time.perf_counter()
        columns, fmt = copy_template(
            Contact, ("public_id", "name", "phone", "created_at"), {"workspace_id": ws}, now
        )
        contact_ids = public_ids("contact", C)
        start_iso = (now - timedelta(days=DAYS)).isoformat()
        copy_rows(
            cur,
            Contact._meta.db_table,
            columns,
            chunked(
                fmt.format(contact_ids[i], copy_escape(names[i]), phones[i], start_iso)
                for i in range(C)
            ),
        )
        contact_pks = [
            r[0]
            for r in cur.execute(
                "SELECT id FROM messaging_contact WHERE workspace_id = %s ORDER BY id", [ws]
            )
        ]
        columns, fmt = copy_template(
            ContactIdentifier,
            ("contact_id", "value"),
            {"workspace_id": ws, "channel_type": "whatsapp", "created_at": start_iso},
            now,
        )
        copy_rows(
            cur,
            ContactIdentifier._meta.db_table,
            columns,
            chunked(fmt.format(contact_pks[i], phones[i]) for i in range(C)),
        )
        columns, fmt = copy_template(
            Conversation,
            ("public_id", "contact_id", "status", "priority", "metadata"),
            {"workspace_id": ws, "channel_id": ch, "created_at": start_iso},
            now,
        )
        conv_ids = public_ids("conv", C)
        conv_rows = []
        for i in range(C):
            hot = i == 0
            status = "open" if hot else rng.choice(statuses)
            metadata = copy_value({"bench": "hot"} if hot else {})
            conv_rows.append(
                fmt.format(conv_ids[i], contact_pks[i], status, rng.choice(priorities), metadata)
            )
        copy_rows(cur, Conversation._meta.db_table, columns, chunked(conv_rows))
        conv_pks = [
            r[0]
            for r in cur.execute(
                "SELECT id FROM messaging_conversation WHERE workspace_id = %s ORDER BY id", [ws]
            )
        ]
        conn.commit()
        timings["contacts+conversations"] = time.perf_counter() - t

        t = time.perf_counter()
        columns, fmt = copy_template(
            Message,
            (
                "public_id",
                "conversation_id",
                "direction",
                "sender_type",
                "from_address",
                "to_address",
                "content",
                "text",
                "status",
                "status_history",
                "provider_message_id",
                "sent_at",
                "delivered_at",
                "read_at",
                "delivery_claimed_at",
                "delivery_attempts",
                "deleted_at",
                "created_at",
                "updated_at",
            ),
            {"workspace_id": ws, "channel_id": ch, "content_type": "text"},
            now,
        )
        inbound_pool = text_pool(rng, INBOUND_TEXTS, 4096)
        outbound_pool = text_pool(rng, OUTBOUND_TEXTS, 4096)
        message_ids = public_ids("msg", len(items))
        # Secondary indexes are dropped for the load and rebuilt after it, all
        # in this one transaction (a failure rolls back to the full schema).
        # Building an index once over sorted data is several times faster than
        # maintaining 13 of them (a GIN among them) row by row.
        table = Message._meta.db_table
        deferred = secondary_indexes(cur, table)
        for name, _ in deferred:
            cur.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        copy_rows(
            cur,
            Message._meta.db_table,
            columns,
            chunked(
                message_lines(
                    fmt,
                    items,
                    message_ids,
                    conv_pks,
                    phones,
                    inbound_pool,
                    outbound_pool,
                    rng,
                    now_ts,
                )
            ),
        )
        timings["messages COPY"] = time.perf_counter() - t
        t = time.perf_counter()
        for _, definition in deferred:
            cur.execute(definition)
        conn.commit()
        timings[f"rebuild {len(deferred)} indexes"] = time.perf_counter() - t

        t = time.perf_counter()
        cur.execute(CONVERSATION_AGGREGATE_UPDATE, {"ws": ws})
        cur.execute(
            "UPDATE messaging_contact ct SET created_at = c.first_message_at, "
            "updated_at = c.first_message_at FROM messaging_conversation c "
            "WHERE c.contact_id = ct.id AND c.workspace_id = %s",
            [ws],
        )
        conn.commit()
        timings["counters UPDATE"] = time.perf_counter() - t

        t = time.perf_counter()
        conn.autocommit = True
        for table in (
            "messaging_message",
            "messaging_conversation",
            "messaging_contact",
            "messaging_contactidentifier",
        ):
            conn.execute(f"VACUUM (ANALYZE) {table}")
        timings["VACUUM ANALYZE"] = time.perf_counter() - t

    total = time.perf_counter() - started
    rows = len(items) + 3 * C
    result.update(timings=timings, total=total, rows=rows, messages=len(items))
    return result


def secondary_indexes(cursor: Any, table: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of every index of `table` that backs no
    constraint: all but the primary key and the unique public id."""
    return cursor.execute(
        """
        SELECT c.relname, pg_get_indexdef(i.indexrelid)
        FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
        WHERE i.indrelid = %s::regclass
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
        ORDER BY c.relname
        """,
        [table],
    ).fetchall()


CONVERSATION_AGGREGATE_UPDATE = """
WITH agg AS (
    SELECT conversation_id,
           count(*) AS n,
           count(*) FILTER (WHERE direction = 'inbound' AND read_at IS NULL) AS unread,
           min(created_at) AS first_at,
           max(created_at) AS last_at,
           max(created_at) FILTER (WHERE direction = 'inbound') AS last_in,
           (array_agg(id ORDER BY created_at DESC, id DESC))[1] AS last_id
    FROM messaging_message
    WHERE workspace_id = %(ws)s AND deleted_at IS NULL
    GROUP BY conversation_id
)
UPDATE messaging_conversation c
SET message_count = agg.n,
    unread_count = agg.unread,
    first_message_at = agg.first_at,
    last_message_at = agg.last_at,
    last_inbound_at = agg.last_in,
    last_message_id = agg.last_id,
    created_at = agg.first_at,
    closed_at = CASE WHEN c.status = 'closed'
                     THEN LEAST(agg.last_at + interval '1 hour', now()) END,
    resolution = CASE WHEN c.status = 'closed' THEN 'resolved' ELSE '' END,
    updated_at = CASE WHEN c.status = 'closed'
                      THEN LEAST(agg.last_at + interval '1 hour', now()) ELSE agg.last_at END
FROM agg
WHERE c.id = agg.conversation_id
"""


def message_lines(
    fmt: str,
    items: list[tuple[float, int]],
    ids: list[str],
    conv_pks: list[int],
    phones: list[str],
    inbound_pool: list[tuple[str, str]],
    outbound_pool: list[tuple[str, str]],
    rng: random.Random,
    now_ts: float,
) -> Iterator[str]:
    """One COPY line per message: statuses, timestamps and history consistent."""
    unread_window = 7 * 86400
    latest = now_ts - 1
    fromts = datetime.fromtimestamp
    rand = rng.random
    pool_size = len(inbound_pool)
    for k, (ts, conv) in enumerate(items):
        created = fromts(ts, UTC)
        c = zulu(created)
        phone = phones[conv]
        age = now_ts - ts
        deleted = "\\N"
        if rand() < 0.002:
            deleted = zulu(fromts(min(ts + 60, latest), UTC))
        if rand() < 0.5:
            text, content = inbound_pool[int(rand() * pool_size)]
            if age < unread_window and rand() < 0.7:
                status, read = "delivered", "\\N"
                history = f'[{{"status":"delivered","timestamp":"{c}"}}]'
                updated = c
            else:
                status = "read"
                read = zulu(fromts(min(ts + 5 + rand() * 3600, latest), UTC))
                history = (
                    f'[{{"status":"delivered","timestamp":"{c}"}},'
                    f'{{"status":"read","timestamp":"{read}"}}]'
                )
                updated = read
            yield fmt.format(
                ids[k], conv_pks[conv], "inbound", "contact", phone, CHANNEL_PHONE,
                content, text, status, history, f"wamid.bench{k:010d}",
                "\\N", c, read, "\\N", 0, deleted, c, updated,
            )  # fmt: skip
        else:
            text, content = outbound_pool[int(rand() * pool_size)]
            sent = zulu(fromts(min(ts + 1, latest), UTC))
            history = (
                f'[{{"status":"pending","timestamp":"{c}"}},'
                f'{{"status":"sent","timestamp":"{sent}"}}'
            )
            r = rand()
            delivered = read = "\\N"
            status = "sent"
            if age > 120 and r < 0.95:
                status = "delivered"
                delivered = zulu(fromts(min(ts + 3, latest), UTC))
                history += f',{{"status":"delivered","timestamp":"{delivered}"}}'
                if r < 0.6:
                    status = "read"
                    read = zulu(fromts(min(ts + 10 + rand() * 7200, latest), UTC))
                    history += f',{{"status":"read","timestamp":"{read}"}}'
            updated = max(
                c, sent, delivered if delivered != "\\N" else c, read if read != "\\N" else c
            )
            yield fmt.format(
                ids[k], conv_pks[conv], "outbound", "agent", CHANNEL_PHONE, phone,
                content, text, status, history + "]", f"sbx_bench{k:010d}",
                sent, delivered, read, c, 1, deleted, c, updated,
            )  # fmt: skip


def seeded_count(workspace_pk: int) -> int:
    from messaging.models import Message

    return Message.objects.filter(workspace_id=workspace_pk).count()


def open_whatsapp_window(workspace: Any) -> None:
    """One fresh inbound message in the hot conversation, through the real service."""
    from channels_app.models import Channel
    from messaging.models import Conversation
    from messaging.services import receive_message

    hot = Conversation.objects.select_related("contact").get(
        workspace=workspace, metadata__bench="hot"
    )
    channel = Channel.objects.get(pk=hot.channel_id)
    phone = hot.contact.identifiers.get(channel_type="whatsapp").value
    receive_message(
        channel=channel,
        sender=phone,
        content={"type": "text", "text": "Hello? Anyone there? (bench: opens the 24h window)"},
    )


# --- Inputs of the requests -----------------------------------------------------------


@dataclass
class Inputs:
    hot_conversation: str
    hot_count: int
    deep_cursor: str
    deep_offset: int
    message_ids: list[str]
    conversation_ids: list[str]
    unread_ids: list[str]
    unread_total: int
    list_total: int


def gather_inputs(workspace: Any, shape: Shape, per_op: int) -> Inputs:
    from django.db import connection

    from inbox.api.pagination import encode_cursor
    from messaging.models import Conversation

    hot = Conversation.objects.get(workspace=workspace, metadata__bench="hot")
    ws = workspace.pk
    with connection.cursor() as cur:
        cur.execute(
            "SELECT created_at, id FROM messaging_message "
            "WHERE conversation_id = %s AND deleted_at IS NULL "
            "ORDER BY created_at DESC, id DESC OFFSET %s LIMIT 1",
            [hot.pk, shape.deep_offset],
        )
        at, pk = cur.fetchone()
        cur.execute(
            "SELECT public_id FROM messaging_message WHERE workspace_id = %s "
            "AND deleted_at IS NULL ORDER BY random() LIMIT %s",
            [ws, per_op * BULK_READ_SIZE],
        )
        message_ids = [r[0] for r in cur.fetchall()]
        cur.execute(
            "SELECT public_id FROM messaging_conversation WHERE workspace_id = %s AND id <> %s "
            "ORDER BY random() LIMIT %s",
            [ws, hot.pk, per_op],
        )
        conversation_ids = [r[0] for r in cur.fetchall()]
        cur.execute(
            "SELECT public_id FROM messaging_message WHERE workspace_id = %s "
            "AND direction = 'inbound' AND read_at IS NULL AND deleted_at IS NULL "
            "ORDER BY random() LIMIT %s",
            [ws, per_op * BULK_READ_SIZE],
        )
        unread_ids = [r[0] for r in cur.fetchall()]
        cur.execute(
            "SELECT count(*) FROM messaging_message WHERE workspace_id = %s AND deleted_at IS NULL",
            [ws],
        )
        list_total = cur.fetchone()[0]
        cur.execute(
            "SELECT coalesce(sum(unread_count), 0) FROM messaging_conversation "
            "WHERE workspace_id = %s",
            [ws],
        )
        unread_total = cur.fetchone()[0]
    return Inputs(
        hot_conversation=hot.public_id,
        hot_count=hot.message_count,
        deep_cursor=encode_cursor(at, pk),
        deep_offset=shape.deep_offset,
        message_ids=message_ids,
        conversation_ids=conversation_ids,
        unread_ids=unread_ids,
        unread_total=unread_total,
        list_total=list_total,
    )


# --- Operations -----------------------------------------------------------------------

Request = tuple[str, str, dict[str, Any] | None]  # method, path, JSON body


@dataclass
class Operation:
    name: str
    expect: int
    make: Callable[[int], Request]
    explain_index: str | None = None  # the index its message query must use
    latencies: list[float] = field(default_factory=list)
    wall: float = 0.0
    errors: list[str] = field(default_factory=list)
    queries: int | None = None
    marked: int = 0


def operations(inputs: Inputs) -> list[Operation]:
    api = "/api/v1"
    hot = inputs.hot_conversation
    deep_page = max(1, min(2500, inputs.list_total // 20 // 2))
    ids = inputs.message_ids
    convs = inputs.conversation_ids
    rng = random.Random(SEED + 1)  # noqa: S311 -- reproducible test data, not secrets
    directions = [rng.choice(("inbound", "outbound")) for _ in convs]
    # 20 unread inbound ids per request while they last, then random (mostly read) ones.
    unread = set(inputs.unread_ids)
    pool = inputs.unread_ids + [i for i in ids if i not in unread]

    def get(path: str, **params: Any) -> Request:
        return ("GET", f"{api}{path}" + (f"?{urlencode(params)}" if params else ""), None)

    def send(i: int) -> Request:
        body = {"conversationId": hot, "content": {"type": "text", "text": f"Bench reply {i}"}}
        return ("POST", f"{api}/messages", body)

    def bulk_read(i: int) -> Request:
        # Chunk 0 goes to the in-process pass (i = -1), 1.. to the HTTP requests.
        k = (i + 1) % max(1, len(pool) // BULK_READ_SIZE)
        chunk = pool[k * BULK_READ_SIZE : (k + 1) * BULK_READ_SIZE]
        return ("POST", f"{api}/messages/bulk-read", {"messageIds": chunk})

    return [
        Operation("list perPage=20", 200, lambda i: get("/messages", perPage=20), "msg_ws_created"),
        Operation(
            "list perPage=100", 200, lambda i: get("/messages", perPage=100), "msg_ws_created"
        ),
        Operation(
            f"list perPage=20 page={deep_page} (OFFSET {(deep_page - 1) * 20})",
            200,
            lambda i: get("/messages", perPage=20, page=deep_page),
            "msg_ws_created",
        ),
        Operation(
            "list conversationId+direction (hot conversation)",
            200,
            lambda i: get("/messages", conversationId=hot, direction="inbound", perPage=20),
        ),
        Operation(
            "list conversationId+direction (random conversation)",
            200,
            lambda i: get(
                "/messages",
                conversationId=convs[i % len(convs)],
                direction=directions[i % len(convs)],
                perPage=20,
            ),
        ),
        Operation(
            "get one message (random id)", 200, lambda i: get(f"/messages/{ids[i % len(ids)]}")
        ),
        Operation(
            "thread first page (limit=50, hot)",
            200,
            lambda i: get(f"/conversations/{hot}/messages", limit=50),
            "msg_thread",
        ),
        Operation(
            f"thread deep page (limit=50, ~{inputs.deep_offset:,} back)",
            200,
            lambda i: get(f"/conversations/{hot}/messages", limit=50, cursor=inputs.deep_cursor),
            "msg_thread",
        ),
        Operation("send text (hot conversation)", 201, send),
        Operation(f"bulk read ({BULK_READ_SIZE} messageIds)", 200, bulk_read),
    ]


# --- HTTP -----------------------------------------------------------------------------


class Client:
    """One keep-alive connection; reopened when the server closes it."""

    def __init__(self, port: int, api_key: str) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {"Authorization": f"Bearer {api_key}", "Accept": "application/json"}

    def call(self, request: Request) -> tuple[int, bytes, float]:
        method, path, body = request
        data = json.dumps(body).encode() if body is not None else None
        headers = dict(self.headers)
        if data is not None:
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            started = time.perf_counter()
            try:
                self.conn.request(method, path, body=data, headers=headers)
                response = self.conn.getresponse()
                payload = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # An idle keep-alive socket the server had closed: nothing was
                # processed, so one retry on a fresh connection is safe.
                self.conn.close()
                if attempt == 2:
                    raise
                continue
            return response.status, payload, time.perf_counter() - started
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(url: str, log_path: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "inbox.wsgi",
        "--workers",
        "2",
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
    ]
    log_file = log_path.open("wb")
    proc = subprocess.Popen(
        command, cwd=ROOT, env=server_env(url), stdout=log_file, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(
                f"gunicorn exited ({proc.returncode}):\n{log_path.read_text()[-3000:]}"
            )
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return proc, port
        except OSError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit(f"gunicorn did not answer /healthz:\n{log_path.read_text()[-3000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_operation(
    op: Operation, port: int, key: str, requests: int, warmup: int, conc: int
) -> None:
    """`warmup` untimed requests, then `requests` timed ones over `conc` connections.

    Request i of the timed run is `op.make(i)`; the warm-up uses the indexes
    after them, so every request (a bulk read's ids) is distinct.
    """
    lock = threading.Lock()

    def check(status: int, payload: bytes) -> None:
        with lock:
            if status != op.expect:
                op.errors.append(f"{status}: {payload[:300].decode(errors='replace')}")
            elif op.name.startswith("bulk read"):
                op.marked += json.loads(payload)["data"]["markedCount"]

    warm = Client(port, key)
    for i in range(warmup):
        status, payload, _ = warm.call(op.make(requests + i))
        check(status, payload)
    warm.close()
    op.marked = 0

    def worker(offset: int) -> list[float]:
        client = Client(port, key)
        out = []
        for i in range(offset, requests, conc):
            status, payload, elapsed = client.call(op.make(i))
            check(status, payload)
            out.append(elapsed)
        client.close()
        return out

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=conc) as pool:
        results = list(pool.map(worker, range(conc)))
    op.wall = time.perf_counter() - started
    op.latencies = sorted(x for r in results for x in r)


# --- In-process: query counts and EXPLAIN ---------------------------------------------


@dataclass
class Plan:
    operation: str
    kind: str
    lines: list[str]
    execution_ms: float
    expected_index: str | None


def inspect_queries(ops: list[Operation], key: str, index: int) -> list[Plan]:
    """Each operation once through Django's test client, counting its queries;
    EXPLAIN (ANALYZE, BUFFERS) of every messaging_message SELECT of the GETs."""
    from django.db import connection
    from django.test import Client as DjangoClient
    from django.test.utils import CaptureQueriesContext

    client = DjangoClient(headers={"authorization": f"Bearer {key}"})
    # The key's first use writes `last_used_at`; keep that out of the counts.
    client.get("/api/v1/messages?perPage=1")
    plans: list[Plan] = []
    for op in ops:
        method, path, body = op.make(index)
        with CaptureQueriesContext(connection) as captured:
            if method == "GET":
                response = client.get(path)
            else:
                response = client.post(path, data=body, content_type="application/json")
        if response.status_code != op.expect:
            op.errors.append(f"in-process {response.status_code}: {response.content[:300]!r}")
        op.queries = len(captured.captured_queries)
        if method != "GET":
            continue
        for query in captured.captured_queries:
            sql = query["sql"]
            if not sql.startswith("SELECT") or 'FROM "messaging_message"' not in sql:
                continue
            kind = "COUNT" if sql.startswith("SELECT COUNT(*)") else "page"
            with connection.cursor() as cur:
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                lines = [r[0] for r in cur.fetchall()]
            execution = next(
                (
                    float(x.split(":")[1].split()[0])
                    for x in lines
                    if x.startswith("Execution Time")
                ),
                math.nan,
            )
            expected = op.explain_index if kind == "page" else None
            plans.append(Plan(op.name, kind, lines, execution, expected))
    return plans


# --- Report ---------------------------------------------------------------------------


def machine(load_before: tuple[float, ...], load_after: tuple[float, ...]) -> list[str]:
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    nproc = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    import django
    import gunicorn
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        pg = cur.fetchone()[0]
        settings = []
        for name in ("shared_buffers", "work_mem", "effective_cache_size", "random_page_cost"):
            cur.execute(f"SHOW {name}")
            settings.append(f"{name}={cur.fetchone()[0]}")
    return [
        f"- nproc: {nproc}",
        f"- CPU: {model}",
        f"- memory: {mem_kb / 1024 / 1024:.1f} GiB",
        f"- OS: {platform.platform()}",
        f"- Python {platform.python_version()}, Django {django.get_version()}, "
        f"gunicorn {gunicorn.__version__}",
        f"- PostgreSQL {pg} on the same machine ({', '.join(settings)})",
        "- load average (1/5/15 min) before measuring: "
        + " ".join(f"{x:.2f}" for x in load_before)
        + "; after: "
        + " ".join(f"{x:.2f}" for x in load_after)
        + " (this run's client, 2 workers and PostgreSQL add up to ~2 themselves; more means"
        " other processes shared the CPUs)",
    ]


def report_table(ops: list[Operation]) -> list[str]:
    lines = [
        "| operation | requests | p50 ms | p95 ms | mean ms | req/s | SQL queries/request |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for op in ops:
        xs = op.latencies
        mean = sum(xs) / len(xs) if xs else math.nan
        rps = len(xs) / op.wall if op.wall else math.nan
        queries = "?" if op.queries is None else str(op.queries)
        lines.append(
            f"| {op.name} | {len(xs)} | {ms(percentile(xs, 0.5))} | {ms(percentile(xs, 0.95))} "
            f"| {ms(mean)} | {rps:.1f} | {queries} |"
        )
    return lines


_INDEX_RE = re.compile(r"(?:using|Index Scan on|Index Only Scan on) (\w+)")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def plan_excerpt(lines: list[str]) -> list[str]:
    """The plan's first lines, then every access node of messaging_message (and
    the msg_* index under a bitmap scan) with its conditions and buffers."""
    out = lines[:2]
    for i, line in enumerate(lines[2:], start=2):
        if " on messaging_message" not in line and not re.search(r"Scan on msg_", line):
            continue
        out.append("  ...")
        out.append(line)
        depth = _indent(line)
        for detail in lines[i + 1 :]:
            if detail.lstrip().startswith("->") or _indent(detail) <= depth:
                break
            out.append(detail)
    out += [x for x in lines if x.startswith("Execution Time")]
    return out


def report_plans(plans: list[Plan]) -> list[str]:
    out: list[str] = []
    notes: list[str] = []
    for plan in plans:
        text = "\n".join(plan.lines)
        used = sorted(set(_INDEX_RE.findall(text)))
        out.append(
            f"{plan.operation} — {plan.kind} query: {plan.execution_ms:.1f} ms, "
            f"indexes: {', '.join(used) or 'none'}"
        )
        out += ["```", *plan_excerpt(plan.lines), "```"]
        if plan.expected_index:
            if plan.expected_index in used:
                notes.append(f"OK: {plan.operation}: the page query uses {plan.expected_index}.")
            else:
                notes.append(
                    f"NOTE: {plan.operation}: the page query does not use {plan.expected_index}."
                )
        if "Seq Scan on messaging_message" in text:
            notes.append(
                f"NOTE: {plan.operation}: the {plan.kind} query scans messaging_message "
                f"sequentially ({plan.execution_ms:.1f} ms)."
            )
        removed = [int(x.split(":")[1]) for x in plan.lines if "Rows Removed by Filter" in x]
        if removed and max(removed) > 1000:
            notes.append(
                f"NOTE: {plan.operation}: the {plan.kind} query reads and discards "
                f"{max(removed):,} rows (a condition is a Filter, not an index bound)."
            )
        if plan.kind == "COUNT" and plan.execution_ms > 50:
            notes.append(
                f"NOTE: {plan.operation}: COUNT(*) for the pagination meta takes "
                f"{plan.execution_ms:.1f} ms."
            )
    return [*out, "", *notes]


# --- Main -----------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000, help="messages to seed")
    parser.add_argument("--requests", type=int, default=300, help="timed requests per operation")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument(
        "--keep", action="store_true", help="keep the database (a rerun reuses the seed)"
    )
    parser.add_argument(
        "--concurrency", type=int, default=1, help="client connections in parallel (default 1)"
    )
    args = parser.parse_args()
    if args.messages < 1000:
        parser.error("--messages must be at least 1000")
    if args.requests < 1 or args.concurrency < 1:
        parser.error("--requests and --concurrency must be positive")
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        parser.error("--database-url must be a PostgreSQL URL")
    return args


def main() -> None:
    args = parse_args()
    command = shlex.join(getattr(sys, "orig_argv", [sys.executable, *sys.argv]))
    url = args.database_url
    shape = Shape.for_messages(args.messages)
    warmup = max(3, min(30, args.requests // 10))
    created = prepare_database(url)
    setup_django(url)
    log(f"# Messages API benchmark\n\n$ {command}\n")
    log(f"database: {database_name(url)} ({'created' if created else 'existing'})")

    from inbox.models import Workspace
    from inbox.services import create_api_key

    proc = None
    log_path = Path(tempfile.gettempdir()) / f"bench-gunicorn-{os.getpid()}.log"
    try:
        migrate()
        workspace = Workspace.objects.filter(slug=WORKSPACE_SLUG).first()
        reuse = (
            workspace is not None
            and workspace.name == workspace_name(args.messages)
            and seeded_count(workspace.pk) >= args.messages
        )
        seeding: dict[str, Any] | None = None
        if reuse:
            log(f"reusing the seeded data ({seeded_count(workspace.pk):,} messages)")
        else:
            if workspace is not None:
                log("the kept database has another seed; recreating it")
                drop_database(url)
                prepare_database(url)
                migrate()
            log(
                f"seeding {shape.messages:,} messages in {shape.conversations:,} conversations "
                f"(hot conversation: {shape.hot_messages:,}) ..."
            )
            seeding = seed(url, shape)
            workspace = Workspace.objects.get(slug=WORKSPACE_SLUG)
        assert workspace is not None
        open_whatsapp_window(workspace)
        _, api_key = create_api_key(workspace=workspace, name="bench")
        inputs = gather_inputs(workspace, shape, args.requests + warmup + 1)
        ops = operations(inputs)
        # In-process first: one request per operation counts its queries and
        # warms the cache, then EXPLAIN ANALYZE runs each message query again.
        # Failures here (say, code edited mid-run) must not cost the HTTP run.
        log("counting queries and running EXPLAIN in-process ...")
        try:
            plans = inspect_queries(ops, api_key, -1)
            inspect_error = None
        except Exception as exc:
            plans, inspect_error = [], f"{type(exc).__name__}: {exc}"

        load_before = os.getloadavg()
        proc, port = start_gunicorn(url, log_path)
        log(f"gunicorn inbox.wsgi: 2 sync workers on 127.0.0.1:{port}; measuring ...")
        for op in ops:
            run_operation(op, port, api_key, args.requests, warmup, args.concurrency)
            log(
                f"  {op.name}: p50 {ms(percentile(op.latencies, 0.5))} ms"
                + (f", {len(op.errors)} errors" if op.errors else "")
            )
        load_after = os.getloadavg()
        stop(proc)

        out = ["", "## Machine", *machine(load_before, load_after), "", "## Seed"]
        if seeding:
            t = seeding["timings"]
            out.append(
                f"- seeded {seeding['messages']:,} messages + {3 * shape.conversations:,} "
                f"contacts/identifiers/conversations in {seeding['total']:.1f} s: "
                f"{seeding['rows'] / seeding['total']:,.0f} rows/s overall, "
                f"{seeding['messages'] / t['messages COPY']:,.0f} messages/s in the COPY"
            )
            out.append("- phases: " + ", ".join(f"{k} {v:.1f} s" for k, v in t.items()))
        else:
            out.append("- reused the kept database (no seeding this run)")
        out += [
            f"- {inputs.list_total:,} visible messages in the workspace; hot conversation "
            f"{inputs.hot_count:,} messages; {shape.conversations:,} conversations",
            f"- unread inbound messages: {inputs.unread_total:,}; bulk read uses "
            f"{len(inputs.unread_ids):,} of them, {BULK_READ_SIZE} per request",
            "",
            f"## Results ({args.requests} timed requests per operation after {warmup} warm-up, "
            f"{args.concurrency} client connection(s))",
            "",
            *report_table(ops),
            "",
            "- req/s is requests / wall time"
            + (
                " of one sequential client, so it is 1000 / mean ms, not the server's capacity."
                if args.concurrency == 1
                else f" with {args.concurrency} clients in parallel."
            ),
            "- gunicorn's sync workers answer `Connection: close`, so each request opens a new "
            "loopback connection (the client reconnects; ~0.1 ms).",
            "- send runs with CELERY_TASK_ALWAYS_EAGER=true: its latency includes the sandbox "
            "delivery (claim, provider call, `sent` status, outbox event) inside the request.",
        ]
        bulk = next(op for op in ops if op.name.startswith("bulk read"))
        out.append(
            f"- bulk read marked {bulk.marked:,} of {len(bulk.latencies) * BULK_READ_SIZE:,} "
            "ids as read in the timed requests (ids read already count 0 but cost the query)."
        )
        out.append("- SQL queries/request: counted on one in-process request per operation.")
        errors = [(op.name, e) for op in ops for e in op.errors]
        if errors:
            out.append(f"\n**{len(errors)} failed requests**, e.g. {errors[0][0]}: {errors[0][1]}")
        out += ["", "## EXPLAIN (ANALYZE, BUFFERS) of the message queries", ""]
        if inspect_error:
            out.append(f"The in-process pass failed, so no plans: {inspect_error}")
        out += report_plans(plans)
        log("\n".join(out))
    finally:
        if proc is not None:
            stop(proc)
        if not args.keep:
            drop_database(url)
            log(f"\ndropped database {database_name(url)} (use --keep to keep it)")
        else:
            log(f"\nkept database {database_name(url)}")
        if log_path.exists():
            text = log_path.read_text(errors="replace")
            if "Traceback" in text or "ERROR" in text:
                log(f"\ngunicorn log ({log_path}), last lines:\n{text[-2000:]}")
            log_path.unlink()


if __name__ == "__main__":
    main()
