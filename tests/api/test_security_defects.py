"""Issue 15's security defects: owners are subjects, jobs and errors show nothing internal, writes recover
from a storage fault, input no database stores is a 422, spreadsheets run no formulas, and the OpenAPI
document resolves. Storage is real: SQLite and PostgreSQL (the ``database_url`` fixture)."""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, select

from api import audit, jobs
from api.auth import authenticate
from api.errors import redact_paths
from api.spreadsheet import safe_cell, safe_frame
from api.storage.tables import AuditEntry, Job, SegmentEdit, SocialLabel, Transcription
from api.stores import transcripts
from tests.conftest import make_key


@pytest.fixture
def services(settings: Any) -> Iterator[Any]:
    """The conftest's services with the test job kinds ("count") of tests/api/job_plugins."""
    from tests.api.job_plugins import register
    from tests.conftest import start_services

    svc = start_services(settings)
    register(svc.tasks)
    yield svc
    svc.close()


def _principal(services: Any, key: str) -> Any:
    with services.db.session() as s:
        return authenticate(s, key, services.settings.secret_key.get_secret_value())


def _meeting(services: Any, who: Any) -> tuple[str, str]:
    """A finished transcription of ``who`` with one segment, stored without decoding audio."""
    from speech import Segment

    tid, job_id = uuid.uuid4().hex, uuid.uuid4().hex
    with services.db.transaction() as s:
        s.add(Job(id=job_id, kind="transcribe", status="succeeded", progress=1.0, payload={}, owner=who.subject))
        transcripts.create(
            s,
            transcription_id=tid,
            owner=who,
            audio_path=services.settings.uploads_dir / f"{tid}.ogg",
            filename="hop.ogg",
            title="Họp giao ban",
            language="vi",
            vocabulary="",
            speakers=None,
            job_id=job_id,
            duration_s=3.0,
        )
        s.flush()
        transcripts.append_segment(s, tid, 0, Segment(start=0.0, end=3.0, text="Xin chào các đồng chí"))
        audit.record(s, who, "transcription.create", "transcription", tid)
    return tid, job_id


# --- 1 and 2: meetings and jobs belong to identities, not to names --------------------------------------


def test_a_second_key_with_the_same_name_sees_nothing_of_the_first(services: Any, client: Any) -> None:
    first_key, second_key = (make_key(services, "secretary", name="Thư ký") for _ in range(2))
    first, second = _principal(services, first_key), _principal(services, second_key)
    assert first.name == second.name and first.subject != second.subject
    tid, job_id = _meeting(services, first)
    mine, theirs = ({"Authorization": f"Bearer {k}"} for k in (first_key, second_key))
    admin = {"Authorization": f"Bearer {make_key(services, 'admin')}"}
    viewer = {"Authorization": f"Bearer {make_key(services, 'viewer')}"}

    base = f"/v1/transcriptions/{tid}"
    for method, url, body in [
        ("GET", base, None),
        ("GET", f"{base}/export?format=txt", None),
        ("GET", f"{base}/segments/0/history", None),
        ("PATCH", f"{base}/segments/0", {"text": "sửa của người khác"}),
        ("DELETE", base, None),
    ]:
        r = client.request(method, url, headers=theirs, json=body)
        assert r.status_code == 404, (method, url, r.text)
    assert client.get("/v1/transcriptions", headers=theirs).json() == []
    for headers in (theirs, viewer):
        assert client.get(f"/v1/jobs/{job_id}", headers=headers).status_code == 404
    for headers in (mine, admin):
        assert client.get(f"/v1/jobs/{job_id}", headers=headers).status_code == 200
        assert client.get(base, headers=headers).status_code == 200

    r = client.patch(f"{base}/segments/0", headers=mine, json={"text": "Xin chào các đồng chí."})
    assert r.status_code == 200, r.text
    history = client.get(f"{base}/segments/0/history", headers=mine).json()
    assert [(h["editor"], h["editor_subject"]) for h in history] == [("Thư ký", first.subject)]
    assert datetime.fromisoformat(history[0]["at"]).utcoffset() is not None
    with services.db.session() as s:
        assert s.get(Transcription, tid).owner_subject == first.subject  # type: ignore[union-attr]
        assert s.scalar(select(SegmentEdit.editor_subject)) == first.subject
        actors = set(s.scalars(select(AuditEntry.actor_subject).where(AuditEntry.object_id == tid)))
    assert actors == {first.subject}
    assert client.delete(base, headers=mine).status_code == 204


