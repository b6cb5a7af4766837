"""Weekly editions: which week a date belongs to, and the Section plugins contribute.

Sections are structured data first; the digest (Markdown/text/HTML/JSON) and
the site render them second, so one plugin section serves every output.

An edition is labelled with the ISO week of the day it closes on. By default
it closes on Sunday, so "2026-W48" is exactly ISO week 48; with
`[edition] weekday = "wednesday"` it runs Thursday..Wednesday and carries the
label of the week that contains that Wednesday.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from .errors import KtrackError

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass
class Section:
    """One part of an edition, e.g. the stable review or the new syscalls.

    `items` are dicts; every item has "text" (one line of plain text, the
    digest line) and may have "group" (a sub-heading, e.g. a category; items
    of one group are adjacent) and "link" (a site-relative path such as
    "syscalls/memfd_secret.html", or an https URL) plus any structured keys a
    template wants. An item told as prose has "parts", the same words as
    [{"text", "link"}] so that only a title or a version is a link; "title"
    names the linked headline of an item whose "text" is its summary. `template` names a site template (default "section.html").
    Items may carry "category" or "stable_branch" so that per-reader digest
    filters (`--category`, `--stable`) can select them.
    """

    key: str
    title: str
    items: list[dict[str, Any]] = field(default_factory=list)
    intro: str = ""
    order: int = 50
    template: str | None = None


def closing_weekday(weekday: str | int = "sunday") -> int:
    """Return 0..6 (Monday..Sunday) for a weekday name or number, e.g. "sunday" -> 6."""
    if isinstance(weekday, int) and 0 <= weekday <= 6:
        return weekday
    name = str(weekday).strip().lower()
    for index, day in enumerate(WEEKDAYS):
        if name in (day, day[:3]):
            return index
    raise ValueError(f"[edition] weekday must be a day name like 'sunday', not {weekday!r}")


def week_of(day: date, *, weekday: str | int = "sunday") -> str:
    """Return the label of the edition containing `day`, e.g. date(2010, 2, 25) -> "2010-W08"."""
    if isinstance(day, datetime):
        day = day.date()
    close = closing_weekday(weekday)
    closing_day = day + timedelta(days=(close - day.weekday()) % 7)
    year, week, _ = closing_day.isocalendar()
    return f"{year}-W{week:02d}"


class WeekLabelError(KtrackError, ValueError):
    """A week label that is no ISO week: the user's mistake (one line), and a ValueError for older callers."""


def week_bounds(label: str, *, weekday: str | int = "sunday") -> tuple[date, date]:
    """Return [start, end) of the edition `label`; for Sunday closing, [monday, next monday)."""
    try:
        monday = datetime.strptime(label + "-1", "%G-W%V-%u").date()
    except ValueError:
        raise ValueError(f"not an ISO week label: {label!r} (expected e.g. 2026-W48)") from None
    if week_of(monday) != label:  # strptime accepts W53 of a 52-week year
        raise ValueError(f"not an ISO week label: {label!r} (that year has no such week)")
    end = monday + timedelta(days=closing_weekday(weekday) + 1)
    return end - timedelta(days=7), end


def edition_path(week: str) -> str:
    """Where an edition's page is in the site, e.g. "editions/2026-W48.html"."""
    return f"editions/{week}.html"


def edition_for(label: str, *, weekday: str | int = "sunday") -> dict[str, Any]:
    """Return the edition dict that edition_sections hooks receive.

    `start` and `end` are ISO dates, [start, end): compare them with the
    UTC ISO-8601 `date` columns as text, `date >= start and date < end`.
    A label that is no ISO week (a plugin command's `--week banana`) raises
    WeekLabelError: one clear line for the user, and still a ValueError.
    """
    try:
        start, end = week_bounds(label, weekday=weekday)
    except ValueError as exc:
        raise WeekLabelError(str(exc)) from None
    last = end - timedelta(days=1)
    return {
        "week": label,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "title": f"Week {label}: {_span(start, last)}",
    }


