"""Shared fixtures: settings in a temporary data dir, SQLite and PostgreSQL databases, SQLite and Redis queues.

PostgreSQL and Redis are real servers (IOC_TEST_POSTGRES_URL, IOC_TEST_REDIS_URL; defaults are the
machine's 127.0.0.1 services). When one is unreachable the tests that need it FAIL: they are never skipped.

The suite runs in parallel (pytest-xdist, ``-n auto`` in pyproject.toml; ``-n 0`` runs it in one process):
every resource a test touches is its own or its worker's (temporary dirs, PostgreSQL databases with unique
names, free ports, a Redis database per worker); a worker runs whole files (the speech tests as one unit),
and files that hold slow tests are handed out first so that no worker is left with a long test at the end.
"""

from __future__ import annotations

import logging
import os
import shutil
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from api.settings import Settings, get_settings

POSTGRES_URL = os.environ.get("IOC_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("IOC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
#: How many databases a Redis server has unless configured otherwise (``databases 16``).
REDIS_DATABASES = 16
#: The math libraries' thread counts, set for each xdist worker (and the processes its tests start).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def worker_threads(cpus: int, workers: int) -> int:
    """Threads each xdist worker's math libraries (OpenMP, OpenBLAS, MKL, torch) may use: the CPUs shared out,
    at least one. Two workers with two OpenMP threads each on two cores spent about 40% more CPU (threads spin
    while they wait) on the speech and classifier tests: 117 s of user time against 82 s with one thread."""
    return max(1, cpus // max(1, workers))


def pytest_configure(config: pytest.Config) -> None:
    """Share the CPUs out among the xdist workers' math libraries: set here, in the process that starts the
    workers, the variables reach them before anything imports numpy (a plugin, fugue_test, does so before this
    file is read in a worker). Variables already set are left as they are."""
    workers = len(config.getoption("tx", None) or []) if config.getoption("dist", "no") != "no" else 0
    if workers > 1 and not os.environ.get("PYTEST_XDIST_WORKER"):
        threads = str(worker_threads(len(os.sched_getaffinity(0)), workers))
        for name in THREAD_VARIABLES:
            os.environ.setdefault(name, threads)


os.environ.setdefault("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "false")


def worker_redis_url(url: str, worker: str | None) -> str:
    """The Redis URL of one pytest-xdist worker (``worker`` is ``"gw0"``, ``"gw1"``..., ``None`` outside
    xdist): the base URL's database number minus the worker's index, modulo 16, so that the flush of one
    worker's ``redis_url`` fixture never empties the queue of a test running on another worker.

    >>> worker_redis_url("redis://127.0.0.1:6379/15", "gw1")
    'redis://127.0.0.1:6379/14'
    """
    from urllib.parse import urlsplit

    if not worker:
        return url
    index = int(worker.removeprefix("gw"))
    if index >= REDIS_DATABASES:
        raise ValueError(
            f"expected at most {REDIS_DATABASES} xdist workers (one Redis database each); got worker {worker!r}. "
            "Run with fewer workers (-n)."
        )
    parts = urlsplit(url)
    number = parts.path.strip("/")
    if not number.isdigit():
        raise ValueError(
            f"expected IOC_TEST_REDIS_URL to name a database (redis://HOST:PORT/DB); got {url!r}. Add the /DB."
        )
    return parts._replace(path=f"/{(int(number) - index) % REDIS_DATABASES}").geturl()


#: Folders whose test files share an expensive session fixture, so that one worker runs them all: the speech
#: tests share the loaded Whisper model and its transcript of the two-speaker clip (tests/speech/conftest.py).
SHARED_SESSION_FOLDERS = ("tests/speech/",)


def xdist_group_of(nodeid: str) -> str:
    """The unit of work one xdist worker runs whole: the test's file, or its folder where the folder's files
    share an expensive session fixture (:data:`SHARED_SESSION_FOLDERS`)."""
    path = nodeid.split("::")[0]
    return next((folder for folder in SHARED_SESSION_FOLDERS if path.startswith(folder)), path)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """xdist's scope scheduling with :func:`xdist_group_of` as the scope. (``--dist loadgroup`` would say the
    same with ``xdist_group`` marks, but pytest-xdist 3.8 renames the tests through ``Item._nodeid``, which
    pytest 9.2 no longer reads, so its groups are silently ignored.) With ``--no-loadscope-reorder`` the
    units are handed out in collection order, which :func:`_slow_files_first` sets."""
    from xdist.scheduler import LoadScopeScheduling

    class GroupScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            return xdist_group_of(nodeid)

    return GroupScheduling(config, log)


def _slow_files_first(items: list[pytest.Item]) -> list[pytest.Item]:
    """The items regrouped so that every file holding a test marked ``slow`` comes before the others; the order
    inside a file, and among files of each kind, stays as collected. With ``--no-loadscope-reorder`` the
    workers take their units of work (:func:`xdist_group_of`) in this order, so the long ones start early and the short
    ones fill the end."""
    files: dict[str, list[pytest.Item]] = {}
    for item in items:
        files.setdefault(item.nodeid.split("::")[0], []).append(item)
    ordered = sorted(files.values(), key=lambda group: not any(i.get_closest_marker("slow") for i in group))
    return [item for group in ordered for item in group]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items[:] = _slow_files_first(items)


def _admin_url(url: str, database: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=database).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Stores migrated once per test session and copied for each test (migrating them took most of an API
    test's set-up): a SQLite service database, an MLflow SQLite store, and a PostgreSQL template database
    made lazily by the first test that needs PostgreSQL."""
    from api.storage.db import migrate
    from models import ModelRegistry

    root = tmp_path_factory.mktemp("templates")
    migrate(f"sqlite:///{root / 'ioc.db'}")
    registry = ModelRegistry(f"sqlite:///{root / 'mlflow.db'}", str(root / "mlartifacts"))
    registry.client.search_registered_models()  # creates and migrates the MLflow tables
    templates: dict[str, Any] = {"sqlite": root / "ioc.db", "mlflow": root / "mlflow.db", "postgres": None}
    yield templates
    if templates["postgres"]:
        from sqlalchemy import create_engine, text

        admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{templates["postgres"]}" WITH (FORCE)'))
        admin.dispose()


def _postgres_template(templates: dict[str, Any]) -> str:
    """The name of a migrated PostgreSQL database to copy (``CREATE DATABASE ... TEMPLATE``)."""
    if templates["postgres"] is None:
        from sqlalchemy import create_engine, text

        from api.storage.db import migrate

        name = f"ioc_template_{uuid.uuid4().hex[:10]}"
        admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as c:
                c.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        migrate(_admin_url(POSTGRES_URL, name))
        templates["postgres"] = name
    return str(templates["postgres"])


@pytest.fixture
def empty_postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database (no schema) for one test, dropped afterwards."""
    yield from _postgres_database(None)


@pytest.fixture
def postgres_url(migrated_templates: dict[str, Any]) -> Iterator[str]:
    """A fresh PostgreSQL database for one test, at the newest schema, dropped afterwards."""
    try:
        template = _postgres_template(migrated_templates)
    except Exception as e:  # never skip: CI must have PostgreSQL
        pytest.fail(f"PostgreSQL at {POSTGRES_URL} is required for this test and unreachable: {e}")
    yield from _postgres_database(template)


def _postgres_database(template: str | None) -> Iterator[str]:
    from sqlalchemy import create_engine, text

    name = f"ioc_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    except Exception as e:  # never skip: CI must have PostgreSQL
        pytest.fail(f"PostgreSQL at {POSTGRES_URL} is required for this test and unreachable: {e}")
    try:
        yield _admin_url(POSTGRES_URL, name)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def redis_url() -> Iterator[str]:
    """Redis for one test (this xdist worker's own database), with its keys flushed before and after."""
    import redis

    url = worker_redis_url(REDIS_URL, os.environ.get("PYTEST_XDIST_WORKER"))
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except Exception as e:
        pytest.fail(f"Redis at {url} is required for this test and unreachable: {e}")
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path, migrated_templates: dict[str, Any]) -> str:
    """A database at the newest schema: a copy of the session's migrated SQLite file, or a PostgreSQL copy."""
    if request.param == "sqlite":
        shutil.copyfile(migrated_templates["sqlite"], tmp_path / "ioc.db")
        return f"sqlite:///{tmp_path / 'ioc.db'}"
    return str(request.getfixturevalue("postgres_url"))


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings for a test: its own data dir, no default-model bootstrap, fast job timings."""
    base: dict[str, Any] = {
        "env": "test",
        "data_dir": data_dir,
        "models": {"bootstrap": False, "refresh_interval_s": 0.2},
        "jobs": {
            "workers": 0,
            "heartbeat_interval_s": 0.3,
            "stale_after_s": 2.0,
            "reaper_interval_s": 0.5,
            "poll_interval_s": 0.05,
        },
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return Settings(**base)


@dataclass(frozen=True)
class CliRun:
    """What a run of ``ioc`` left: its exit status and its two output streams."""

    returncode: int
    stdout: str
    stderr: str


def run_ioc(env: dict[str, str], *args: str, input: str | None = None) -> CliRun:
    """``ioc ARGS`` run in this process (typer's CliRunner) with the IOC_* variables of ``env`` (as
    :func:`settings_env` makes them for a subprocess) and ``input`` on standard input (not a terminal).

    Same commands as a new ``python -m api.cli`` process, without the seconds each new interpreter spent
    importing pandas, MLflow and the models. An exception the command did not turn into an exit status is
    exit status 1 with its traceback on stderr, as the interpreter prints it. The logger levels a command
    sets (and any handler it adds to the root logger) are put back, so the tests after it in this worker log as
    they would alone."""
    from typer.testing import CliRunner

    from api.cli import app

    variables: dict[str, str | None] = {k: None for k in os.environ if k.startswith("IOC_")}
    variables.update({k: v for k, v in env.items() if k.startswith("IOC_")})
    loggers = [logging.getLogger(), *(logging.getLogger(n) for n in list(logging.root.manager.loggerDict))]
    levels = [(logger, logger.level) for logger in loggers]
    handlers = list(logging.root.handlers)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, list(args), input=input, env=variables, prog_name="ioc")
    finally:
        get_settings.cache_clear()
        for logger, level in levels:
            logger.setLevel(level)
        for handler in [h for h in logging.root.handlers if h not in handlers]:
            logging.root.removeHandler(handler)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
    return CliRun(result.exit_code, result.stdout, stderr)


def settings_env(settings: Settings) -> dict[str, str]:
    """The same settings as IOC_* environment variables, for subprocesses (ioc worker, ioc serve)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IOC_")}
    env.update(
        IOC_ENV=settings.env,
        IOC_DATA_DIR=str(settings.data_dir),
        IOC_DATABASE_URL=settings.resolved_database_url,
        IOC_QUEUE_URL=settings.resolved_queue_url,
        IOC_MLFLOW_TRACKING_URI=settings.resolved_mlflow_tracking_uri,
        IOC_MLFLOW_ARTIFACT_ROOT=settings.resolved_mlflow_artifact_root,
        IOC_MODELS__BOOTSTRAP=str(settings.models.bootstrap).lower(),
        IOC_MODELS__REFRESH_INTERVAL_S=str(settings.models.refresh_interval_s),
        IOC_JOBS__HEARTBEAT_INTERVAL_S=str(settings.jobs.heartbeat_interval_s),
        IOC_JOBS__STALE_AFTER_S=str(settings.jobs.stale_after_s),
        IOC_JOBS__REAPER_INTERVAL_S=str(settings.jobs.reaper_interval_s),
        IOC_JOBS__POLL_INTERVAL_S=str(settings.jobs.poll_interval_s),
        IOC_JOBS__WORKERS=str(settings.jobs.workers),
        IOC_JOBS__PLUGINS=__import__("json").dumps(settings.jobs.plugins),
        IOC_HTTP__HEALTH_CACHE_S=str(settings.http.health_cache_s),
        IOC_LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture(autouse=True)
def _clear_settings_cache() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, migrated_templates: dict[str, Any]) -> Settings:
    """Settings in this test's data dir, whose MLflow store starts as a copy of the session's migrated one."""
    (tmp_path / "var").mkdir(exist_ok=True)
    shutil.copyfile(migrated_templates["mlflow"], tmp_path / "var" / "mlflow.db")
    return make_settings(tmp_path / "var", database_url=database_url)


#: The default versions a test can start with already registered (what the first start registers), by model:
#: the first-start step that registers it.
DEFAULT_REGISTRATIONS = {
    "forecasting": "api.tasks.forecasting:register_default_pipeline",
    "sentiment": "api.tasks.social:register_shipped_sentiment",
}


@pytest.fixture(scope="session")
def registered_templates(migrated_templates: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Any:
    """``registered_templates(model)``: the data dir of an MLflow store (``mlflow.db`` + ``mlartifacts``) in
    which ``model``'s default version is registered and champion, made once per session by the same first-start
    step the service runs, on an empty catalogue. Registering it in every test (logging the run, its metrics
    as version tags one call each, the artifacts; for the classifier also its held-out evaluation) took seconds
    per test; :func:`install_registered` copies it instead."""
    import importlib

    made: dict[str, Path] = {}

    def template(model: str) -> Path:
        if model not in made:
            root = tmp_path_factory.mktemp(f"registered-{model}")
            (root / "var").mkdir()
            shutil.copyfile(migrated_templates["mlflow"], root / "var" / "mlflow.db")
            shutil.copyfile(migrated_templates["sqlite"], root / "ioc.db")
            module, _, function = DEFAULT_REGISTRATIONS[model].partition(":")
            register = getattr(importlib.import_module(module), function)
            svc = start_services(make_settings(root / "var", database_url=f"sqlite:///{root / 'ioc.db'}"))
            try:
                assert register(svc), f"{model}: nothing registered in the session's template"
            finally:
                svc.close()
            made[model] = (root / "var").resolve()
        return made[model]

    return template


def copy_data_dir(template: Path, target: Path) -> None:
    """Make ``target`` a copy of the data dir ``template`` (made by services that are closed now): databases
    (``*.db`` and their journals) are copied; every other file (MLflow artifacts, model files: written once,
    then only read) is hard-linked; every path of ``template`` the MLflow database holds (experiments'
    artifact locations, runs' artifact URIs, versions' sources) is rewritten to ``target``, so that the copy
    reads and writes its own files only."""
    import sqlite3

    template, target = template.resolve(), target.resolve()

    def copy(src: str, dst: str) -> object:
        database = src.endswith((".db", ".db-wal", ".db-shm", ".db-journal"))
        return shutil.copy2(src, dst) if database else os.link(src, dst)

    shutil.copytree(template, target, dirs_exist_ok=True, copy_function=copy)
    if not (target / "mlflow.db").is_file():
        return
    old, new = str(template), str(target)
    with sqlite3.connect(target / "mlflow.db") as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for column in db.execute(f'PRAGMA table_info("{table}")').fetchall():
                if column[2].upper().startswith(("VARCHAR", "TEXT", "CHAR")):
                    db.execute(
                        f'UPDATE "{table}" SET "{column[1]}" = replace("{column[1]}", ?, ?) '
                        f'WHERE instr("{column[1]}", ?) > 0',
                        (old, new, old),
                    )
    db.close()


def install_registered(template: Path, settings: Settings) -> None:
    """Give ``settings``' data dir, before its services start, a copy of the registered store ``template``
    (:func:`registered_templates`): its ``mlflow.db`` and ``mlartifacts`` (:func:`copy_data_dir`)."""
    copy_data_dir(template, settings.resolved_data_dir)


def start_services(settings: Settings) -> Any:
    """The services an entry point would build: every capability's tasks plus the settings' plugins."""
    from api.services import Services
    from api.tasks import build_task_registry

    return Services.start(settings, build_task_registry(settings.jobs.plugins))


@pytest.fixture
def services(settings: Settings) -> Iterator[Any]:
    svc = start_services(settings)
    yield svc
    svc.close()


def make_key(services: Any, role: str, name: str | None = None) -> str:
    from api.auth import create_key

    with services.db.transaction() as s:
        _, key = create_key(
            s, name=name or f"test-{role}", role=role, pepper=services.settings.secret_key.get_secret_value()
        )
    return key


@pytest.fixture
def client(services: Any) -> Iterator[Any]:
    from fastapi.testclient import TestClient

    from api.app import create_app

    app = create_app(services=services, workers=0, run_startup=False)
    with TestClient(app) as c:
        yield c


@pytest.fixture
def auth(services: Any) -> Any:
    """``auth("analyst")`` -> headers with a fresh key of that role."""
    cache: dict[str, dict[str, str]] = {}

    def headers(role: str) -> dict[str, str]:
        if role not in cache:
            cache[role] = {"Authorization": f"Bearer {make_key(services, role)}"}
        return cache[role]

    return headers
