"""Find the review of every new stable release: its thread on lore, else its ChangeLog on kernel.org.

A review is posted a few days before its release, to the stable list and
LKML. Polling those lists (the lore plugin) already stores it; this source
covers the rest: a tracker that follows other lists, or a review posted
while the tracker was not running. For each stable or longterm release of
the last `review_days` days (from the kernel.org release data) with no
review stored, it searches lore and stores the thread, which the next
analysis reviews; when lore has none, it downloads the release's ChangeLog
(changelog.py), which the next analysis reviews the same way. A release
found in neither is retried on later runs, then given up after MAX_TRIES so
it cannot warn forever.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tracker.api import KtrackError
from tracker.api import FetchContext, Source

MAX_TRIES = 3


def review_query(release: str) -> str:
    """The lore search for a review's cover: every format names the version and "review" in the subject.

    The shapes differ ("2.6.14.7 -stable review", "4.19.107-stable review",
    "6.12.5-rc1 review"), so no one phrase matches them all; two subject terms
    do. Checked on a real public-inbox with the 2.6.14.7 and 4.19.107 covers.
    """
    return f"s:{release} s:review"


def not_found(release: str) -> str:
    return f"no {release} stable review found on lore (searched {review_query(release)!r})"


def review_search(config: dict, release: str, inbox: str):
    """Return a one-off lore search Source for the review threads of `release`."""
    try:
        from tracker.plugins.lore import LoreQuerySource
    except ImportError:
        raise KtrackError("finding stable reviews needs the lore plugin, which is not installed or is disabled") from None
    from tracker.api import lore_base_url

    return LoreQuerySource(f"lore-query:stable-review:{release}", review_query(release), inbox=inbox, days=None,
                           base_url=lore_base_url(config))


def stored_review(db, release: str) -> dict | None:
    """Return the newest stored review series of `release` (e.g. "6.12.5" also finds its -rc1 review)."""
    from tracker.api import get_series

    rows = list(
        db.query(
            "select series_key from series where is_stable_review = 1 and (stable_release = ? or stable_release like ?) "
            "order by date desc limit 1",
            [release, release + "-rc%"],
        )
    )
    return get_series(db, rows[0]["series_key"]) if rows else None


def recent_stable_releases(db, days: int, now: datetime | None = None) -> list[str]:
    """Return the stable and longterm versions released in the last `days` days, oldest first."""
    if "releases" not in db.table_names():
        return []
    since = ((now or datetime.now(timezone.utc)) - timedelta(days=days)).isoformat(timespec="seconds")
    rows = db.query(
        "select version from releases where kind in ('stable', 'longterm') and released_at >= ? order by released_at",
        [since],
    )
    return [r["version"] for r in rows]


class StableReviewsSource(Source):
    """For each recent stable release with no review stored: search lore, else download its ChangeLog."""

    name = "stable-reviews"
    kind = "lore-query"
    interval_seconds = 6 * 3600

    def __init__(self, inbox: str = "all", days: int = 14, *, search_lore: bool = True):
        self.inbox = inbox
        self.days = days
        self.search_lore = search_lore
        where = f"lore search s:<version> s:review in {inbox}" if search_lore else ""
        self.url = " or ".join(filter(None, [where, "kernel.org ChangeLog-<version>"]))

    def fetch(self, ctx: FetchContext) -> None:
        tries: dict[str, int] = dict(ctx.state.get("not_found") or {})
        for release in recent_stable_releases(ctx.db, self.days):
            if is_reviewed(ctx.db, release) or tries.get(release, 0) >= MAX_TRIES:
                continue
            problems = []
            if self.search_lore:
                problems = self._search_lore(ctx, release)
                if not problems and stored_review(ctx.db, release) is None:
                    problems = [not_found(release)]
            if stored_review(ctx.db, release) is None:
                problems += self._download_changelog(ctx, release)
            if is_reviewed(ctx.db, release):
                tries.pop(release, None)
                continue
            tries[release] = tries.get(release, 0) + 1
            ctx.warn("; ".join(problems) or not_found(release))
        ctx.state["not_found"] = tries

    def _search_lore(self, ctx: FetchContext, release: str) -> list[str]:
        sub = _one_off(ctx)
        review_search(ctx.config, release, self.inbox).fetch(sub)
        return [f"{release}: {warning}" for warning in sub.warnings]

    def _download_changelog(self, ctx: FetchContext, release: str) -> list[str]:
        from . import plugin_config
        from .changelog import changelog_source

        source = changelog_source(plugin_config(ctx.config), release)
        if source is None:
            return []
        sub = _one_off(ctx)
        ctx.progress(f"{self.name}: fetching {source.url}")
        try:
            source.fetch(sub)
        except KtrackError as exc:  # one release's missing ChangeLog must not fail the others
            sub.warn(exc.message)
        return list(sub.warnings)


def _one_off(ctx: FetchContext) -> FetchContext:
    """A context for a download inside this source: its own state (no saved cursor), the same transaction and HTTP client."""
    return FetchContext(db=ctx.db, http=ctx.http, state={}, config=ctx.config, progress=ctx.progress)


def is_reviewed(db, release: str) -> bool:
    """A release needs nothing more once its review thread or its ChangeLog is stored."""
    from .store import has_changelog

    return stored_review(db, release) is not None or has_changelog(db, release)