def _span(first: date, last: date) -> str:
    if first.year != last.year:
        return f"{first:%B} {first.day}, {first.year} – {last:%B} {last.day}, {last.year}"
    if first.month != last.month:
        return f"{first:%B} {first.day} – {last:%B} {last.day}, {last.year}"
    return f"{first:%B} {first.day}–{last.day}, {last.year}"


def edition_weekday(config: dict) -> str:
    """Return the configured closing weekday (`[edition] weekday`); a bad name is a KtrackError."""
    from .errors import KtrackError

    weekday = (config.get("edition") or {}).get("weekday") or "sunday"
    try:
        closing_weekday(weekday)
    except ValueError as exc:
        raise KtrackError(f"{config.get('_path') or 'config'}: {exc}") from None
    return weekday


# Tables whose `date`-like column places a row in a week. Plugins that keep
# their results in `findings` are covered; the rest show up through series.
CONTENT_DATES = (
    ("series", "date"),
    ("releases", "released_at"),
    ("findings", "date"),
)


def edition_weeks(db, *, weekday: str | int = "sunday") -> list[str]:
    """Return the labels of every week with a series, release or finding, oldest first."""
    days: set[str] = set()
    tables = set(db.table_names())
    for table, column in CONTENT_DATES:
        if table not in tables:
            continue
        for (day,) in db.execute(f"select distinct substr({column}, 1, 10) from [{table}] where {column} is not null"):
            days.add(day)
    weeks = set()
    for day in days:
        try:
            weeks.add(week_of(date.fromisoformat(day), weekday=weekday))
        except ValueError:  # an unparseable date never gets an edition
            continue
    return sorted(weeks)


def newest_edition_week(db, *, weekday: str | int = "sunday") -> str | None:
    """Return edition_weeks(db)[-1] (None if there is no week) by reading each table's newest dates only.

    A weekly run names the week it published; reading every distinct day of
    every series for that grew with the archive (issue 19). Dates sort as text,
    so the first parseable one, newest first, is the newest day (an index seek
    where the column has an index).
    """
    tables = set(db.table_names())
    newest = None
    for table, column in CONTENT_DATES:
        if table not in tables:
            continue
        for (value,) in db.execute(f"select [{column}] from [{table}] where [{column}] is not null order by [{column}] desc"):
            try:
                week = week_of(date.fromisoformat(str(value)[:10]), weekday=weekday)
            except ValueError:
                continue
            newest = week if newest is None else max(newest, week)
            break
    return newest


def assemble_edition(app, label: str) -> dict[str, Any]:
    """Collect every plugin's sections for week `label` into one edition dict.

    Returns {"week", "start", "end", "title", "sections": [section dicts]},
    sections sorted by (order, title), empty ones dropped, links made safe.
    A plugin that raises is reported by the host and left out. The edition
    dict the edition_sections hooks receive also carries what other plugins
    said first (see edition_context).
    """
    edition = edition_for(label, weekday=edition_weekday(app.config))
    context = {**edition, **edition_context(app, edition)}
    collected = app.host.call("edition_sections", edition=context, db=app.db, config=app.config)
    sections = []
    for result in collected:
        for section in result if isinstance(result, (list, tuple)) else [result]:
            normal = normalize_section(section)
            if normal is not None and (normal["items"] or normal["intro"]):
                sections.append(normal)
    sections.sort(key=lambda s: (s["order"], s["title"], s["key"]))
    return {**edition, "sections": sections}


def edition_context(app, edition: dict) -> dict[str, Any]:
    """Ask the plugins what the sections need to know of each other before any is built.

    "claimed": {series_key: plugin} for series a plugin's own section shows
    (claim_series), which "Patches and updates" leaves out; "discussion_rankings":
    the edition_discussions results, which the discussions section merges.
    """
    claimed: dict[str, str] = {}
    for plugin, result in app.host.call_each("claim_series", edition=dict(edition), db=app.db, config=app.config):
        for key in result or ():
            if isinstance(key, str) and key:
                claimed.setdefault(key, plugin)
    rankings = [r for r in app.host.call("edition_discussions", edition=dict(edition), db=app.db, config=app.config)
                if isinstance(r, (list, tuple))]
    return {"claimed": claimed, "discussion_rankings": rankings}


