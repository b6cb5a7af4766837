"""Stable review: sort every patch of a stable update into security fix / bug fix / enhancement.

Hook implementations only; the work lives in classifier.py (verdicts),
review.py (series -> entries, Markdown), cves.py (CVE links), store.py
(tables, errata, scorecard), sections.py (edition and site) and command.py.
The built-in verdict is `trylast`, so a subsystem-expert plugin that
implements stable_patch_verdict is asked first and wins when it answers.
"""

from __future__ import annotations

from pathlib import Path

from tracker import hookimpl
from tracker.api import Setting

# Its edition sections read the week's own mail and series, whole-store tables and mail they
# name by Message-ID, nothing else: the edition cache may reuse them (tracker/edition_cache.py).
edition_inputs = "week"

PLUGIN = "stable_review"
# kernel.org's cdn: {dir} is "v2.6" or "v6.x", {version} "6.1.120" (changelog.changelog_url fills them)
CHANGELOG_URL = "https://cdn.kernel.org/pub/linux/kernel/{dir}/ChangeLog-{version}"


@hookimpl
def config_defaults():
    return {
        # Checkout of the kernel CVE team's vulns repository (cve/published/<year>/CVE-*.json + .sha1).
        "vulns_path": Setting(None, str),
        # Or a JSONL export: one {"cve", "subject", "mainline_fix", "fixed_in"} record per line.
        "cve_jsonl": Setting(None, str),
        # `ktrack stable review VERSION --fetch` and the stable-reviews source search this lore inbox ("all" = every list).
        "lore_inbox": "all",
        # The stable-reviews source: for each stable release of the last review_days days without a stored
        # review, find its review thread on lore, else its ChangeLog (false: rely on polling the stable list alone).
        "fetch_reviews": True,
        "review_days": 14,
        # Where a released update's ChangeLog is downloaded from when no review thread is found
        # ({dir}: "v2.6" or "v6.x", {version}: "6.1.120"). "" turns the ChangeLog fallback off.
        "changelog_url": CHANGELOG_URL,
        # The weekly edition lists at most this many security-related patches per update (0: all).
        "edition_security_items": 10,
    }


@hookimpl
def register_migrations(register):
    from .store import migrations

    register(migrations)


@hookimpl(trylast=True)  # registered last, so it runs after kernel.org and the lore lists have been read
def register_sources(register, config):
    table = plugin_config(config)
    if not table["fetch_reviews"]:
        return
    try:
        import tracker.plugins.lore  # noqa: F401 - the search goes through the lore plugin
        search_lore = True
    except ImportError:
        search_lore = False
    if not search_lore and not table.get("changelog_url"):
        return
    from .lore_reviews import StableReviewsSource

    register(StableReviewsSource(table["lore_inbox"] or "all", int(table["review_days"]),
                                 search_lore=search_lore))


@hookimpl(trylast=True)
def stable_patch_verdict(patch, release):
    from .classifier import classify_patch

    return classify_patch(patch)


@hookimpl
def register_commands(cli):
    from .command import add_commands

    add_commands(cli)


@hookimpl
def store_analysis(series, db, config, host):
    """A stable review series is reviewed into this plugin's verdict tables (not findings)."""
    if not series.get("is_stable_review"):
        return
    from .command import review_series

    review_series(db, config, series, host=host, keep_changelog=True)


@hookimpl
def after_analyze(db, config, host, full):
    from .command import review_changelogs
    from .cves import load_cve_index
    from .store import relink_cves

    review_changelogs(db, config, host=host, every=full)
    index = load_cve_index(plugin_config(config))
    if index is not None and db["stable_review_verdicts"].exists():
        relink_cves(db, index)


@hookimpl
def edition_sections(edition, db, config):
    from .sections import stable_section

    limit = plugin_config(config)["edition_security_items"]
    section = stable_section(edition, db, limit=int(limit or 0))
    return [section] if section is not None else []


@hookimpl
def site_pages(db, config):
    from .sections import stable_pages

    return stable_pages(db)


@hookimpl
def template_dirs():
    return [str(Path(__file__).with_name("templates"))]


def plugin_config(config: dict | None) -> dict:
    """Return this plugin's validated `[plugins.stable_review]` table, defaults filled in by the host."""
    from tracker.api import plugin_config as table_of

    return table_of(config, PLUGIN)
