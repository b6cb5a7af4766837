"""Thread stored messages into patch series, incrementally, one message at a time.

The rules follow Patchwork's parser (patchwork/parser.py, `find_series`) and
its series fixtures:

- a patch or cover joins the series of a message it replies to or references
  (or of patches that replied to it before it arrived), when the total
  matches, its number is still free and the version agrees ("[PATCH 1/4]"
  replying to "[PATCH v3 0/4]" is the same series; "[PATCH v2 0/2]" replying
  to v1 is a new revision);
- without usable references (quilt-mailed stable reviews, lists that lost
  In-Reply-To) it joins a series of the same author, version, total and
  prefixes sent within 36 hours whose slot for its number is free;
- replies join the series of the message they answer, and their
  Reviewed-by/Acked-by/Tested-by count for that patch (queries.py sums them);
- the versions of one work share a lineage: b4's change-id (X-Change-ID or the
  cover's trailer), else a reply to an older version or a cover letter's link to
  one ("v1: https://lore.kernel.org/r/..."), else the same author and subject
  stem within a year; a change-id lineage and a subject lineage of the same work
  become one (tracker/lineage.py).

Everything is read back from the database, so a run that gets patch 3/5 today
and 4/5 tomorrow ends with one series of 5. The series key is the cover's
Message-ID, else the lowest-numbered patch's: it moves when a better head
arrives, and rows pointing at it (messages, series_refs, findings) move too.
"""

from __future__ import annotations

import json
from datetime import timedelta

from .db import utcnow
from .series_rows import (
    DEFERRABLE,
    LINEAGE_INPUTS,
    MEMBER_COLUMNS,
    PLACEMENT_COLUMNS,
    SERIES_COLUMNS,
    SERIES_FIELDS,
    Member,
    Placement,
    SeriesColumns,
    SeriesMembers,
    SeriesShape,
    change_id_of,
    head_order,
    head_subject,
    member_of,
    parse_dt,
)
from .lineage import LineageJoins
from .series_refs import RefIndex
from .queries import REVIEW_TRAILERS  # noqa: F401  (defined with the readers, which need not load threading)
from .subjects import stable_release_of, stem_key

