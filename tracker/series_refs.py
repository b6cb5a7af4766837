"""series_refs as one batch of threading reads and writes it: which series a Message-ID already belongs to.

A patch joins a series that its own Message-ID or one of its references
already names (tracker/series.py). Asking SQLite once per patch cost more
than the rest of threading; this index reads the batch's pairs, and the
(total, version, date) of the series they name, in one query, keeps them
current while the batch is threaded, and writes the new pairs at its end.
"""

from __future__ import annotations

from .series_rows import SERIES_FIELDS, SeriesColumns, SeriesShape

SHAPE = frozenset(SERIES_FIELDS.index(name) for name in SeriesShape._fields)  # the SERIES_FIELDS cached here


class RefIndex:
    """Message-ID -> series keys (series_refs), with this batch's additions, and each series' SeriesShape."""

    def __init__(self, conn):
        self.conn = conn
        self._keys: dict[str, list[str]] = {}
        self._holders: dict[str, set[str]] = {}  # series_key -> the Message-IDs whose _keys list it is in
        self._new: dict[tuple, None] = {}  # (message_id, series_key) not written yet, insertion-ordered
        self._new_per_key: dict[str, int] = {}  # series_key -> how many pairs of _new name it
        self._shapes: dict[str, SeriesShape] = {}  # series_key -> its total, version, date as stored

    def load(self, message_ids) -> None:
        """Read the pairs of these Message-IDs (and their series' total, version, date) in one go."""
        ids = [mid for mid in dict.fromkeys(message_ids) if mid not in self._keys]
        for mid in ids:
            self._keys[mid] = []
        for i in range(0, len(ids), 900):
            chunk = ids[i : i + 900]
            for mid, key, total, version, date in self.conn.execute(
                f"SELECT r.message_id, r.series_key, s.total, s.version, s.date FROM series_refs r "
                f"JOIN series s ON s.series_key = r.series_key WHERE r.message_id IN ({','.join('?' * len(chunk))})",
                chunk,
            ):
                self._keys[mid].append(key)
                self._holders.setdefault(key, set()).add(mid)
                self._shapes[key] = SeriesShape(total, version, date)

    def keys_of(self, message_id: str) -> list[str]:
        """The series keys a Message-ID belongs to (a live list: add() appends to it)."""
        keys = self._keys.get(message_id)
        if keys is None:  # not loaded: a row threaded without expect_batch
            keys = self._keys[message_id] = [
                r[0] for r in self.conn.execute("SELECT series_key FROM series_refs WHERE message_id = ?", (message_id,))
            ]
            for key in keys:
                self._holders.setdefault(key, set()).add(message_id)
        return keys

    def shape(self, key: str) -> SeriesShape | None:
        """The total, version and date of a series as stored, or None when there is no such series."""
        shape = self._shapes.get(key)
        if shape is None:
            row = self.conn.execute("SELECT total, version, date FROM series WHERE series_key = ?", (key,)).fetchone()
            if row is None:
                return None
            shape = self._shapes[key] = SeriesShape._make(row)
        return shape

    def add(self, message_id: str, key: str) -> None:
        keys = self.keys_of(message_id)
        if key not in keys:
            keys.append(key)
            self._holders.setdefault(key, set()).add(message_id)
            self._new[(message_id, key)] = None
            self._new_per_key[key] = self._new_per_key.get(key, 0) + 1

    def series_written(self, key: str, values: SeriesColumns, changed) -> None:
        """Note that the series row was written with `values`, `changed` naming the SERIES_FIELDS indexes that moved."""
        if key in self._shapes and not SHAPE.isdisjoint(changed):
            self._shapes[key] = SeriesShape(values.total, values.version, values.date)

    def series_created(self, key: str, shape: SeriesShape) -> None:
        self._shapes[key] = shape

    def rekey(self, old: str, new: str) -> None:
        """Follow a series renamed from `old` to `new`, as the Threader's UPDATE OR IGNORE + DELETE did to stored pairs.

        Only the lists that hold `old` are visited (_holders): a series renamed
        once a message (a mailbox newest first) would otherwise visit every
        list once a message.
        """
        holders = self._holders.pop(old, ())
        if holders:
            moved = self._holders.setdefault(new, set())
            for mid in holders:
                keys = self._keys[mid]
                keys.remove(old)
                if new not in keys:
                    keys.append(new)
                moved.add(mid)
        if self._new_per_key.pop(old, 0):
            self._new = dict.fromkeys((mid, new if key == old else key) for mid, key in self._new)
            self._new_per_key = {}
            for _, key in self._new:
                self._new_per_key[key] = self._new_per_key.get(key, 0) + 1
        if old in self._shapes:
            self._shapes[new] = self._shapes.pop(old)
        else:
            self._shapes.pop(new, None)

    def flush(self) -> None:
        """Write the pairs added since the last flush."""
        self.conn.executemany("INSERT OR IGNORE INTO series_refs (message_id, series_key) VALUES (?, ?)", list(self._new))
        self._new.clear()
        self._new_per_key.clear()
