"""POST /api/v1/media/upload: sniffed types, limits, storage, attachments, purge, S3.

Every sample is built here from its format's genuine magic bytes (and, where
cheap, a structurally valid body), so what is tested is the sniffing, not a
file extension. The S3 tests run against moto in server mode on loopback.
"""

from __future__ import annotations

import io
import struct
import uuid
import zipfile
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError
from django.utils import timezone

from inbox.errors import ValidationFailed
from inbox.links import absolute_url
from inbox.services import create_api_key
from messaging.models import Attachment, MediaUpload
from messaging.services import media
from messaging.services.media import (
    MEDIA_RULES,
    MediaRule,
    create_media_upload,
    media_upload_url,
)
from messaging.tasks import purge_expired_uploads_task
from tests.messaging.api.conftest import Api
from tests.s3 import http_get, moto_server, s3_client, s3_storage_options

# --- Samples ------------------------------------------------------------------


def _png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8-bit RGB
    pixels = zlib.compress(b"\x00\xff\x00\x00")  # filter byte, one red pixel
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _jpeg() -> bytes:
    app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    return b"\xff\xd8" + b"\xff\xe0" + struct.pack(">H", len(app0) + 2) + app0 + b"\xff\xd9"


def _pdf() -> bytes:
    return (
        b"%PDF-1.4\n"
        b"1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def _ogg_opus() -> bytes:
    """One Ogg page (beginning of stream) carrying an OpusHead packet."""
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, 312, 48000, 0, 0)
    page = (
        b"OggS"
        + bytes([0, 0x02])
        + struct.pack("<qIII", 0, 0x1234, 0, 0)
        + bytes([1, len(head)])
        + head
    )
    return page[:22] + struct.pack("<I", _ogg_crc(page)) + page[26:]


def _mp3() -> bytes:
    """An ID3v2.4 tag, then one MPEG-1 Layer III frame (128 kbit/s, 44.1 kHz)."""
    frame = b"\xff\xfb\x90\x64" + b"\x00" * (417 - 4)
    return b"ID3\x04\x00\x00\x00\x00\x00\x00" + frame


def _mp4() -> bytes:
    brands = b"isom" + struct.pack(">I", 0x200) + b"isomiso2avc1mp41"
    ftyp = struct.pack(">I", 8 + len(brands)) + b"ftyp" + brands
    return ftyp + struct.pack(">I", 8) + b"free" + struct.pack(">I", 8) + b"mdat"