def test_the_migration_backfills_subjects_from_key_ids(tmp_path: Path) -> None:
    from alembic import command
    from sqlalchemy import create_engine, text

    from api.storage.db import alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0005_anomaly_review")
    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(
            text(
                "INSERT INTO transcriptions (id, owner, owner_key_id, title, filename, language, vocabulary,"
                " model_version, text, search_text, created_at, job_id) VALUES"
                " ('a', 'Thư ký', 7, '', '', 'vi', '', '', '', '', CURRENT_TIMESTAMP, 'j'),"
                " ('b', 'Người', NULL, '', '', 'vi', '', '', '', '', CURRENT_TIMESTAMP, NULL)"
            )
        )
        c.execute(
            text(
                "INSERT INTO jobs (id, kind, status, progress, payload, owner, attempts, max_attempts, created_at)"
                " VALUES ('j', 'transcribe', 'succeeded', 1, '{}', 'Thư ký', 1, 3, CURRENT_TIMESTAMP)"
            )
        )
        c.execute(
            text(
                "INSERT INTO audit_log (at, actor, actor_key_id, action, object_type, object_id) VALUES"
                " (CURRENT_TIMESTAMP, 'Thư ký', 7, 'x', 't', 'a')"
            )
        )
    command.upgrade(alembic_config(url), "head")
    with engine.connect() as c:
        owners = dict(c.execute(text("SELECT id, owner_subject FROM transcriptions")).all())
        assert owners == {"a": "key:7", "b": None}
        assert c.execute(text("SELECT owner FROM jobs")).scalar() == "key:7"
        assert c.execute(text("SELECT actor_subject FROM audit_log")).scalar() == "key:7"
    engine.dispose()


