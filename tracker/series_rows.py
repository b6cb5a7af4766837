"""The shape of series rows as the Threader reads them: member and series columns, head order.

Kept apart from tracker/series.py, which holds the threading rules; these are
the row layouts and small pure helpers those rules are written against.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache

from .subjects import Subject, parse_subject


@lru_cache(maxsize=4096)
def head_subject(subject: str) -> tuple[Subject, str]:
    """(parse_subject, its prefixes as JSON) for _refresh, which sees a head's subject with every member."""
    parsed = parse_subject(subject)
    return parsed, json.dumps(parsed.prefixes)


@lru_cache(maxsize=4096)
def change_id_of(trailers_json: str | None) -> str | None:
    """The last "change-id" trailer (b4) of a head, from its trailers_json; _refresh sees the same head often."""
    change_id = None
    for name, value in json.loads(trailers_json or "[]"):
        if name == "change-id":
            change_id = value
    return change_id


MEMBER_FIELDS = (
    "message_id", "subject", "author_name", "author_email", "date", "list_id", "patch_number", "patch_total",
    "patch_version", "is_cover", "trailers_json", "in_reply_to",
)
MEMBER_COLUMNS = ", ".join(MEMBER_FIELDS)
SERIES_FIELDS = (
    "subject", "version", "prefixes_json", "author_name", "author_email", "date", "list_id", "total", "received",
    "complete", "cover_message_id", "lineage", "is_stable_review", "stable_release", "stem_key", "updated_at",
    "change_id",
)
SERIES_COLUMNS = ", ".join(SERIES_FIELDS)
# columns no threading query reads: their writes wait for the batch's end (finish), once per series
DEFERRABLE = frozenset(
    SERIES_FIELDS.index(name)
    for name in ("subject", "author_name", "list_id", "received", "complete", "cover_message_id", "is_stable_review",
                 "stable_release", "updated_at")
)
LINEAGE_INPUTS = {SERIES_FIELDS.index(name) for name in ("author_email", "date", "lineage", "stem_key")}


def head_order(member: tuple) -> tuple:
    """SQLite's ORDER BY is_cover DESC, patch_number, date (NULLs first) as a Python sort key."""
    number, date = member[6], member[4]
    return (-(member[9] or 0), number is not None, number or 0, date is not None, date or "")


def parse_dt(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