def _docx(*parts: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in parts:
            archive.writestr(name, '<?xml version="1.0" encoding="UTF-8"?><x/>')
    return buffer.getvalue()


PNG = _png()
JPEG = _jpeg()
PDF = _pdf()
OGG = _ogg_opus()
MP3 = _mp3()
MP4 = _mp4()
TXT = "Olá! Pedido nº 123 ✓\n".encode()
CSV = b"name,email\r\nAna Souza,ana@example.com\r\n"
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DOCX = _docx("[Content_Types].xml", "_rels/.rels", "word/document.xml")
# `word/` after five other parts: filetype alone calls this a plain ZIP.
DOCX_LATE = _docx(
    "[Content_Types].xml",
    "_rels/.rels",
    "docProps/core.xml",
    "docProps/app.xml",
    "docProps/custom.xml",
    "customXml/item1.xml",
    "word/document.xml",
)
ZIP = _docx("readme.txt", "data/rows.csv")

RESPONSE_FIELDS = {"id", "type", "url", "filename", "mimeType", "size", "expiresAt"}


def upload(api: Api, content: bytes, name: str, content_type: str, media_type: str = "image"):
    return api.post(
        "/media/upload",
        {"file": SimpleUploadedFile(name, content, content_type), "type": media_type},
        format="multipart",
    )


def stored_files() -> list[Path]:
    root = Path(django_settings.MEDIA_ROOT)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def assert_validation_error(status: int, body: dict[str, Any], field: str) -> None:
    assert status == 400, body
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert body["error"]["message"]
    assert body["error"]["details"][0]["field"] == field
    assert body["meta"]["requestId"]


def parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# --- Accepted uploads ---------------------------------------------------------


UPLOAD_CASES = [
    ("image", "photo.png", "image/png", PNG, "image/png", ".png"),
    ("image", "photo.jpg", "image/jpeg", JPEG, "image/jpeg", ".jpg"),
    ("document", "invoice.pdf", "application/pdf", PDF, "application/pdf", ".pdf"),
    ("audio", "voice.ogg", "audio/ogg", OGG, "audio/ogg", ".ogg"),
    ("audio", "voice.opus", "audio/opus", OGG, "audio/ogg", ".ogg"),
    ("audio", "song.mp3", "audio/mpeg", MP3, "audio/mpeg", ".mp3"),
    ("video", "clip.mp4", "video/mp4", MP4, "video/mp4", ".mp4"),
    ("document", "notes.txt", "text/plain", TXT, "text/plain", ".txt"),
    ("document", "contacts.csv", "text/csv", CSV, "text/csv", ".csv"),
    ("document", "report.docx", DOCX_MIME, DOCX, DOCX_MIME, ".docx"),
    ("document", "archive.zip", "application/zip", ZIP, "application/zip", ".zip"),
]


@pytest.mark.parametrize(
    ("media_type", "name", "content_type", "content", "mime", "extension"),
    UPLOAD_CASES,
    ids=[case[1] for case in UPLOAD_CASES],
)
def test_upload_each_type(
    api, workspace, settings, media_type, name, content_type, content, mime, extension
):
    before = timezone.now()
    status, body = upload(api, content, name, content_type, media_type)
    after = timezone.now()

    assert status == 201, body
    data = body["data"]
    assert set(data) == RESPONSE_FIELDS
    assert data["id"].startswith("media_") and len(data["id"]) == len("media_") + 22
    assert (data["type"], data["mimeType"], data["size"]) == (media_type, mime, len(content))
    assert data["filename"] == name
    ttl = timedelta(hours=settings.MEDIA_UPLOAD_TTL_HOURS)
    # The API writes milliseconds: the lower bound allows for the truncation.
    expires = parse_iso(data["expiresAt"])
    assert before + ttl - timedelta(milliseconds=1) <= expires <= after + ttl

    row = MediaUpload.objects.get(public_id=data["id"])
    assert (row.workspace, row.type, row.mime_type, row.size) == (
        workspace,
        media_type,
        mime,
        len(content),
    )
    assert row.used_at is None
    assert row.file.name == f"uploads/{row.created_at:%Y/%m}/{row.public_id}{extension}"
    assert data["url"] == f"{settings.SITE_URL}{settings.MEDIA_URL}{row.file.name}"
    with default_storage.open(row.file.name, "rb") as stored:
        assert stored.read() == content
    assert stored_files() == [Path(settings.MEDIA_ROOT) / row.file.name]


def test_expiry_follows_the_ttl_setting(api, settings):
    settings.MEDIA_UPLOAD_TTL_HOURS = 3
    before = timezone.now()
    status, body = upload(api, PNG, "photo.png", "image/png")
    after = timezone.now()
    assert status == 201, body
    expires = parse_iso(body["data"]["expiresAt"])
    assert before + timedelta(hours=3, milliseconds=-1) <= expires <= after + timedelta(hours=3)


EQUIVALENT_CASES = [
    # The header is not trusted, and "did not say" is fine.
    ("photo.png", "application/octet-stream", PNG, "image", "image/png"),
    # Same thing, other name.
    ("photo.jpg", "image/jpg", JPEG, "image", "image/jpeg"),
    ("song.mp3", "audio/mp3", MP3, "audio", "audio/mpeg"),
    # Browsers on Windows with Excel installed send CSV files as Excel's type.
    ("contacts.csv", "application/vnd.ms-excel", CSV, "document", "text/csv"),
    # No extension: the bytes alone decide.
    ("scan", "application/octet-stream", PDF, "document", "application/pdf"),
    # An Office document whose `word/` part comes late in the archive.
    ("report.docx", DOCX_MIME, DOCX_LATE, "document", DOCX_MIME),
    # A character cut by the sniffer's 64 KB chunks is still text.
    ("long.txt", "text/plain", b"a" * (64 * 1024 - 1) + "é".encode() * 8, "document", "text/plain"),
]


@pytest.mark.parametrize(
    ("name", "content_type", "content", "media_type", "mime"),
    EQUIVALENT_CASES,
    ids=[f"{case[0]}-{case[1]}" for case in EQUIVALENT_CASES],
)
def test_upload_accepts_equivalent_claims(api, name, content_type, content, media_type, mime):
    status, body = upload(api, content, name, content_type, media_type)
    assert status == 201, body
    assert body["data"]["mimeType"] == mime
    assert body["data"]["size"] == len(content)


def test_filename_is_made_safe(api):
    status, body = upload(api, PNG, "my photo (1).png", "image/png")
    assert status == 201, body
    assert body["data"]["filename"] == "my_photo_1_.png"


# --- Refusals -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content_type", "content", "media_type"),
    [
        pytest.param("invoice.pdf", "application/pdf", PDF, "image", id="pdf-as-image"),
        pytest.param("song.mp3", "audio/mpeg", MP3, "video", id="audio-as-video"),
        pytest.param("photo.png", "image/png", PNG, "document", id="image-as-document"),
        pytest.param("x.pdf", "image/png", PNG, "image", id="extension-lies"),
        pytest.param("x.png", "application/pdf", PNG, "image", id="content-type-lies"),
        pytest.param("x.txt", "text/plain", PDF, "document", id="pdf-named-text"),
        pytest.param(
            "x.bin",
            "application/octet-stream",
            b"\x00\x01\x02\x03garbage\xfe\xff",
            "document",
            id="unknown-bytes",
        ),
        pytest.param("x.txt", "text/plain", b"abc\xff", "document", id="invalid-utf8-tail"),
        pytest.param(
            "x.txt",
            "text/plain",
            b"hello world\n" * 1000 + b"\x7fELF\x00\x00\xff",
            "document",
            id="binary-after-text-prefix",
        ),
        pytest.param("x.zip", "application/zip", b"PK\x03\x04broken", "document", id="bad-zip"),
    ],
)
def test_upload_refuses_content_that_does_not_match(api, name, content_type, content, media_type):
    status, body = upload(api, content, name, content_type, media_type)
    assert_validation_error(status, body, "file")
    assert not MediaUpload.objects.exists()
    assert stored_files() == []