def test_a_failed_job_shows_a_safe_message_and_an_error_id(
    services: Any, client: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    job = jobs.enqueue(services, "count", {"steps": 1, "step_s": 0, "log": str(tmp_path / "l"), "fail": "internal"})
    with caplog.at_level(logging.ERROR, logger="api.jobs"):
        services.queue.run_next()
    admin = {"Authorization": f"Bearer {make_key(services, 'admin')}"}
    body = client.get(f"/v1/jobs/{job.id}", headers=admin).json()
    assert body["status"] == "failed" and body["result"] is None
    found = re.fullmatch(r"internal error \(error id ([0-9a-f]{12})\)", body["error"])
    assert found, body["error"]
    logged = [r for r in caplog.records if found.group(1) in r.getMessage()]
    assert logged and logged[0].exc_info is not None  # the full error is in the log under that id
    for leak in ("Traceback", "SELECT", "OperationalError", os.uname().nodename, str(tmp_path)):
        assert leak not in str(body)


def test_messages_shown_to_clients_carry_no_server_path(services: Any, client: Any) -> None:
    assert redact_paths("Expected an audio file at /var/lib/ioc/uploads/ab.mp3. Got: x.") == (
        "Expected an audio file at <file>. Got: x."
    )
    secretary = {"Authorization": f"Bearer {make_key(services, 'secretary')}"}
    r = client.post(
        "/v1/transcriptions", headers=secretary, files={"file": ("notes.mp3", b"this is not audio at all" * 50)}
    )
    assert r.status_code in (415, 422), r.text
    assert str(services.settings.data_dir) not in r.text and "/uploads/" not in r.text
    assert len(r.json()["error"]["error_id"]) == 12


# --- 3: storage faults ------------------------------------------------------------------------------------


def _write_label(client: Any, headers: dict[str, str]) -> Any:
    return client.post("/v1/social/labels", headers=headers, json={"text": "đường ngập nặng", "label": "negative"})


def _labels(services: Any) -> int:
    with services.db.session() as s:
        return int(s.scalar(select(func.count()).select_from(SocialLabel)) or 0)


def _read_only(paths: list[Path]) -> Iterator[None]:
    """Make ``paths`` unwritable (root ignores modes, so it uses the immutable attribute) and restore them."""
    if os.geteuid() == 0:
        done = subprocess.run(["chattr", "+i", *map(str, paths)], capture_output=True, text=True)
        if done.returncode != 0:
            # never skipped: the recovery from a storage fault must be shown where CI runs
            pytest.fail(f"running as root, the read-only fault needs `chattr +i`, refused here: {done.stderr.strip()}")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", *map(str, paths)], check=True)
    else:
        modes = {p: p.stat().st_mode for p in paths}
        for p in paths:
            p.chmod(0o555 if p.is_dir() else 0o444)
        try:
            yield
        finally:
            for p, mode in modes.items():
                p.chmod(mode)


def test_writes_recover_after_the_sqlite_file_was_read_only(tmp_path: Path, migrated_templates: Any) -> None:
    import shutil
    from contextlib import contextmanager

    from fastapi.testclient import TestClient

    from api.app import create_app
    from tests.conftest import make_settings, start_services

    db_dir = tmp_path / "db"
    db_dir.mkdir()
    shutil.copyfile(migrated_templates["sqlite"], db_dir / "ioc.db")
    (tmp_path / "var").mkdir()
    shutil.copyfile(migrated_templates["mlflow"], tmp_path / "var" / "mlflow.db")
    services = start_services(
        make_settings(tmp_path / "var", database_url=f"sqlite:///{db_dir / 'ioc.db'}", http={"health_cache_s": 0})
    )
    try:
        analyst = {"Authorization": f"Bearer {make_key(services, 'analyst')}"}
        with TestClient(create_app(services=services, workers=0, run_startup=False)) as client:
            assert client.get("/health").status_code == 200
            assert _write_label(client, analyst).status_code == 201
            # An open connection keeps the WAL files; connections opened from now on find the file read-only.
            holder = services.db.engine.connect()
            holder.exec_driver_sql("SELECT 1")
            services.db.engine.dispose()
            services.db.write_probe.ttl_s = 0.0
            with contextmanager(_read_only)([db_dir / "ioc.db", db_dir]):
                health = client.get("/health")
                assert health.status_code == 503 and health.json()["status"] == "degraded", health.text
                assert health.json()["checks"]["database"].startswith("error: cannot write")
                assert client.get("/health/live").json() == {"status": "ok"}
                # reads do not depend on last_used_at being written
                assert client.get("/v1/social/posts", headers=analyst).status_code == 200
                refused = _write_label(client, analyst)
                assert refused.status_code == 503 and refused.json()["error"]["code"] == "database_unavailable"
            for _ in range(2):  # writes recover by themselves, without a restart
                assert _write_label(client, analyst).status_code == 201
            assert client.get("/health").status_code == 200
            holder.close()
        assert _labels(services) == 3
    finally:
        services.close()


@pytest.mark.postgres
def test_postgres_read_only_then_writable_again(postgres_url: str, tmp_path: Path, migrated_templates: Any) -> None:
    import shutil

    from fastapi.testclient import TestClient
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from api.app import create_app
    from tests.conftest import POSTGRES_URL, make_settings, start_services

    (tmp_path / "var").mkdir()
    shutil.copyfile(migrated_templates["mlflow"], tmp_path / "var" / "mlflow.db")
    services = start_services(make_settings(tmp_path / "var", database_url=postgres_url, http={"health_cache_s": 0}))
    name = make_url(postgres_url).database
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")

    def set_read_only(on: bool) -> None:
        with admin.connect() as c:
            c.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = {"on" if on else "off"}'))
            c.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name})

    try:
        analyst = {"Authorization": f"Bearer {make_key(services, 'analyst')}"}
        services.db.write_probe.ttl_s = 0.0
        with TestClient(create_app(services=services, workers=0, run_startup=False)) as client:
            assert _write_label(client, analyst).status_code == 201
            set_read_only(True)
            try:
                assert client.get("/health").status_code == 503
                assert client.get("/v1/social/posts", headers=analyst).status_code == 200
                assert _write_label(client, analyst).status_code != 200
            finally:
                set_read_only(False)  # the pool's connections are killed: pre-ping replaces them
            assert _write_label(client, analyst).status_code == 201
            assert client.get("/health").status_code == 200
        assert _labels(services) == 2
    finally:
        services.close()
        admin.dispose()


# --- 5: input the database cannot hold is a 422: rows of the table in tests/api/test_hostile_inputs.py ----------


