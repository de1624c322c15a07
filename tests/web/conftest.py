from tests.api.auth_support import sqlite_services  # noqa: F401
