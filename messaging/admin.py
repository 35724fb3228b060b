"""The operators' admin for the conversation domain.

Contacts are created and edited through `create_contact`/`update_contact`;
conversations are edited through `update_conversation` (priority, tags,
metadata) and `assign_conversation`, and closed or reopened by actions that
call `close_conversation`/`reopen_conversation`. Messages, attachments,
reactions, contact identifiers, media uploads and outbox events are written
only by the messaging flows, so they are view-only here; failed messages can
be retried (`retry_message`) and messages soft-deleted (`delete_message`).

Every changelist selects or prefetches what its columns show, so a page costs
the same number of queries whatever its size (pinned in tests/*/test_admin.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from django import forms
from django.contrib import admin
from django.db import models
from django.db.models import Model, QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from channels_app.models import Channel
from inbox.admin import (
    ReadOnlyAdmin,
    ReadOnlyInline,
    ServiceAdmin,
    admin_link,
    adopt,
    badge,
    choices_filter,
    https_urls,
    pretty_json,
    run_service_action,
    short_json,
    truncate,
)
from messaging.events import EVENT_TYPES
from messaging.models import (
    Attachment,
    Contact,
    ContactIdentifier,
    Conversation,
    MediaUpload,
    Message,
    OutboxEvent,
    Reaction,
    WebhookDelivery,
    WebhookEndpoint,
)
from messaging.services import (
    assign_conversation,
    close_conversation,
    create_contact,
    delete_message,
    reopen_conversation,
    retry_message,
    update_contact,
    update_conversation,
)
from messaging.services import webhooks as webhook_services
from messaging.services.media import MEDIA_RULES

# The largest tables get a static date filter rather than a date hierarchy,
# whose MIN/MAX and DISTINCT-date queries scan the whole table on every page.
CREATED = ("created_at", admin.DateFieldListFilter)
ChannelTypeFilter = choices_filter("channel_type", "channel type", Channel.Type.choices)
MediaTypeFilter = choices_filter("type", "media type", [(t, t) for t in MEDIA_RULES])
EventFilter = choices_filter("event", "event", [(e, e) for e in EVENT_TYPES])

# How many messages the conversation page shows inline; the full thread is a
# click away in the message list, filtered to the conversation.
RECENT_MESSAGES = 50
RECENT_CONVERSATIONS = 20


def human_size(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # pragma: no cover - the loop always returns


def status_timeline(history: list[dict[str, Any]]) -> SafeString:
    """The status history as a small table: status badge, then when it happened."""
    if not history:
        return format_html("<span>-</span>")
    rows = format_html_join(
        "",
        '<tr><td style="padding:2px 8px 2px 0">{}</td><td style="padding:2px 0">{}</td></tr>',
        (
            (badge(entry.get("status", "?")), entry.get("timestamp", ""))
            for entry in history
            if isinstance(entry, dict)
        ),
    )
    return format_html('<table style="border:0">{}</table>', rows)


def message_extras(message: Message) -> str:
    """Attachments and live reactions in one cell, from prefetched rows."""
    attachments = list(message.attachments.all())
    reactions = [r.emoji for r in message.reactions.all() if r.removed_at is None]
    parts = []
    if attachments:
        names = ", ".join(a.filename or a.mime_type or a.public_id for a in attachments)
        parts.append(f"📎 {len(attachments)}: {truncate(names, 60)}")
    if reactions:
        parts.append(" ".join(reactions))
    return " · ".join(parts) or "-"


def sender_label(message: Message) -> str:
    if message.sender_user_id:
        return f"{message.get_sender_type_display()}: {message.sender_user}"
    return message.get_sender_type_display()


# --- Contacts --------------------------------------------------------------------


class ContactIdentifierInline(ReadOnlyInline):
    model = ContactIdentifier
    fields = ("channel_type", "value", "created_at")
    readonly_fields = fields


class RecentConversationsFormSet(BaseInlineFormSet):
    def get_queryset(self) -> QuerySet:
        # The formset filters by the parent first, so the limit can only be
        # applied here, after that filter.
        if not hasattr(self, "_recent"):
            self._recent = super().get_queryset()[:RECENT_CONVERSATIONS]
        return self._recent


class ConversationOfContactInline(ReadOnlyInline):
    model = Conversation
    formset = RecentConversationsFormSet
    fk_name = "contact"
    fields = ("channel", "status_badge", "message_count", "last_message_at")
    readonly_fields = fields
    verbose_name_plural = f"Conversations (latest {RECENT_CONVERSATIONS})"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("channel", "contact")

    @admin.display(description="Status")
    def status_badge(self, obj: Conversation) -> str:
        return badge(obj.status, obj.get_status_display())


class ContactForm(forms.ModelForm):
    """Shape checks the services leave to their callers (the API's serializers)."""

    class Meta:
        model = Contact
        fields = ("workspace", "name", "phone", "email", "avatar_url", "tags", "metadata")
        formfield_callback = https_urls

    def clean_tags(self) -> list[str]:
        tags = self.cleaned_data.get("tags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise forms.ValidationError('Must be a JSON list of strings, e.g. ["vip"].')
        return tags

    def clean_metadata(self) -> dict[str, Any]:
        metadata = self.cleaned_data.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise forms.ValidationError("Must be a JSON object.")
        return metadata


@admin.register(Contact)
class ContactAdmin(ServiceAdmin):
    form = ContactForm
    list_display = ("__str__", "phone", "email", "workspace", "identifier_list", "created_at")
    list_select_related = ("workspace",)
    list_filter = ("workspace",)
    search_fields = ("name", "phone", "email", "public_id", "identifiers__value")
    autocomplete_fields = ("workspace",)
    date_hierarchy = "created_at"
    inlines = (ContactIdentifierInline, ConversationOfContactInline)
    formfield_overrides: ClassVar[dict] = {models.URLField: {"assume_scheme": "https"}}
    editable_fields = ("name", "phone", "email", "avatar_url", "tags", "metadata")
    readonly_fields = ("public_id", "workspace", "created_at", "updated_at")

    def get_fields(self, request: HttpRequest, obj: Contact | None = None) -> Iterable[str]:
        if obj is None:
            return ("workspace", *self.editable_fields)
        return ("public_id", "workspace", *self.editable_fields, "created_at", "updated_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Contact | None = None) -> Iterable:
        return ("public_id", "created_at", "updated_at") if obj is None else self.readonly_fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).prefetch_related("identifiers")

    @admin.display(description="Identifiers")
    def identifier_list(self, obj: Contact) -> str:
        return ", ".join(str(i) for i in obj.identifiers.all()) or "-"

    def save_model(
        self, request: HttpRequest, obj: Contact, form: forms.ModelForm, change: bool
    ) -> None:
        data = form.cleaned_data
        if not change:
            contact = create_contact(
                workspace=data["workspace"],
                name=data.get("name") or "",
                phone=data.get("phone") or "",
                email=data.get("email") or "",
                avatar_url=data.get("avatar_url") or "",
                metadata=data.get("metadata") or {},
                tags=data.get("tags") or [],
            )
        else:
            changes = {f: data[f] for f in self.editable_fields if f in form.changed_data}
            if not changes:
                return
            contact = update_contact(contact=obj, **changes)
        adopt(obj, contact)


@admin.register(ContactIdentifier)
class ContactIdentifierAdmin(ReadOnlyAdmin):
    list_display = ("value", "channel_type", "contact_link", "workspace", "created_at")
    list_select_related = ("contact", "workspace")
    list_filter = (ChannelTypeFilter, "workspace")
    search_fields = ("value", "contact__name", "contact__phone", "contact__email")
    fields = ("contact", "workspace", "channel_type", "value", "created_at")

    @admin.display(description="Contact", ordering="contact__name")
    def contact_link(self, obj: ContactIdentifier) -> str:
        return admin_link(obj.contact)


# --- Conversations ----------------------------------------------------------------


class RecentMessagesFormSet(BaseInlineFormSet):
    def get_queryset(self) -> QuerySet:
        # Newest first, limited after the formset's own filter by conversation.
        if not hasattr(self, "_recent"):
            self._recent = super().get_queryset().order_by("-created_at", "-id")[:RECENT_MESSAGES]
        return self._recent


class MessageInline(ReadOnlyInline):
    model = Message
    formset = RecentMessagesFormSet
    fields = (
        "created_at",
        "direction",
        "sender",
        "status_badge",
        "content_type",
        "preview",
        "extras",
    )
    readonly_fields = fields
    verbose_name_plural = f"Messages (newest {RECENT_MESSAGES}, newest first)"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # Everything the columns read, in three queries for the whole table.
        return (
            super()
            .get_queryset(request)
            .select_related("sender_user", "conversation")
            .prefetch_related("attachments", "reactions")
        )

    @admin.display(description="Sender")
    def sender(self, obj: Message) -> str:
        return sender_label(obj)

    @admin.display(description="Status")
    def status_badge(self, obj: Message) -> str:
        return badge(obj.status, obj.get_status_display())

    @admin.display(description="Text")
    def preview(self, obj: Message) -> str:
        if obj.deleted_at:
            return "(deleted)"
        prefix = "🔒 " if obj.is_private else ""
        return prefix + truncate(obj.text, 100)

    @admin.display(description="Attachments · reactions")
    def extras(self, obj: Message) -> str:
        return message_extras(obj)


@admin.register(Conversation)
class ConversationAdmin(ServiceAdmin):
    list_display = (
        "public_id",
        "contact_link",
        "channel_link",
        "workspace",
        "status_badge",
        "priority",
        "assignee",
        "message_count",
        "unread_count",
        "last_preview",
        "last_message_at",
    )
    list_select_related = ("contact", "channel", "workspace", "assignee", "last_message")
    list_filter = ("status", "priority", "channel__type", "workspace", "channel", "assignee")
    search_fields = ("public_id", "contact__name", "contact__phone", "contact__email")
    autocomplete_fields = ("assignee",)
    date_hierarchy = "created_at"
    actions = ("close_conversations", "reopen_conversations")
    inlines = (MessageInline,)
    domain_error_fields: ClassVar[dict[str, str]] = {"assigneeId": "assignee"}
    readonly_fields = (
        "public_id",
        "workspace",
        "contact_link",
        "channel_link",
        "status_badge",
        "all_messages",
        "message_count",
        "unread_count",
        "first_message_at",
        "last_message_at",
        "last_inbound_at",
        "snoozed_until",
        "assigned_at",
        "assigned_by",
        "closed_at",
        "closed_by",
        "resolution",
        "closure_reason",
        "closure_notes",
        "reopened_at",
        "reopened_by",
        "created_at",
        "updated_at",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "public_id",
                    "workspace",
                    "contact_link",
                    "channel_link",
                    "status_badge",
                    "all_messages",
                )
            },
        ),
        (
            "Triage",
            {
                "fields": ("priority", "assignee", "tags", "metadata"),
                "description": "Status changes are actions on the conversation list.",
            },
        ),
        (
            "Counters",
            {
                "fields": (
                    "message_count",
                    "unread_count",
                    "first_message_at",
                    "last_message_at",
                    "last_inbound_at",
                )
            },
        ),
        (
            "History",
            {
                "fields": (
                    "snoozed_until",
                    "assigned_at",
                    "assigned_by",
                    "closed_at",
                    "closed_by",
                    "resolution",
                    "closure_reason",
                    "closure_notes",
                    "reopened_at",
                    "reopened_by",
                    "created_at",
                    "updated_at",
                )
            },
        ),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Conversations start from a message (`receive_message`, `send_message`).
        return False

    def get_form(
        self, request: HttpRequest, obj: Model | None = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm]:
        form = super().get_form(request, obj, change, **kwargs)
        if "metadata" in form.base_fields:
            form.base_fields[
                "metadata"
            ].help_text = "Keys are merged into the stored metadata; a key removed here is kept."
        return form

    @admin.display(description="Contact", ordering="contact__name")
    def contact_link(self, obj: Conversation) -> str:
        return admin_link(obj.contact)

    @admin.display(description="Channel", ordering="channel__name")
    def channel_link(self, obj: Conversation) -> str:
        return admin_link(obj.channel)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: Conversation) -> str:
        return badge(obj.status, obj.get_status_display())

    @admin.display(description="Last message")
    def last_preview(self, obj: Conversation) -> str:
        return truncate(obj.last_message.text, 60) if obj.last_message else "-"

    @admin.display(description="Thread")
    def all_messages(self, obj: Conversation) -> str:
        url = reverse("admin:messaging_message_changelist") + f"?conversation__id__exact={obj.pk}"
        return format_html('<a href="{}">All {} messages</a>', url, obj.message_count)

    def save_model(
        self, request: HttpRequest, obj: Conversation, form: forms.ModelForm, change: bool
    ) -> None:
        data = form.cleaned_data
        changed = set(form.changed_data)
        conversation = obj
        if "assignee" in changed:
            conversation = assign_conversation(
                conversation=conversation, assignee=data.get("assignee"), by=request.user
            )
        updates: dict[str, Any] = {}
        if "priority" in changed:
            updates["priority"] = data["priority"]
        if "tags" in changed:
            updates["tags"] = data.get("tags") or []
        if "metadata" in changed:
            updates["metadata"] = data.get("metadata") or {}
        if updates:
            conversation = update_conversation(
                conversation=conversation, by=request.user, **updates
            )
        if conversation is not obj:
            adopt(obj, conversation)

    @admin.action(description="Close selected conversations (resolved)", permissions=["operate"])
    def close_conversations(self, request: HttpRequest, queryset: QuerySet) -> None:
        run_service_action(
            request,
            queryset,
            lambda conversation: close_conversation(conversation=conversation, by=request.user),
            done="Closed",
        )

    @admin.action(description="Reopen selected conversations", permissions=["operate"])
    def reopen_conversations(self, request: HttpRequest, queryset: QuerySet) -> None:
        run_service_action(
            request,
            queryset,
            lambda conversation: reopen_conversation(conversation=conversation, by=request.user),
            done="Reopened",
        )


