"""Threading stores exactly what it stored before its records were named and its refresh made incremental.

The snapshots under tests/data/series-snapshot/ were written by
tests/series_snapshot.py with the threading code of main at e679bf2 (before
issue 15 item 6 and issue 19's threading work); see that file for how. A
change that moves one series key, count, lineage or reply link fails here
with the records that differ.
"""

import gzip
import json

import pytest

import tracker.ingest as ingest
from series_snapshot import dumps, each_imported, fixture_paths, imported, shuffled, stored


@pytest.fixture
def no_config(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("KTRACK_CONFIG", raising=False)
    monkeypatch.delenv("KTRACK_LOAD_PLUGINS", raising=False)


def _expected(data_dir, name) -> str:
    return gzip.decompress((data_dir / "series-snapshot" / f"{name}.json.gz").read_bytes()).decode()


def _differences(got: dict, expected: str) -> list[str]:
    """The records that differ, as short lines (a whole-snapshot assert would print megabytes)."""
    expected = json.loads(expected)
    out = []
    for name in sorted(set(got) | set(expected)):
        a, b = got.get(name, []), expected.get(name, [])
        if len(a) != len(b):
            out.append(f"{name}: {len(a)} records, expected {len(b)}")
        out.extend(f"{name}[{i}]: {json.dumps(x)[:300]} != {json.dumps(y)[:300]}" for i, (x, y) in enumerate(zip(a, b)) if x != y)
    return out[:20]


@pytest.mark.parametrize("batch, parallel_after", [(None, None), (40, 0)], ids=["default", "batches-of-40-with-worker"])
def test_linux_api_excerpt_threads_as_before(tmp_path, data_dir, no_config, monkeypatch, batch, parallel_after):
    if batch:
        monkeypatch.setattr(ingest, "BATCH_SIZE", batch)
        monkeypatch.setattr(ingest, "PARALLEL_AFTER", parallel_after)
    got = imported([data_dir / "lists" / "linux-api-2021-excerpt.mbox.gz"], tmp_path)
    expected = _expected(data_dir, "linux-api-2021-excerpt")
    assert _differences(got, expected) == []
    assert dumps(got) == expected


@pytest.mark.parametrize("path, seed, batch, name", [
    ("lists/linux-api-2021-excerpt.mbox.gz", 19, 25, "linux-api-2021-excerpt-shuffled"),
    ("stable-reviews/2.6.14.7-review.mbox", 3, 2, "2.6.14.7-review-shuffled"),
])
def test_shuffled_runs_thread_as_before(tmp_path, data_dir, no_config, path, seed, batch, name):
    """Replies before their patches, patches before their cover, a few messages a run: keys move, replies wait."""
    got = shuffled(data_dir / path, tmp_path, seed=seed, batch=batch)
    expected = _expected(data_dir, name)
    assert _differences(got, expected) == []
    assert dumps(got) == expected


def test_threading_fixtures_thread_as_before(tmp_path, data_dir, no_config):
    got = each_imported(fixture_paths(data_dir), tmp_path, data_dir)
    expected = _expected(data_dir, "fixtures")
    assert len(got) > 100  # every fixture file was found and imported
    assert _differences(got, expected) == []
    assert dumps(got) == expected


def test_a_review_mailed_newest_first_threads_as_mailed_oldest_first(tmp_path, data_dir, no_config, monkeypatch):
    """The real 2.6.14.7 review (quilt-mailed: no References) read newest first, two messages a batch:
    each patch is a better head than the last, so the series is renamed at each batch's end (not at
    each message), and the import stores and reports what it does for the mailbox in order."""
    from tracker.ingest import import_paths
    from tracker.mailbox_io import iter_path

    review = data_dir / "stable-reviews" / "2.6.14.7-review.mbox"
    raws = [raw for raw, _ in iter_path(review)]
    newest_first = tmp_path / "newest-first.mbox"
    newest_first.write_bytes(b"".join(b"From mboxrd@z Thu Jan  1 00:00:00 1970\n" + raw.rstrip(b"\n") + b"\n\n"
                                      for raw in reversed(raws)))
    in_order = imported([review], tmp_path / "in-order")
    monkeypatch.setattr(ingest, "BATCH_SIZE", 2)
    got, stats = stored(tmp_path, lambda db: import_paths(db, [newest_first]))
    assert got["series_json"] == in_order["series_json"] and got["series"] == in_order["series"]
    assert stats.series == len(got["series"])  # renamed series are counted once
