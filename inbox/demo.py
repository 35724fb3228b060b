"""The demo workspace that `make run` loads: constants here, loader below.

`load_demo` builds a small but realistic support inbox (two agents, one
sandbox channel of each kind, a dozen conversations in every state) through
the service functions only, exactly as the API and the inbox would. It is safe
to run on every start: what exists is kept, and the conversations are seeded
once, so changes made by hand in the demo stick.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from channels_app.models import Channel
from channels_app.services import create_channel
from inbox.errors import PermissionDenied
from inbox.models import Membership, User, Workspace
from inbox.services import create_agent, create_workspace
from messaging.models import Contact, Conversation, Message
from messaging.services import (
    assign_conversation,
    bulk_mark_read,
    close_conversation,
    deliver_message,
    react_to_message,
    receive_message,
    send_message,
    snooze_conversation,
    update_contact,
    update_conversation,
    update_message_status,
)

DEMO_WORKSPACE_SLUG = "demo"
DEMO_WORKSPACE_NAME = "Demo Support"
# (email, password, role shown in the start-up banner). Development only:
# `load_demo` refuses to run in production.
DEMO_LOGINS = (
    ("admin@demo.inbox.test", "demo-admin-2026", "operator: admin + superuser"),
    ("agent@demo.inbox.test", "demo-agent-2026", "agent"),
)

# Who each demo login is: (email, display name, workspace role, Django admin
# access). The emails come from DEMO_LOGINS so the banner and the loader cannot
# drift apart.
ADMIN = "admin"
AGENT = "agent"
_PEOPLE: dict[str, tuple[str, str, str, bool]] = {
    ADMIN: (DEMO_LOGINS[0][0], "Morgan Lee", Membership.Role.ADMIN, True),
    AGENT: (DEMO_LOGINS[1][0], "Sam Rivera", Membership.Role.AGENT, False),
}
_PASSWORDS = {email: password for email, password, _ in DEMO_LOGINS}

# One sandbox channel per kind: sends "succeed" without a provider account, so
# the whole status path (pending -> sent -> delivered -> read) is real.
DEMO_CHANNELS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("whatsapp", "WhatsApp Support", {"sandbox": True, "phoneNumber": "+15550100001"}),
    ("sms", "SMS Line", {"sandbox": True, "phoneNumber": "+15550100002"}),
    ("telegram", "Telegram Bot", {"sandbox": True, "botUsername": "DemoSupportBot"}),
    (
        "email",
        "Support Email",
        {"sandbox": True, "fromEmail": "support@demo.inbox.test", "fromName": "Demo Support"},
    ),
    (
        "webchat",
        "Website Chat",
        {
            "sandbox": True,
            "allowedOrigins": ["http://127.0.0.1:8000", "http://localhost:8000"],
            "theme": {
                "color": "#2563eb",
                "header": "Demo Support",
                "welcomeMessage": "Hi there! Ask us anything; we usually answer within minutes.",
            },
        },
    ),
    ("api", "CRM Integration", {"sandbox": True}),
)

# Every seeded inbound message carries a provider id `demo-<n>` and every
# outbound one an idempotency key `demo-out-<n>`; either one present means the
# conversations were seeded already.
INBOUND_ID_PREFIX = "demo-"
OUTBOUND_KEY_PREFIX = "demo-out-"


# --- The script: what happens in each demo conversation -----------------------


@dataclass(frozen=True)
class In:
    """The contact writes."""

    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Out:
    """An agent replies; `status` is how far the (sandbox) provider gets it."""

    text: str
    by: str = AGENT
    status: str = Message.Status.SENT
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Note:
    """A private note between agents; the contact never sees it."""

    text: str
    by: str = AGENT


@dataclass(frozen=True)
class Read:
    """An agent opens the conversation: everything inbound so far is read."""


@dataclass(frozen=True)
class React:
    """A reaction on the step at index `to` of the same conversation."""

    to: int
    emoji: str
    by: str  # "contact", or a demo person (ADMIN/AGENT)


Step = In | Out | Note | Read | React


@dataclass(frozen=True)
class DemoConversation:
    channel: str
    address: str
    name: str
    steps: tuple[Step, ...]
    # Inbound messages before the first reply are dated this long ago, so the
    # list shows a spread of ages (outbound messages are always "now").
    minutes_ago: int = 0
    contact: dict[str, Any] = field(default_factory=dict)
    assignee: str | None = None
    priority: str | None = None
    tags: tuple[str, ...] = ()
    snooze: bool = False
    close: tuple[str, str] | None = None  # (resolution, reason)


# Oldest activity first: the last ones end up on top of the inbox.
DEMO_CONVERSATIONS: tuple[DemoConversation, ...] = (
    DemoConversation(
        channel="telegram",
        address="@fast_profit_2026",
        name="Fast Profit",
        minutes_ago=300,
        steps=(
            In("🚀 Earn 500% in 24 hours!!! Join our private crypto group now 👉 t.me/+xyz"),
            Read(),
        ),
        close=(Conversation.Resolution.SPAM, "Unsolicited promotion"),
    ),
    DemoConversation(
        channel="sms",
        address="+14155550132",
        name="Priya Patel",
        steps=(
            Out(
                "Reminder: your appointment with Dr. Chen is tomorrow at 10:30. "
                "Reply YES to confirm or call us to reschedule.",
                status=Message.Status.DELIVERED,
            ),
            In("YES"),
            Read(),
            Out("Thanks Priya, you're confirmed. See you tomorrow!", status="delivered"),
        ),
        assignee=AGENT,
        tags=("appointments",),
        close=(Conversation.Resolution.RESOLVED, "Appointment confirmed"),
    ),
    DemoConversation(
        channel="email",
        address="tom.nguyen@example.org",
        name="Tom Nguyen",
        minutes_ago=240,
        steps=(
            In(
                "Hi, I can't log in: the password reset email never arrives. "
                "I've tried three times since this morning.",
                metadata={"subject": "Can't reset my password"},
            ),
            Read(),
            Out(
                "Hi Tom, our reset emails were held by your company's spam filter. "
                "I've sent you a new link from a different address; it is valid for one hour.",
                metadata={"subject": "Re: Can't reset my password"},
            ),
            In(
                "Got it, and I'm back in. Thanks!",
                metadata={"subject": "Re: Can't reset my password"},
            ),
            Read(),
        ),
        assignee=AGENT,
        tags=("account",),
        close=(Conversation.Resolution.RESOLVED, "Password reset email delivered"),
    ),
    DemoConversation(
        channel="email",
        address="maria.garcia@example.com",
        name="María García",
        minutes_ago=180,
        steps=(
            In(
                "Hello, I was charged twice for invoice INV-2026-0143 (see my bank statement "
                "for 3 March). Could you refund the duplicate payment?",
                metadata={"subject": "Double charge on INV-2026-0143"},
            ),
            Read(),
            Out(
                "Hi María, thank you for letting us know, and sorry for the trouble. I've raised "
                "the duplicate charge with our finance team; refunds take 3-5 business days. "
                "I'll confirm as soon as it has been processed.",
                metadata={"subject": "Re: Double charge on INV-2026-0143"},
            ),
            Note("Finance ticket FIN-2291 opened. Follow up tomorrow morning.", by=ADMIN),
        ),
        assignee=AGENT,
        tags=("billing", "refund"),
        snooze=True,
    ),
    DemoConversation(
        channel="api",
        address="crm-contact-10482",
        name="Olivia Bennett",
        minutes_ago=95,
        steps=(
            In(
                "New lead from the website form: interested in the Enterprise plan for a team "
                "of 40. Prefers a call on Thursday afternoon.",
                metadata={"source": "website-form", "crmId": "10482"},
            ),
        ),
        contact={"email": "olivia.bennett@example.net", "tags": ["lead"]},
        priority=Conversation.Priority.HIGH,
        tags=("sales", "lead"),
    ),
    DemoConversation(
        channel="telegram",
        address="482913377",
        name="Lukas Schmidt",
        minutes_ago=70,
        steps=(
            In(
                "The app crashes every time I try to upload a photo to my profile "
                "(Android 14, app version 3.2.1)."
            ),
            React(to=0, emoji="👀", by=AGENT),
            Read(),
            Out(
                "Thanks for the report, Lukas! Could you send us a screenshot of the error? "
                "Our developers are looking into it."
            ),
            In("Sure, it just says 'Something went wrong' and closes."),
        ),
        priority=Conversation.Priority.URGENT,
        tags=("bug", "android"),
    ),
    DemoConversation(
        channel="sms",
        address="+525512345678",
        name="Carlos Méndez",
        minutes_ago=50,
        steps=(
            In("Hi, can I move my delivery to Saturday?"),
            Read(),
            Out(
                "Hi Carlos, Saturday works. We'll deliver between 9am and 1pm.", status="delivered"
            ),
            In("👍"),
            Read(),
        ),
        assignee=AGENT,
        priority=Conversation.Priority.LOW,
        tags=("delivery",),
    ),
    DemoConversation(
        channel="webchat",
        address="visitor-3f9c2a71",
        name="Noah Kim",
        minutes_ago=30,
        steps=(
            In(
                "Hi, do you offer a discount for annual plans?",
                metadata={"page": "http://127.0.0.1:8000/pricing"},
            ),
            Read(),
            Out(
                "Hi Noah! Yes: annual plans are 20% off compared with monthly billing. "
                "Would you like me to send you a quote?",
                by=ADMIN,
                status=Message.Status.READ,
            ),
            In("Yes please, for 15 seats."),
        ),
        assignee=ADMIN,
        tags=("sales",),
    ),
    DemoConversation(
        channel="whatsapp",
        address="+447911123456",
        name="James Walker",
        minutes_ago=120,
        steps=(
            In(
                "Hello, I'd like to change the delivery address for order #4907. "
                "I'm moving next week."
            ),
            Read(),
            Out(
                "Hi James! Sure, what's the new address? We can update it as long as the order "
                "hasn't shipped.",
                status=Message.Status.DELIVERED,
            ),
            In("Flat 3, 21 Baker Street, London NW1 6XE"),
            Note(
                "Not shipped yet; address updated in the order system. Waiting on a delivery slot."
            ),
        ),
        assignee=AGENT,
        tags=("order",),
    ),
    DemoConversation(
        channel="whatsapp",
        address="+393471234567",
        name="Sofia Rossi",
        minutes_ago=12,
        steps=(
            In("Buongiorno! Do you ship to Italy?"),
            In("And how long does it usually take?"),
        ),
    ),
    DemoConversation(
        channel="whatsapp",
        address="+5511987654321",
        name="Ana Souza",
        minutes_ago=35,
        steps=(
            In(
                "Hi! My order #4821 was supposed to arrive yesterday but the tracking hasn't "
                "moved since Monday 😕"
            ),
            In("Can you check what's going on?"),
            Read(),
            Note("Carrier confirms the parcel is held at the Campinas depot: damaged label."),
            Out(
                "Hi Ana, sorry about that! The carrier has your parcel at their depot because "
                "the label was damaged. I've asked them to re-label it and it should go out "
                "tomorrow morning.",
                status=Message.Status.READ,
            ),
            React(to=4, emoji="❤️", by="contact"),
            In("Great, thank you so much!"),
        ),
        contact={
            "email": "ana.souza@example.com",
            "tags": ["vip"],
            "metadata": {"customerId": "C-1042", "plan": "Premium"},
        },
        assignee=AGENT,
        priority=Conversation.Priority.HIGH,
        tags=("order", "shipping"),
    ),
)


# --- The loader -----------------------------------------------------------------


class _Writer(Protocol):
    def write(self, text: str, /) -> Any: ...


class _Discard:
    def write(self, text: str, /) -> None:
        return None


def _tomorrow_morning() -> datetime:
    return (timezone.localtime() + timedelta(days=1)).replace(
        hour=9, minute=0, second=0, microsecond=0
    )


def load_demo(*, stdout: _Writer | None = None) -> Workspace:
    """Create (or complete) the demo workspace and return it. Never in production.

    Ensures the workspace, the two demo logins and one sandbox channel per kind
    exist, then seeds the conversations unless any of them was seeded before.
    Existing users keep their password; nothing is duplicated on a re-run.
    """
    if settings.IS_PRODUCTION:
        raise PermissionDenied(
            "The demo workspace has fixed, published passwords; it is never loaded in production."
        )
    out = stdout or _Discard()
    workspace = Workspace.objects.filter(slug=DEMO_WORKSPACE_SLUG).first()
    if workspace is None:
        workspace = create_workspace(slug=DEMO_WORKSPACE_SLUG, name=DEMO_WORKSPACE_NAME)
        out.write(f"Workspace {workspace.slug} ({workspace.public_id}): created\n")
    else:
        out.write(f"Workspace {workspace.slug} ({workspace.public_id}): already present\n")

    people = _ensure_people(workspace, out)
    channels = _ensure_channels(workspace, out)

    if _already_seeded(workspace):
        out.write("Conversations: already seeded; left as they are\n")
    else:
        seeded = 0
        for number, script in enumerate(DEMO_CONVERSATIONS, start=1):
            channel = channels[script.channel]
            if not channel.is_active:
                out.write(f"  skipped conversation {number}: {channel.name} is {channel.status}\n")
                continue
            _seed_conversation(workspace, channel, people, script, number)
            seeded += 1
        out.write(f"Conversations: {seeded} created\n")

    out.write(
        "\nNo API key is created for the demo: a key is shown only once. Make one with\n"
        f'  python manage.py create_api_key {workspace.slug} --name "My integration" '
        "--scopes messages:read,messages:write\n"
    )
    return workspace


def _ensure_people(workspace: Workspace, out: _Writer) -> dict[str, User]:
    people: dict[str, User] = {}
    for key, (email, display_name, role, is_operator) in _PEOPLE.items():
        user = User.objects.filter(email=email).first()
        if user is not None and Membership.objects.filter(workspace=workspace, user=user).exists():
            out.write(f"User {email}: already present (password unchanged)\n")
        else:
            # An existing user (say, whose membership was removed) keeps their
            # password: `create_agent` only sets it for new users.
            existed = user is not None
            user, _ = create_agent(
                workspace=workspace,
                email=email,
                role=role,
                password=_PASSWORDS[email],
                display_name=display_name,
                is_operator=is_operator,
            )
            what = "added to the workspace (password unchanged)" if existed else "created"
            out.write(f"User {email}: {what} ({role}{', operator' if is_operator else ''})\n")
        people[key] = user
    return people


def _ensure_channels(workspace: Workspace, out: _Writer) -> dict[str, Channel]:
    channels: dict[str, Channel] = {}
    created: list[str] = []
    for channel_type, name, config in DEMO_CHANNELS:
        # One per type: a channel of that type renamed or reconfigured by hand
        # still counts as the demo's.
        channel = workspace.channels.filter(type=channel_type).order_by("id").first()
        if channel is None:
            channel = create_channel(
                workspace=workspace, type=channel_type, name=name, config=config
            )
            created.append(channel_type)
        channels[channel_type] = channel
    present = len(DEMO_CHANNELS) - len(created)
    out.write(
        f"Channels: {len(created)} created"
        + (f" ({', '.join(created)})" if created else "")
        + f", {present} already present\n"
    )
    return channels


def _already_seeded(workspace: Workspace) -> bool:
    return Message.objects.filter(
        Q(provider_message_id__startswith=INBOUND_ID_PREFIX)
        | Q(idempotency_key__startswith=OUTBOUND_KEY_PREFIX),
        workspace=workspace,
    ).exists()


def _seed_conversation(
    workspace: Workspace,
    channel: Channel,
    people: dict[str, User],
    script: DemoConversation,
    number: int,
) -> Conversation:
    """Play one script through the services, as the webhooks and agents would."""
    now = timezone.now()
    started = now - timedelta(minutes=script.minutes_ago)
    conversation: Conversation | None = None
    # The message each step produced (None for steps that make no message),
    # so reactions can point back at them by index.
    produced: list[Message | None] = []
    replied = False
    for index, step in enumerate(script.steps):
        ident = f"{number}-{index + 1}"
        message: Message | None = None
        if isinstance(step, In):
            received_at = None if replied else started + timedelta(minutes=2 * index)
            message = receive_message(
                channel=channel,
                sender=script.address,
                sender_name=script.name,
                content={"type": "text", "text": step.text},
                provider_message_id=f"{INBOUND_ID_PREFIX}{ident}",
                received_at=received_at,
                metadata=step.metadata or None,
            ).message
        elif isinstance(step, Out | Note):
            is_note = isinstance(step, Note)
            message = send_message(
                workspace=workspace,
                channel=channel,
                conversation=conversation,
                # Only a conversation's first message needs an address.
                to=script.address if conversation is None else None,
                content={"type": "text", "text": step.text},
                sender_user=people[step.by],
                is_private=is_note,
                metadata=(step.metadata or None) if isinstance(step, Out) else None,
                idempotency_key=f"{OUTBOUND_KEY_PREFIX}{ident}",
            )
            if isinstance(step, Out):
                replied = True
                _deliver(message, step.status)
        elif isinstance(step, Read):
            assert conversation is not None, "a Read step needs a message before it"
            bulk_mark_read(workspace=workspace, conversation=conversation)
        elif isinstance(step, React):
            target = produced[step.to]
            assert target is not None, "a reaction must point at a message step"
            react_to_message(
                message=target,
                reaction=step.emoji,
                actor_user=None if step.by == "contact" else people[step.by],
                actor_contact=target.conversation.contact if step.by == "contact" else None,
            )
        if message is not None and conversation is None:
            conversation = message.conversation
        produced.append(message)

    assert conversation is not None, "a demo conversation needs at least one message"
    return _finish(conversation, people, script)


def _deliver(message: Message, status: str) -> None:
    """Hand the message to its (sandbox) provider now, then replay its receipts.

    Called directly so the demo never waits for a worker; the queued delivery
    task finds the message already claimed and does nothing.
    """
    deliver_message(message_pk=message.pk)
    message.refresh_from_db(fields=["status"])
    if message.status != Message.Status.SENT:
        return  # claimed by a running worker, or failed: leave it to them
    for later in (Message.Status.DELIVERED, Message.Status.READ):
        if _STATUS_ORDER.index(later) > _STATUS_ORDER.index(status):
            break
        update_message_status(message=message, status=later)


_STATUS_ORDER = [Message.Status.SENT, Message.Status.DELIVERED, Message.Status.READ]


def _finish(
    conversation: Conversation, people: dict[str, User], script: DemoConversation
) -> Conversation:
    """Contact details and the conversation's state, after its messages."""
    admin = people[ADMIN]
    if script.contact:
        # Re-read: `update_contact` saves the whole row, and an instance cached
        # earlier would not have the name `receive_message` filled in.
        contact = Contact.objects.get(pk=conversation.contact_id)
        update_contact(contact=contact, **script.contact)
    if script.priority or script.tags:
        conversation = update_conversation(
            conversation=conversation,
            priority=script.priority,
            tags=list(script.tags) or None,
            by=admin,
        )
    if script.assignee:
        conversation = assign_conversation(
            conversation=conversation, assignee=people[script.assignee], by=admin
        )
    if script.snooze:
        conversation = snooze_conversation(
            conversation=conversation, until=_tomorrow_morning(), by=people[AGENT]
        )
    if script.close:
        resolution, reason = script.close
        conversation = close_conversation(
            conversation=conversation,
            resolution=resolution,
            reason=reason,
            by=people[script.assignee or AGENT],
        )
    return conversation