# --- Messages ----------------------------------------------------------------------


class AttachmentInline(ReadOnlyInline):
    model = Attachment
    fields = ("filename", "mime_type", "size_display", "open_link", "created_at")
    readonly_fields = fields

    @admin.display(description="Size")
    def size_display(self, obj: Attachment) -> str:
        return human_size(obj.size)

    @admin.display(description="File")
    def open_link(self, obj: Attachment) -> str:
        return format_html('<a href="{}">open</a>', obj.url) if obj.url else "-"


class ReactionInline(ReadOnlyInline):
    model = Reaction
    fk_name = "message"
    fields = ("emoji", "kind", "actor", "created_at", "removed_at")
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("actor_user", "actor_contact")

    @admin.display(description="By")
    def actor(self, obj: Reaction) -> str:
        return str(obj.actor_user or obj.actor_contact or "the workspace")


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "created_at",
        "conversation_link",
        "channel",
        "direction",
        "sender",
        "content_type",
        "status_badge",
        "preview",
    )
    list_select_related = ("conversation", "channel", "sender_user")
    list_filter = (
        "status",
        "direction",
        "content_type",
        "channel__type",
        "is_private",
        CREATED,
        "workspace",
        "channel",
    )
    search_fields = (
        "text",
        "public_id",
        "provider_message_id",
        "conversation__public_id",
        "from_address",
        "to_address",
    )
    list_per_page = 100
    # Newest first by primary key: the index every database already has.
    ordering = ("-id",)
    # A second COUNT(*) over the whole table on every page is not worth it.
    show_full_result_count = False
    actions = ("retry_messages", "soft_delete_messages")
    inlines = (AttachmentInline, ReactionInline)
    readonly_fields = (
        "content_display",
        "status_timeline_display",
        "metadata_display",
        "conversation_link",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "public_id",
                    "workspace",
                    "conversation_link",
                    "channel",
                    "direction",
                    "sender_type",
                    "sender_user",
                    "from_address",
                    "to_address",
                    "reply_to",
                    "is_private",
                )
            },
        ),
        ("Content", {"fields": ("content_type", "text", "content_display", "metadata_display")}),
        (
            "Delivery",
            {
                "fields": (
                    "status",
                    "status_timeline_display",
                    "provider_message_id",
                    "failure_code",
                    "failure_reason",
                    "delivery_attempts",
                    "delivery_claimed_at",
                    "idempotency_key",
                )
            },
        ),
        (
            "Timestamps",
            {
                "fields": (
                    "created_at",
                    "scheduled_at",
                    "sent_at",
                    "delivered_at",
                    "read_at",
                    "edited_at",
                    "deleted_at",
                    "deleted_for_everyone",
                    "updated_at",
                )
            },
        ),
    )

    @admin.display(description="Conversation", ordering="conversation")
    def conversation_link(self, obj: Message) -> str:
        return admin_link(obj.conversation)

    @admin.display(description="Sender")
    def sender(self, obj: Message) -> str:
        return sender_label(obj)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: Message) -> str:
        return badge(obj.status, obj.get_status_display())

    @admin.display(description="Text")
    def preview(self, obj: Message) -> str:
        return "(deleted)" if obj.deleted_at else truncate(obj.text, 80)

    @admin.display(description="Content")
    def content_display(self, obj: Message) -> str:
        return pretty_json(obj.content)

    @admin.display(description="Metadata")
    def metadata_display(self, obj: Message) -> str:
        return pretty_json(obj.metadata)

    @admin.display(description="Status history")
    def status_timeline_display(self, obj: Message) -> str:
        return status_timeline(obj.status_history)

    @admin.action(description="Retry selected failed messages", permissions=["operate"])
    def retry_messages(self, request: HttpRequest, queryset: QuerySet) -> None:
        run_service_action(
            request, queryset, lambda message: retry_message(message=message), done="Queued again"
        )

    @admin.action(
        description="Delete selected messages (soft, for the inbox only)", permissions=["operate"]
    )
    def soft_delete_messages(self, request: HttpRequest, queryset: QuerySet) -> None:
        # `delete_message` reads the channel's capabilities; load it with the rows.
        run_service_action(
            request,
            queryset.select_related("channel", "workspace", "conversation"),
            lambda message: delete_message(message=message),
            done="Deleted",
        )


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdmin):
    ordering = ("-id",)
    show_full_result_count = False
    list_display = (
        "__str__",
        "mime_type",
        "size_display",
        "message_link",
        "workspace",
        "created_at",
    )
    list_select_related = ("message", "workspace")
    list_filter = (CREATED, "workspace")
    search_fields = ("filename", "public_id", "message__public_id", "mime_type")
    fields = (
        "public_id",
        "workspace",
        "message",
        "filename",
        "mime_type",
        "size_display",
        "open_link",
        "external_url",
        "created_at",
    )
    readonly_fields = ("size_display", "open_link")

    @admin.display(description="Message", ordering="message")
    def message_link(self, obj: Attachment) -> str:
        return admin_link(obj.message)

    @admin.display(description="Size", ordering="size")
    def size_display(self, obj: Attachment) -> str:
        return human_size(obj.size)

    @admin.display(description="File")
    def open_link(self, obj: Attachment) -> str:
        return format_html('<a href="{}">open</a>', obj.url) if obj.url else "-"


