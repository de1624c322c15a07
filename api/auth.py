"""API keys and roles.

A key is ``ioc_<prefix>_<secret>``: the prefix finds the row, the HMAC-SHA256 of the whole key under the
service's secret (pepper) is what is stored, and comparison is constant-time. Keys are shown once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.storage.tables import ApiKey, utcnow

if TYPE_CHECKING:
    from api.storage.db import Database

ROLES = ("viewer", "secretary", "analyst", "admin")

#: Who may do what: every role reads; secretaries add transcriptions; analysts add data, training and
#: promotion; admins do all of it and manage keys.
VIEWER = frozenset(ROLES)
SECRETARY = frozenset({"secretary", "admin"})
ANALYST = frozenset({"analyst", "admin"})
ADMIN = frozenset({"admin"})


@dataclass(frozen=True)
class Principal:
    """The caller behind a request: a machine's API key or a signed-in person.

    ``name`` is for display only; ownership and audit use :attr:`subject`, which never changes when a
    person or key is renamed."""

    key_id: int | None
    name: str
    role: str
    user_id: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def subject(self) -> str:
        """Stable identity: ``"user:<id>"``, ``"key:<id>"`` or ``"system"`` (the CLI and startup)."""
        if self.user_id is not None:
            return f"user:{self.user_id}"
        if self.key_id is not None:
            return f"key:{self.key_id}"
        return "system"


SYSTEM = Principal(key_id=None, name="system", role="admin")


@dataclass(frozen=True)
class KeyInfo:
    id: int
    name: str
    role: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


def _hash(key: str, pepper: str) -> str:
    return hmac.new(pepper.encode(), key.encode(), hashlib.sha256).hexdigest()


def create_key(session: Session, *, name: str, role: str, pepper: str) -> tuple[KeyInfo, str]:
    """Store a new key and return it in clear, the only time it exists in clear."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}, expected one of: {', '.join(ROLES)}")
    name = name.strip()
    if not name:
        raise ValueError("a key needs a non-empty name (who or what uses it)")
    prefix = secrets.token_hex(6)
    key = f"ioc_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(name=name, role=role, prefix=prefix, key_hash=_hash(key, pepper))
    session.add(row)
    session.flush()
    return _info(row), key


def authenticate(session: Session, key: str, pepper: str) -> Principal | None:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "ioc":
        return None
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == parts[1]))
    if row is None or row.revoked_at is not None:
        # Still spend the hashing time so that unknown prefixes are not distinguishable by timing.
        hmac.compare_digest(_hash(key, pepper), "0" * 64)
        return None
    if not hmac.compare_digest(_hash(key, pepper), row.key_hash):
        return None
    # No write here: reading must not depend on the database taking writes (see record_key_use).
    return Principal(key_id=row.id, name=row.name, role=row.role)


#: How often a key's ``last_used_at`` is rewritten at most (seconds); it is a coarse "still in use" mark.
KEY_USE_EVERY_S = 60.0
_key_use_lock = threading.Lock()
_key_use_at: dict[tuple[str, int], float] = {}


def record_key_use(db: Database, key_id: int) -> bool:
    """Set the key's ``last_used_at``, at most once a minute per key and process, in its own transaction and
    best-effort: a database that refuses writes is logged, never fails the request. True when written."""
    slot = (db.url, key_id)
    now = time.monotonic()
    with _key_use_lock:
        if now - _key_use_at.get(slot, -KEY_USE_EVERY_S) < KEY_USE_EVERY_S:
            return False
        _key_use_at[slot] = now  # also after a failure: a broken database is not hammered by every request
    return db.best_effort(
        f"last_used_at of key {key_id}",
        lambda s: s.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=utcnow())),
    )


#: Largest id a 32-bit INTEGER column holds (PostgreSQL refuses a larger literal).
_MAX_ID = 2**31 - 1


def list_keys(session: Session) -> list[KeyInfo]:
    return [_info(r) for r in session.scalars(select(ApiKey).order_by(ApiKey.id))]


def revoke_key(session: Session, key_id_or_prefix: str) -> KeyInfo | None:
    """Revoke the key with this prefix or, failing that, this numeric id; None when neither exists.

    The prefix is tried first: a random hex prefix is all digits about once in 300 keys."""
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == key_id_or_prefix))
    if row is None and key_id_or_prefix.isdigit() and int(key_id_or_prefix) <= _MAX_ID:
        row = session.get(ApiKey, int(key_id_or_prefix))
    if row is None:
        return None
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return _info(row)


def revoke_key_by_id(session: Session, key_id: int) -> tuple[KeyInfo, bool] | None:
    """Revoke the key with this id; returns it and whether this call revoked it (False: it already was), or
    None when there is no such key."""
    row = session.get(ApiKey, key_id) if 0 < key_id <= _MAX_ID else None
    if row is None:
        return None
    changed = row.revoked_at is None
    if changed:
        row.revoked_at = utcnow()
    return _info(row), changed


def _info(row: ApiKey) -> KeyInfo:
    return KeyInfo(row.id, row.name, row.role, row.prefix, row.created_at, row.revoked_at, row.last_used_at)
