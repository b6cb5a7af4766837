"""A page that a plugin adds to the static site (the site_pages hook)."""

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