def normalize_section(section: Any) -> dict[str, Any] | None:
    """Turn a Section (or a dict with the same keys) into a plain dict with safe items."""
    if is_dataclass(section):
        # Shallow: items are plain data already, and asdict's deep copy of every
        # item of every section was most of an edition's cost at LKML scale.
        data = {f.name: getattr(section, f.name) for f in fields(section)}
    elif isinstance(section, dict) and "key" in section and "title" in section:
        data = {"items": [], "intro": "", "order": 50, "template": None, **section}
    else:
        return None
    items = []
    for item in data.get("items") or []:
        if not isinstance(item, dict):
            item = {"text": str(item)}
        item = {key: asdict(value) if is_dataclass(value) and not isinstance(value, type) else value for key, value in item.items()}
        item["text"] = str(item.get("text") or "")
        item["link"] = safe_link(item.get("link"))
        if "parts" in item:
            item["parts"] = safe_parts(item["parts"])
        items.append(item)
    data["items"] = items
    data["intro"] = str(data.get("intro") or "")
    data["title"] = str(data["title"])
    data["key"] = str(data["key"])
    try:
        data["order"] = int(data.get("order") or 50)
    except (TypeError, ValueError):
        data["order"] = 50
    return data


def safe_parts(parts: Any) -> list[dict[str, Any]]:
    """Return an item's "parts" (prose with a few linked words) as [{"text", "link"}] with unsafe links dropped.

    A plugin tells a paragraph as parts so that only the words that name
    something ("6.14-rc3", "the review") are links, not the whole sentence.
    """
    if not isinstance(parts, (list, tuple)):
        return []
    clean = []
    for part in parts:
        if isinstance(part, dict):
            clean.append({"text": str(part.get("text") or ""), "link": safe_link(part.get("link"))})
        elif part is not None:
            clean.append({"text": str(part), "link": None})
    return clean


_RELATIVE_OK = re.compile(r"^[A-Za-z0-9_~%+-][A-Za-z0-9._~%+/-]*(#[A-Za-z0-9._-]*)?$")


def safe_link(link: Any) -> str | None:
    """Return `link` if it is an http(s) URL or a site-relative path inside the site, else None.

    Links come from mail (untrusted): "javascript:alert(1)", "../../etc/passwd",
    "//evil.example" and anything with control characters become no link.
    """
    if not isinstance(link, str) or not link:
        return None
    # remembered for plain strings only: a str subclass (Markup) must come back as itself
    return _remembered_link(link) if type(link) is str else _check_link(link)


@lru_cache(maxsize=65536)
def _remembered_link(link: str) -> str | None:
    """_check_link, remembered: a site build checks each item's link twice (assembly and template)."""
    return _check_link(link)


_UNSAFE_CHARS = re.compile(r"[\x00-\x20\"'<>\\`]")  # control characters, space, quotes, brackets, backslash


# the common shape of a mail link ("https://lore.kernel.org/r/..."): scheme, a plain host, maybe a
# port, then a path or nothing; whatever else starts with http(s) is asked of urlsplit
_PLAIN_WEB_LINK = re.compile(r"^https?://[A-Za-z0-9][A-Za-z0-9.-]*(?::[0-9]+)?(?:[/?#]|$)", re.IGNORECASE)


def _check_link(link: str) -> str | None:
    if _UNSAFE_CHARS.search(link):
        return None
    if _PLAIN_WEB_LINK.match(link):
        return link
    lowered = link.lower()
    if lowered.startswith(("http://", "https://")):
        parts = urlsplit(link)
        return link if parts.netloc and parts.hostname else None
    if not _RELATIVE_OK.match(link):
        return None
    path = link.split("#", 1)[0]
    if any(segment in ("..", ".") for segment in path.split("/")) or "//" in path:
        return None
    return link