@admin.register(MediaUpload)
class MediaUploadAdmin(ReadOnlyAdmin):
    list_display = (
        "public_id",
        "type",
        "filename",
        "mime_type",
        "size_display",
        "workspace",
        "created_at",
        "expires_at",
        "used_at",
    )
    list_select_related = ("workspace",)
    list_filter = (MediaTypeFilter, ("used_at", admin.EmptyFieldListFilter), CREATED, "workspace")
    search_fields = ("public_id", "filename")
    fields = (
        "public_id",
        "workspace",
        "type",
        "filename",
        "mime_type",
        "size_display",
        "file",
        "created_at",
        "expires_at",
        "used_at",
    )
    readonly_fields = ("size_display",)

    @admin.display(description="Size", ordering="size")
    def size_display(self, obj: MediaUpload) -> str:
        return human_size(obj.size)


@admin.register(Reaction)
class ReactionAdmin(ReadOnlyAdmin):
    ordering = ("-id",)
    show_full_result_count = False
    list_display = (
        "emoji",
        "kind",
        "message_link",
        "actor",
        "workspace",
        "created_at",
        "removed_at",
    )
    list_select_related = ("message", "workspace", "actor_user", "actor_contact")
    list_filter = (
        "kind",
        "actor_type",
        ("removed_at", admin.EmptyFieldListFilter),
        CREATED,
        "workspace",
    )
    search_fields = ("emoji", "public_id", "message__public_id")
    fields = (
        "public_id",
        "workspace",
        "message",
        "emoji",
        "kind",
        "actor_type",
        "actor_user",
        "actor_contact",
        "created_at",
        "removed_at",
    )

    @admin.display(description="Message", ordering="message")
    def message_link(self, obj: Reaction) -> str:
        return admin_link(obj.message)

    @admin.display(description="By")
    def actor(self, obj: Reaction) -> str:
        return str(obj.actor_user or obj.actor_contact or "the workspace")


