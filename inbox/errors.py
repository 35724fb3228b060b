"""The one error vocabulary of the product.

Services raise these; the API's exception handler renders them in the
documented envelope (`{"error": {"code", "message", "details"}}`) with their
HTTP status, and the inbox UI shows their message. Add a subclass rather than
raising a bare DomainError, so callers can catch precisely.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "BAD_REQUEST"
    status = 400
    default_message = "The request could not be completed."

    def __init__(
        self,
        message: str | None = None,
        *,
        field: str | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.details = list(details or [])
        if field:
            self.details.insert(0, {"field": field, "message": self.message})
        super().__init__(self.message)


class ValidationFailed(DomainError):
    code = "VALIDATION_ERROR"
    status = 400
    default_message = "The request is not valid."


class NotFound(DomainError):
    code = "RESOURCE_NOT_FOUND"
    status = 404
    default_message = "The resource does not exist."


class AlreadyExists(DomainError):
    code = "RESOURCE_ALREADY_EXISTS"
    status = 409
    default_message = "The resource already exists."


class Conflict(DomainError):
    code = "CONFLICT"
    status = 409
    default_message = "The request conflicts with the current state."


class PermissionDenied(DomainError):
    code = "INSUFFICIENT_PERMISSIONS"
    status = 403
    default_message = "You do not have permission to do this."
