"""Lineages: what the versions of one work share, so v1, v2 and v9 of a series read as one story.

b4's change-id (X-Change-ID or the cover's trailer) names a work; without one, a
reply to an older version or a cover letter's link to one ("v1:
https://lore.kernel.org/r/...") does, else the same author and subject stem
within a year. A change-id lineage and a subject lineage of the same work become
one. The Threader (tracker/series.py) asks these joins whenever it refreshes a
series; they read the database through it and remember what they read for its batch.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from .series_rows import Member, parse_dt

LINEAGE_WINDOW = timedelta(days=365)
_FOOTNOTE = re.compile(r"^\s*\[(\d+)\]")
_VERSION_WORDS = re.compile(r"\bv\d+\b|version|previous|earlier|prior", re.I)


def _version_links(body: str) -> list[str]:
    """Message-IDs of the lore links a cover letter gives for earlier versions ("v1: https://lore.kernel.org/r/...").

    Only links whose line, or the line before, speaks of a version: a cover
    also links its man-pages patch or a discussion, which are no earlier version.
    """
    out: list[str] = []
    lines = body.splitlines()
    for i, line in enumerate(lines):
        if "lore.kernel.org/" not in line:
            continue
        said = _VERSION_WORDS.search(line) or (i and _VERSION_WORDS.search(lines[i - 1]))
        note = _FOOTNOTE.match(line)
        if not said and note:  # "[1] https://..." cited as "v1 [1]" in the text
            mark = f"[{note.group(1)}]"
            said = any(mark in other and _VERSION_WORDS.search(other) for j, other in enumerate(lines) if j != i)
        if said:
            out.extend(mid for mid in _LORE_LINK.findall(line) if mid not in out)
    return out[:20]


# A link to a message on lore (or an older mirror), e.g. https://lore.kernel.org/r/<id> or /linux-api/<id>/
_LORE_LINK = re.compile(r"https?://lore\.kernel\.org/(?:r|all|[\w.-]+)/([^/\s>]+@[^/\s>]+?)(?:/|\s|>|$)")


class LineageJoins:
    """The lineage joins of the Threader, which provides `conn`, `_one`, `_rows`,
    `_member_series` and the batch's memos `_lineages`, `_by_change_id` and `_cover_links`."""

    def _previous_version(self, key: str, head: Member) -> str | None:
        """The lineage of an older version of this series that its head points at, or None.

        "[PATCH v2 0/3]" sent as a reply to v1's cover (In-Reply-To), or whose
        cover letter links v1 ("v1: https://lore.kernel.org/r/<Message-ID>", as
        b4 writes it), is v1's next version even under a new subject.
        """
        version = head.patch_version or 1
        if version <= 1:
            return None
        refs = [head.in_reply_to] if head.in_reply_to else []
        if head.is_cover:  # a cover letter: the links to earlier versions in its text
            links = self._cover_links.get(head.message_id)
            if links is None:
                row = self._one("SELECT body FROM messages WHERE message_id = ?", (head.message_id,))
                body = (row[0] if row else None) or (self._rows.get(head.message_id) or {}).get("body") or ""
                links = self._cover_links[head.message_id] = _version_links(body)
            refs += links
        for ref in refs:
            other = self._member_series(ref)
            if not other or other == key:
                continue
            row = self._one("SELECT version, lineage, author_email FROM series WHERE series_key = ?", (other,))
            if row is None:
                continue
            other_version, lineage, author_email = row
            if lineage and (other_version or 1) < version and author_email == head.author_email:
                return lineage
        return None

    def _lineage(self, key: str, change_id: str | None, author: str | None, skey: str, date: str | None,
                 previous: str | None = None) -> str:
        """Name what all versions of one series share: b4's change-id, else author + stem within a year.

        The two join: a series with a change-id takes the lineage of an earlier
        version with the same change-id, else of the same author's series with
        the same subject stem (a v7 sent without b4, then v9 with it), and a
        series without one finds theirs by author and stem as before.
        """
        if change_id and previous and not self._one("SELECT 1 FROM series WHERE change_id = ? AND series_key != ?", (change_id, key)):
            return previous  # the first b4 posting of a work whose earlier version it answers
        if change_id:
            lineage = self._by_change_id.get(change_id)
            if lineage is None:
                row = self._one(
                    "SELECT lineage FROM series WHERE change_id = ? AND series_key != ? AND lineage IS NOT NULL "
                    "ORDER BY date LIMIT 1",
                    (change_id, key),
                )
                lineage = row[0] if row else self._stem_lineage(key, author, skey, date)
                if lineage is None:
                    lineage = f"change-id:{change_id}"
                if row:
                    self._by_change_id[change_id] = lineage
            return lineage
        if previous:
            return previous
        lineage = self._stem_lineage(key, author, skey, date)
        if lineage is not None:
            return lineage
        seed = f"{author}\n{skey}\n{(date or '')[:10]}"
        return "stem:" + hashlib.sha1(seed.encode()).hexdigest()[:16]

    def _stem_lineage(self, key: str, author: str | None, skey: str, date: str | None) -> str | None:
        """The lineage of another series of this author with this subject stem within LINEAGE_WINDOW, or None."""
        when = parse_dt(date)
        if author and skey and when is not None:
            rows = self._lineages.get((author, skey))
            if rows is None:
                rows = self._lineages[(author, skey)] = self.conn.execute(
                    "SELECT series_key, lineage, date FROM series WHERE author_email = ? AND stem_key = ? "
                    "AND lineage IS NOT NULL",
                    (author, skey),
                ).fetchall()
            for other_key, lineage, other in rows:
                if other_key == key:
                    continue
                other_dt = parse_dt(other)
                if other_dt is not None and abs(other_dt - when) <= LINEAGE_WINDOW:
                    return lineage
        return None