class DispatchedFilter(admin.SimpleListFilter):
    title = "dispatched"
    parameter_name = "dispatched"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", "Dispatched"), ("no", "Waiting")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() in ("yes", "no"):
            return queryset.filter(dispatched_at__isnull=self.value() == "no")
        return queryset


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdmin):
    ordering = ("-id",)
    list_display = (
        "id",
        "event",
        "workspace",
        "conversation_public_id",
        "data_summary",
        "created_at",
        "dispatched",
    )
    list_select_related = ("workspace",)
    list_filter = (EventFilter, DispatchedFilter, CREATED, "workspace")
    search_fields = ("public_id", "conversation_public_id")
    list_per_page = 100
    show_full_result_count = False
    fields = (
        "public_id",
        "workspace",
        "event",
        "conversation_public_id",
        "data_display",
        "created_at",
        "dispatched_at",
    )
    readonly_fields = ("data_display",)

    @admin.display(description="Data")
    def data_summary(self, obj: OutboxEvent) -> str:
        return short_json(obj.data, 100)

    @admin.display(description="Data")
    def data_display(self, obj: OutboxEvent) -> str:
        return pretty_json(obj.data)

    @admin.display(description="Dispatched", ordering="dispatched_at")
    def dispatched(self, obj: OutboxEvent) -> str:
        if obj.dispatched_at is None:
            return badge("pending", "waiting")
        return badge("sent", obj.dispatched_at.strftime("%Y-%m-%d %H:%M:%S"))


