"""The operators' admin for tenancy and people, plus the base every app's admin builds on.

The admin follows the project's one-write-path rule: it never saves or deletes
a domain row itself. Add and change forms validate input as forms do, then
`save_model` calls the service for the use case (`create_workspace`,
`create_api_key`, `create_agent`, ...) and actions call services one row at a
time. A `DomainError` raised by a service comes back as an error on the form or
as an admin message, never as a 500.

Models with no service to write them (messages, outbox events, ...) are
view-only. Deleting is disabled everywhere a service does not exist for it:
a raw delete would skip the events, counters and file clean-up the services
keep right.

Django's own auth records (the user's password, staff flags, groups) are the
exception: they are written by `django.contrib.auth`'s admin forms, which are
that app's write path; agents join workspaces only through `create_agent`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import models
from django.db.models import Count, Model, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html
from django.utils.safestring import SafeString

from channels_app.models import Channel
from inbox.canned_services import (
    create_canned_response,
    delete_canned_response,
    update_canned_response,
)
from inbox.errors import DomainError
from inbox.models import (
    ApiKey,
    CannedResponse,
    IdempotencyRecord,
    LoginThrottle,
    Membership,
    TokenFamily,
    User,
    Workspace,
)
from inbox.services import API_SCOPES, create_agent, create_api_key, create_workspace
from inbox.services import revoke_api_key as revoke_api_key_service

admin.site.site_header = "Inbox operations"
admin.site.site_title = "Inbox operations"
admin.site.index_title = "Operations"

# --- Shared helpers for every app's admin -------------------------------------

# Where a failed service call is parked while the change form is re-rendered.
_DOMAIN_ERROR_ATTR = "_admin_domain_error"
# Services name fields as the API does (camelCase, ids); forms use model names.
_API_FIELD_ALIASES = {
    "assigneeId": "assignee",
    "channelId": "channel",
    "contactId": "contact",
    "conversationId": "conversation",
    "expiresAt": "expires_at",
    "snoozedUntil": "snoozed_until",
}
_CAMEL_RE = re.compile(r"(?<!^)(?=[A-Z])")

# Badge colours per status value; anything unknown is grey.
GREY = "#6b7280"
STATUS_COLOURS = {
    "active": "#15803d",
    "open": "#15803d",
    "read": "#15803d",
    "delivered": "#0f766e",
    "sent": "#1d4ed8",
    "snoozed": "#1d4ed8",
    "pending": "#b45309",
    "error": "#b91c1c",
    "failed": "#b91c1c",
    "revoked": "#b91c1c",
    "closed": GREY,
    "inactive": GREY,
    "expired": GREY,
}


def badge(value: str, label: str | None = None) -> SafeString:
    """A coloured pill, so operators can scan a status column at a glance."""
    return format_html(
        '<span style="display:inline-block;padding:1px 8px;border-radius:9px;'
        'font-size:11px;font-weight:600;color:#fff;background:{}">{}</span>',
        STATUS_COLOURS.get(value, GREY),
        label or value,
    )


def admin_url(obj: Model) -> str:
    opts = obj._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])


def admin_link(obj: Model | None, label: str | None = None) -> str:
    """A link to the object's admin page; callers select_related the object."""
    if obj is None:
        return "-"
    return format_html('<a href="{}">{}</a>', admin_url(obj), label or str(obj))


def pretty_json(value: Any) -> SafeString:
    return format_html(
        '<pre style="margin:0;white-space:pre-wrap;max-width:60em">{}</pre>',
        json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str),
    )


