"""A weekly analysis costs what the week costs (issue 19): it reads the series the week changed, by index.

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
