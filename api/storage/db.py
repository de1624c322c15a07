"""Engine and sessions; Alembic migrations are applied at start by :func:`migrate`.

A connection that fails with an error meaning "this connection cannot write (any more)" -- SQLite opened
read-only while its file or directory was not writable, a disk I/O error, a server gone -- is discarded with
the pool, so that the next request opens a fresh one and writes recover by themselves once the fault is gone.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def make_engine(url: str) -> Engine:
    kwargs: dict[str, Any] = {"future": True}
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        kwargs["pool_pre_ping"] = True
    else:
        kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "handle_error", _discard_broken_sqlite)
    return engine


#: SQLite errors after which a connection stays useless: a connection opened while the file was read-only
#: remains read-only after the file is writable again, until it is closed.
_SQLITE_BROKEN = ("readonly database", "unable to open database file", "disk i/o error")


def _discard_broken_sqlite(context: ExceptionContext) -> None:
    """Treat SQLite's "cannot write" errors as a disconnect: SQLAlchemy then invalidates the connection (and
    the pool's older ones) instead of handing it out again. "database is locked" is left alone: it passes."""
    text = str(context.original_exception).lower()
    if any(marker in text for marker in _SQLITE_BROKEN):
        logger.warning("discarding a SQLite connection after: %s", context.original_exception)
        context.is_disconnect = True


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets the API read while a worker writes; busy_timeout waits instead of failing on a lock.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


class Database:
    """An engine plus a session factory; one per process and URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.write_probe = WriteProbe(self)

    def session(self) -> Session:
        return self._sessions()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on any error: nothing is half-written."""
        with self._sessions() as session, session.begin():
            yield session

    def best_effort(self, what: str, write: Callable[[Session], object]) -> bool:
        """Run ``write`` in its own transaction; a failure is logged, not raised (bookkeeping such as "last
        used at" must not fail the request it rides on). True when it committed."""
        try:
            with self.transaction() as session:
                write(session)
        except Exception:
            logger.warning("best-effort write failed: %s", what, exc_info=True)
            return False
        return True

    def dispose(self) -> None:
        self.engine.dispose()


class WriteProbe:
    """Whether the database takes a write now: rewrites one row, at most once per ``ttl_s`` seconds (the
    readiness check runs often; the answer is cached in between)."""

    def __init__(self, db: Database, ttl_s: float = 1.5) -> None:
        self.db = db
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._checked = -float("inf")
        self._error: str | None = None

    def check(self) -> str | None:
        """None when a write committed within ``ttl_s``; otherwise the error's type (no detail: it may hold
        paths or hosts, and the readiness route needs no key)."""
        with self._lock:
            if time.monotonic() - self._checked < self.ttl_s:
                return self._error
            self._error = self._write()
            self._checked = time.monotonic()
            return self._error

    def _write(self) -> str | None:
        from sqlalchemy import update

        from api.storage.tables import HealthProbe, utcnow

        try:
            with self.db.transaction() as s:
                done = s.execute(update(HealthProbe).where(HealthProbe.id == 1).values(checked_at=utcnow()))
                if getattr(done, "rowcount", 0) == 0:  # the migration adds the row; a wiped table lacks it
                    s.add(HealthProbe(id=1, checked_at=utcnow()))
        except Exception as e:
            logger.warning("the database refused the health probe's write", exc_info=True)
            return type(e).__name__
        return None


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str) -> None:
    """Bring the schema to the newest revision (idempotent)."""
    from alembic import command

    make_engine(url).dispose()  # creates the SQLite directory
    command.upgrade(alembic_config(url), "head")
    logger.info("database schema is at head (%s)", _redact(url))


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