def short_json(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def truncate(text: str, limit: int = 80) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def adopt(target: Model, saved: Model) -> None:
    """Copy the row a service saved onto the admin's own form instance.

    The admin keeps using the object it passed to `save_model` (for the
    redirect, the log entry and the success message), so that object must
    carry the saved row's primary key and values.
    """
    for field in saved._meta.concrete_fields:
        setattr(target, field.attname, getattr(saved, field.attname))
    target._state.adding = False
    target._state.db = saved._state.db


def _form_field_for(
    error: DomainError, form: forms.BaseForm, aliases: dict[str, str]
) -> str | None:
    """The form field a service error is about, or None for a form-wide error."""
    for detail in error.details:
        name = detail.get("field")
        if not name:
            continue
        name = aliases.get(name) or _API_FIELD_ALIASES.get(name) or name
        name = _CAMEL_RE.sub("_", name.split(".")[0]).lower()
        if name in form.fields:
            return name
    return None


def skip_formset_save(formset: forms.BaseFormSet) -> None:
    """Leave a read-only inline's formset unsaved, as if nothing changed.

    The admin's change message reads what `formset.save()` would have set.
    """
    formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []


def run_service_action(
    request: HttpRequest,
    queryset: QuerySet,
    operation: Callable[[Any], object],
    *,
    done: str,
) -> None:
    """Apply a service to each selected row, reporting successes and domain errors.

    Rows are handled one by one, each in the service's own transaction, so one
    refusal (an already closed conversation, say) does not undo the others.
    """
    succeeded = 0
    failures: list[str] = []
    for obj in queryset:
        try:
            operation(obj)
        except DomainError as exc:
            failures.append(f"{obj}: {exc.message}")
        else:
            succeeded += 1
    if succeeded:
        noun = queryset.model._meta.verbose_name
        plural = queryset.model._meta.verbose_name_plural
        messages.success(request, f"{done} {succeeded} {noun if succeeded == 1 else plural}.")
    shown = failures[:10]
    for failure in shown:
        messages.error(request, failure)
    if len(failures) > len(shown):
        messages.error(request, f"…and {len(failures) - len(shown)} more not changed.")


def choices_filter(
    field: str, title: str, choices: Iterable[tuple[str, str]]
) -> type[admin.SimpleListFilter]:
    """A list filter with fixed choices, for a field that has none declared.

    Django's default for such a field is `SELECT DISTINCT field` over the whole
    table on every page, which a large table (events, attachments) cannot afford.
    """
    fixed = list(choices)

    class FixedChoicesFilter(admin.SimpleListFilter):
        parameter_name = field

        def lookups(
            self, request: HttpRequest, model_admin: admin.ModelAdmin
        ) -> list[tuple[str, str]]:
            return fixed

        def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
            return queryset.filter(**{field: self.value()}) if self.value() else queryset

    FixedChoicesFilter.title = title
    FixedChoicesFilter.__name__ = f"{field.title().replace('_', '')}Filter"
    return FixedChoicesFilter


class ServiceAdmin(admin.ModelAdmin):
    """A ModelAdmin whose writes all go through services.

    Subclasses implement `save_model` with a service call. If the service
    refuses (a `DomainError`), the transaction of the admin view rolls back and
    the same POST is shown again with the service's message on the field it
    names, the way a form validation error looks.
    """

    list_per_page = 50
    # Service field name -> form field name, where the generic mapping misses.
    domain_error_fields: ClassVar[dict[str, str]] = {}

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as exc:
            # Services only run on POST; anything else is a genuine bug.
            if request.method != "POST" or hasattr(request, _DOMAIN_ERROR_ATTR):
                raise
            # Django's view ran in a transaction that the exception rolled
            # back. Run it again: `get_form` now adds the error, so the form
            # is invalid, nothing is saved and the POST is re-rendered.
            setattr(request, _DOMAIN_ERROR_ATTR, exc)
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(
        self, request: HttpRequest, obj: Model | None = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm]:
        form_class = super().get_form(request, obj, change, **kwargs)
        error: DomainError | None = getattr(request, _DOMAIN_ERROR_ATTR, None)
        if error is None:
            return form_class
        aliases = self.domain_error_fields

        class FormWithDomainError(form_class):  # type: ignore[valid-type,misc]
            def clean(self) -> dict[str, Any]:
                cleaned = super().clean()
                self.add_error(_form_field_for(error, self, aliases), error.message)
                return cleaned

        FormWithDomainError.__name__ = form_class.__name__
        return FormWithDomainError

    def save_model(
        self, request: HttpRequest, obj: Model, form: forms.ModelForm, change: bool
    ) -> None:
        raise ImproperlyConfigured(
            f"{type(self).__name__} must save {obj._meta.label} through a service."
        )

    def save_formset(
        self,
        request: HttpRequest,
        form: forms.ModelForm,
        formset: forms.BaseFormSet,
        change: bool,
    ) -> None:
        # Inlines in this admin are read-only displays; their rows are never
        # written from here.
        skip_formset_save(formset)

    def delete_model(self, request: HttpRequest, obj: Model) -> None:
        raise ImproperlyConfigured(f"{obj._meta.label} rows are not deleted from the admin.")

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        raise ImproperlyConfigured(f"{queryset.model._meta.label} rows are not deleted here.")

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # No service deletes these rows; see the module docstring.
        return False

    def has_operate_permission(self, request: HttpRequest) -> bool:
        """Who may run this admin's service actions: holders of the change permission.

        Checked on the permission itself, not `has_change_permission`, because
        view-only admins (messages) still have actions.
        """
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    def get_inline_instances(self, request: HttpRequest, obj: Model | None = None) -> list:
        # Inlines show what hangs off an existing row; an add page has none.
        if obj is None:
            return []
        return super().get_inline_instances(request, obj)


class ReadOnlyAdmin(ServiceAdmin):
    """Rows written only by services that the admin has no form for: view them."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    """An inline table for reading related rows; never adds, edits or deletes."""

    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


# --- Users ---------------------------------------------------------------------


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "display_name")

    def clean_email(self) -> str:
        # The manager stores emails lower-cased; keep the admin consistent.
        email = User.objects.normalize_email(self.cleaned_data["email"]).lower()
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationError("A user with this email address already exists.")
        return email


def https_urls(db_field: models.Field, **kwargs: Any) -> forms.Field | None:
    # Django 6 assumes https for scheme-less URLs; opt in now (avatar URLs).
    if isinstance(db_field, models.URLField):
        kwargs.setdefault("assume_scheme", "https")
    return db_field.formfield(**kwargs)


class UserChangeForm(DjangoUserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
        field_classes: ClassVar[dict] = {}
        formfield_callback = https_urls


class MembershipOfUserInline(ReadOnlyInline):
    model = Membership
    fk_name = "user"
    fields = ("workspace", "role", "created_at")
    readonly_fields = fields
    verbose_name = "workspace membership"
    verbose_name_plural = "Workspace memberships (add one from Memberships)"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("workspace", "user")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Django's user admin, adapted to sign-in by email and workspace memberships."""

    form = UserChangeForm
    add_form = UserCreationForm
    fieldsets = (
        (None, {"fields": ("email", "password", "public_id")}),
        ("Profile", {"fields": ("display_name", "first_name", "last_name", "avatar_url")}),
        (
            "Permissions",
            {
                "fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions"),
                "classes": ("collapse",),
            },
        ),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "display_name", "usable_password", "password1", "password2"),
            },
        ),
    )
    readonly_fields = ("public_id", "last_login", "date_joined")
    list_display = ("email", "display_name", "workspaces", "is_staff", "is_superuser", "is_active")
    list_filter = ("is_staff", "is_superuser", "is_active", "memberships__workspace")
    search_fields = ("email", "display_name", "first_name", "last_name", "public_id")
    ordering = ("email",)
    list_per_page = 50
    inlines = (MembershipOfUserInline,)
    formfield_overrides: ClassVar[dict] = {models.URLField: {"assume_scheme": "https"}}

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # One extra query for every row's workspaces, whatever the page size.
        memberships = Membership.objects.select_related("workspace").order_by("workspace__name")
        return (
            super()
            .get_queryset(request)
            .prefetch_related(Prefetch("memberships", queryset=memberships))
        )

    @admin.display(description="Workspaces")
    def workspaces(self, obj: User) -> str:
        return ", ".join(f"{m.workspace.slug} ({m.role})" for m in obj.memberships.all()) or "-"

    def get_inline_instances(self, request: HttpRequest, obj: Model | None = None) -> list:
        return [] if obj is None else super().get_inline_instances(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # Deleting a user silently unassigns their conversations (no events)
        # and drops their memberships; deactivate them (`is_active`) instead.
        return False

    def save_formset(
        self,
        request: HttpRequest,
        form: forms.ModelForm,
        formset: forms.BaseFormSet,
        change: bool,
    ) -> None:
        # The membership inline is read-only; memberships are made by create_agent.
        skip_formset_save(formset)


# --- Workspaces ----------------------------------------------------------------


class MembershipOfWorkspaceInline(ReadOnlyInline):
    model = Membership
    fk_name = "workspace"
    fields = ("user", "role", "created_at")
    readonly_fields = fields
    verbose_name = "member"
    verbose_name_plural = "Members"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("workspace", "user")


def _count_of(queryset: QuerySet) -> Coalesce:
    counted = queryset.order_by().values("workspace").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted), 0)


