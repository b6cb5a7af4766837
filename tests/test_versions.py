"""Kernel version parsing and ordering (tracker.versions)."""

import doctest

import pytest

from tracker import versions
from tracker.versions import branch_of, parse_version, release_kind, version_sort_key

ORDERED = [
    "2.6.32.9",
    "2.6.33-rc1",
    "2.6.33-rc2",
    "2.6.33",
    "2.6.33.1",
    "2.6.39.4",
    "3.0-rc1",
    "3.0",
    "3.0.1",
    "4.19.107",
    "5.9",
    "5.10-rc7",
    "5.10",
    "5.10.1",
    "6.1.119",
    "6.9",
    "6.12.5-rc1",
    "6.12.5",
    "6.12.6-rc1",
    "6.12.6",
    "6.13-rc3",
    "6.13-rc10",
    "6.13",
]


def test_versions_doctests():
    result = doctest.testmod(versions)
    assert result.attempted > 5 and result.failed == 0


def test_parse_version_total_order():
    parsed = [parse_version(v) for v in ORDERED]
    assert parsed == sorted(parsed)
    assert [v.text for v in sorted(reversed(parsed))] == ORDERED


def test_version_sort_key_orders_as_text():
    shuffled = sorted(ORDERED, key=lambda v: v[::-1])
    assert sorted(shuffled, key=version_sort_key) == ORDERED


def test_version_sort_key_orders_in_sqlite(db):
    for v in ORDERED:
        db["releases"].insert({"version": v, "sort_key": version_sort_key(v)})
    got = [r["version"] for r in db.query("select version from releases order by sort_key")]
    assert got == ORDERED


def test_version_sort_key_linux_next_sorts_by_date_below_numbered():
    keys = [version_sort_key(v) for v in ("next-20200508", "next-20250110", "2.6.12")]
    assert keys == sorted(keys)


def test_release_kind_each_kind():
    assert release_kind("6.13") == "mainline"
    assert release_kind("2.6.33") == "mainline"
    assert release_kind("6.13-rc3") == "rc"
    assert release_kind("6.12.5-rc1") == "rc"
    assert release_kind("6.1.119") == "stable"
    assert release_kind("2.6.32.9") == "stable"
    assert release_kind("next-20250110") == "linux-next"


def test_branch_of_versions():
    assert branch_of("6.1.119") == "6.1"
    assert branch_of("2.6.32.9") == "2.6.32"
    assert branch_of("6.12.5-rc1") == "6.12"
    assert branch_of("v6.13") == "6.13"


@pytest.mark.parametrize("bad", ["", "Linux 6.1", "6", "6.1.2.3", "2.6", "6.1.0", "6.13-rc", "next-2025", "6.x", None])
def test_parse_version_rejects_bad_strings(bad):
    with pytest.raises(ValueError):
        parse_version(bad)
