from collections.abc import Iterator

import pytest

from tests.api.auth_support import sqlite_services  # noqa: F401
from tests.web.browser_support import Site, serve, start_site


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A real server for a module of browser journeys: demo data, shipped models, a person of each role."""
    services, close = start_site(tmp_path_factory.mktemp("site"))
    try:
        with serve(services) as base:
            yield Site(base, services)
    finally:
        close()