@admin.register(Workspace)
class WorkspaceAdmin(ServiceAdmin):
    """Workspaces are created by `create_workspace`; there is no rename service yet."""

    list_display = ("name", "slug", "public_id", "member_count", "channel_count", "created_at")
    search_fields = ("name", "slug", "public_id")
    date_hierarchy = "created_at"
    prepopulated_fields: ClassVar[dict[str, tuple[str, ...]]] = {"slug": ("name",)}
    inlines = (MembershipOfWorkspaceInline,)
    readonly_fields = ("public_id", "created_at", "add_member")

    def get_fields(self, request: HttpRequest, obj: Workspace | None = None) -> Iterable[str]:
        if obj is None:
            return ("name", "slug")
        return ("name", "slug", "public_id", "created_at", "add_member")

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # Nothing about a workspace can be changed through a service yet.
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # Counts as correlated subqueries: one query for the page, not two
        # per row, and unlike JOIN + GROUP BY they stay out of the COUNT(*)
        # queries of the paginator.
        return (
            super()
            .get_queryset(request)
            .annotate(
                num_members=_count_of(Membership.objects.filter(workspace=OuterRef("pk"))),
                num_channels=_count_of(Channel.objects.filter(workspace=OuterRef("pk"))),
            )
        )

    @admin.display(description="Members", ordering="num_members")
    def member_count(self, obj: Workspace) -> int:
        return obj.num_members

    @admin.display(description="Channels", ordering="num_channels")
    def channel_count(self, obj: Workspace) -> int:
        return obj.num_channels

    @admin.display(description="Add a member")
    def add_member(self, obj: Workspace) -> str:
        url = reverse("admin:inbox_membership_add") + f"?workspace={obj.pk}"
        return format_html('<a class="addlink" href="{}">Add a member to {}</a>', url, obj.name)

    def save_model(
        self, request: HttpRequest, obj: Workspace, form: forms.ModelForm, change: bool
    ) -> None:
        workspace = create_workspace(slug=form.cleaned_data["slug"], name=form.cleaned_data["name"])
        adopt(obj, workspace)


