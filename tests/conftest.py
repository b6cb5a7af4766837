"""Shared fixtures: the real recorded data in tests/data, a temporary store, the CLI in-process."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "", None}


@pytest.fixture(autouse=True)
def no_internet(monkeypatch):
    """No test reaches the internet. Without this, a default URL left in a test's config would fail
    quietly offline ("cannot resolve host", read as an expected error) and reach the real site online."""
    resolve = socket.getaddrinfo

    def local_only(host, *args, **kwargs):
        if isinstance(host, bytes):
            host = host.decode()
        if host not in LOCAL_HOSTS:
            raise RuntimeError(f"a test tried to reach {host}: point the config at a local server")
        return resolve(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", local_only)


@pytest.fixture(autouse=True, scope="session")
def user_cache(tmp_path_factory):
    """The user cache dir (compiled templates) of the whole run, not the developer's ~/.cache."""
    cache = tmp_path_factory.mktemp("xdg-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_CACHE_HOME", str(cache))
        yield cache


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """tests/data: excerpts of recorded real kernel material, shipped with the repository (see its README)."""
    return DATA


@pytest.fixture
def db_path(tmp_path) -> Path:
    return tmp_path / "ktrack.db"


@pytest.fixture
def app(db_path, tmp_path, monkeypatch):
    """An App on a temporary database and an empty config dir, all plugins loaded."""
    from tracker.app import App

    monkeypatch.setenv("KTRACK_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.delenv("KTRACK_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("KTRACK_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    return App(db_path=db_path)


@pytest.fixture
def db(app):
    """A real SQLite file with core and plugin migrations applied."""
    return app.db


@pytest.fixture
def ktrack(app):
    """Run `ktrack ARGS...` in-process against the temporary database; returns click's Result."""
    from tracker.cli import build_cli

    runner = CliRunner()

    def run(*args, input=None, env=None):
        group = build_cli(app)
        return runner.invoke(group, ["--db", str(app.db_path), *map(str, args)], obj=app, input=input, env=env, catch_exceptions=False)

    return run
