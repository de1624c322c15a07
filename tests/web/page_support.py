"""Page tests without a browser: a signed-in test client per role on the SQLite services of
``tests.api.auth_support``. Import the fixture into a module: ``from tests.web.page_support import site,
signed_in  # noqa: F401`` (it stands in for the browser journeys' ``site`` of conftest.py there)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.api.auth_support import Web, wipe


@pytest.fixture
def site(sqlite_services: Any) -> Iterator[Web]:
    wipe(sqlite_services)
    w = Web(sqlite_services)
    yield w
    w.close()


def signed_in(site: Web, role: str, username: str | None = None) -> Any:
    """A test client signed in through the form as a new person of ``role``."""
    username = username or f"{role}{uuid.uuid4().hex[:6]}"
    site.create_user(username, role, name=f"Người {username}")
    c = site.client()
    assert site.sign_in(c, username).status_code == 303
    return c
