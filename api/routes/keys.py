"""API keys for machines (admins only): list, create (the secret is answered once), revoke.

The same work as ``ioc keys create|list|revoke``, audited with the acting admin. The secret is in the
answer to the creation and nowhere else: not in the list, not in the audit log (only the key's id, name,
role and prefix are).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from api import audit
from api.auth import KeyInfo, create_key, list_keys, revoke_key_by_id
from api.deps import Admin, ServicesDep, SessionDep
from api.errors import NotFound
from api.schemas import MAX_DB_INT, NoNulStr, UtcDatetime

router = APIRouter(prefix="/v1/keys", tags=["keys"])

Role = Literal["viewer", "secretary", "analyst", "admin"]
KeyId = Annotated[int, Path(ge=1, le=MAX_DB_INT, description="the key's id")]


class KeyOut(BaseModel):
    id: int
    name: str = Field(description="who or what uses the key")
    role: Role
    prefix: str = Field(description="the public part of the key (ioc_<prefix>_...), to recognise it")
    created_at: UtcDatetime
    revoked_at: UtcDatetime | None
    last_used_at: UtcDatetime | None = Field(description="last use, to the minute")


class KeyCreated(KeyOut):
    key: str = Field(description="the key in clear: shown this once, never again; store it now")


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: NoNulStr = Field(min_length=1, max_length=120, examples=["Màn hình IOC tầng 2"])
    role: Role


def _out(info: KeyInfo) -> KeyOut:
    return KeyOut(
        id=info.id,
        name=info.name,
        role=info.role,  # stored roles are checked on the way in
        prefix=info.prefix,
        created_at=info.created_at,
        revoked_at=info.revoked_at,
        last_used_at=info.last_used_at,
    )


@router.get("", response_model=list[KeyOut])
def keys_list(session: SessionDep, _: Admin) -> list[KeyOut]:
    """Every key, oldest first, revoked ones included (never the secrets)."""
    return [_out(k) for k in list_keys(session)]


@router.post("", response_model=KeyCreated, status_code=201)
def keys_create(body: KeyCreate, services: ServicesDep, who: Admin) -> KeyCreated:
    """Create a key; the answer carries the secret, the only time it is shown."""
    with services.db.transaction() as s:
        info, secret = create_key(
            s, name=body.name.strip(), role=body.role, pepper=services.settings.secret_key.get_secret_value()
        )
        audit.record(
            s,
            who,
            "key.create",
            "api_key",
            str(info.id),
            {"name": info.name, "role": info.role, "prefix": info.prefix, "actor_subject": who.subject},
        )
    return KeyCreated(**_out(info).model_dump(), key=secret)


@router.delete("/{key_id}", response_model=KeyOut)
def keys_revoke(key_id: KeyId, services: ServicesDep, who: Admin) -> KeyOut:
    """Revoke a key: requests with it get 401 from then on. Revoking a revoked key changes nothing."""
    with services.db.transaction() as s:
        found = revoke_key_by_id(s, key_id)
        if found is None:
            raise NotFound(f"Không có khóa API với mã {key_id}.")
        info, changed = found
        if changed:
            audit.record(
                s, who, "key.revoke", "api_key", str(info.id), {"name": info.name, "actor_subject": who.subject}
            )
    return _out(info)