# --- Memberships ---------------------------------------------------------------


@admin.register(Membership)
class MembershipAdmin(ServiceAdmin):
    """Adding a member calls `create_agent` with the chosen user's email."""

    list_display = ("user", "workspace", "role", "created_at")
    list_select_related = ("user", "workspace")
    list_filter = ("role", "workspace")
    search_fields = ("user__email", "user__display_name", "workspace__name", "workspace__slug")
    autocomplete_fields = ("workspace", "user")
    readonly_fields = ("created_at",)
    domain_error_fields: ClassVar[dict[str, str]] = {"email": "user"}

    def get_fields(self, request: HttpRequest, obj: Membership | None = None) -> Iterable[str]:
        if obj is None:
            return ("workspace", "user", "role")
        return ("workspace", "user", "role", "created_at")

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # No service changes a role or removes a member yet.
        return False

    def save_model(
        self, request: HttpRequest, obj: Membership, form: forms.ModelForm, change: bool
    ) -> None:
        _, membership = create_agent(
            workspace=form.cleaned_data["workspace"],
            email=form.cleaned_data["user"].email,
            role=form.cleaned_data["role"],
        )
        adopt(obj, membership)


# --- API keys --------------------------------------------------------------------

SCOPE_CHOICES = [("*", "All scopes (*)"), *((scope, scope) for scope in API_SCOPES)]


class ApiKeyCreateForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=SCOPE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        help_text="“All scopes” grants every scope, including ones added later.",
    )

    class Meta:
        model = ApiKey
        fields = ("workspace", "name", "scopes", "expires_at")

    def clean_scopes(self) -> list[str]:
        scopes = self.cleaned_data["scopes"]
        return ["*"] if "*" in scopes else scopes


class ApiKeyStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("active", "Active"), ("revoked", "Revoked"), ("expired", "Expired")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True).exclude(expires_at__lte=now)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == "expired":
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(ServiceAdmin):
    """Keys are created by `create_api_key` and revoked by `revoke_api_key`.

    The raw key is rendered once, in the response to the add form, and is
    stored nowhere (not in the session, not in a message cookie). The hashed
    secret is never displayed and cannot be filtered on.
    """

    list_display = (
        "name",
        "display_prefix",
        "workspace",
        "scope_list",
        "state",
        "created_by",
        "created_at",
        "last_used_at",
        "expires_at",
    )
    list_select_related = ("workspace", "created_by")
    list_filter = (ApiKeyStateFilter, "workspace")
    search_fields = ("name", "prefix", "public_id", "workspace__name", "workspace__slug")
    autocomplete_fields = ("workspace",)
    date_hierarchy = "created_at"
    actions = ("revoke_keys",)
    readonly_fields = (
        "public_id",
        "display_prefix",
        "scope_list",
        "state",
        "created_by",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    detail_fields = (
        "name",
        "workspace",
        "public_id",
        "display_prefix",
        "scope_list",
        "state",
        "created_by",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    )

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> Iterable[str]:
        # `hashed_secret` is in neither list, so no page ever renders it.
        return ApiKeyCreateForm.Meta.fields if obj is None else self.detail_fields

    def get_form(
        self, request: HttpRequest, obj: Model | None = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm]:
        if obj is None:
            kwargs["form"] = ApiKeyCreateForm
        return super().get_form(request, obj, change, **kwargs)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # A key is immutable apart from revoking, which is an action.
        return False

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # `?hashed_secret__startswith=` would let the changelist leak the hash.
        return not lookup.startswith("hashed_secret") and super().lookup_allowed(
            lookup, value, request
        )

    @admin.display(description="Scopes")
    def scope_list(self, obj: ApiKey) -> str:
        return ", ".join(obj.scopes) or "-"

    @admin.display(description="State")
    def state(self, obj: ApiKey) -> str:
        if obj.revoked_at is not None:
            return badge("revoked", "Revoked")
        if not obj.is_active():
            return badge("expired", "Expired")
        return badge("active", "Active")

    def save_model(
        self, request: HttpRequest, obj: ApiKey, form: forms.ModelForm, change: bool
    ) -> None:
        key, raw_key = create_api_key(
            workspace=form.cleaned_data["workspace"],
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            expires_at=form.cleaned_data.get("expires_at"),
            created_by=request.user,
        )
        adopt(obj, key)
        # Kept on the request only, for `response_add` to show once.
        request._raw_api_key = raw_key  # type: ignore[attr-defined]

    def response_add(
        self, request: HttpRequest, obj: ApiKey, post_url_continue: str | None = None
    ) -> HttpResponse:
        raw_key = getattr(request, "_raw_api_key", None)
        if raw_key is None:  # pragma: no cover - save_model always sets it
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "title": "API key created",
            "opts": self.opts,
            "api_key": obj,
            "raw_key": raw_key,
        }
        response = TemplateResponse(request, "admin/inbox/apikey/key_created.html", context)
        add_never_cache_headers(response)
        return response

    @admin.action(description="Revoke selected API keys", permissions=["operate"])
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet) -> None:
        run_service_action(
            request,
            queryset,
            lambda key: revoke_api_key_service(api_key=key),
            done="Revoked",
        )


