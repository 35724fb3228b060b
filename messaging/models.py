"""The conversation domain: contacts, conversations, messages and what hangs off them.

Rows are written only by `messaging.services`; reads go through
`messaging.selectors`. Each index names the query it serves.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from inbox.ids import PublicIdField


class Contact(models.Model):
    public_id = PublicIdField(prefix="contact")
    workspace = models.ForeignKey(
        "inbox.Workspace", on_delete=models.CASCADE, related_name="contacts"
    )
    name = models.CharField(max_length=200, blank=True)
    # E.164 (`+5511999999999`) or empty; normalised by the services.
    phone = models.CharField(max_length=20, blank=True)
    # Stored lower-cased so uniqueness is case-insensitive.
    email = models.EmailField(blank=True)
    avatar_url = models.URLField(max_length=1000, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    tags = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "phone"],
                condition=~Q(phone=""),
                name="contact_unique_phone",
            ),
            models.UniqueConstraint(
                fields=["workspace", "email"],
                condition=~Q(email=""),
                name="contact_unique_email",
            ),
        ]
        indexes = [
            # Contact list, newest first.
            models.Index(fields=["workspace", "-created_at"], name="contact_ws_created"),
        ]

    def __str__(self) -> str:
        return self.name or self.phone or self.email or self.public_id

    @property
    def display_name(self) -> str:
        return str(self)


class ContactIdentifier(models.Model):
    """A contact's address on one channel type (a phone, a Telegram chat id, ...)."""

    workspace = models.ForeignKey("inbox.Workspace", on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="identifiers")
    channel_type = models.CharField(max_length=16)
    value = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["channel_type", "value"]
        constraints = [
            # Also the index for "who is this inbound sender?" lookups.
            models.UniqueConstraint(
                fields=["workspace", "channel_type", "value"], name="identifier_unique_address"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel_type}:{self.value}"


class Conversation(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        PENDING = "pending", "Pending"
        SNOOZED = "snoozed", "Snoozed"
        CLOSED = "closed", "Closed"

    class Priority(models.TextChoices):
        LOW = "low", "Low"
        NORMAL = "normal", "Normal"
        HIGH = "high", "High"
        URGENT = "urgent", "Urgent"

    class Resolution(models.TextChoices):
        RESOLVED = "resolved", "Resolved"
        UNRESOLVED = "unresolved", "Unresolved"
        SPAM = "spam", "Spam"

    ACTIVE_STATUSES = (Status.OPEN, Status.PENDING, Status.SNOOZED)

    public_id = PublicIdField(prefix="conv")
    workspace = models.ForeignKey(
        "inbox.Workspace", on_delete=models.CASCADE, related_name="conversations"
    )
    channel = models.ForeignKey(
        "channels_app.Channel", on_delete=models.CASCADE, related_name="conversations"
    )
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="conversations")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    priority = models.CharField(max_length=16, choices=Priority.choices, default=Priority.NORMAL)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_conversations",
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tags = models.JSONField(default=list, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # Counters kept by the services in the same transaction as the messages.
    unread_count = models.PositiveIntegerField(default=0)
    message_count = models.PositiveIntegerField(default=0)
    # The newest visible message, so lists show a preview without a subquery.
    last_message = models.ForeignKey(
        "Message", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    first_message_at = models.DateTimeField(null=True, blank=True)
    last_message_at = models.DateTimeField(null=True, blank=True)
    # Start of the WhatsApp-style 24-hour customer window.
    last_inbound_at = models.DateTimeField(null=True, blank=True)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution = models.CharField(max_length=16, choices=Resolution.choices, blank=True)
    closure_reason = models.CharField(max_length=500, blank=True)
    closure_notes = models.TextField(blank=True)
    reopened_at = models.DateTimeField(null=True, blank=True)
    reopened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-last_message_at", "-id"]
        constraints = [
            # One active conversation per contact and channel: inbound
            # messages and `send_message(to=...)` find it, never fork it.
            models.UniqueConstraint(
                fields=["channel", "contact"],
                condition=Q(status__in=["open", "pending", "snoozed"]),
                name="conversation_one_active_per_contact",
            ),
            models.CheckConstraint(
                condition=~Q(status="snoozed") | Q(snoozed_until__isnull=False),
                name="conversation_snoozed_has_until",
            ),
        ]
        indexes = [
            # Inbox list: a workspace's conversations in a status, newest activity first.
            models.Index(
                fields=["workspace", "status", "-last_message_at"], name="conv_ws_status_activity"
            ),
            # "Mine" tab and `assigneeId` filter.
            models.Index(
                fields=["workspace", "assignee", "status"], name="conv_ws_assignee_status"
            ),
            # API list, default sort `updatedAt` desc.
            models.Index(fields=["workspace", "-updated_at"], name="conv_ws_updated"),
            # The periodic task that wakes snoozed conversations.
            models.Index(
                fields=["snoozed_until"],
                condition=Q(status="snoozed"),
                name="conv_snoozed_due",
            ),
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE_STATUSES


class Message(models.Model):
    class Direction(models.TextChoices):
        INBOUND = "inbound", "Inbound"
        OUTBOUND = "outbound", "Outbound"

    class Sender(models.TextChoices):
        AGENT = "agent", "Agent"
        CONTACT = "contact", "Contact"
        BOT = "bot", "Bot"
        SYSTEM = "system", "System"

    class ContentType(models.TextChoices):
        TEXT = "text", "Text"
        IMAGE = "image", "Image"
        DOCUMENT = "document", "Document"
        AUDIO = "audio", "Audio"
        VIDEO = "video", "Video"
        LOCATION = "location", "Location"
        BUTTONS = "buttons", "Buttons"
        TEMPLATE = "template", "Template"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        READ = "read", "Read"
        FAILED = "failed", "Failed"

    public_id = PublicIdField(prefix="msg")
    # Denormalised from the conversation so workspace-wide lists use one index.
    workspace = models.ForeignKey(
        "inbox.Workspace", on_delete=models.CASCADE, related_name="messages"
    )
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    channel = models.ForeignKey(
        "channels_app.Channel", on_delete=models.CASCADE, related_name="messages"
    )
    direction = models.CharField(max_length=8, choices=Direction.choices)
    sender_type = models.CharField(max_length=8, choices=Sender.choices)
    sender_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_address = models.CharField(max_length=255, blank=True)
    to_address = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=16, choices=ContentType.choices)
    # The content object exactly as the API accepts and renders it.
    content = models.JSONField(default=dict)
    # Plain text extracted from `content`, for search and previews.
    text = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # [{"status": "sent", "timestamp": "...Z"}, ...] in the order they happened.
    status_history = models.JSONField(default=list, blank=True)
    provider_message_id = models.CharField(max_length=255, null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    is_private = models.BooleanField(default=False, help_text="Private note for agents only.")
    reply_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies"
    )
    scheduled_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    failure_code = models.CharField(max_length=100, blank=True)
    failure_reason = models.CharField(max_length=1000, blank=True)
    # Set when a delivery task claims the message, so a duplicate task skips it.
    delivery_claimed_at = models.DateTimeField(null=True, blank=True)
    delivery_attempts = models.PositiveSmallIntegerField(default=0)
    # When a retry after a transient failure is due; the sweep re-queues a
    # retry that is long overdue (its task was lost).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_for_everyone = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # Dedupe of provider webhooks: a retried webhook finds the row.
            models.UniqueConstraint(
                fields=["channel", "provider_message_id"],
                condition=Q(provider_message_id__isnull=False),
                name="message_unique_provider_id",
            ),
            # `Idempotency-Key` on send: one message per key and workspace.
            models.UniqueConstraint(
                fields=["workspace", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="message_unique_idempotency_key",
            ),
        ]
        indexes = [
            # Conversation thread: keyset pages on (created_at, id).
            models.Index(fields=["conversation", "created_at", "id"], name="msg_thread"),
            # GET /messages: a workspace's messages, newest first.
            models.Index(fields=["workspace", "-created_at", "-id"], name="msg_ws_created"),
            # Channel health and stats: a channel's messages in a time window.
            models.Index(fields=["channel", "created_at"], name="msg_channel_created"),
            # Unread count and bulk read: unread inbound messages of a conversation.
            models.Index(
                fields=["conversation", "created_at"],
                condition=Q(direction="inbound", read_at__isnull=True, deleted_at__isnull=True),
                name="msg_unread_inbound",
            ),
            # Scheduler and stuck-message sweep: pending messages by due time.
            models.Index(
                fields=["scheduled_at", "created_at"],
                condition=Q(status="pending"),
                name="msg_pending_due",
            ),
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class EarlyStatusReport(models.Model):
    """A provider's status report for a message whose send answer is not recorded yet.

    Providers can call back before the send request has answered (Twilio's
    `queued`/`sent`, Meta's `sent`): the message has no provider id yet to be
    found by. The report waits here and is applied when the send result is
    recorded; reports nobody claims are purged after a day.
    """

    channel = models.ForeignKey("channels_app.Channel", on_delete=models.CASCADE, related_name="+")
    provider_message_id = models.CharField(max_length=255)
    status = models.CharField(max_length=16)
    reported_at = models.DateTimeField()
    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        indexes = [
            # Looked up when the send result names the provider id.
            models.Index(fields=["channel", "provider_message_id"], name="early_status_lookup"),
            # Purge of reports nobody claimed.
            models.Index(fields=["created_at"], name="early_status_created"),
        ]

    def __str__(self) -> str:
        return f"{self.provider_message_id}: {self.status}"


class Attachment(models.Model):
    """A file on a message: stored on the default storage, or an external URL."""

    public_id = PublicIdField(prefix="att")
    workspace = models.ForeignKey("inbox.Workspace", on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="attachments/%Y/%m/", max_length=500, blank=True)
    external_url = models.URLField(max_length=2000, blank=True)
    filename = models.CharField(max_length=255, blank=True)
    mime_type = models.CharField(max_length=127, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(file="") | ~Q(external_url=""),
                name="attachment_has_file_or_url",
            ),
        ]

    def __str__(self) -> str:
        return self.filename or self.public_id

    @property
    def url(self) -> str:
        return self.file.url if self.file else self.external_url


class MediaUpload(models.Model):
    """A file uploaded ahead of a message; it expires unless a message uses it."""

    public_id = PublicIdField(prefix="media")
    workspace = models.ForeignKey("inbox.Workspace", on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=16)
    file = models.FileField(upload_to="uploads/%Y/%m/", max_length=500)
    filename = models.CharField(max_length=255, blank=True)
    mime_type = models.CharField(max_length=127)
    size = models.PositiveBigIntegerField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # Periodic clean-up of expired, unused uploads.
            models.Index(
                fields=["expires_at"], condition=Q(used_at__isnull=True), name="media_expiring"
            ),
        ]

    def __str__(self) -> str:
        return self.public_id


class Reaction(models.Model):
    class Kind(models.TextChoices):
        LOVE = "love", "Love"
        LIKE = "like", "Like"
        DISLIKE = "dislike", "Dislike"
        LAUGH = "laugh", "Laugh"
        EMPHASIZE = "emphasize", "Emphasize"
        QUESTION = "question", "Question"

    class Actor(models.TextChoices):
        CONTACT = "contact", "Contact"
        AGENT = "agent", "Agent"

    public_id = PublicIdField(prefix="rx")
    workspace = models.ForeignKey("inbox.Workspace", on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reactions")
    emoji = models.CharField(max_length=32)
    # The tapback name where the reaction is one (iMessage-style), else empty.
    kind = models.CharField(max_length=16, choices=Kind.choices, blank=True)
    actor_type = models.CharField(max_length=8, choices=Actor.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # One live reaction per actor and emoji on a message.
            models.UniqueConstraint(
                fields=["message", "actor_user", "emoji"],
                condition=Q(removed_at__isnull=True, actor_type="agent"),
                name="reaction_unique_agent",
            ),
            models.UniqueConstraint(
                fields=["message", "actor_contact", "emoji"],
                condition=Q(removed_at__isnull=True, actor_type="contact"),
                name="reaction_unique_contact",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.emoji} on {self.message_id}"


class OutboxEvent(models.Model):
    """A domain event, written in the transaction of the change it describes.

    Webhook delivery and live updates read from here after commit, so an event
    is never lost when a worker is down and never sent for a rolled-back change.
    """

    public_id = PublicIdField(prefix="evt")
    workspace = models.ForeignKey("inbox.Workspace", on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=64)
    # Events of one conversation are delivered in order; this is their key.
    conversation_public_id = models.CharField(max_length=40, blank=True)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # Dispatcher: undispatched events in commit order.
            models.Index(
                fields=["id"], condition=Q(dispatched_at__isnull=True), name="outbox_undispatched"
            ),
            # Live-update catch-up: a workspace's events after a given id.
            models.Index(fields=["workspace", "id"], name="outbox_ws_id"),
            # A conversation's history: the inbox thread's system events and
            # its participants, without scanning the workspace's whole outbox.
            models.Index(
                fields=["conversation_public_id", "created_at"],
                condition=~Q(conversation_public_id=""),
                name="outbox_conversation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.public_id}"


class WebhookEndpoint(models.Model):
    """An integration's URL that receives the workspace's events, signed with `secret`.

    Written only by `messaging.services.webhooks`. The secret is stored in the
    clear because every delivery is signed with it (a hash could not sign);
    it is shown once, in the response that creates (or rotates) it.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        INACTIVE = "inactive", "Inactive"

    public_id = PublicIdField(prefix="wh")
    workspace = models.ForeignKey(
        "inbox.Workspace", on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(max_length=2000)
    # Event names (`message.received`, ...) or ["*"] for every event.
    events = models.JSONField(default=list)
    description = models.CharField(max_length=500, blank=True)
    # Extra headers sent with every delivery, e.g. {"Authorization": "Bearer ..."}.
    headers = models.JSONField(default=dict, blank=True)
    secret = models.CharField(max_length=100)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    # Automatic retries after the first attempt (1 min, 5 min, 30 min, 2 h, then 2 h).
    max_retries = models.PositiveSmallIntegerField(default=4)
    timeout_seconds = models.PositiveSmallIntegerField(default=10)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # GET /webhooks: a workspace's endpoints, newest first.
            models.Index(fields=["workspace", "-created_at"], name="webhook_ws_created"),
            # Dispatcher: the active endpoints of a workspace.
            models.Index(fields=["workspace", "status"], name="webhook_ws_status"),
        ]

    def __str__(self) -> str:
        return self.description or self.url


class WebhookDelivery(models.Model):
    """One event sent (or to be sent) to one endpoint, with its latest attempt.

    `public_id` is the `X-Inbox-Delivery-Id` header, the same across retries.
    A delivery is `pending` until it succeeds or its retries run out; a claim
    (`claimed_at`) marks the attempt in flight, so a duplicate task sends nothing.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    public_id = PublicIdField(prefix="del")
    workspace = models.ForeignKey("inbox.Workspace", on_delete=models.CASCADE, related_name="+")
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    # Null for test pings, which are not domain events.
    outbox_event = models.ForeignKey(
        OutboxEvent, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    event = models.CharField(max_length=64)
    # Copied from the outbox event: deliveries of one conversation go out in order.
    conversation_public_id = models.CharField(max_length=40, blank=True)
    is_test = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    # The JSON body, fixed when the delivery is created, so retries send the same bytes.
    request_body = models.TextField()
    # The headers of the latest attempt (signature and timestamp change per attempt).
    request_headers = models.JSONField(default=dict, blank=True)
    response_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    # The first 2 KB of the endpoint's answer.
    response_body = models.TextField(blank=True)
    error = models.CharField(max_length=1000, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            # Dispatching an event twice creates nothing twice.
            models.UniqueConstraint(
                fields=["endpoint", "outbox_event"],
                condition=Q(outbox_event__isnull=False),
                name="webhook_delivery_once_per_event",
            ),
        ]
        indexes = [
            # Delivery log of an endpoint, newest first; also its latest delivery.
            models.Index(fields=["endpoint", "-id"], name="whdel_endpoint_log"),
            # Ordering: an earlier pending delivery of the same endpoint and conversation.
            models.Index(
                fields=["endpoint", "conversation_public_id", "outbox_event"],
                condition=Q(status="pending"),
                name="whdel_pending_in_order",
            ),
            # Beat sweep: pending deliveries whose (re)try is due.
            models.Index(
                fields=["next_attempt_at"], condition=Q(status="pending"), name="whdel_pending_due"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event} {self.public_id}"
