"""The users store (argon2id, rules, rehash), the admin API /v1/users and `ioc users` (password on stdin)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from api.settings import AuthSettings
from api.storage.tables import User
from api.users import (
    PasswordError,
    PasswordHasher,
    UserError,
    authenticate_user,
    create_user,
    normalize_username,
    validate_password,
)
from tests.api.auth_support import FAST_HASH, PASSWORD, Web
from tests.conftest import CliRun, make_settings, run_ioc, settings_env

ROOT = Path(__file__).parents[2]


def test_password_rules_speak_vietnamese() -> None:
    with pytest.raises(PasswordError, match=r"ít nhất 10 ký tự \(nhận được 9 ký tự\)"):
        validate_password("ngắn-quá9", "lan")
    with pytest.raises(PasswordError, match="trùng với tên đăng nhập"):
        validate_password("nguyen.van.a", "nguyen.van.a")
    with pytest.raises(PasswordError, match="chứa tên đăng nhập"):
        validate_password("Nguyen.Van.A-2026!", "nguyen.van.a")
    assert validate_password("mật khẩu đủ dài", "lan") == "mật khẩu đủ dài"
    assert isinstance(PasswordError("x"), ValueError)
    assert normalize_username("  Lan.Nguyen ") == "lan.nguyen"
    for bad in ("ab", "có.dấu", "a b c", "-bat.dau", "x" * 65):
        with pytest.raises(UserError, match="Tên đăng nhập .* không hợp lệ"):
            normalize_username(bad)


def test_store_hashes_with_argon2id_and_rehashes_when_parameters_change(web: Web) -> None:
    settings = AuthSettings(**FAST_HASH)
    hasher = PasswordHasher(settings)
    with web.services.db.transaction() as s:
        user = create_user(
            s, username="Lan.Nguyen", name=" Nguyễn Thị Lan ", role="analyst", password=PASSWORD, hasher=hasher
        )
    assert user.username == "lan.nguyen" and user.name == "Nguyễn Thị Lan" and user.subject == f"user:{user.id}"
    with web.services.db.session() as s:
        stored = s.scalar(select(User.password_hash).where(User.id == user.id))
    assert stored is not None and stored.startswith("$argon2id$v=19$m=8192,t=1,p=1$") and PASSWORD not in stored
    with web.services.db.transaction() as s:
        assert authenticate_user(s, "lan.nguyen", "sai-mật-khẩu-rồi", hasher).reason == "wrong_password"
        assert authenticate_user(s, "ai.do.khac", PASSWORD, hasher).reason == "unknown_user"
        assert authenticate_user(s, "LAN.NGUYEN", PASSWORD, hasher).reason == "ok"
    with web.services.db.transaction() as s, pytest.raises(UserError, match="đã có người dùng"):
        create_user(s, username="lan.nguyen", name="Trùng", role="viewer", password=PASSWORD, hasher=hasher)
    with web.services.db.transaction() as s, pytest.raises(UserError, match="Vai trò 'root' không tồn tại"):
        create_user(s, username="root.user", name="Root", role="root", password=PASSWORD, hasher=hasher)

    stronger = PasswordHasher(AuthSettings(argon2_time_cost=2, argon2_memory_kib=16384, argon2_parallelism=1))
    with web.services.db.transaction() as s:
        result = authenticate_user(s, "lan.nguyen", PASSWORD, stronger)
    assert result.reason == "ok" and result.user is not None and result.user.last_sign_in_at is not None
    with web.services.db.session() as s:
        renewed = s.scalar(select(User.password_hash).where(User.id == user.id))
    assert renewed is not None and renewed.startswith("$argon2id$v=19$m=16384,t=2,p=1$")
    with web.services.db.transaction() as s:
        assert authenticate_user(s, "lan.nguyen", PASSWORD, stronger).reason == "ok"


@pytest.mark.parametrize("auth_services", ["sqlite"], indirect=True)
def test_unknown_user_costs_the_same_time_as_a_wrong_password(web: Web) -> None:
    hasher = PasswordHasher(AuthSettings(argon2_time_cost=2, argon2_memory_kib=32768, argon2_parallelism=1))
    with web.services.db.transaction() as s:
        create_user(s, username="do.thoi.gian", name="Đo", role="viewer", password=PASSWORD, hasher=hasher)

    # the three kinds of name take turns, so that a busy moment of the machine (another test worker) weighs
    # on all three alike rather than on one kind's block of attempts
    names = ("do.thoi.gian", "khong.ton.tai", "x")
    times: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(7):
        for name in names:
            with web.services.db.transaction() as s:
                started = time.perf_counter()
                authenticate_user(s, name, "mật-khẩu-sai-hoàn-toàn", hasher)
                times[name].append(time.perf_counter() - started)
    known, unknown, malformed = (statistics.median(times[name]) for name in names)
    # an argon2 verification is most of the time; without the dummy hash the unknown name takes ~1 ms
    assert 0.6 < unknown / known < 1.6, (known, unknown)
    assert 0.6 < malformed / known < 1.6, (known, malformed)


def test_admin_api_manages_users(web: Web) -> None:
    c = web.client()
    admin, analyst = web.key("admin"), web.key("analyst")
    body = {"username": "Hoa.Tran", "name": "Trần Thị Hoa", "role": "secretary", "password": PASSWORD}
    assert c.post("/v1/users", json=body, headers=analyst).status_code == 403
    r = c.post("/v1/users", json=body, headers=admin)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["username"] == "hoa.tran" and created["subject"] == f"user:{created['id']}"
    assert created["role"] == "secretary" and created["disabled"] is False and "password" not in r.text
    r = c.post("/v1/users", json=body, headers=admin)
    assert r.status_code == 409 and "đã có người dùng" in r.json()["error"]["message"]
    r = c.post("/v1/users", json={**body, "username": "hoa.ngan", "password": "ngắn"}, headers=admin)
    assert r.status_code == 422 and r.json()["error"]["code"] == "weak_password"
    assert "ít nhất 10 ký tự" in r.json()["error"]["message"]
    r = c.post("/v1/users", json={**body, "username": "hoa.role", "role": "root"}, headers=admin)
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    listed = c.get("/v1/users", headers=admin).json()
    assert [u["username"] for u in listed] == ["hoa.tran"]

    uid = created["id"]
    browser = web.client("10.0.0.2")
    assert web.sign_in(browser, "hoa.tran").status_code == 303
    r = c.patch(f"/v1/users/{uid}", json={"role": "analyst", "name": "Trần Hoa"}, headers=admin)
    assert r.status_code == 200 and r.json()["role"] == "analyst" and r.json()["name"] == "Trần Hoa"
    assert browser.get("/v1/me").json()["role"] == "analyst"  # the role is read at each request
    assert c.patch("/v1/users/999999", json={"name": "x"}, headers=admin).status_code == 404
    r = c.patch(f"/v1/users/{uid}", json={"password": "x"}, headers=admin)
    assert r.status_code == 422  # unknown fields are refused, not ignored

    r = c.post(f"/v1/users/{uid}/reset-password", json={"password": "mật-khẩu-mới-tinh"}, headers=admin)
    assert r.status_code == 200
    assert browser.get("/v1/me").status_code == 401  # the old session ended
    assert web.sign_in(web.client("10.0.0.3"), "hoa.tran").status_code == 401
    assert web.sign_in(web.client("10.0.0.3"), "hoa.tran", "mật-khẩu-mới-tinh").status_code == 303
    r = c.post(f"/v1/users/{uid}/reset-password", json={"password": "hoa.tran.2026"}, headers=admin)
    assert r.status_code == 422 and "tên đăng nhập" in r.json()["error"]["message"]

    actions = [(e.action, e.object_id, e.actor) for e in web.audit() if e.action.startswith("user.")]
    assert ("user.create", str(uid), "test-admin") in actions
    assert ("user.update", str(uid), "test-admin") in actions
    assert ("user.reset_password", str(uid), "test-admin") in actions
    update = web.audit("user.update")[0]
    assert update.detail["changes"] == {"role": ["secretary", "analyst"], "name": ["Trần Thị Hoa", "Trần Hoa"]}
    assert update.detail["actor_subject"].startswith("key:")


def test_admin_cannot_disable_or_demote_their_own_account(web: Web) -> None:
    me = web.create_user("quan.tri.vien", "admin")
    c = web.client()
    web.sign_in(c, "quan.tri.vien")
    token = {"X-CSRF-Token": web.csrf(c)}
    for change in ({"disabled": True}, {"role": "viewer"}):
        r = c.patch(f"/v1/users/{me.id}", json=change, headers=token)
        assert r.status_code == 409 and "chính mình" in r.json()["error"]["message"]
    assert c.patch(f"/v1/users/{me.id}", json={"name": "Quản Trị"}, headers=token).status_code == 200


def _ioc(tmp_path: Path, *args: str, stdin: str | None = None, new_process: bool = False) -> CliRun:
    """``ioc users ARGS`` with ``stdin`` piped in: in this process (``run_ioc``), or with ``new_process`` as
    ``python -m api.cli`` reading a real pipe."""
    env = settings_env(make_settings(tmp_path / "var"))
    env.update({f"IOC_AUTH__{k.upper()}": str(v) for k, v in FAST_HASH.items()})
    if not new_process:
        return run_ioc(env, "users", *args, input=stdin)
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "users", *args],
        env=env,
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return CliRun(done.returncode, done.stdout, done.stderr)


@pytest.mark.slow
def test_cli_creates_users_with_the_password_from_stdin(tmp_path: Path) -> None:
    short = _ioc(tmp_path, "create", "--username", "lan", "--role", "viewer", "--name", "Lan", stdin="ngan\n")
    assert short.returncode == 2 and "ít nhất 10 ký tự" in short.stderr
    bad_role = _ioc(tmp_path, "create", "--username", "lan", "--role", "root", "--name", "Lan", stdin=PASSWORD)
    assert bad_role.returncode == 2 and "vai trò 'root'" in bad_role.stderr
    created = _ioc(
        tmp_path,
        "create",
        "--username",
        "Lan.Nguyen",
        "--role",
        "analyst",
        "--name",
        "Nguyễn Thị Lan",
        stdin=PASSWORD + "\n",
        new_process=True,
    )
    assert created.returncode == 0, created.stderr
    assert PASSWORD not in created.stdout + created.stderr
    listed = _ioc(tmp_path, "list")
    assert listed.returncode == 0 and "lan.nguyen" in listed.stdout and "Nguyễn Thị Lan" in listed.stdout
    disabled = _ioc(tmp_path, "disable", "lan.nguyen")
    assert disabled.returncode == 0, disabled.stderr
    reset = _ioc(tmp_path, "reset-password", "lan.nguyen", stdin="mật-khẩu-mới-tinh\n")
    assert reset.returncode == 0, reset.stderr
    assert _ioc(tmp_path, "disable", "khong.co").returncode == 2

    from api.storage.db import Database

    db = Database(f"sqlite:///{tmp_path / 'var' / 'ioc.db'}")
    hasher = PasswordHasher(AuthSettings(**FAST_HASH))
    try:
        with db.transaction() as s:
            assert authenticate_user(s, "lan.nguyen", "mật-khẩu-mới-tinh", hasher).reason == "disabled"
            assert authenticate_user(s, "lan.nguyen", PASSWORD, hasher).reason == "wrong_password"
    finally:
        db.dispose()
    enabled = _ioc(tmp_path, "enable", "1")
    assert enabled.returncode == 0, enabled.stderr
    db = Database(f"sqlite:///{tmp_path / 'var' / 'ioc.db'}")
    try:
        with db.transaction() as s:
            found = authenticate_user(s, "lan.nguyen", "mật-khẩu-mới-tinh", hasher)
            assert found.reason == "ok" and found.user is not None and found.user.role == "analyst"
        from api.storage.tables import AuditEntry

        with db.session() as s:
            actions = list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
        assert actions == ["user.create", "user.disable", "user.reset_password", "user.enable"]
    finally:
        db.dispose()
