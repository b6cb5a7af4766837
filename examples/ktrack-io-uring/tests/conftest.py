"""The kernel-tracker pytest plugin (tracker.testing) provides ktrack_app, ktrack_db and
ktrack_cli; overriding ktrack_plugins registers this plugin in them."""

from pathlib import Path

import pytest

import ktrack_io_uring

DATA = Path(__file__).parent / "data"


@pytest.fixture
def ktrack_plugins():
    return [ktrack_io_uring]


@pytest.fixture
def week_mbox() -> Path:
    """Real linux-api mail of 12-13 Sep 2021: the io-wq UAPI series v1-v3, xfrm and futex2 series."""
    return DATA / "linux-api-2021-09-12-13.mbox"
