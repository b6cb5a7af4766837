"""Weekly editions: which week a date belongs to, and the Section plugins contribute.

Sections are structured data first; the digest (Markdown/text/HTML/JSON) and
the site render them second, so one plugin section serves every output.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any


@dataclass
class Section:
    """One part of an edition, e.g. the stable review or the new syscalls.

    `items` are dicts; every item has "text" (one line of plain text, the
    digest line) and may have "link" (a site-relative path such as
    "syscalls/memfd_secret.html", or an https URL) plus any structured keys a
    template wants. `template` names a site template (default "section.html").
    """

    key: str
    title: str
    items: list[dict[str, Any]] = field(default_factory=list)
    intro: str = ""
    order: int = 50
    template: str | None = None


def week_of(day: date) -> str:
    """Return the ISO week label of a date, e.g. date(2010, 2, 25) -> "2010-W08"."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def week_bounds(label: str) -> tuple[date, date]:
    """Return [monday, next monday) of an ISO week label like "2026-W48"."""
    try:
        monday = datetime.strptime(label + "-1", "%G-W%V-%u").date()
    except ValueError:
        raise ValueError(f"not an ISO week label: {label!r} (expected e.g. 2026-W48)") from None
    return monday, monday + timedelta(days=7)


def edition_for(label: str) -> dict[str, Any]:
    """Return the edition dict that edition_sections hooks receive."""
    start, end = week_bounds(label)
    return {"week": label, "start": start.isoformat(), "end": end.isoformat()}
