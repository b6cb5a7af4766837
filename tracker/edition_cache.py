"""Re-assemble only the editions whose inputs changed (issue 19.1).

Assembling an edition asks every plugin for its sections: at LKML scale about a
second per week, for every week of the archive. After a week of new mail most
editions are what they were, so each assembled edition is kept in the
`site_editions` table with the fingerprint of its inputs, and a build
re-assembles an edition only when that fingerprint changed.

An edition's inputs, conservatively:

- everything global: every table but `messages`, `series` and `series_refs`
  (releases, findings, syscall and sysctl records, stable reviews, any plugin
  table: "release status as of the week" and records updated by later analysis
  show in old editions, so a change there re-assembles every edition), the
  config, the code, the theme and the day, as in fingerprint.site_inputs;
- the week's own mail: count and highest rowid of the messages dated in it,
  count, highest rowid and newest updated_at of the series dated in it (a reply
  or trailer arriving later stamps its series, so the series' week changes);
- series stamped since the last build: the weeks of their findings too (a
  syscall's item tells its series' replies and reviews);
- mail that other weeks name: a message new since the last build that a stored
  message of another week names in In-Reply-To or References (a thread root
  that arrived late: discussions read its subject and date) makes that week
  change (found through the In-Reply-To index and `dangling_refs`, what ingest
  noted a message named before it was stored); one that a release names as its
  announcement changes every edition.

A plugin that contributes to editions (edition_sections, claim_series,
edition_discussions) may read anything, so reuse is on only when each such
plugin says its sections read nothing else, with a module or class attribute
`edition_inputs = "week"`; the built-ins do. Any other makes every edition
re-assemble after any change, as before. An edition whose dict does not come
back the same through JSON (a tuple, a date object), or that a plugin failed
in, is never kept.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import date
from typing import Any

from .fingerprint import WEEK_TABLES  # noqa: F401  (the tables an edition's own stamps cover; importable from here too)

TABLE = "site_editions"
ROWID_KEY = "site_editions_rowid"  # meta: the highest messages rowid the cache has seen
SERIES_KEY = "site_editions_series_stamp"  # meta: the newest series updated_at the cache has seen
STAMPS_KEY = "site_editions_week_stamps"  # meta: the week stamps and the mail tables' fingerprint they were read at
EDITION_HOOKS = ("edition_sections", "claim_series", "edition_discussions", "series_category")


HEADER = ("week", "title", "start", "end")


def edition_brief(edition: dict) -> dict:
    """What a site build needs of an edition besides its pages: its top-level keys, its header
    fields, and each section's title and item count (the archive, the feed, the pager)."""
    return {
        "keys": list(edition),
        **{key: edition[key] for key in HEADER if key in edition},
        "sections": [{"title": s.get("title"), "count": len(s.get("items") or ())} for s in edition.get("sections") or ()],
    }


class StoredEdition(Mapping):
    """An edition kept in `site_editions`, decoded only when a page of it is rendered.

    At LKML scale an edition is about a megabyte of JSON; the build itself needs of most of them
    only their brief (edition_brief) and digest, so decoding every one in the building process was
    a fifth of a full build. The render workers decode their own (sitebuild.render_job hands
    templates the plain dict). A read-only Mapping, not a dict: what would serialise it fails
    loudly instead of seeing an empty dict.
    """

    __slots__ = ("brief", "digest", "_text", "_data")

    def __init__(self, text: str, brief: dict, digest: str):
        self.brief, self.digest, self._text, self._data = brief, digest, text, None

    def load(self) -> dict:
        if self._data is None:
            self._data = json.loads(self._text)
        return self._data

    def decoded(self) -> dict:
        """The edition as a dict, not kept: a page renders it once, and a process that renders half
        the site would otherwise end up holding every edition it rendered decoded."""
        return self._data if self._data is not None else json.loads(self._text)

    def __getitem__(self, key):
        if self._data is None and key in HEADER:
            if key in self.brief:
                return self.brief[key]
            raise KeyError(key)
        return self.load()[key]

    def __contains__(self, key) -> bool:
        return key in self.brief["keys"] if self._data is None else key in self._data

    def __iter__(self):
        return iter(self.load())

    def __len__(self) -> int:
        return len(self.brief["keys"])


