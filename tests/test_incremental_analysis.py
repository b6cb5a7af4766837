"""A weekly run costs what the week costs (issue 19): the analysis reads the series the week changed, by
index, and a run with nothing due to fetch does not even load the HTTP client.

Real SQLite files with mail from tests/data; the plans are SQLite's own (EXPLAIN QUERY PLAN).
"""

from __future__ import annotations

from pathlib import Path

from tracker import hookimpl
from tracker.analyze import count_unanalysed, pending_query, run_analysis

DATA = Path(__file__).parent / "data"
SERIES = DATA / "series" / "siginfo-v3-v4-covers-2021.mbox"
LATER = DATA / "stable-reviews" / "4.19.107-review-cover.eml"


class Seen:
    def __init__(self):
        self.keys = []

    @hookimpl
    def analyze_series(self, series):
        self.keys.append(series["series_key"])
        return []


def plan(db, sql, params) -> str:
    return " | ".join(row[3] for row in db.execute("explain query plan " + sql, params))


def test_a_second_analysis_reads_only_the_series_new_mail_changed(app):
    from tracker.ingest import import_paths

    seen = Seen()
    app.host.pm.register(seen, name="seen")
    db = app.db
    import_paths(db, [SERIES])
    run_analysis(app)
    first = set(seen.keys)
    assert first and count_unanalysed(db) == 0
    seen.keys.clear()
    import_paths(db, [LATER])  # one more message, of another series
    assert count_unanalysed(db) == 1
    run_analysis(app)
    new = db.execute("select series_key from messages where rowid = (select max(rowid) from messages)").fetchone()[0]
    assert seen.keys == [new] and new not in first


def test_the_weekly_pending_query_seeks_the_updated_at_index(app):
    """Once a watermark exists, the series to analyse are found by index ranges, not by reading every series."""
    from tracker.ingest import import_paths

    db = app.db
    import_paths(db, [SERIES])
    first = plan(db, *pending_query(db))
    assert "SCAN series" in first  # never analysed: every series is pending, reading them all is the work
    run_analysis(app)
    weekly = plan(db, *pending_query(db))
    assert "SCAN series" not in weekly and "idx_series_updated_at" in weekly, weekly
    assert "SCAN series" in plan(db, *pending_query(db, full=True))  # `analyze --all` reads all, deliberately


def test_a_run_with_no_source_due_makes_no_http_client(app, monkeypatch):
    """Nothing due, nothing to download: the run neither builds the HTTP client nor loads requests for it."""
    import subprocess
    import sys

    from tracker import fetching

    sources = fetching.collect_sources(app)
    assert sources
    for source in sources:
        app.db["sources"].upsert({"name": source.name, "kind": source.kind, "url": source.url, "next_due_at": "9999-01-01"}, pk="name")

    def no_client(app):
        raise AssertionError("an HTTP client was built with no source due")

    monkeypatch.setattr(fetching, "make_http_client", no_client)
    results = fetching.run_sources(app)
    assert results and {r.status for r in results} == {"skipped"}
    loaded = subprocess.run([sys.executable, "-c", "import sys, tracker.fetching; print('requests' in sys.modules)"],
                            capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "False"
