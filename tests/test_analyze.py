"""The analysis step: analyzers see new or changed series once, findings upsert."""

from tracker import hookimpl
from tracker.findings import Finding, load_findings


class CountingAnalyzer:
    def __init__(self):
        self.seen = []
        self.after = 0

    @hookimpl
    def analyze_series(self, series, db):
        self.seen.append(series["series_key"])
        return [Finding(kind="seen", key=series["series_key"], data={"subject": series["subject"]}, evidence=["test"])]

    @hookimpl
    def after_analyze(self, db):
        self.after += 1


class BrokenAnalyzer:
    @hookimpl
    def analyze_series(self, series):
        raise RuntimeError("analyzer bug")


def add_series(db, key, subject, updated_at):
    db["series"].upsert({"series_key": key, "subject": subject, "updated_at": updated_at}, pk="series_key")


def test_analysis_sees_each_changed_series_once_and_upserts(app, db):
    from tracker.analyze import run_analysis

    analyzer = CountingAnalyzer()
    app.host.pm.register(analyzer, name="counting")
    app.host.pm.register(BrokenAnalyzer(), name="broken")
    add_series(db, "a@x", "mm: first", "2020-01-01T00:00:00+00:00")
    add_series(db, "b@x", "net: second", "2020-01-02T00:00:00+00:00")

    problems = run_analysis(app)
    assert sorted(analyzer.seen) == ["a@x", "b@x"]
    assert analyzer.after == 1
    # One line per failure per run (issue 14.3), though it failed on both series.
    assert problems == ["plugin broken failed in analyze_series: RuntimeError: analyzer bug"]
    assert [(p.plugin, p.count) for p in app.host.problems] == [("broken", 2)]

    assert run_analysis(app) == []  # no changed series: the broken analyzer is not even called
    assert sorted(analyzer.seen) == ["a@x", "b@x"]  # nothing changed, nothing re-analysed

    add_series(db, "a@x", "mm: first, v2 subject", "2999-01-01T00:00:00+00:00")
    run_analysis(app)
    assert analyzer.seen[-1] == "a@x" and len(analyzer.seen) == 3
    rows = load_findings(db, plugin="counting", kind="seen")
    assert len(rows) == 2
    assert {r["key"]: r["data"]["subject"] for r in rows}["a@x"] == "mm: first, v2 subject"


def test_a_series_stamped_in_the_same_second_as_the_last_analysis_is_not_skipped(app):
    """Stamps have whole seconds: a series written in the second the last analysis ended on is still new to it."""
    from tracker.analyze import count_unanalysed, run_analysis

    counter = CountingAnalyzer()
    app.host.pm.register(counter, name="counting")
    add_series(app.db, "a@x", "first", "2026-12-03T08:00:00+00:00")
    run_analysis(app)
    assert counter.seen == ["a@x"]
    add_series(app.db, "b@x", "same second", "2026-12-03T08:00:00+00:00")
    assert count_unanalysed(app.db) == 1
    run_analysis(app)
    assert counter.seen == ["a@x", "b@x"]
    run_analysis(app)  # and nothing twice
    assert counter.seen == ["a@x", "b@x"] and count_unanalysed(app.db) == 0
    add_series(app.db, "c@x", "later", "2026-12-03T08:00:01+00:00")
    run_analysis(app)
    assert counter.seen == ["a@x", "b@x", "c@x"]