def loaded(value):
    """`value` with a StoredEdition (or a list of them) decoded: what a template is given (for that page only)."""
    if isinstance(value, StoredEdition):
        return value.decoded()
    if isinstance(value, list) and any(isinstance(v, StoredEdition) for v in value):
        return [v.decoded() if isinstance(v, StoredEdition) else v for v in value]
    return value


def _hash(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def reuse_allowed(app) -> bool:
    """Whether every plugin that contributes to editions declares `edition_inputs = "week"`."""
    for hook in EDITION_HOOKS:
        caller = getattr(app.host.pm.hook, hook, None)
        if caller is None:
            continue
        for impl in caller.get_hookimpls():
            if getattr(impl.plugin, "edition_inputs", None) != "week":
                return False
    return True


def _week_stamps(db, weekday) -> dict[str, list]:
    """Per edition week: what its own messages and series are, cheaply (grouped by day on the date indexes).

    They are kept in `meta` with the mail tables' fingerprint (tracker/fingerprint.py: newest
    rowid, stamp and deletes, in constant time) and serve while it is unchanged. After new mail,
    the messages' part is read again only for the days of the messages added since (rows are
    only ever inserted or deleted; a delete reads everything again): grouping all of them by
    day grows with the archive (0.4 s at a million). The series' part, whose rows change in
    place and may change day, is read whole (0.06 s at a million).
    """
    from .db import get_meta, set_meta
    from .fingerprint import data_fingerprint

    mail = data_fingerprint(db, exclude=set(db.table_names()) - {"messages", "series"})
    key = json.dumps([str(weekday), mail], default=str)
    try:
        kept = json.loads(get_meta(db, STAMPS_KEY) or "{}")
    except ValueError:
        kept = {}
    if not isinstance(kept, dict) or not isinstance(kept.get("stamps"), dict):
        kept = {}
    if kept.get("key") == key:
        return kept["stamps"]
    marks = _message_marks(db, weekday)
    old = kept.get("marks")
    if (isinstance(old, list) and len(old) == len(marks) and old[0] == marks[0] and old[2] == marks[2]
            and isinstance(old[1], int) and old[1] <= marks[1]):
        stamps = _read_week_stamps(db, weekday, kept["stamps"], since_rowid=old[1])
    else:
        stamps = _read_week_stamps(db, weekday)
    with db.conn:
        set_meta(db, STAMPS_KEY, json.dumps({"key": key, "stamps": stamps, "marks": marks}))
    return stamps


def _message_marks(db, weekday) -> list:
    """[weekday, newest message rowid, messages deleted]: when the kept message stamps can be updated, not read again."""
    from .changes import DELETES_TABLE

    if "messages" not in db.table_names():
        return [str(weekday), 0, 0]
    newest = db.execute("select max(rowid) from messages").fetchone()[0] or 0
    deletes = db.execute(f"select deletes from {DELETES_TABLE} where name = 'messages'").fetchone() \
        if DELETES_TABLE in db.table_names() else None
    return [str(weekday), newest, deletes[0] if deletes else 0]


_MESSAGE_DAYS = "select substr(date, 1, 10), count(*), max(rowid), null from messages where date is not null"
_SERIES_DAYS = "select substr(date, 1, 10), count(*), max(rowid), max(updated_at) from series where date is not null group by 1"


def _message_day_rows(db, kept: dict | None, since_rowid: int):
    """The messages' rows of the stamps: every day's, or the kept ones with the days of newer messages read again."""
    if kept is None:
        yield from db.execute(_MESSAGE_DAYS + " group by 1")
        return
    days = {d for (d,) in db.execute("select distinct substr(date, 1, 10) from messages where rowid > ? and date is not null",
                                     [since_rowid])}
    fresh = {}
    for day in days:  # one range of the date index a day: a day's rows are the dates it prefixes
        for row in db.execute(_MESSAGE_DAYS + " and date >= ? and date < ? group by 1", [day, day + "\U0010ffff"]):
            fresh[row[0]] = row
    rows = {entry[1]: entry[1:] for entries in kept.values() for entry in entries if entry[0] == "m"}
    for day in days:
        if day in fresh:
            rows[day] = list(fresh[day])
        else:
            rows.pop(day, None)
    yield from (rows[day] for day in sorted(rows))


def _read_week_stamps(db, weekday, kept: dict | None = None, *, since_rowid: int = 0) -> dict[str, list]:
    """The stamps of every week; with `kept` (stamps read when the newest message was `since_rowid`),
    the same from the kept messages' days and only the days of the messages added since."""
    from .edition import week_of

    stamps: dict[str, list] = {}
    tables = set(db.table_names())
    sources = []
    if "messages" in tables:
        sources.append(("m", _message_day_rows(db, kept, since_rowid)))
    if "series" in tables:
        sources.append(("s", db.execute(_SERIES_DAYS)))
    for tag, rows in sources:
        for day, count, rowid, stamp in rows:
            try:
                week = week_of(date.fromisoformat(day), weekday=weekday)
            except (TypeError, ValueError):
                continue
            stamps.setdefault(week, []).append([tag, day, count, rowid, stamp])
    return stamps


def _late_mail_weeks(db, since_rowid: int, weekday) -> tuple[set[str], bool]:
    """Weeks with a stored message that names a message new since `since_rowid`; and whether a release names one."""
    from .edition import week_of

    if "messages" not in db.table_names():
        return set(), False
    newest = db.execute("select max(rowid) from messages").fetchone()[0] or 0
    if newest <= since_rowid:
        return set(), False
    db.execute("create temp table if not exists _new_ids (message_id text primary key)")
    db.execute("delete from _new_ids")
    db.execute("insert or ignore into _new_ids select message_id from messages where rowid > ?", [since_rowid])
    release_named = False
    if "releases" in db.table_names() and "announcement_message_id" in {c[1] for c in db.execute("pragma table_info(releases)")}:
        release_named = db.execute(
            "select 1 from releases where announcement_message_id in (select message_id from _new_ids) limit 1").fetchone() is not None
    days = set()
    days.update(d for (d,) in db.execute(
        "select distinct substr(date, 1, 10) from messages where in_reply_to in (select message_id from _new_ids)"))
    # mail stored before that named a new message in its References (ingest noted it as dangling)
    days.update(d for (d,) in db.execute(
        "select distinct substr(m.date, 1, 10) from dangling_refs d join messages m on m.message_id = d.message_id "
        "where d.ref_id in (select message_id from _new_ids) and m.rowid <= ?", [since_rowid]))
    db.execute("drop table if exists _new_ids")
    weeks = set()
    for day in days:
        try:
            weeks.add(week_of(date.fromisoformat(day), weekday=weekday))
        except (TypeError, ValueError):
            continue
    return weeks, release_named


def _restamped_series_weeks(db, since_stamp: str, weekday) -> set[str]:
    """Weeks of the findings of series stamped since the last build: a finding's week may not be its series' week."""
    from .edition import week_of

    tables = set(db.table_names())
    if "series" not in tables or "findings" not in tables or not since_stamp:
        return set()
    weeks = set()
    for (day,) in db.execute(
            "select distinct substr(f.date, 1, 10) from findings f join series s on s.series_key = f.series_key "
            "where s.updated_at > ?", [since_stamp]):
        try:
            weeks.add(week_of(date.fromisoformat(day), weekday=weekday))
        except (TypeError, ValueError):
            continue
    return weeks


def _text_digest(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def _remember_digest(edition, text: str, digests: dict | None):
    if digests is not None:
        digests[id(edition)] = (edition, _text_digest(text))
    return edition


def _kept_edition(text: str, brief_json: str | None, digests: dict | None):
    """A kept edition: left encoded with its brief when the build keeps digests (a site build), else decoded.

    A StoredEdition carries its digest itself (feeds.edition_digest reads it there)."""
    if digests is None or not brief_json:
        return _remember_digest(json.loads(text), text, digests)
    return StoredEdition(text, json.loads(brief_json), _text_digest(text))


def assemble_editions(app, weeks: list[str], global_inputs: str, *, reuse: bool = True, digests: dict | None = None) -> list[dict]:
    """Return the edition dict of each week, re-assembling only those whose inputs changed (all of them without `reuse`).

    `digests` (feeds.edition_digest's memo) gets each edition's digest from the JSON text kept
    here, so a build does not serialise every edition again to learn whether its pages changed.
    """
    from .db import get_meta, set_meta
    from .edition import assemble_edition, edition_weekday

    db = app.db
    if not reuse_allowed(app):
        return [assemble_edition(app, week) for week in weeks]
    weekday = edition_weekday(app.config)
    if TABLE not in db.table_names():
        db[TABLE].create({"week": str, "inputs": str, "edition_json": str, "brief_json": str}, pk="week")
    elif "brief_json" not in db[TABLE].columns_dict:  # kept by a version before briefs
        db[TABLE].add_column("brief_json", str)
    since = int(get_meta(db, ROWID_KEY) or 0)
    late, release_named = _late_mail_weeks(db, since, weekday)
    series_stamp = get_meta(db, SERIES_KEY) or ""
    late |= _restamped_series_weeks(db, series_stamp, weekday)
    stamps = _week_stamps(db, weekday)
    stored = {week: (inputs, text, brief) for week, inputs, text, brief in
              db.execute(f"select week, inputs, edition_json, brief_json from [{TABLE}]")}
    editions, fresh = [], []
    for week in weeks:
        inputs = _hash([global_inputs, weekday, week, stamps.get(week, [])])
        old = stored.get(week)
        if reuse and old and old[0] == inputs and week not in late and not release_named:
            editions.append(_kept_edition(old[1], old[2], digests))
            continue
        mark = app.host.failures
        edition = assemble_edition(app, week)
        editions.append(edition)
        text = json.dumps(edition, sort_keys=False)
        # only what JSON gives back unchanged is kept, and never an edition a plugin failed in:
        # the next build asks it again (and reports it again)
        if json.loads(text) == edition and not app.host.problems_since(mark):
            brief = edition_brief(edition)  # JSON's own values: the edition came back from JSON unchanged
            fresh.append({"week": week, "inputs": inputs, "edition_json": text, "brief_json": json.dumps(brief)})
            # a site build holds it as it holds a kept one, its text and brief: every edition
            # assembled at once (`--force`, a new theme or version) held as dicts was 0.6 GB at 1M
            if digests is not None:
                editions[-1] = StoredEdition(text, brief, _text_digest(text))
        else:
            fresh.append({"week": week, "inputs": "", "edition_json": "{}", "brief_json": None})
    newest = db.execute("select max(rowid) from messages").fetchone()[0] if "messages" in db.table_names() else 0
    with db.conn:
        if fresh:
            db[TABLE].upsert_all(fresh, pk="week")
        gone = set(stored) - set(weeks)
        for week in gone:
            db[TABLE].delete(week)
        set_meta(db, ROWID_KEY, str(newest or 0))
        if "series" in db.table_names():
            set_meta(db, SERIES_KEY, db.execute("select max(updated_at) from series").fetchone()[0] or "")
    return editions