# --- Webhooks to integrations -------------------------------------------------------
# Endpoints are written by `create_webhook` / `update_webhook` / `delete_webhook`;
# deliveries only by the dispatcher and delivery services, so they are view-only
# here, with a "send again now" action (`retry_webhook_delivery`). The signing
# secret is shown once, on the page that answers the add form, and never again.

WEBHOOK_EVENT_CHOICES = [("*", "All events (*)"), *((e, e) for e in EVENT_TYPES)]
DeliveryEventFilter = choices_filter("event", "event", [(e, e) for e in EVENT_TYPES])

SECRET_CREATED_PAGE = """{% extends "admin/base_site.html" %}
{% block content %}<div id="content-main">
<ul class="messagelist"><li class="warning">Copy this signing secret now. It is shown
only on this page; the integration uses it to verify X-Inbox-Signature.</li></ul>
<fieldset class="module aligned">
<div class="form-row"><label>Signing secret</label>
<code id="webhook-secret" style="font-size:14px;user-select:all">{{ secret }}</code></div>
<div class="form-row"><label>URL</label> {{ webhook.url }}</div>
<div class="form-row"><label>Events</label> {{ webhook.events|join:", " }}</div>
</fieldset>
<p><a href="{{ change_url }}">View the webhook</a></p></div>{% endblock %}"""