# --- Idempotency records ------------------------------------------------------------


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    """Stored outcomes of API POSTs with an Idempotency-Key, for debugging replays."""

    list_display = ("key", "workspace", "method", "path", "status_code", "created_at")
    list_select_related = ("workspace",)
    list_filter = (("created_at", admin.DateFieldListFilter), "workspace")
    search_fields = ("key", "path")
    ordering = ("-id",)
    show_full_result_count = False
    fields = (
        "workspace",
        "key",
        "method",
        "path",
        "request_hash",
        "status_code",
        "response",
        "created_at",
        "completed_at",
    )
    readonly_fields = ("response",)

    @admin.display(description="Response body")
    def response(self, obj: IdempotencyRecord) -> str:
        return pretty_json(obj.response_body)


# --- Agent sign-ins (API tokens) ----------------------------------------------------


@admin.register(TokenFamily)
class TokenFamilyAdmin(ReadOnlyAdmin):
    """Agents' API sign-ins, one per device; written only by `inbox.auth_services`.

    Token hashes are never shown: they identify live credentials.
    """

    list_display = ("user", "workspace", "created_at", "revoked_at", "revoke_reason", "ip")
    list_select_related = ("user", "workspace")
    list_filter = ("revoke_reason", "workspace")
    search_fields = ("user__email",)
    ordering = ("-id",)
    show_full_result_count = False
    fields = (
        "user",
        "workspace",
        "created_at",
        "revoked_at",
        "revoke_reason",
        "user_agent",
        "ip",
    )


@admin.register(LoginThrottle)
class LoginThrottleAdmin(ReadOnlyAdmin):
    """Failed API logins per email and the lock they caused."""

    list_display = ("email", "failures", "last_attempt_at", "locked_until")
    search_fields = ("email",)
    ordering = ("-last_attempt_at",)
    fields = ("email", "failures", "last_attempt_at", "locked_until")


# --- Canned responses -----------------------------------------------------------------


@admin.register(CannedResponse)
class CannedResponseAdmin(ServiceAdmin):
    """Saved replies, written by `inbox.canned_services` like on the inbox's settings page."""

    list_display = ("shortcut_label", "title", "workspace", "created_by", "updated_at")
    list_select_related = ("workspace", "created_by")
    list_filter = ("workspace",)
    search_fields = ("shortcut", "title", "text", "workspace__name", "workspace__slug")
    autocomplete_fields = ("workspace",)
    ordering = ("workspace__name", "shortcut")
    readonly_fields = ("public_id", "created_by", "created_at", "updated_at")

    def get_fields(self, request: HttpRequest, obj: Model | None = None) -> Iterable[str]:
        if obj is None:
            return ("workspace", "shortcut", "title", "text")
        return ("workspace", "shortcut", "title", "text", *self.readonly_fields)

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> Iterable[str]:
        # A shortcut belongs to its workspace for good; moving it is a new one.
        return (*self.readonly_fields, "workspace") if obj is not None else self.readonly_fields

    @admin.display(description="Shortcut", ordering="shortcut")
    def shortcut_label(self, obj: CannedResponse) -> str:
        return f"/{obj.shortcut}"

    def save_model(
        self, request: HttpRequest, obj: CannedResponse, form: forms.ModelForm, change: bool
    ) -> None:
        data = form.cleaned_data
        if change:
            # The form has already copied its values onto `obj`; the service
            # compares against the stored row.
            stored = CannedResponse.objects.select_related("workspace").get(pk=obj.pk)
            saved = update_canned_response(
                canned=stored, shortcut=data["shortcut"], title=data["title"], text=data["text"]
            )
        else:
            saved = create_canned_response(
                workspace=data["workspace"],
                shortcut=data["shortcut"],
                title=data["title"],
                text=data["text"],
                created_by=request.user,
            )
        adopt(obj, saved)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # A service deletes these (see ServiceAdmin): the usual permission applies.
        return admin.ModelAdmin.has_delete_permission(self, request, obj)

    def delete_model(self, request: HttpRequest, obj: CannedResponse) -> None:
        delete_canned_response(canned=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for canned in queryset:
            delete_canned_response(canned=canned)