SAME_SERIES_WINDOW = timedelta(hours=36)  # 2.6.14.7's quilt dates sit 18 h before the cover
class Threader(LineageJoins):
    """Place stored messages into series; `touched` collects the keys of changed series.

    One Threader threads one batch (one transaction): `now` is its single
    updated_at stamp, and `expect_batch` hands it the batch's rows *before*
    they are inserted: it threads them in memory (`placed` gives each row's
    final series columns) so that each row is written once, with its series,
    instead of inserted and then rewritten. Both only save work; the
    placements are those of the rules above.
    """

    def __init__(self, db):
        self.conn = db.conn
        self.touched: set[str] = set()
        self.created: set[str] = set()
        self.now = utcnow()
        self._stamped: set[str] = set()  # series whose updated_at is `now` already
        self._orphan_parents: set[str] | None = None  # None: unknown, always look
        self._batch_ids: set[str] = set()
        self._attached: dict[str, tuple] = {}  # reply Message-ID -> (series_key, number) set in this batch
        # series_key -> its members, read once per batch and kept current here:
        # only this Threader changes them inside its transaction
        self._members: dict[str, SeriesMembers] = {}
        self._series_cols: dict[str, SeriesColumns] = {}  # series_key -> its columns as last written
        self._deferred: dict[str, dict[int, object]] = {}  # series_key -> {DEFERRABLE index: value} not written yet
        # this batch's messages, not inserted yet: what their rows will hold
        self._state: dict[str, Placement] = {}
        self._rows: dict[str, dict] = {}  # this batch's rows by Message-ID, in batch order
        self._children: dict[str, list[str]] = {}  # In-Reply-To -> this batch's Message-IDs answering it
        self._batch_keys: set[str] = set()  # series keys some row of this batch has
        self._refs = RefIndex(self.conn)  # series_refs, read for the whole batch in expect_batch
        self._lineages: dict[tuple, list] = {}  # (author_email, stem_key) -> [(series_key, lineage, date)]
        self._by_change_id: dict[str, str] = {}  # b4 change-id -> the lineage a stored series of it has
        self._cover_links: dict[str, list[str]] = {}  # cover Message-ID -> the lore Message-IDs its text links
        self._renames: dict[str, str] = {}  # series_key -> its head's Message-ID, the key it takes in finish()
        self.renamed: dict[str, str] = {}  # the renames finish() made: a key an earlier batch reported is gone

    def expect_batch(self, rows: list[dict]) -> None:
        """Note the batch about to be added (not inserted yet): find which may have unthreaded replies.

        A reply waits for adoption while its series_key is NULL; within one
        batch no message is inserted, so only these Message-IDs (and replies
        turned from "nore" patches, added below) can have such a reply.
        Every row of the batch must then go through `add`, and be inserted
        with `placed` afterwards, in the same transaction.
        """
        message_ids = [row["message_id"] for row in rows]
        batch_ids = set(message_ids)
        found: set[str] = set()
        for i in range(0, len(message_ids), 900):
            chunk = message_ids[i : i + 900]
            found.update(
                r[0]
                for r in self.conn.execute(
                    f"SELECT DISTINCT in_reply_to FROM messages WHERE in_reply_to IN ({','.join('?' * len(chunk))}) "
                    "AND series_key IS NULL AND is_patch = 0 AND is_cover = 0",
                    chunk,
                )
            )
        for row in rows:
            mid, parent = row["message_id"], row["in_reply_to"]
            self._rows[mid] = row
            self._state[mid] = Placement(None, row["is_patch"], row["is_cover"], row["patch_number"], None, row["patch_version"])
            if parent:
                self._children.setdefault(parent, []).append(mid)
                if parent in batch_ids and not row["is_patch"] and not row["is_cover"]:
                    found.add(parent)  # what the query above finds once the batch is inserted
        self._orphan_parents = found
        self._batch_ids = batch_ids
        self._refs.load(
            ref
            for row in rows
            if row["is_patch"] or row["is_cover"]
            for ref in (row["message_id"], row["in_reply_to"], *(row.get("references") or ()))
            if ref
        )

    def placed(self, message_id: str) -> Placement | None:
        """The series columns a batch row gets (and its role: a "nore" patch becomes a reply)."""
        return self._state.get(message_id)

    # -- public -----------------------------------------------------------
    def add(self, row: dict) -> str | None:
        """Thread one message of the batch given to `expect_batch` (a dict of its columns + "references").

        Returns the series key it joined, or None.
        """
        if row.get("is_patch") and not row.get("diff") and self._answers_same_slot(row):
            # b4's "nore" case: a review sent with the patch's own subject (no "Re:")
            state = self._state.get(row["message_id"])
            if state is not None:
                state.is_patch, state.patch_number, state.patch_version = 0, None, None  # patch_total too: see placed()
            else:
                self.conn.execute(
                    "UPDATE messages SET is_patch = 0, patch_number = NULL, patch_total = NULL, patch_version = NULL "
                    "WHERE message_id = ?",
                    (row["message_id"],),
                )
            if self._orphan_parents is not None:
                self._orphan_parents.add(row["in_reply_to"])  # it may wait for adoption now
            return self._place_reply(row)
        if row.get("is_cover") or row.get("is_patch"):
            return self._place_member(row)
        if row.get("in_reply_to"):
            return self._place_reply(row)
        return None

    # -- members ----------------------------------------------------------
    def _one(self, sql, params=()):
        return self.conn.execute(sql, params).fetchone()

    def _answers_same_slot(self, row: dict) -> bool:
        """Whether a diff-less "patch" answers a stored patch with the same number and version."""
        if not row.get("in_reply_to"):
            return False
        state = self._state.get(row["in_reply_to"])
        if state is not None:
            parent = (state.patch_number, state.patch_version) if state.is_member else None
        else:
            parent = self._one(
            "SELECT patch_number, patch_version FROM messages WHERE message_id = ? AND (is_patch = 1 OR is_cover = 1)",
            (row["in_reply_to"],),
        )
        return parent is not None and parent[0] == row["patch_number"] and (parent[1] or 1) == (row["patch_version"] or 1)

    def _slot_free(self, key: str, number: int) -> bool:
        return self._members_of(key).slot_free(number)

    def _members_of(self, key: str) -> SeriesMembers:
        """The series' members (patches and cover), from the database the first time in this batch."""
        members = self._members.get(key)
        if members is None:
            members = self._members[key] = SeriesMembers(map(Member._make, self.conn.execute(
                f"SELECT {MEMBER_COLUMNS} FROM messages WHERE series_key = ? AND (is_patch = 1 OR is_cover = 1)", (key,)
            )))
            if key in self._batch_keys:  # and the batch's rows, which come after them (higher rowids)
                for mid, state in self._state.items():
                    if state.series_key == key and state.is_member:
                        members.append(member_of(self._rows[mid]))
        return members

    def _placement_of(self, message_id: str) -> Placement | None:
        """Where a message is (a row of this batch, or stored), or None when it is neither."""
        state = self._state.get(message_id)
        if state is not None:
            return state
        row = self._one(f"SELECT {PLACEMENT_COLUMNS} FROM messages WHERE message_id = ?", (message_id,))
        return Placement(*row) if row else None

    def _member_series(self, message_id: str | None) -> str | None:
        if not message_id:
            return None
        state = self._state.get(message_id)
        if state is not None:
            return state.series_key if state.is_member else None
        row = self._one(
            "SELECT series_key FROM messages WHERE message_id = ? AND (is_patch = 1 OR is_cover = 1)", (message_id,)
        )
        return row[0] if row else None

    def _place_member(self, row: dict) -> str:
        mid = row["message_id"]
        number = row["patch_number"]
        total = row["patch_total"]
        version = row["patch_version"] or 1
        explicit = row.get("version_explicit", True)
        refs = [r for r in [row.get("in_reply_to"), *reversed(row.get("references") or [])] if r and r != mid]
        parent_key = self._member_series(row.get("in_reply_to"))
        candidates: list[str] = []
        if parent_key:
            candidates.append(parent_key)
        known: dict[str, SeriesShape] = {}  # the series that mid or its refs already belong to
        for ref in (mid, *refs):
            for key in self._refs.keys_of(ref):
                if key not in known and (shape := self._refs.shape(key)) is not None:  # the JOIN skipped dangling refs
                    known[key] = shape
        # newest series first, as "ORDER BY date DESC" (NULL dates last)
        for key in sorted(known, key=lambda k: known[k].date or "", reverse=True):
            if key not in candidates:
                candidates.append(key)
        chosen = None
        for key in candidates:
            shape = known.get(key) or self._refs.shape(key)
            if shape is None or (shape.total or 1) != (total or 1) or not self._slot_free(key, number):
                continue
            child_in = self._members_of(key).answers(mid)
            if (shape.version or 1) == version or child_in or (key == parent_key and not explicit):
                chosen = key
                break
        if chosen is None and not parent_key:
            chosen = self._find_by_author(row, number, total, version)
        if chosen is None:
            chosen = mid
            self.conn.execute(
                "INSERT INTO series (series_key, total, version, date, updated_at) VALUES (?, ?, ?, ?, ?)",
                (mid, total, version, row.get("date"), self.now),
            )
            self._refs.series_created(mid, SeriesShape(total, version, row.get("date")))
            self.created.add(mid)
            self._members[mid] = SeriesMembers()  # a new series' key is its first member's fresh Message-ID
        self._members_of(chosen).append(member_of(row))  # read before the UPDATE below
        self._set_key(mid, chosen)
        for ref in [mid, *refs]:
            self._refs.add(ref, chosen)
        key = self._refresh(chosen)
        self._adopt_replies(mid, key, number)
        return key

    def _find_by_author(self, row: dict, number: int, total: int, version: int) -> str | None:
        """Find an open series of the same author, version, total and prefixes sent close in time."""
        when = parse_dt(row.get("date"))
        if not row.get("author_email") or when is None:
            return None
        prefixes = json.dumps(row.get("prefixes") or [])
        for key, prefixes_json in self.conn.execute(
            "SELECT series_key, prefixes_json FROM series WHERE author_email = ? AND version = ? AND total = ? "
            "AND date BETWEEN ? AND ? ORDER BY date DESC",
            (
                row["author_email"],
                version,
                total,
                (when - SAME_SERIES_WINDOW).isoformat(timespec="seconds"),
                (when + SAME_SERIES_WINDOW).isoformat(timespec="seconds"),
            ),
        ):
            if prefixes_json == prefixes and self._slot_free(key, number):
                return key
        return None

    # -- replies ----------------------------------------------------------
    def _place_reply(self, row: dict) -> str | None:
        mid = row["message_id"]
        for ref in [row["in_reply_to"], *reversed(row.get("references") or [])]:
            if not ref or ref == mid:
                continue
            parent = self._placement_of(ref)
            if parent is None or parent.series_key is None:
                continue
            key, number = parent.series_key, parent.number
            self._attach_reply(mid, key, number, row.get("trailers") or [])
            self._adopt_replies(mid, key, number)
            return key
        return None

    def _attach_reply(self, mid: str, key: str, number: int | None, trailers: list) -> None:
        if self._attached.get(mid) != (key, number):  # adopted earlier in this batch, now placed itself: same values
            self._set_key(mid, key, number)
            self._attached[mid] = (key, number)
        if any(name in REVIEW_TRAILERS for name, _ in trailers):
            if key not in self._stamped:  # setting the same stamp twice changes nothing
                self.conn.execute("UPDATE series SET updated_at = ? WHERE series_key = ?", (self.now, key))
                self._stamped.add(key)
                self._series_cols.pop(key, None)
            self.touched.add(key)

    def _set_key(self, mid: str, key: str, *number) -> None:
        """Set a message's series_key (and reply_to_number, when given): in memory for the batch's rows."""
        state = self._state.get(mid)
        if state is not None:
            state.series_key = key
            if number:
                state.reply_to_number = number[0]
            self._batch_keys.add(key)
        elif number:
            self.conn.execute(
                "UPDATE messages SET series_key = ?, reply_to_number = ? WHERE message_id = ?", (key, number[0], mid)
            )
        else:
            self.conn.execute("UPDATE messages SET series_key = ? WHERE message_id = ?", (key, mid))

    def _adopt_replies(self, mid: str, key: str, number: int | None) -> None:
        """Attach replies that arrived before the message they answer."""
        if self._orphan_parents is not None and mid not in self._orphan_parents:
            return
        todo = [(mid, number)]
        while todo:
            parent, num = todo.pop()
            children = self.conn.execute(
                "SELECT message_id, trailers_json FROM messages WHERE in_reply_to = ? AND series_key IS NULL "
                "AND is_patch = 0 AND is_cover = 0",
                (parent,),
            ).fetchall()
            for child in self._children.get(parent, ()):  # the batch's rows come after the stored ones
                state = self._state[child]
                if state.series_key is None and not state.is_member:
                    children.append((child, self._rows[child]["trailers_json"]))
            for child, trailers_json in children:
                self._attach_reply(child, key, num, json.loads(trailers_json or "[]"))
                if child in self._batch_ids and child not in self._orphan_parents:
                    continue  # a message of this batch that no waiting reply answers (expect_batch)
                todo.append((child, num))

    # -- series columns ---------------------------------------------------
    def _refresh(self, key: str) -> str:
        """Recompute a series' columns from its members' aggregates; rekey it to its head. Returns the key."""
        members = self._members_of(key)
        if not members:
            return key
        head = members.head
        if members.ties > 1:  # a tie: SQLite's order decides
            stored = self._one(
                f"SELECT {MEMBER_COLUMNS} FROM messages WHERE series_key = ? AND (is_patch = 1 OR is_cover = 1) "
                "ORDER BY is_cover DESC, patch_number, date",
                (key,),
            )
            if stored is None or head_order(Member._make(stored)) != head_order(head):
                # the tie is among this batch's rows: the first inserted comes first
                ties = {m.message_id for m in members if head_order(m) == head_order(head)}
                head = next(member_of(self._rows[mid]) for mid in self._rows if mid in ties)
            else:
                head = Member._make(stored)
        # A series is keyed by its head's Message-ID; a better head renames it, once, at the batch's end
        # (finish): a mailbox sorted newest first makes every patch the new head, and renaming at
        # each one rewrote every row stored so far (quadratic in the series' size).
        if head.message_id != key:
            self._renames[key] = head.message_id
        else:
            self._renames.pop(key, None)
        subject, prefixes_json = head_subject(head.subject)
        total = head.patch_total or 1
        date = head.date or members.min_date
        stem = subject.stem
        skey = stem_key(stem)
        # b4 puts the change-id trailer in the cover letter and the X-Change-ID header on every mail
        change_id = change_id_of(head.trailers_json) or members.change_id
        lineage = self._lineage(key, change_id, head.author_email, skey, date, self._previous_version(key, head))
        release = stable_release_of(stem) if head.is_cover else None
        self._write_series(
            key,
            SeriesColumns(
                subject=stem,
                version=head.patch_version or 1,
                prefixes_json=prefixes_json,
                author_name=head.author_name,
                author_email=head.author_email,
                date=date,
                list_id=head.list_id,
                total=total,
                received=len(members.numbers),
                complete=int(members.complete(total)),
                cover_message_id=head.message_id if head.is_cover else None,
                lineage=lineage,
                is_stable_review=int(release is not None),
                stable_release=release,
                stem_key=skey,
                updated_at=self.now,
                change_id=change_id,
            ),
        )
        self.touched.add(key)
        self._stamped.add(key)
        return key

    def _write_series(self, key: str, values: SeriesColumns) -> None:
        """Set the series' columns to `values`, writing only the columns that change.

        A series is refreshed once per new member; most refreshes change only
        `received`/`complete`, and leaving the indexed columns out of the
        UPDATE spares SQLite rewriting six index entries each time.
        """
        current = self._series_cols.get(key)
        if current is None:
            row = self._one(f"SELECT {SERIES_COLUMNS} FROM series WHERE series_key = ?", (key,))
            if row is None:
                return  # no such row: the full UPDATE would change nothing either
            pending = self._deferred.get(key)
            current = SeriesColumns._make(pending.get(i, value) for i, value in enumerate(row)) if pending else SeriesColumns._make(row)
        changed = [i for i, value in enumerate(values) if current[i] != value or type(current[i]) is not type(value)]
        self._refs.series_written(key, values, changed)
        if any(i in LINEAGE_INPUTS for i in changed):  # the rows _lineage reads may change
            self._lineages.pop((current.author_email, current.stem_key), None)
            self._lineages.pop((values.author_email, values.stem_key), None)
        if changed:
            pending = self._deferred.setdefault(key, {})
            pending.update((i, values[i]) for i in changed)
            if not DEFERRABLE.issuperset(changed):  # a column threading reads: write now, with what waits
                del self._deferred[key]
                columns = sorted(pending)
                self.conn.execute(
                    f"UPDATE series SET {', '.join(SERIES_FIELDS[i] + ' = ?' for i in columns)} WHERE series_key = ?",
                    [pending[i] for i in columns] + [key],
                )
        self._series_cols[key] = values

    def finish(self) -> None:
        """Write what waited for the batch's end: series renamed to their heads, series_refs pairs and
        the DEFERRABLE series columns.

        Call once after the batch's last `add`, before inserting its rows (`placed`).
        """
        renames, self._renames = self._renames, {}
        for old, new in renames.items():
            self._rekey(old, new)
        self.renamed.update(renames)
        self._refs.flush()
        groups: dict[tuple, list] = {}
        for key, pending in self._deferred.items():
            columns = tuple(sorted(pending))
            groups.setdefault(columns, []).append([pending[i] for i in columns] + [key])
        for columns, params in groups.items():
            self.conn.executemany(
                f"UPDATE series SET {', '.join(SERIES_FIELDS[i] + ' = ?' for i in columns)} WHERE series_key = ?", params
            )
        self._deferred.clear()

    def _rekey(self, old: str, new: str) -> None:
        self.conn.execute("UPDATE series SET series_key = ? WHERE series_key = ?", (new, old))
        self.conn.execute("UPDATE messages SET series_key = ? WHERE series_key = ?", (new, old))
        self.conn.execute("UPDATE OR IGNORE series_refs SET series_key = ? WHERE series_key = ?", (new, old))
        self.conn.execute("DELETE FROM series_refs WHERE series_key = ?", (old,))
        self.conn.execute("UPDATE findings SET series_key = ? WHERE series_key = ?", (new, old))
        if old in self._batch_keys:
            for state in self._state.values():
                if state.series_key == old:
                    state.series_key = new
            self._batch_keys.add(new)
        self._lineages.clear()  # their rows name series by key
        self._refs.rekey(old, new)
        # the members move with the key: the same list the database and this batch's rows would give again
        members = self._members.pop(old, None)
        self._members.pop(new, None)
        if members is not None:
            self._members[new] = members
        self._series_cols.pop(old, None)
        self._series_cols.pop(new, None)
        if old in self._deferred:  # the row moved: its waiting columns move with it
            self._deferred[new] = self._deferred.pop(old)
        for mid, (key, number) in list(self._attached.items()):
            if key == old:
                self._attached[mid] = (new, number)
        for bucket in (self.touched, self.created, self._stamped):
            if old in bucket:
                bucket.discard(old)
                bucket.add(new)
