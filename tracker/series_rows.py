"""The records the Threader works with: members, series columns, placements; head order.

Kept apart from tracker/series.py, which holds the threading rules; these are
the row layouts and small pure helpers those rules are written against.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

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


class Member(NamedTuple):
    """A patch or cover letter of a series, as the Threader reads it (from `messages`, or a batch row).

    A NamedTuple: SQLite's rows become one at the cost of a tuple.
    """

    message_id: str
    subject: str
    author_name: str | None
    author_email: str | None
    date: str | None
    list_id: str | None
    patch_number: int | None
    patch_total: int | None
    patch_version: int | None
    is_cover: int
    trailers_json: str | None
    in_reply_to: str | None


MEMBER_FIELDS = Member._fields
MEMBER_COLUMNS = ", ".join(MEMBER_FIELDS)


def member_of(row: dict) -> Member:
    """The Member of a batch row (a dict of its columns)."""
    return Member._make(row[c] for c in MEMBER_FIELDS)


class SeriesColumns(NamedTuple):
    """A `series` row as _refresh computes it from the members, without its key."""

    subject: str
    version: int
    prefixes_json: str
    author_name: str | None
    author_email: str | None
    date: str | None
    list_id: str | None
    total: int
    received: int
    complete: int
    cover_message_id: str | None
    lineage: str
    is_stable_review: int
    stable_release: str | None
    stem_key: str
    updated_at: str
    change_id: str | None


SERIES_FIELDS = SeriesColumns._fields
SERIES_COLUMNS = ", ".join(SERIES_FIELDS)
# columns no threading query reads: their writes wait for the batch's end (finish), once per series
DEFERRABLE = frozenset(
    SERIES_FIELDS.index(name)
    for name in ("subject", "author_name", "list_id", "received", "complete", "cover_message_id", "is_stable_review",
                 "stable_release", "updated_at")
)
LINEAGE_INPUTS = {SERIES_FIELDS.index(name) for name in ("author_email", "date", "lineage", "stem_key")}


class SeriesShape(NamedTuple):
    """What a patch must match to join a series: its total and version (and date, to prefer the newest)."""

    total: int | None
    version: int | None
    date: str | None


@dataclass(slots=True)
class Placement:
    """Where a message of the batch goes, and the role it keeps: its row is inserted with these columns.

    Also what the Threader reads of a stored message (`stored_placement`), so
    that both answer the same questions the same way.
    """

    series_key: str | None
    is_patch: int
    is_cover: int
    patch_number: int | None
    reply_to_number: int | None
    patch_version: int | None

    @property
    def is_member(self) -> bool:
        """A patch or cover letter (a member of its series), not a reply."""
        return bool(self.is_patch or self.is_cover)

    @property
    def number(self) -> int | None:
        """The patch number a reply to this message counts for: its own, or the one it replies about."""
        return self.patch_number if self.is_member else self.reply_to_number


PLACEMENT_COLUMNS = "series_key, is_patch, is_cover, patch_number, reply_to_number, patch_version"


def head_order(member: Member) -> tuple:
    """SQLite's ORDER BY is_cover DESC, patch_number, date (NULLs first) as a Python sort key."""
    number, date = member.patch_number, member.date
    return (-(member.is_cover or 0), number is not None, number or 0, date is not None, date or "")


class SeriesMembers:
    """A series' members in the order SQLite lists them, with what _refresh needs of them kept current.

    Refreshing a series once read every member (its head, the patch numbers
    received, the earliest date, the first change-id): for a series of n
    patches, n refreshes of n members each. These aggregates are updated as
    each member is appended instead, so that a 2,000-patch stable review
    threads at the rate of ordinary mail (issue 19). Members are only ever
    appended (a series never loses one), which keeps every aggregate exact:
    each is what the full scan over `members` would compute.
    """

    __slots__ = ("members", "head", "ties", "_head_order", "_numbers_of_all", "_parents", "numbers", "min_date",
                 "change_id", "_complete_for")

    def __init__(self, members=()):
        self.members: list[Member] = []
        self.head: Member | None = None  # the first member with the least head_order: min(members, key=head_order)
        self.ties = 0  # how many members share the head's head_order
        self._head_order: tuple | None = None
        self._numbers_of_all: set = set()  # every member's patch_number, the cover's 0 and None included
        self._parents: set = set()  # every member's in_reply_to
        self.numbers: set[int] = set()  # the patch numbers received (patches, not the cover)
        self.min_date: str | None = None  # the earliest date of a member
        self.change_id: str | None = None  # the first change-id of a member, in member order
        self._complete_for: int | None = None  # a total the numbers were found to cover (they only grow)
        for member in members:
            self.append(member)

    def __len__(self) -> int:
        return len(self.members)

    def __iter__(self):
        return iter(self.members)

    def append(self, member: Member) -> None:
        self.members.append(member)
        order = head_order(member)
        if self.head is None or order < self._head_order:
            self.head, self._head_order, self.ties = member, order, 1
        elif order == self._head_order:
            self.ties += 1
        number = member.patch_number
        self._numbers_of_all.add(number)
        self._parents.add(member.in_reply_to)
        if number and not member.is_cover:
            self.numbers.add(number)
        if member.date and (self.min_date is None or member.date < self.min_date):
            self.min_date = member.date
        if self.change_id is None:
            self.change_id = change_id_of(member.trailers_json) or None

    def slot_free(self, number: int | None) -> bool:
        """Whether no member has this patch number yet."""
        return number not in self._numbers_of_all

    def answers(self, message_id: str) -> bool:
        """Whether a member is a reply to this message (In-Reply-To)."""
        return message_id in self._parents

    def complete(self, total: int) -> bool:
        """Whether patches 1..total all arrived."""
        if len(self.numbers) < total:  # the numbers are distinct and positive: too few to cover 1..total
            return False
        if self._complete_for != total:
            if not all(n in self.numbers for n in range(1, total + 1)):
                return False
            self._complete_for = total
        return True


def parse_dt(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
