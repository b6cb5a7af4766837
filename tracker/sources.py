"""What a source is: something that, when due, reads the outside world into the store.

Source plugins register instances through the register_sources hook. The host
calls `fetch(ctx)` inside one transaction per source, so a source that fails
half-way leaves no partial rows, and records its success or error on its row
in the `sources` table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:  # an annotation only: sqlite-utils loads when a database is opened
    from sqlite_utils import Database


@dataclass
class FetchContext:
    """What a source gets to do its work; plain attributes, no globals."""

    db: Database
    http: Any  # tracker.fetch.HttpClient
    state: dict[str, Any]  # this source's persisted cursor: mutate it, the host saves it on success
    config: dict[str, Any]
    progress: Callable[[str], None] = lambda message: None
    warnings: list[str] = field(default_factory=list)  # one line each, e.g. a skipped bad message

    def warn(self, message: str) -> None:
        self.warnings.append(message)


class Source:
    """Base class for sources; subclasses set the attributes and implement fetch()."""

    name: str = ""  # unique, e.g. "lore:linux-api"
    kind: str = ""  # e.g. "lore", "kernel.org"
    url: str = ""
    interval_seconds: int = 3600

    def fetch(self, ctx: FetchContext) -> None:
        raise NotImplementedError
