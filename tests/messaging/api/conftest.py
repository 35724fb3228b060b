"""API fixtures: a client with a workspace key, and one for the stranger's workspace."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from rest_framework.test import APIClient

from inbox.services import create_api_key


class Api:
    """A JSON client that sends a Bearer key and returns (status, body)."""

    def __init__(self, raw_key: str | None) -> None:
        self.client = APIClient()
        if raw_key:
            self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")

    def _call(self, method: str, path: str, data=None, **extra):
        fn = getattr(self.client, method)
        if method == "get":
            response = fn(f"/api/v1{path}", data, **extra)
        elif method == "delete":
            # The test client sends DELETE data as a body; ours are query parameters.
            query = f"?{urlencode(data)}" if data else ""
            response = fn(f"/api/v1{path}{query}", **extra)
        elif isinstance(data, bytes | str):
            response = fn(
                f"/api/v1{path}",
                data,
                content_type=extra.pop("content_type", "application/json"),
                **extra,
            )
        else:
            response = fn(f"/api/v1{path}", data, format=extra.pop("format", "json"), **extra)
        self.last = response
        body = (
            response.json()
            if response.get("Content-Type", "").startswith("application/json")
            else None
        )
        return response.status_code, body

    def get(self, path, params=None, **extra):
        return self._call("get", path, params, **extra)

    def post(self, path, data=None, **extra):
        return self._call("post", path, data, **extra)

    def patch(self, path, data=None, **extra):
        return self._call("patch", path, data, **extra)

    def delete(self, path, params=None, **extra):
        return self._call("delete", path, params, **extra)


@pytest.fixture
def api(workspace) -> Api:
    _, raw = create_api_key(workspace=workspace, name="tests")
    return Api(raw)


@pytest.fixture
def stranger_api(other_workspace) -> Api:
    _, raw = create_api_key(workspace=other_workspace, name="stranger")
    return Api(raw)


@pytest.fixture
def anonymous_api() -> Api:
    return Api(None)