class WebhookEndpointForm(forms.ModelForm):
    # A plain text field: the service's URL guard decides (INVALID_URL on `url`).
    url = forms.CharField(max_length=2000)
    events = forms.MultipleChoiceField(
        choices=WEBHOOK_EVENT_CHOICES, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookEndpoint
        fields = (
            "workspace",
            "url",
            "events",
            "description",
            "headers",
            "status",
            "max_retries",
            "timeout_seconds",
        )

    def clean_headers(self) -> dict[str, Any]:
        headers = self.cleaned_data.get("headers") or {}
        if not isinstance(headers, dict):
            raise forms.ValidationError('Must be a JSON object, e.g. {"Authorization": "..."}.')
        return headers


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ServiceAdmin):
    form = WebhookEndpointForm
    list_display = (
        "public_id",
        "url",
        "workspace",
        "status_badge",
        "event_list",
        "deliveries_link",
        "created_at",
    )
    list_select_related = ("workspace",)
    list_filter = ("status", "workspace")
    search_fields = ("public_id", "url", "description")
    autocomplete_fields = ("workspace",)
    actions = ("send_test_pings", "activate_webhooks", "deactivate_webhooks")
    editable_fields = (
        "url",
        "events",
        "description",
        "headers",
        "status",
        "max_retries",
        "timeout_seconds",
    )
    readonly_fields = ("public_id", "workspace", "masked_secret", "created_at", "updated_at")

    def get_fields(self, request: HttpRequest, obj: WebhookEndpoint | None = None) -> Iterable:
        # `secret` is in neither list: no page renders it after the add answer.
        if obj is None:
            return ("workspace", *(f for f in self.editable_fields if f != "status"))
        return ("public_id", "workspace", "masked_secret", *self.editable_fields, "created_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Iterable[str]:
        return ("public_id", "created_at") if obj is None else self.readonly_fields

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # `?secret__startswith=` would let the changelist leak the secret.
        return not lookup.startswith("secret") and super().lookup_allowed(lookup, value, request)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: WebhookEndpoint) -> str:
        return badge(obj.status, obj.get_status_display())

    @admin.display(description="Events")
    def event_list(self, obj: WebhookEndpoint) -> str:
        return truncate(", ".join(obj.events), 80)

    @admin.display(description="Deliveries")
    def deliveries_link(self, obj: WebhookEndpoint) -> str:
        url = reverse("admin:messaging_webhookdelivery_changelist")
        url += f"?endpoint__id__exact={obj.pk}"
        return format_html('<a href="{}">log</a>', url)

    @admin.display(description="Signing secret")
    def masked_secret(self, obj: WebhookEndpoint) -> str:
        return "whsec_•••••••• (shown once at creation; rotate it through the API)"

    def save_model(
        self, request: HttpRequest, obj: WebhookEndpoint, form: forms.ModelForm, change: bool
    ) -> None:
        data = form.cleaned_data
        if not change:
            webhook = webhook_services.create_webhook(
                workspace=data["workspace"],
                url=data["url"],
                events=data["events"],
                description=data.get("description") or "",
                headers=data.get("headers") or {},
                max_retries=data["max_retries"],
                timeout_seconds=data["timeout_seconds"],
            )
            # Kept on the request only, for `response_add` to show once.
            request._webhook_secret = webhook.secret  # type: ignore[attr-defined]
        else:
            changes = {f: data[f] for f in self.editable_fields if f in form.changed_data}
            if not changes:
                return
            webhook = webhook_services.update_webhook(webhook=obj, **changes)
        adopt(obj, webhook)

    def response_add(
        self, request: HttpRequest, obj: WebhookEndpoint, post_url_continue: str | None = None
    ) -> HttpResponse:
        secret = getattr(request, "_webhook_secret", None)
        if secret is None:  # pragma: no cover - save_model always sets it
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "title": "Webhook created",
            "webhook": obj,
            "secret": secret,
            "change_url": reverse("admin:messaging_webhookendpoint_change", args=[obj.pk]),
        }
        page = engines["django"].from_string(SECRET_CREATED_PAGE).render(context, request)
        response = HttpResponse(page)
        add_never_cache_headers(response)
        return response

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # `delete_webhook` exists: deleting removes the endpoint and its log.
        return admin.ModelAdmin.has_delete_permission(self, request, obj)

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple:
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        # The delivery log goes with its endpoint (`delete_webhook`); deleting
        # it needs no delete right on deliveries, which nobody has.
        perms_needed.discard(WebhookDelivery._meta.verbose_name)
        return deleted, counts, perms_needed, protected

    def delete_model(self, request: HttpRequest, obj: WebhookEndpoint) -> None:
        webhook_services.delete_webhook(webhook=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for webhook in queryset:
            webhook_services.delete_webhook(webhook=webhook)

    @admin.action(description="Send a test ping to selected webhooks", permissions=["operate"])
    def send_test_pings(self, request: HttpRequest, queryset: QuerySet) -> None:
        run_service_action(
            request,
            queryset.select_related("workspace"),
            lambda webhook: webhook_services.send_test_webhook(webhook=webhook),
            done="Sent a test ping to",
        )

    @admin.action(description="Activate selected webhooks", permissions=["operate"])
    def activate_webhooks(self, request: HttpRequest, queryset: QuerySet) -> None:
        run_service_action(
            request,
            queryset,
            lambda webhook: webhook_services.update_webhook(webhook=webhook, status="active"),
            done="Activated",
        )

    @admin.action(description="Deactivate selected webhooks", permissions=["operate"])
    def deactivate_webhooks(self, request: HttpRequest, queryset: QuerySet) -> None:
        run_service_action(
            request,
            queryset,
            lambda webhook: webhook_services.update_webhook(webhook=webhook, status="inactive"),
            done="Deactivated",
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    ordering = ("-id",)
    show_full_result_count = False
    list_per_page = 100
    list_display = (
        "public_id",
        "event",
        "endpoint_link",
        "workspace",
        "status_badge",
        "attempts",
        "response_status_code",
        "created_at",
        "last_attempt_at",
    )
    list_select_related = ("endpoint", "workspace")
    list_filter = ("status", DeliveryEventFilter, "is_test", CREATED, "workspace")
    search_fields = ("public_id", "conversation_public_id", "outbox_event__public_id")
    actions = ("retry_deliveries",)
    fields = (
        "public_id",
        "workspace",
        "endpoint_link",
        "event",
        "conversation_public_id",
        "is_test",
        "status",
        "attempts",
        "next_attempt_at",
        "request_headers_display",
        "payload_display",
        "response_status_code",
        "response_body",
        "error",
        "duration_ms",
        "created_at",
        "last_attempt_at",
        "completed_at",
    )
    readonly_fields = ("endpoint_link", "request_headers_display", "payload_display")

    @admin.display(description="Webhook", ordering="endpoint")
    def endpoint_link(self, obj: WebhookDelivery) -> str:
        return admin_link(obj.endpoint, obj.endpoint.public_id)

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: WebhookDelivery) -> str:
        colour = {"succeeded": "delivered"}.get(obj.status, obj.status)
        return badge(colour, obj.get_status_display())

    @admin.display(description="Request headers")
    def request_headers_display(self, obj: WebhookDelivery) -> str:
        return pretty_json(obj.request_headers)

    @admin.display(description="Payload")
    def payload_display(self, obj: WebhookDelivery) -> str:
        return format_html('<pre style="white-space:pre-wrap">{}</pre>', obj.request_body)

    @admin.action(description="Send selected deliveries again now", permissions=["operate"])
    def retry_deliveries(self, request: HttpRequest, queryset: QuerySet) -> None:
        run_service_action(
            request,
            queryset.select_related("endpoint", "workspace"),
            lambda delivery: webhook_services.retry_webhook_delivery(delivery=delivery),
            done="Sent again",
        )
