"""Errors of the conversation domain, each with the API code it maps to."""

from __future__ import annotations

from inbox.errors import Conflict, DomainError, NotFound, ValidationFailed


class InvalidRecipient(DomainError):
    code = "INVALID_RECIPIENT"
    status = 400
    default_message = "The recipient is not a valid address for this channel."


class UnsupportedContentType(DomainError):
    code = "UNSUPPORTED_CONTENT_TYPE"
    status = 400
    default_message = "This channel does not support this content type."


class ChannelNotConnected(DomainError):
    code = "CHANNEL_NOT_CONNECTED"
    status = 422
    default_message = "The channel is not active."


class OutsideMessageWindow(DomainError):
    code = "OUTSIDE_MESSAGE_WINDOW"
    status = 422
    default_message = (
        "More than 24 hours have passed since the contact's last message; "
        "only a template message can be sent."
    )


class DeleteNotSupported(DomainError):
    code = "DELETE_NOT_SUPPORTED"
    status = 400
    default_message = "This channel does not support deleting messages for everyone."


class DeleteWindowExpired(DomainError):
    code = "DELETE_WINDOW_EXPIRED"
    status = 400
    default_message = "The message is too old to delete for everyone."


class EditNotSupported(DomainError):
    code = "EDIT_NOT_SUPPORTED"
    status = 400
    default_message = "This message cannot be edited on this channel."


class EditWindowExpired(DomainError):
    code = "EDIT_WINDOW_EXPIRED"
    status = 400
    default_message = "The message is too old to edit."


class ChannelNotFound(NotFound):
    code = "CHANNEL_NOT_FOUND"
    default_message = "Channel does not exist."


class ConversationNotFound(NotFound):
    code = "CONVERSATION_NOT_FOUND"
    default_message = "Conversation does not exist."


class MessageNotFound(NotFound):
    code = "MESSAGE_NOT_FOUND"
    default_message = "Message does not exist."


class ContactNotFound(NotFound):
    code = "CONTACT_NOT_FOUND"
    default_message = "Contact does not exist."


class InvalidStateTransition(Conflict):
    code = "INVALID_STATE"
    default_message = "The conversation is not in a state that allows this."


__all__ = [
    "ChannelNotConnected",
    "ChannelNotFound",
    "ContactNotFound",
    "ConversationNotFound",
    "DeleteNotSupported",
    "DeleteWindowExpired",
    "EditNotSupported",
    "EditWindowExpired",
    "InvalidRecipient",
    "InvalidStateTransition",
    "MessageNotFound",
    "OutsideMessageWindow",
    "UnsupportedContentType",
    "ValidationFailed",
]