def test_empty_file_is_refused(api):
    status, body = upload(api, b"", "empty.png", "image/png")
    assert_validation_error(status, body, "file")
    assert not MediaUpload.objects.exists()
    assert stored_files() == []


def test_empty_file_is_refused_by_the_service(workspace):
    with pytest.raises(ValidationFailed) as caught:
        create_media_upload(
            workspace=workspace,
            file=io.BytesIO(b""),
            filename="e.txt",
            size=0,
            media_type="document",
        )
    assert caught.value.details[0]["field"] == "file"


def test_oversize_is_refused(api, monkeypatch):
    rule = MEDIA_RULES["image"]
    monkeypatch.setitem(MEDIA_RULES, "image", MediaRule(len(PNG) - 1, rule.mime_types))
    status, body = upload(api, PNG, "photo.png", "image/png")
    assert_validation_error(status, body, "file")
    assert "at most" in body["error"]["message"]
    assert not MediaUpload.objects.exists()
    assert stored_files() == []

    # Exactly at the limit is fine.
    monkeypatch.setitem(MEDIA_RULES, "image", MediaRule(len(PNG), rule.mime_types))
    status, body = upload(api, PNG, "photo.png", "image/png")
    assert status == 201, body


def test_image_limit_is_five_megabytes(api):
    # Past FILE_UPLOAD_MAX_MEMORY_SIZE: Django spools these to a temporary file.
    limit = 5 * 1024 * 1024
    at_limit = PNG + b"\x00" * (limit - len(PNG))
    status, body = upload(api, at_limit, "big.png", "image/png")
    assert status == 201, body
    row = MediaUpload.objects.get(public_id=body["data"]["id"])
    with default_storage.open(row.file.name, "rb") as stored:
        assert stored.read() == at_limit

    status, body = upload(api, at_limit + b"\x00", "bigger.png", "image/png")
    assert_validation_error(status, body, "file")
    assert body["error"]["message"] == (
        "Image files may be at most 5 MB (5242880 bytes); this one is 5242881 bytes."
    )
    assert MediaUpload.objects.count() == 1


def test_every_accepted_type_has_a_stored_extension():
    for rule in MEDIA_RULES.values():
        for mime in rule.mime_types:
            assert media._EXTENSIONS[mime].startswith(".")


def test_unknown_type_is_refused(api):
    status, body = upload(api, PNG, "photo.png", "image/png", media_type="sticker")
    assert_validation_error(status, body, "type")
    assert not MediaUpload.objects.exists()
    assert stored_files() == []


def test_missing_type_is_refused(api):
    status, body = api.post(
        "/media/upload",
        {"file": SimpleUploadedFile("photo.png", PNG, "image/png")},
        format="multipart",
    )
    assert_validation_error(status, body, "type")
    assert stored_files() == []


