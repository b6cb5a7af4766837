"""The site's Atom feeds, rendered with feedgen: the editions' feed and the plugins' Feeds.

Each takes a render job (tracker.sitebuild.RenderJob) and the build's common
context; feed entries of editions are kept between builds (FragmentCache).
"""

from __future__ import annotations

import hashlib
import html
import json
from datetime import datetime, timezone
from urllib.parse import quote

from .edition import edition_path
from .edition_cache import StoredEdition, loaded


def edition_digest(edition: dict, digests: dict | None = None) -> str:
    """A hash of an edition's whole content; `digests` remembers it by identity for one build
    (an edition is in its page, its neighbours' and the feed: hashed once, not four times)."""
    if digests is not None:
        found = digests.get(id(edition))
        if found is not None and found[0] is edition:
            return found[1]
    if isinstance(edition, StoredEdition):
        return edition.digest
    digest = hashlib.sha1(json.dumps(edition, sort_keys=True, default=str).encode()).hexdigest()
    if digests is not None:
        digests[id(edition)] = (edition, digest)
    return digest


class FragmentCache:
    """Rendered feed entries kept between builds: a new week re-renders one, not twenty.

    An entry is the edition's HTML fragment; its key hashes the edition, the base URL, the
    theme and the host's code, so any of them changing renders it anew. `load`/`save` are
    given a database (table `site_fragments`, unseen by the site fingerprint).
    """

    TABLE = "site_fragments"

    def __init__(self, stamp: str = ""):
        self.stamp = stamp
        self.digests: dict = {}  # the build's edition digests (edition_digest), shared with the page hashes
        self.stored: dict[str, str] = {}
        self.used: dict[str, str] = {}

    def key(self, edition: dict, base: str) -> str:
        digest = edition_digest(edition, self.digests)
        return hashlib.sha256(json.dumps([self.stamp, base, digest]).encode()).hexdigest()

    def get(self, key: str) -> str | None:
        text = self.stored.get(key)
        if text is not None:
            self.used[key] = text
        return text

    def put(self, key: str, text: str) -> None:
        self.used[key] = text

    def load(self, db) -> "FragmentCache":
        if self.TABLE in db.table_names():
            self.stored = dict(db.execute(f"select key, html from [{self.TABLE}]").fetchall())
        return self

    def save(self, db) -> None:
        """Keep what this build used, nothing else."""
        if set(self.used) == set(self.stored):
            return
        with db.conn:
            if self.TABLE not in db.table_names():
                db[self.TABLE].create({"key": str, "html": str}, pk="key")
            db.execute(f"delete from [{self.TABLE}]")
            db[self.TABLE].insert_all(({"key": k, "html": v} for k, v in self.used.items()), pk="key")


def render_atom(job, common: dict, env=None, fragments: FragmentCache | None = None) -> bytes:
    """Render the editions feed with feedgen; ids are tag: URIs so they never change."""
    from feedgen.feed import FeedGenerator

    base = common["site"].get("base_url") or ""
    fg = FeedGenerator()
    fg.id("tag:kernel-tracker,2024:editions" if not base else base)
    fg.title(common["site"].get("title") or "kernel-tracker")
    fg.link(href=base + "feed.xml", rel="self")
    fg.link(href=base or "index.html", rel="alternate")
    fg.language("en")
    editions = job.context["editions"]
    newest = datetime(2000, 1, 1, tzinfo=timezone.utc)
    for edition in reversed(editions):  # feedgen prepends: add oldest first
        updated = datetime.fromisoformat(edition["end"]).replace(tzinfo=timezone.utc)
        newest = max(newest, updated)
        entry = fg.add_entry()
        entry.id(f"tag:kernel-tracker,2024:edition/{edition['week']}")
        entry.title(edition.get("title") or edition["week"])
        entry.link(href=base + edition_path(edition["week"]))
        entry.updated(updated)
        from .digest import render_edition

        key = fragments.key(edition, base) if fragments is not None else None
        content = fragments.get(key) if key else None
        if content is None:
            content = render_edition(loaded(edition), "html", base_url=base, fragment=True, env=env)
            if key:
                fragments.put(key, content)
        entry.content(content, type="html")
    fg.updated(newest)
    return fg.atom_str(pretty=True)


def render_feed(job, common: dict) -> bytes:
    """Render a plugin's Feed with feedgen; entry ids become tag: URIs under the feed's path, so they never change."""
    from feedgen.feed import FeedGenerator

    base = common["site"].get("base_url") or ""
    fg = FeedGenerator()
    fg.id(f"tag:kernel-tracker,2024:{job.path}")
    fg.title(job.title or job.path)
    fg.link(href=base + job.path, rel="self")
    fg.language("en")
    newest = datetime(2000, 1, 1, tzinfo=timezone.utc)
    entries = sorted(job.context["entries"], key=lambda e: _feed_time(e.get("updated")))
    for item in entries:  # feedgen prepends: add oldest first
        updated = _feed_time(item.get("updated"))
        newest = max(newest, updated)
        entry = fg.add_entry()
        entry.id(f"tag:kernel-tracker,2024:{job.path}/{quote(str(item['id']), safe='@.-_/')}")
        entry.title(str(item.get("title") or item["id"]))
        link = item.get("link")
        if link:
            entry.link(href=link if "://" in link else base + link)
        entry.updated(updated)
        # Atom wants a link or content in every entry: the title stands in when a plugin gave neither
        content = item.get("content") or (None if link else html.escape(str(item.get("title") or item["id"])))
        if content:
            entry.content(str(content), type="html")
    fg.updated(newest)
    return fg.atom_str(pretty=True)


def _feed_time(value) -> datetime:
    """An entry's ISO date or timestamp as an aware datetime (UTC when it names no zone)."""
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return datetime(2000, 1, 1, tzinfo=timezone.utc)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