# --- 9: spreadsheets -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+1+1", "'+1+1"),
        ("-A1", "'-A1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("-3.5", "-3.5"),
        ("+4", "+4"),
        ("-1e-3", "-1e-3"),
        (-3.5, -3.5),
        ("Đường ngập", "Đường ngập"),
        (None, None),
    ],
)
def test_safe_cell(cell: Any, expected: Any) -> None:
    assert safe_cell(cell) == expected


def test_safe_frame_keeps_numbers_numbers_in_csv_and_xlsx(tmp_path: Path) -> None:
    frame = pd.DataFrame({"indicator": ["-A1", "=1+2", "CPI"], "value": [-1.5, 2.0, -3.0], "=h": ["a", "b", "c"]})
    safe = safe_frame(frame)
    assert list(safe.columns) == ["indicator", "value", "'=h"]
    back = pd.read_csv(io.StringIO(safe.to_csv(index=False)))
    assert back["indicator"].tolist() == ["'-A1", "'=1+2", "CPI"] and back["value"].tolist() == [-1.5, 2.0, -3.0]
    safe.to_excel(tmp_path / "x.xlsx", index=False)
    import openpyxl

    sheet = openpyxl.load_workbook(tmp_path / "x.xlsx").active
    assert sheet is not None
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[1] == ["'-A1", -1.5, "a"] and all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    assert frame["indicator"].tolist() == ["-A1", "=1+2", "CPI"]  # the input is not changed


# --- 10: the OpenAPI document ----------------------------------------------------------------------------


def test_every_openapi_ref_resolves(client: Any) -> None:
    doc = client.get("/openapi.json").json()
    broken = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "$ref":
                    target: Any = doc
                    for part in v.removeprefix("#/").split("/"):
                        target = target.get(part) if isinstance(target, dict) else None
                    if not v.startswith("#/") or target is None:
                        broken.append(f"{where}: {v}")
                else:
                    walk(v, f"{where}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}/{i}")

    walk(doc, "")
    assert broken == []


def test_every_json_answer_is_described_by_a_model(client: Any) -> None:
    """Issue 16: every route's 2xx JSON body has a schema (a model), not an untyped object, so the document
    says what dashboards receive."""
    doc = client.get("/openapi.json").json()
    untyped = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for status, answer in op.get("responses", {}).items():
                schema = answer.get("content", {}).get("application/json", {}).get("schema")
                if not status.startswith("2") or schema is None:
                    continue
                text = str(schema)
                if "$ref" not in text:
                    untyped.append(f"{method.upper()} {path} {status}: {text[:60]}")
    assert untyped == []


def test_response_times_carry_their_offset(services: Any, client: Any, tmp_path: Path) -> None:
    job = jobs.enqueue(services, "count", {"steps": 1, "step_s": 0, "log": str(tmp_path / "l")}, owner=None)
    services.queue.run_next()
    body = client.get(f"/v1/jobs/{job.id}", headers={"Authorization": f"Bearer {make_key(services, 'admin')}"})
    for field in ("created_at", "started_at", "finished_at"):
        stamp = datetime.fromisoformat(body.json()[field])
        assert stamp.utcoffset() is not None, (field, body.json()[field])
        assert abs((stamp - datetime.now(UTC)).total_seconds()) < 120


# --- 4: readiness is cheap, errors are documented ----------------------------------------------------------


def test_readiness_is_computed_at_most_once_a_second(services: Any) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.routes import health

    calls = []
    real = health._readiness

    def counting(svc: Any) -> Any:
        calls.append(1)
        return real(svc)

    health._readiness = counting  # type: ignore[assignment]
    try:
        with TestClient(create_app(services=services, workers=0, run_startup=False)) as client:
            for _ in range(20):
                assert client.get("/health").status_code == 200
    finally:
        health._readiness = real  # type: ignore[assignment]
    assert len(calls) <= 2  # 20 requests in well under 2 s (health_cache_s is 1 s by default)


def test_every_operation_documents_its_error_body(client: Any) -> None:
    doc = client.get("/openapi.json").json()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for status in ("422", "default"):
                schema = op["responses"].get(status, {}).get("content", {}).get("application/json", {}).get("schema")
                assert schema == {"$ref": "#/components/schemas/ErrorOut"}, (method, path, status)