def test_missing_file_is_refused(api):
    status, body = api.post("/media/upload", {"type": "image"}, format="multipart")
    assert_validation_error(status, body, "file")
    assert not MediaUpload.objects.exists()


def test_json_body_is_refused(api):
    status, body = api.post("/media/upload", {"type": "image", "file": "iVBORw0KGgo="})
    assert_validation_error(status, body, "file")
    assert not MediaUpload.objects.exists()
    assert stored_files() == []


def test_raw_body_is_unsupported(api):
    status, body = api.post("/media/upload", PNG, content_type="image/png")
    assert status == 415, body
    assert body["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert stored_files() == []


def test_upload_requires_a_key(db, anonymous_api):
    status, body = upload(anonymous_api, PNG, "photo.png", "image/png")
    assert status == 401, body
    assert body["error"]["code"] == "AUTHENTICATION_REQUIRED"
    assert not MediaUpload.objects.exists()
    assert stored_files() == []


def test_upload_requires_the_media_write_scope(workspace):
    _, raw = create_api_key(workspace=workspace, name="reader", scopes=["messages:read"])
    status, body = upload(Api(raw), PNG, "photo.png", "image/png")
    assert status == 403, body
    assert body["error"]["code"] == "INSUFFICIENT_PERMISSIONS"
    assert not MediaUpload.objects.exists()
    assert stored_files() == []

    _, raw = create_api_key(workspace=workspace, name="uploader", scopes=["media:write"])
    status, body = upload(Api(raw), PNG, "photo.png", "image/png")
    assert status == 201, body


def test_failed_insert_removes_the_stored_file(workspace, monkeypatch):
    def fail(**kwargs):
        raise IntegrityError("simulated")

    monkeypatch.setattr(MediaUpload.objects, "create", fail)
    with pytest.raises(IntegrityError):
        create_media_upload(
            workspace=workspace,
            file=io.BytesIO(PNG),
            filename="photo.png",
            size=len(PNG),
            media_type="image",
            declared_mime="image/png",
        )
    assert stored_files() == []


# --- URLs ---------------------------------------------------------------------


def test_local_urls_are_absolute_under_site_url(workspace, settings):
    settings.SITE_URL = "https://inbox.example.com"
    row = create_media_upload(
        workspace=workspace,
        file=io.BytesIO(PNG),
        filename="photo.png",
        size=len(PNG),
        media_type="image",
    )
    assert row.file.url == f"/media/{row.file.name}"
    assert media_upload_url(row) == f"https://inbox.example.com/media/{row.file.name}"
    assert absolute_url("/media/x.png") == "https://inbox.example.com/media/x.png"
    assert absolute_url("https://cdn.example.com/x.png") == "https://cdn.example.com/x.png"
    # A protocol-relative MEDIA_URL names another host, not a path under SITE_URL.
    assert absolute_url("//cdn.example.com/x.png") == "https://cdn.example.com/x.png"


# --- Attachments --------------------------------------------------------------


def send(api: Api, conversation, content: dict[str, Any], capture) -> tuple[int, dict]:
    with capture(execute=True):
        return api.post("/messages", {"conversationId": conversation.public_id, "content": content})


def test_message_with_an_upload_url_gets_the_attachment(
    api, conversation, django_capture_on_commit_callbacks
):
    status, body = upload(api, PNG, "photo.png", "image/png")
    assert status == 201, body
    uploaded = body["data"]

    status, body = send(
        api,
        conversation,
        {"type": "image", "url": uploaded["url"], "caption": "Your receipt"},
        django_capture_on_commit_callbacks,
    )
    assert status == 201, body
    [attachment] = body["data"]["attributes"]["attachments"]
    assert attachment["id"].startswith("att_")
    assert (attachment["filename"], attachment["mimeType"], attachment["size"]) == (
        "photo.png",
        "image/png",
        len(PNG),
    )
    row = MediaUpload.objects.get(public_id=uploaded["id"])
    assert row.used_at is not None
    stored = Attachment.objects.get()
    assert stored.message.public_id == body["data"]["id"]
    assert stored.file.name == row.file.name
    assert attachment["url"] == uploaded["url"]

    # Read back, the message still lists it.
    status, body = api.get(f"/messages/{stored.message.public_id}")
    assert [a["id"] for a in body["data"]["attributes"]["attachments"]] == [attachment["id"]]


def test_document_message_keeps_its_own_filename(
    api, conversation, django_capture_on_commit_callbacks
):
    status, body = upload(api, PDF, "scan.pdf", "application/pdf", "document")
    assert status == 201, body
    status, body = send(
        api,
        conversation,
        {"type": "document", "url": body["data"]["url"], "filename": "Invoice March.pdf"},
        django_capture_on_commit_callbacks,
    )
    assert status == 201, body
    [attachment] = body["data"]["attributes"]["attachments"]
    assert (attachment["filename"], attachment["mimeType"]) == (
        "Invoice March.pdf",
        "application/pdf",
    )


def test_another_workspaces_upload_is_not_attached(
    api, stranger_api, conversation, django_capture_on_commit_callbacks
):
    status, body = upload(stranger_api, PNG, "secret.png", "image/png")
    assert status == 201, body
    theirs = body["data"]

    status, body = send(
        api,
        conversation,
        {"type": "image", "url": theirs["url"]},
        django_capture_on_commit_callbacks,
    )
    assert status == 201, body
    assert body["data"]["attributes"]["attachments"] == []
    assert not Attachment.objects.exists()
    assert MediaUpload.objects.get(public_id=theirs["id"]).used_at is None


def test_a_url_elsewhere_naming_the_upload_is_not_attached(
    api, conversation, django_capture_on_commit_callbacks
):
    status, body = upload(api, PNG, "photo.png", "image/png")
    assert status == 201, body
    uploaded = body["data"]
    path = uploaded["url"].split("://", 1)[1].split("/", 1)[1]

    status, body = send(
        api,
        conversation,
        {"type": "image", "url": f"https://elsewhere.example/{path}"},
        django_capture_on_commit_callbacks,
    )
    assert status == 201, body
    assert body["data"]["attributes"]["attachments"] == []
    assert MediaUpload.objects.get(public_id=uploaded["id"]).used_at is None


# --- Purge --------------------------------------------------------------------


def _stored_upload(workspace, name: str = "photo.png") -> MediaUpload:
    return create_media_upload(
        workspace=workspace,
        file=io.BytesIO(PNG),
        filename=name,
        size=len(PNG),
        media_type="image",
        declared_mime="image/png",
    )


def test_purge_deletes_expired_unused_uploads_only(workspace):
    past = timezone.now() - media.PURGE_GRACE - timedelta(minutes=1)
    expired = _stored_upload(workspace, "expired.png")
    used = _stored_upload(workspace, "used.png")
    fresh = _stored_upload(workspace, "fresh.png")
    MediaUpload.objects.filter(pk__in=[expired.pk, used.pk]).update(expires_at=past)
    MediaUpload.objects.filter(pk=used.pk).update(used_at=past)

    assert purge_expired_uploads_task.delay().get() == 1

    assert set(MediaUpload.objects.values_list("pk", flat=True)) == {used.pk, fresh.pk}
    assert not default_storage.exists(expired.file.name)
    assert default_storage.exists(used.file.name)
    assert default_storage.exists(fresh.file.name)
    # Nothing left to do.
    assert purge_expired_uploads_task.delay().get() == 0


def test_purge_waits_out_the_grace_period(workspace):
    upload_row = _stored_upload(workspace)
    MediaUpload.objects.filter(pk=upload_row.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert purge_expired_uploads_task.delay().get() == 0
    assert default_storage.exists(upload_row.file.name)


def test_an_expired_unused_upload_is_not_attached(
    api, conversation, django_capture_on_commit_callbacks
):
    status, body = api.post(
        "/media/upload",
        {"file": SimpleUploadedFile("late.png", PNG, "image/png"), "type": "image"},
        format="multipart",
    )
    assert status == 201
    MediaUpload.objects.filter(public_id=body["data"]["id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    status, sent = api.post(
        "/messages",
        {
            "conversationId": conversation.public_id,
            "content": {"type": "image", "url": body["data"]["url"]},
        },
    )
    assert status == 201
    assert sent["data"]["attributes"]["attachments"] == []
    assert MediaUpload.objects.get(public_id=body["data"]["id"]).used_at is None


def test_purge_keeps_the_row_when_the_storage_fails(workspace, monkeypatch):
    upload_row = _stored_upload(workspace)
    MediaUpload.objects.filter(pk=upload_row.pk).update(
        expires_at=timezone.now() - media.PURGE_GRACE - timedelta(minutes=1)
    )

    def broken_delete(self, name):
        raise OSError("storage unavailable")

    monkeypatch.setattr(FileSystemStorage, "delete", broken_delete)
    assert purge_expired_uploads_task.delay().get() == 0
    assert MediaUpload.objects.filter(pk=upload_row.pk).exists()

    # The next run, with the storage back, finishes the job.
    monkeypatch.undo()
    assert purge_expired_uploads_task.delay().get() == 1
    assert not MediaUpload.objects.filter(pk=upload_row.pk).exists()
    assert stored_files() == []


# --- S3 (moto in server mode) ---------------------------------------------------


@dataclass
class S3:
    endpoint: str
    client: Any
    bucket: str
    location: str

    def keys(self) -> list[str]:
        listing = self.client.list_objects_v2(Bucket=self.bucket)
        return sorted(item["Key"] for item in listing.get("Contents", []))

    def key(self, row: MediaUpload) -> str:
        return f"{self.location}/{row.file.name}"


@pytest.fixture(scope="session")
def s3_endpoint():
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def s3(s3_endpoint, settings) -> S3:
    client = s3_client(s3_endpoint)
    bucket = f"inbox-media-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    location = "tenant-files"
    settings.STORAGES = {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": s3_storage_options(s3_endpoint, bucket, location=location),
        },
        "staticfiles": settings.STORAGES["staticfiles"],
    }
    # The models' FileFields use the lazy default storage, which follows STORAGES.
    assert MediaUpload._meta.get_field("file").storage.bucket_name == bucket
    return S3(s3_endpoint, client, bucket, location)


@pytest.mark.slow
def test_s3_upload_lands_in_the_bucket(api, s3):
    status, body = upload(api, PNG, "photo.png", "image/png")
    assert status == 201, body
    data = body["data"]
    row = MediaUpload.objects.get(public_id=data["id"])

    assert s3.keys() == [s3.key(row)]
    stored = s3.client.get_object(Bucket=s3.bucket, Key=s3.key(row))
    assert stored["Body"].read() == PNG
    assert stored["ContentType"] == "image/png"
    assert stored_files() == []

    # A signed, absolute URL that serves the bytes.
    assert data["url"].startswith(f"{s3.endpoint}/{s3.bucket}/{s3.key(row)}?")
    assert "X-Amz-Signature=" in data["url"]
    status, headers, content = http_get(data["url"])
    assert (status, content) == (200, PNG)
    assert headers["content-type"] == "image/png"


@pytest.mark.slow
def test_s3_object_type_is_the_sniffed_one(api, s3):
    status, body = upload(api, CSV, "contacts.csv", "application/vnd.ms-excel", "document")
    assert status == 201, body
    row = MediaUpload.objects.get(public_id=body["data"]["id"])
    stored = s3.client.get_object(Bucket=s3.bucket, Key=s3.key(row))
    assert (stored["ContentType"], stored["Body"].read()) == ("text/csv", CSV)


@pytest.mark.slow
def test_s3_refused_upload_stores_nothing(api, s3):
    status, body = upload(api, PNG, "x.pdf", "image/png")
    assert_validation_error(status, body, "file")
    assert s3.keys() == []


@pytest.mark.slow
def test_s3_attachment_and_purge(api, s3, conversation, django_capture_on_commit_callbacks):
    status, body = upload(api, JPEG, "photo.jpg", "image/jpeg")
    assert status == 201, body
    kept = body["data"]
    status, body = upload(api, PDF, "draft.pdf", "application/pdf", "document")
    assert status == 201, body
    dropped = body["data"]

    status, body = send(
        api, conversation, {"type": "image", "url": kept["url"]}, django_capture_on_commit_callbacks
    )
    assert status == 201, body
    [attachment] = body["data"]["attributes"]["attachments"]
    assert (attachment["mimeType"], attachment["size"]) == ("image/jpeg", len(JPEG))
    assert attachment["url"].startswith(f"{s3.endpoint}/{s3.bucket}/")
    assert http_get(attachment["url"])[2] == JPEG

    kept_row = MediaUpload.objects.get(public_id=kept["id"])
    dropped_row = MediaUpload.objects.get(public_id=dropped["id"])
    assert kept_row.used_at is not None
    assert s3.keys() == sorted([s3.key(kept_row), s3.key(dropped_row)])

    MediaUpload.objects.update(expires_at=timezone.now() - media.PURGE_GRACE - timedelta(minutes=1))
    assert purge_expired_uploads_task.delay().get() == 1
    assert s3.keys() == [s3.key(kept_row)]
    assert list(MediaUpload.objects.values_list("public_id", flat=True)) == [kept["id"]]
