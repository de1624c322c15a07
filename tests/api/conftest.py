"""Fixtures of the sign-in tests (see auth_support): one service per database per module."""

from tests.api.auth_support import auth_services, sqlite_services, web  # noqa: F401
