"""Fixtures of the sign-in tests: one service per database per module (building one costs seconds: the
MLflow store), wiped of users, sessions, throttle state, keys and audit entries before each test.

Import the fixtures into a test module: ``from tests.api.auth_support import auth_services, web  # noqa: F401``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete

from tests.conftest import POSTGRES_URL, _admin_url, make_key, make_settings

#: Cheap argon2id parameters for tests; the timing test sets its own.
FAST_HASH = {"argon2_time_cost": 1, "argon2_memory_kib": 8192, "argon2_parallelism": 1}
PASSWORD = "mật-khẩu-đủ-dài-1"


def _postgres_database() -> tuple[str, Any]:
    from sqlalchemy import create_engine, text

    name = f"ioc_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as e:  # never skip: CI must have PostgreSQL
        pytest.fail(f"PostgreSQL at {POSTGRES_URL} is required for this test and unreachable: {e}")

    def drop() -> None:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return _admin_url(POSTGRES_URL, name), drop


def start_services(kind: str, tmp: Path) -> tuple[Any, Any]:
    from api.services import Services
    from api.tasks import build_task_registry

    drop = None
    if kind == "sqlite":
        url = f"sqlite:///{tmp / 'ioc.db'}"
    else:
        url, drop = _postgres_database()
    settings = make_settings(tmp / "var", database_url=url, auth=dict(FAST_HASH))
    svc = Services.start(settings, build_task_registry(settings.jobs.plugins))

    def close() -> None:
        svc.close()
        if drop:
            drop()

    return svc, close


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def auth_services(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    svc, close = start_services(request.param, tmp_path_factory.mktemp("auth"))
    yield svc
    close()


@pytest.fixture(scope="module")
def sqlite_services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    svc, close = start_services("sqlite", tmp_path_factory.mktemp("auth"))
    yield svc
    close()


def wipe(services: Any) -> None:
    from api.storage.tables import ApiKey, AuditEntry, AuthThrottle, User, UserSession

    with services.db.transaction() as s:
        for table in (UserSession, User, AuthThrottle, ApiKey, AuditEntry):
            s.execute(delete(table))


class Web:
    """The app of one test and helpers to act as a browser or a machine against it."""

    def __init__(self, services: Any) -> None:
        from fastapi.testclient import TestClient

        from api.app import create_app

        self.services = services
        self.app = create_app(services=services, workers=0, run_startup=False)
        self._clients: list[Any] = []
        self.TestClient = TestClient

    def client(self, address: str = "10.0.0.1", **kwargs: Any) -> Any:
        """A browser at ``address`` (its own cookie jar)."""
        c = self.TestClient(self.app, client=(address, 50000), follow_redirects=False, **kwargs)
        c.__enter__()
        self._clients.append(c)
        return c

    def close(self) -> None:
        for c in self._clients:
            c.__exit__(None, None, None)

    def create_user(self, username: str, role: str, password: str = PASSWORD, name: str | None = None) -> Any:
        from api.routes.session import password_hasher
        from api.users import create_user

        with self.services.db.transaction() as s:
            return create_user(
                s,
                username=username,
                name=name or username.title(),
                role=role,
                password=password,
                hasher=password_hasher(self.services),
            )

    def key(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {make_key(self.services, role)}"}

    @staticmethod
    def form_token(client: Any) -> str:
        page = client.get("/dang-nhap")
        assert page.status_code == 200, page.text
        found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert found, page.text
        return found.group(1)

    def sign_in(self, client: Any, username: str, password: str = PASSWORD, next_path: str = "/") -> Any:
        token = self.form_token(client)
        return client.post(
            "/dang-nhap", data={"username": username, "password": password, "csrf_token": token, "next": next_path}
        )

    @staticmethod
    def csrf(client: Any) -> str:
        me = client.get("/v1/me")
        assert me.status_code == 200, me.text
        token: str = me.json()["csrf_token"]
        return token

    def audit(self, action: str | None = None) -> list[Any]:
        from sqlalchemy import select

        from api.storage.tables import AuditEntry

        with self.services.db.session() as s:
            stmt = select(AuditEntry).order_by(AuditEntry.id)
            if action:
                stmt = stmt.where(AuditEntry.action == action)
            return list(s.scalars(stmt))


@pytest.fixture
def web(auth_services: Any) -> Iterator[Web]:
    wipe(auth_services)
    w = Web(auth_services)
    yield w
    w.close()
