"""The analysis step: hand every new or changed series to the analyzer plugins.

A series is (re)analysed when its `updated_at` is newer than the watermark of
the last run, so a re-run with nothing new does nothing, and a series that
gained patches or trailers is looked at again.
"""

from __future__ import annotations

from typing import Callable

from .findings import save_findings
from .queries import series_of_row

WATERMARK_KEY = "analysis_watermark"


def get_meta(db, key: str, default: str | None = None) -> str | None:
    row = db.execute("select value from meta where key = ?", [key]).fetchone()
    return row[0] if row else default


def set_meta(db, key: str, value: str) -> None:
    db["meta"].upsert({"key": key, "value": value}, pk="key")


def count_unanalysed(db) -> int:
    """Return how many series changed since the last analysis: what `run_analysis` would look at."""
    watermark = get_meta(db, WATERMARK_KEY) or ""
    return db.execute("select count(*) from series where coalesce(updated_at, '') > ?", [watermark]).fetchone()[0]


def run_analysis(app, *, full: bool = False, progress: Callable[[str], None] | None = None) -> list[str]:
    """Analyse series changed since the last run (all of them with `full`); return problem lines."""
    db = app.db
    config = app.config
    mark = app.host.failures
    watermark = "" if full else (get_meta(db, WATERMARK_KEY) or "")
    rows = list(
        db.query(
            "select * from series where coalesce(updated_at, '') > ? order by updated_at, series_key",
            [watermark],
        )
    )
    for index, row in enumerate(rows, 1):
        series = series_of_row(db, row)  # get_series without reading the row again
        for plugin_name, findings in app.host.call_each("analyze_series", series=series, db=db, config=config, host=app.host):
            if findings:
                save_findings(db, plugin_name, findings)
        if progress and index % 100 == 0:
            progress(f"analysed {index}/{len(rows)} series")
    app.host.call("after_analyze", db=db, config=config, host=app.host, full=full)
    # The newest updated_at we handled, not the clock: a series written while
    # we ran has a later stamp and is picked up next time.
    if rows:
        set_meta(db, WATERMARK_KEY, max(row["updated_at"] or "" for row in rows))
    return [f"plugin {p.plugin} failed in {p.where}: {p.error}" for p in app.host.problems_since(mark)]
