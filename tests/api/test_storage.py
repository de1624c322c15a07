"""Storage against SQLite and PostgreSQL: migrations, keys, transactions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, select

from api.auth import authenticate, create_key, list_keys, revoke_key
from api.storage import Database, migrate
from api.storage.tables import AuditEntry, Indicator


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database with no schema at all (the other tests start from a migrated copy)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    return str(request.getfixturevalue("empty_postgres_url"))


def test_migrations_create_every_table_and_are_idempotent(empty_database_url: str) -> None:
    database_url = empty_database_url
    migrate(database_url)
    migrate(database_url)
    db = Database(database_url)
    tables = set(inspect(db.engine).get_table_names())
    assert {
        "api_keys",
        "audit_log",
        "jobs",
        "indicators",
        "observations",
        "transcriptions",
        "transcript_segments",
        "social_posts",
        "social_labels",
        "alembic_version",
    } <= tables
    columns = {c["name"] for c in inspect(db.engine).get_columns("transcript_segments")}
    assert "words" in columns
    assert "human_label" in {c["name"] for c in inspect(db.engine).get_columns("social_posts")}
    db.dispose()


def test_keys_are_stored_hashed_and_checked(services: Any) -> None:
    pepper = "pepper-for-test"
    with services.db.transaction() as s:
        info, key = create_key(s, name="Văn phòng UBND", role="secretary", pepper=pepper)
    assert key.startswith(f"ioc_{info.prefix}_") and len(key) > 40
    with services.db.session() as s:
        stored = s.execute(select(__import__("api.storage.tables", fromlist=["ApiKey"]).ApiKey.key_hash)).scalar()
    assert key not in stored and info.prefix not in stored
    with services.db.transaction() as s:
        who = authenticate(s, key, pepper)
        assert who is not None and who.role == "secretary" and who.name == "Văn phòng UBND"
        assert authenticate(s, key, "another-pepper") is None
        assert authenticate(s, key[:-1] + ("A" if key[-1] != "A" else "B"), pepper) is None
        assert authenticate(s, "garbage", pepper) is None
        revoke_key(s, info.prefix)
    with services.db.transaction() as s:
        assert authenticate(s, key, pepper) is None
        assert list_keys(s)[0].revoked_at is not None


def test_revoke_by_an_all_digit_prefix_or_by_id(services: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A random hex prefix can be all digits (about 1 key in 300): it still names its key, even when it is too
    large for an id column; a plain id still works."""
    import api.auth

    monkeypatch.setattr(api.auth.secrets, "token_hex", lambda n: "302136101653")
    with services.db.transaction() as s:
        digits, _ = create_key(s, name="A", role="viewer", pepper="p")
    monkeypatch.undo()
    with services.db.transaction() as s:
        other, _ = create_key(s, name="B", role="viewer", pepper="p")
    with services.db.transaction() as s:
        assert revoke_key(s, "302136101653").id == digits.id
        assert revoke_key(s, str(other.id)).id == other.id
        assert revoke_key(s, "99999999999999") is None and revoke_key(s, "nope") is None
    with services.db.session() as s:
        assert all(k.revoked_at is not None for k in list_keys(s))


def test_unknown_role_and_empty_name_are_refused(services: Any) -> None:
    with services.db.transaction() as s, pytest.raises(ValueError, match="unknown role 'root'"):
        create_key(s, name="x", role="root", pepper="p")
    with services.db.transaction() as s, pytest.raises(ValueError, match="non-empty name"):
        create_key(s, name="  ", role="viewer", pepper="p")


def test_a_failing_transaction_writes_nothing(services: Any) -> None:
    with pytest.raises(RuntimeError), services.db.transaction() as s:
        s.add(Indicator(code="cpi", name="CPI", frequency="M"))
        s.add(AuditEntry(actor="t", action="indicator.put", object_type="indicator", object_id="cpi"))
        s.flush()
        raise RuntimeError("boom")
    with services.db.session() as s:
        assert s.scalars(select(Indicator)).all() == []
        assert s.scalars(select(AuditEntry)).all() == []
