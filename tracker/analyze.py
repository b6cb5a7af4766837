"""The analysis step: hand every new or changed series to the analyzer plugins.

A series is (re)analysed when its `updated_at` is newer than the watermark of
the last run, so a re-run with nothing new does nothing, and a series that
gained patches or trailers is looked at again.
"""

from __future__ import annotations

import json
from typing import Callable

from .db import get_meta, set_meta  # noqa: F401  (importable from here too)
from .findings import save_findings
from .queries import series_of_row

WATERMARK_KEY = "analysis_watermark"


WATERMARK_KEYS = "analysis_watermark_keys"


def _pending(db, full: bool = False) -> tuple[str, list]:
    """The WHERE clause (and params) for series changed since the last analysis.

    Stamps have whole-second precision, so a series written in the same second
    as the newest one analysed has the same stamp: it is pending unless it is
    one of the series analysed at that stamp (kept beside the watermark).
    """
    if full:
        return "1", []
    watermark = get_meta(db, WATERMARK_KEY) or ""
    done = json.loads(get_meta(db, WATERMARK_KEYS) or "[]")
    if not watermark:  # never analysed: every series, unstamped ones too
        return (
            "(coalesce(updated_at, '') > ? or (coalesce(updated_at, '') = ? and series_key not in (select value from json_each(?))))",
            [watermark, watermark, json.dumps(done)],
        )
    # The same test, spelled as one range from the watermark so that SQLite seeks the updated_at
    # index instead of reading every series: a weekly run costs the week (issue 19).
    return (
        "(updated_at >= ? and (updated_at > ? or series_key not in (select value from json_each(?))))",
        [watermark, watermark, json.dumps(done)],
    )


def pending_query(db, full: bool = False) -> tuple[str, list]:
    """The SELECT of the series run_analysis would read (for tests and benches: its query plan)."""
    where, params = _pending(db, full)
    return f"select * from series where {where} order by updated_at, series_key", params


def count_unanalysed(db) -> int:
    """Return how many series changed since the last analysis: what `run_analysis` would look at."""
    where, params = _pending(db)
    return db.execute(f"select count(*) from series where {where}", params).fetchone()[0]


def run_analysis(app, *, full: bool = False, progress: Callable[[str], None] | None = None) -> list[str]:
    """Analyse series changed since the last run (all of them with `full`); return problem lines."""
    db = app.db
    config = app.config
    mark = app.host.failures
    rows = list(db.query(*pending_query(db, full)))
    for index, row in enumerate(rows, 1):
        series = series_of_row(db, row)  # get_series without reading the row again
        for plugin_name, findings in app.host.call_each("analyze_series", series=series, db=db, config=config, host=app.host):
            if findings:
                save_findings(db, plugin_name, findings)
        # analysis whose result is a plugin's own tables, not findings: the hook whose contract is to write
        app.host.call("store_analysis", series=series, db=db, config=config, host=app.host)
        if progress and index % 100 == 0:
            progress(f"analysed {index}/{len(rows)} series")
    app.host.call("after_analyze", db=db, config=config, host=app.host, full=full)
    # The newest updated_at we handled, not the clock: a series written while
    # we ran has a later stamp and is picked up next time.
    if rows:
        newest = max(row["updated_at"] or "" for row in rows)
        before = json.loads(get_meta(db, WATERMARK_KEYS) or "[]") if newest == (get_meta(db, WATERMARK_KEY) or "") else []
        at_newest = sorted({*before, *(row["series_key"] for row in rows if (row["updated_at"] or "") == newest)})
        set_meta(db, WATERMARK_KEY, newest)
        set_meta(db, WATERMARK_KEYS, json.dumps(at_newest))
    return [f"plugin {p.plugin} failed in {p.where}: {p.error}" for p in app.host.problems_since(mark)]
