"""The admin API for machines' keys (/v1/keys) and the audit log's filters (/v1/audit).

The secret is in the creation's answer only: never in the list, never in the audit log. Cookie requests need
the session's CSRF token; other roles get 403; bad input is 422 with nothing stored.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from api.storage.tables import ApiKey, AuditEntry
from tests.api.auth_support import Web


def _admin_browser(web: Web, username: str = "quantri") -> tuple[Any, dict[str, str]]:
    web.create_user(username, "admin", name="Lê Quản Trị")
    c = web.client()
    assert web.sign_in(c, username).status_code == 303
    return c, {"X-CSRF-Token": web.csrf(c)}


def _keys(web: Web) -> list[ApiKey]:
    with web.services.db.session() as s:
        return list(s.scalars(select(ApiKey).order_by(ApiKey.id)))


def test_admin_creates_lists_and_revokes_keys_the_secret_shown_once(web: Web) -> None:
    c, csrf = _admin_browser(web)
    r = c.post("/v1/keys", json={"name": "Màn hình IOC tầng 2", "role": "viewer"}, headers=csrf)
    assert r.status_code == 201, r.text
    created = r.json()
    secret = created["key"]
    assert secret.startswith(f"ioc_{created['prefix']}_") and created["role"] == "viewer"
    assert created["revoked_at"] is None and created["created_at"].endswith(("Z", "+00:00"))

    machine = web.client("10.0.0.9")
    me = machine.get("/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200 and me.json()["kind"] == "key" and me.json()["role"] == "viewer"

    listed = c.get("/v1/keys")
    assert listed.status_code == 200
    assert [k["name"] for k in listed.json()] == ["Màn hình IOC tầng 2"]
    assert "key" not in listed.json()[0] and secret not in listed.text
    secret_part = secret.split("_", 2)[2]
    assert secret_part not in listed.text

    entries = web.audit("key.create")
    assert len(entries) == 1 and entries[0].actor == "Lê Quản Trị"
    assert entries[0].detail["name"] == "Màn hình IOC tầng 2" and entries[0].detail["role"] == "viewer"
    everything = json.dumps([(e.action, e.object_id, e.detail) for e in web.audit()], ensure_ascii=False)
    assert secret_part not in everything
    audit_api = c.get("/v1/audit")
    assert audit_api.status_code == 200 and secret_part not in audit_api.text

    r = c.delete(f"/v1/keys/{created['id']}", headers=csrf)
    assert r.status_code == 200 and r.json()["revoked_at"] is not None
    assert machine.get("/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    again = c.delete(f"/v1/keys/{created['id']}", headers=csrf)
    assert again.status_code == 200 and again.json()["revoked_at"] == r.json()["revoked_at"]
    assert len(web.audit("key.revoke")) == 1  # revoking a revoked key records nothing
    assert c.delete("/v1/keys/999999", headers=csrf).status_code == 404
    assert c.delete("/v1/keys/0", headers=csrf).status_code == 422
    assert c.delete(f"/v1/keys/{2**40}", headers=csrf).status_code == 422


def test_only_admins_manage_keys_and_cookie_writes_need_the_csrf_token(web: Web) -> None:
    c, csrf = _admin_browser(web)
    body = {"name": "script", "role": "analyst"}
    r = c.post("/v1/keys", json=body)  # signed in, no token
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
    r = c.post("/v1/keys", json=body, headers={"X-CSRF-Token": "not-the-token"})
    assert r.status_code == 403
    assert _keys(web) == []

    for role in ("viewer", "secretary", "analyst"):
        username = f"{role}{uuid.uuid4().hex[:5]}"
        web.create_user(username, role)
        other = web.client()
        assert web.sign_in(other, username).status_code == 303
        token = {"X-CSRF-Token": web.csrf(other)}
        assert other.post("/v1/keys", json=body, headers=token).status_code == 403, role
        assert other.get("/v1/keys").status_code == 403, role
        assert other.get("/v1/audit").status_code == 403, role
    assert web.client().post("/v1/keys", json=body, headers=web.key("analyst")).status_code == 403
    assert len(_keys(web)) == 1  # only the analyst key the test made itself

    made = c.post("/v1/keys", json=body, headers=csrf).json()
    for who in (web.key("secretary"),):
        assert web.client().delete(f"/v1/keys/{made['id']}", headers=who).status_code == 403
    assert c.delete(f"/v1/keys/{made['id']}").status_code == 403  # cookie without the token
    assert next(k for k in _keys(web) if k.id == made["id"]).revoked_at is None


def test_bad_key_input_is_refused_and_nothing_is_stored(web: Web) -> None:
    c, csrf = _admin_browser(web)
    for body in (
        {"name": "x", "role": "root"},
        {"name": "", "role": "viewer"},
        {"name": "x" * 121, "role": "viewer"},
        {"name": "x", "role": "viewer", "key": "ioc_mine_secret"},
        {"role": "viewer"},
        {"name": "a\u0000b", "role": "viewer"},
    ):
        r = c.post("/v1/keys", json=body, headers=csrf)
        assert r.status_code == 422, (body, r.status_code)
        assert r.json()["error"]["code"] in ("validation_error", "invalid_input", "nul_character"), r.text
    assert _keys(web) == []
    assert web.audit("key.create") == []


def _entry(web: Web, at: datetime, action: str, actor: str, subject: str) -> None:
    with web.services.db.transaction() as s:
        s.add(AuditEntry(at=at, actor=actor, actor_subject=subject, action=action, object_type="x", object_id="1"))


def test_audit_log_filters_by_actor_action_and_days_with_pages(web: Web) -> None:
    c, _ = _admin_browser(web)
    web.audit()  # the sign-in is already there
    with web.services.db.transaction() as s:
        s.execute(update(AuditEntry).values(at=datetime(2020, 1, 1, tzinfo=UTC)))
    # 2026-12-04 17:30 UTC is 05/12/2026 00:30 in Hà Nội: the day filters count in Asia/Ho_Chi_Minh
    _entry(web, datetime(2026, 12, 4, 17, 30, tzinfo=UTC), "user.create", "Nguyễn Thị Lan", "user:7")
    _entry(web, datetime(2026, 12, 4, 16, 30, tzinfo=UTC), "key.create", "Trần Văn Minh", "user:8")
    _entry(web, datetime(2026, 12, 6, 3, 0, tzinfo=UTC), "user.disable", "Nguyễn Thị Lan", "user:7")

    def actions(**params: Any) -> list[str]:
        r = c.get("/v1/audit", params=params)
        assert r.status_code == 200, r.text
        return [e["action"] for e in r.json()]

    assert actions(actor="lan") == ["user.disable", "user.create"]  # part of the name, any case
    assert actions(actor="user:8") == ["key.create"]  # or the subject
    assert actions(action="user.") == ["user.disable", "user.create", "user.sign_in"]
    assert actions(action="user.create") == ["user.create"]
    assert actions(action="user.%") == []  # a wildcard is a character, not a pattern
    assert actions(start="2026-12-05", end="2026-12-05") == ["user.create"]
    assert actions(start="2026-12-04", end="2026-12-04") == ["key.create"]
    assert actions(start="2026-12-05") == ["user.disable", "user.create"]
    assert actions(end="2026-12-04", action="key.") == ["key.create"]
    assert actions(actor="lan", start="2026-12-06") == ["user.disable"]
    assert actions(end="9999-12-31", actor="lan") == ["user.disable", "user.create"]

    first = actions(limit=2, offset=0)
    second = actions(limit=2, offset=2)
    assert len(first) == 2 and len(second) == 2 and not set(first) & set(second)
    r = c.get("/v1/audit", params={"start": "2026-12-06", "end": "2026-12-05"})
    assert r.status_code == 422 and "sau ngày kết thúc" in r.json()["error"]["message"]
    for bad in ({"limit": 1001}, {"limit": 0}, {"offset": -1}, {"start": "05/12/2026"}, {"actor": "x" * 121}):
        assert c.get("/v1/audit", params=bad).status_code == 422, bad
    now = datetime.now(UTC) + timedelta(hours=7)
    assert "user.sign_in" not in actions(start=now.date().isoformat())  # moved to 2020 above
