"""Follow io_uring in kernel-tracker: an edition section and a site page of io_uring series.

A third-party plugin, packaged on its own and found through its entry point
in the `ktrack` group. It reads series through the tracker's public read
helpers (`tracker.queries`) and returns plain data; from kernel-tracker it
imports only those, `hookimpl` and the Section/Page dataclasses; all but
`hookimpl` inside the hooks that use them, because every plugin module is
imported at each `ktrack` start, whatever the command.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

from tracker import hookimpl

NAME = "io_uring"  # the entry-point name: config lives in [plugins.io_uring]
TEMPLATES = Path(__file__).parent / "templates"
LEADING_BRACKETS = re.compile(r"^\s*(\[[^\]]*\]\s*)+")


@hookimpl
def config_defaults():
    return {
        # A path ending in "/" matches everything below it. io_uring lived in
        # fs/io_uring.c and fs/io-wq.c until it moved to io_uring/ in 6.0.
        "paths": [
            "io_uring/",
            "include/linux/io_uring.h",
            "include/linux/io_uring/",
            "include/linux/io_uring_types.h",
            "include/uapi/linux/io_uring.h",
            "include/trace/events/io_uring.h",
            "fs/io_uring.c",
            "fs/io-wq.c",
            "fs/io-wq.h",
        ],
        # Subjects such as "io_uring: fix ..." or "io-wq: expose ..." also count.
        "subject_prefixes": ["io_uring", "io-wq"],
        "page": "io_uring/index.html",
        "page_limit": 100,
    }


def settings(config: dict) -> dict:
    """Return this plugin's `[plugins.io_uring]` table: validated by the host, defaults filled in."""
    from tracker.api import plugin_config

    return plugin_config(config, NAME)


def matching_files(files: list[str], paths: list[str]) -> list[str]:
    """Return the files that lie under one of `paths`, e.g. io_uring/rw.c for "io_uring/"."""
    return [f for f in files if any(f == p or (p.endswith("/") and f.startswith(p)) for p in paths)]


def subject_matches(subject: str, prefixes: list[str]) -> bool:
    """Return True when the subject starts with a prefix such as "io_uring:" or "io_uring/net:"."""
    text = LEADING_BRACKETS.sub("", subject or "").strip().lower()
    return any(re.match(re.escape(p.lower()) + r"[:/]", text) for p in prefixes)


def io_uring_series(db, config: dict, *, since: str | None = None, until: str | None = None) -> list[dict]:
    """Return the io_uring series between two ISO dates (either may be None), newest first.

    Each dict: series_key, subject, version, author, date, patch_count, link, files (the matching ones).
    """
    from tracker.api import list_series

    opts = settings(config)
    found = []
    for series in list_series(db, since=since, until=until):
        hits = matching_files(series["files"], opts["paths"])
        if not hits and not subject_matches(series["subject"], opts["subject_prefixes"]):
            continue
        found.append(_item(series, hits))
    return found


def _item(row: dict, files: list[str]) -> dict:
    author = row["author_name"] or row["author_email"] or "unknown"
    count = row["total"] or row["received"] or 1
    version = row["version"] or 1
    detail = (f"v{version}, " if version > 1 else "") + f"{count} patch" + ("es" if count != 1 else "")
    message_id = (row["cover_message_id"] or row["series_key"] or "").strip("<>")
    return {
        "text": f"{author}: {row['subject']} ({detail})",
        "link": "https://lore.kernel.org/r/" + quote(message_id, safe="@+=$!"),
        "series_key": row["series_key"],
        "subject": row["subject"],
        "version": version,
        "author": author,
        "date": row["date"],
        "patch_count": count,
        "files": files,
    }


@hookimpl
def edition_sections(edition, db, config):
    from tracker.api import Section

    items = io_uring_series(db, config, since=edition["start"], until=edition["end"])
    if not items:
        return []
    items.reverse()  # oldest first reads like the week went
    return [Section(key="io_uring", title="io_uring", items=items, order=85,
                    intro=f"{len(items)} io_uring series this week.")]


@hookimpl
def claim_series(edition, db, config):
    # our section lists these: "Patches and updates" need not list them again
    return [item["series_key"] for item in io_uring_series(db, config, since=edition["start"], until=edition["end"])]


@hookimpl
def site_pages(db, config):
    from tracker.api import Page

    opts = settings(config)
    items = io_uring_series(db, config)[: opts["page_limit"]]
    return [Page(path=opts["page"], template="io_uring.html", title="io_uring",
                 context={"series": items, "paths": opts["paths"]})]


@hookimpl
def template_dirs():
    return [str(TEMPLATES)]
