"""Storage: SQLAlchemy 2 on SQLite (WAL) by default, PostgreSQL through ``IOC_DATABASE_URL``."""

from api.storage.db import Database, migrate

__all__ = ["Database", "migrate"]
