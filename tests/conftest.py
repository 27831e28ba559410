"""Shared fixtures. Unit tests read only the frozen fixtures in tests/fixtures/; integration tests the real data."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from essen_dash import paths

FIXTURES = Path(__file__).parent / "fixtures"
#: frozen copy of the 2016 data package (see tests/fixtures/README.md)
FIXTURE_DATA = FIXTURES / "data-2016"


@pytest.fixture(scope="session")
def tables():
    from essen_dash.tables.load import load_tables

    return load_tables(FIXTURE_DATA)


def load_without_maps(folder: Path, empty_geo: Path):
    """Return the app data of ``folder`` with no boundaries (unit tests never read real geometry)."""
    from essen_dash.data import load_app_data

    return load_app_data(paths.Settings(data_dir=folder, geo_dir=empty_geo, cache_dir=empty_geo / "cache"))


@pytest.fixture(scope="session")
def app_data(tmp_path_factory):
    """Return the app data of the frozen 2016 fixture, without boundaries."""
    return load_without_maps(FIXTURE_DATA, tmp_path_factory.mktemp("no-geo"))


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """Return a writable copy of the frozen fixture data package."""
    target = tmp_path / "data"
    shutil.copytree(FIXTURE_DATA, target)
    return target


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path_factory, monkeypatch):
    """Keep every test's geometry cache and default database out of the working tree."""
    monkeypatch.setenv(paths.CACHE_DIR_ENV, str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.setenv(paths.STATE_DIR_ENV, str(tmp_path_factory.mktemp("state")))


@pytest.fixture(scope="session")
def postgres_url():
    """Return the URL of a real PostgreSQL server started for this test session (Debian's postgresql package)."""
    from tests.pg_server import postgres_server

    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """Return the URL of an empty database of this test's own: a SQLite file, or a new database on the
    session's PostgreSQL server (dropped afterwards)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    import uuid

    import sqlalchemy as sa

    server = request.getfixturevalue("postgres_url")
    name = f"test_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield sa.make_url(server).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.dispose()
