"""What a plugin adds to the static site through the site_pages hook: pages and Atom feeds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Page:
    """`path` is relative to the site root ("syscalls/memfd_secret.html"); the
    host refuses paths that would leave the output directory. `context` is
    plain data handed to the Jinja2 `template`."""

    path: str
    template: str
    title: str
    context: dict[str, Any] = field(default_factory=dict)


@dataclass
class Feed:
    """An Atom feed at `path` ("watch/landlock.xml"), rendered by the host with feedgen.

    Each entry is a dict: "id" (a permanent unique string, e.g. the series'
    Message-ID), "title", "updated" (ISO date or timestamp), and optionally
    "link" (site-relative or https URL) and "content" (HTML). A page links its
    feed by putting the feed's path in its context as "feed".
    """

    path: str
    title: str
    entries: list[dict[str, Any]] = field(default_factory=list)
