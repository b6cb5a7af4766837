"""Store raw mail: parse, upsert into `messages`, thread into `series`, keep FTS current.

Every source of mail ends here: `ktrack import` (files) and the lore source
(bytes from HTTP) both call store_raw_messages. Work is committed in batches,
each batch one transaction holding its messages *and* their threading, so a
process killed mid-import leaves whole batches only; the next run skips what
is stored (by raw SHA-256, before any parsing) and ends with exactly what an
uninterrupted run stores. The parsing worker is tracker/parse_worker.py; the
fast, safe write settings and the checkpoint thread are tracker/bulk_write.py;
what a message row holds and how a batch of rows is inserted, tracker/message_rows.py.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, NamedTuple

from .bulk_write import bulk_pragmas as _bulk_pragmas
from .db import utcnow, write_transaction
from .mail import parse_message
from .mailbox_io import MailboxReadError, is_maildir, iter_path
from .parse_worker import start_pool as _start_pool
from .series import Threader
from .message_rows import COLUMNS as _COLUMNS
from .message_rows import insert_indexed as _insert_indexed
from .message_rows import message_row  # noqa: F401  (importable from here too)
from .message_rows import not_stored as _not_stored
from .message_rows import placed_values as _placed_values
from .message_rows import record_dangling as _record_dangling

BATCH_SIZE = int(os.environ.get("KTRACK_IMPORT_BATCH", "1000"))  # small batches make kill tests cheap
# Inputs with this many messages not stored yet get a parsing worker process (starting
# one costs ~0.2 s); small inputs, re-imports and lore fetches stay in one process.
PARALLEL_AFTER = int(os.environ.get("KTRACK_IMPORT_PARALLEL_AFTER", "3000"))
_PIPELINE_DEPTH = 2  # batches parsed ahead of the one being stored
MAX_WARNINGS = 1000  # keep a huge broken archive from filling memory with lines

@dataclass
class ImportStats:
    """What one import did; `errors` are files that broke (non-zero exit), `warnings` bad messages."""

    read: int = 0
    new: int = 0
    skipped: int = 0  # already stored (same bytes or same Message-ID)
    duplicates: int = 0  # same Message-ID twice in this input with different bytes
    unreadable: int = 0  # read but not an email message (or not parseable): a warning each
    series: int = 0  # series created or changed
    new_series: int = 0
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    series_keys: set[str] = field(default_factory=set, repr=False)

    def warn(self, line: str) -> None:
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(line)
        elif len(self.warnings) == MAX_WARNINGS:
            self.warnings.append("... more warnings not shown")

    def as_dict(self) -> dict:
        return {
            "read": self.read, "new": self.new, "skipped": self.skipped, "duplicates": self.duplicates,
            "series": self.series, "new_series": self.new_series, "warnings": self.warnings, "errors": self.errors,
            "unreadable": self.unreadable,
        }

    def add(self, other: "ImportStats") -> None:
        """Add another path's figures to these (the total of a multi-path import)."""
        for name in ("read", "new", "skipped", "duplicates", "unreadable", "new_series"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.series_keys |= other.series_keys
        self.series = len(self.series_keys)
        self.warnings.extend(other.warnings)
        self.errors.extend(other.errors)


def _sha256(raw: bytes) -> str:
    import hashlib

    return hashlib.sha256(raw).hexdigest()


def store_raw_messages(
    db,
    raws: Iterable,
    *,
    list_id: str | None = None,
    origin: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportStats:
    """Parse and store raw messages (bytes, or (bytes, where) tuples); return what happened.

    Bad messages become warning lines; a reader that breaks part-way
    (MailboxReadError) becomes an error line after the good messages are stored.
    Example: store_raw_messages(db, iter_path("linux-api.mbox.gz"), list_id="linux-api")
    """
    stats = ImportStats()
    with _bulk_pragmas(db) as checkpoint:
        _store_all(db, raws, stats, list_id=list_id, origin=origin, progress=progress, after_batch=checkpoint)
    stats.series = len(stats.series_keys)
    return stats


def _store_all(db, raws, stats: ImportStats, *, list_id, origin, progress, after_batch=None) -> None:
    """Read raws in batches; parse each batch (in a worker process for big inputs) and store it in order.

    The steps, in the order a batch goes through them:
    1. read: `_read_batches` cuts the input into batches of BATCH_SIZE;
    2. skip: `_new_items` drops what is stored already (by hash, unparsed);
    3. parse: `_parse_items`, in the worker process (`_ImportPipeline`
       starts one for big inputs) or here;
    4. store: `_store_parsed`, one transaction a batch, in input order:
       `_accepted_rows` (warnings, duplicates), then `_store_rows`
       (`_not_stored`, `_thread`, `_insert_indexed`);
    5. checkpoint: `after_batch` wakes the WAL checkpointer.
    With a worker, batch k+1 is parsed while batch k is threaded and stored:
    parsing and SQLite each take about half the time of a big import, and
    every machine this runs on has two cores. The result is the same as a
    serial run.
    """
    pipeline = _ImportPipeline(db, stats, list_id=list_id, origin=origin, progress=progress, after_batch=after_batch)
    try:
        for batch in _read_batches(raws, stats, origin):
            pipeline.submit(batch)
        pipeline.drain()
    finally:
        pipeline.close()


def _read_batches(raws, stats: ImportStats, origin) -> Iterator[list[tuple[bytes, str]]]:
    """Step 1, read: the input as batches of (raw bytes, where) of BATCH_SIZE, counting what was read.

    A reader that breaks part-way (MailboxReadError) ends the input with an
    error line; what was read before it is still stored.
    """
    batch: list[tuple[bytes, str]] = []
    iterator = iter(raws)
    while True:
        try:
            item = next(iterator)
        except StopIteration:
            break
        except MailboxReadError as exc:
            stats.errors.append(str(exc.message))
            break
        if isinstance(item, tuple):
            raw, where = item
        else:
            raw, where = item, f"{origin or 'input'}:#{stats.read + 1}"
        stats.read += 1
        batch.append((raw, where))
        if len(batch) >= BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass
class _PendingBatch:
    """A batch of new messages on its way: being parsed (by the worker: `future`), not stored yet."""

    items: list  # (raw, where, sha256) of the messages not stored yet
    size: int  # messages read, stored ones included: what progress counts
    future: object = None  # the worker's parse of `items`, or None to parse them here

    @property
    def shas(self) -> list[str]:
        return [sha for _, _, sha in self.items]

    def parsed(self, list_id, origin) -> list[Parsed]:
        """Step 3, parse: the worker's results, or (no worker, or one that died) parsing here: the same."""
        if self.future is not None:
            try:
                return self.future.result()
            except Exception:  # noqa: BLE001 - a worker that died: parse here, same result
                pass
        return _parse_items(self.items, list_id, origin, utcnow())


class _ImportPipeline:
    """Batches from being read to being stored, in input order; parsing overlaps storing when a worker runs.

    `submit` takes each read batch; `drain` stores what is left; `close`
    stops the worker. Whether a worker is worth starting is settled once,
    when PARALLEL_AFTER new messages have been seen: until then the first
    batches are held, so that they can still go to it.
    """

    def __init__(self, db, stats: ImportStats, *, list_id, origin, progress, after_batch):
        self.db = db
        self.stats = stats
        self.list_id = list_id
        self.origin = origin
        self.progress = progress
        self.after_batch = after_batch  # the checkpoint step, after each committed batch
        self.seen: dict[str, str] = {}  # Message-ID -> where, for duplicates inside this input
        self.pending: deque[_PendingBatch] = deque()  # parsed or being parsed, not stored yet
        self.in_flight: set[str] = set()  # hashes of pending batches: the database does not know them yet
        self.pool = None  # the parsing worker
        self.decided = False  # whether there is new mail enough for a worker was settled (PARALLEL_AFTER)
        self.unknown = 0  # messages read that were not stored yet: what a worker would parse

    def submit(self, batch: list[tuple[bytes, str]]) -> None:
        """Take a read batch: skip what is stored already, send the rest to be parsed, store what is ready."""
        items = _new_items(self.db, batch, self.stats, self.in_flight)
        if not items and not self.pending:  # all stored already (a re-import): nothing to parse or wait for
            if self.progress:
                self.progress(len(batch))
            return
        self.unknown += len(items)
        self.in_flight.update(sha for _, _, sha in items)
        if not self.decided and self.unknown >= PARALLEL_AFTER:
            self._start_worker()
        self.pending.append(_PendingBatch(items, len(batch), self._parse_ahead(items)))
        self._store_ready()

    def drain(self) -> None:
        """Store every batch still pending (the end of the input)."""
        while self.pending:
            self._store_next()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def _start_worker(self) -> None:
        """There is plenty of new mail: start the worker, and give it the held batches but the first
        (this process parses that one meanwhile)."""
        self.decided = True
        self.pool = _start_pool() if (os.cpu_count() or 1) > 1 else None
        for held in list(self.pending)[1:]:
            held.future = self._parse_ahead(held.items)

    def _parse_ahead(self, items):
        """Send items to the worker to parse; None when there is none (the batch is parsed when stored)."""
        if self.pool is not None:
            try:
                return self.pool.submit(_parse_items, items, self.list_id, self.origin, utcnow())
            except Exception:  # noqa: BLE001 - a pool that cannot start: parse here
                pass
        return None

    def _store_ready(self) -> None:
        """Store the pending batches that need not wait: all of them without a worker, else all but the
        _PIPELINE_DEPTH being parsed; none while the worker is undecided (they may still go to it)."""
        while self.pending and self.decided and (self.pool is None or len(self.pending) > _PIPELINE_DEPTH):
            self._store_next()

    def _store_next(self) -> None:
        """Steps 4 and 5, store and checkpoint: the oldest pending batch, in its own transaction."""
        batch = self.pending.popleft()
        _store_parsed(self.db, batch.parsed(self.list_id, self.origin), self.stats, self.seen)
        if self.after_batch:
            self.after_batch()
        self.in_flight.difference_update(batch.shas)
        if self.progress:
            self.progress(batch.size)


def _new_items(db, batch, stats: ImportStats, in_flight: set) -> list[tuple[bytes, str, str]]:
    """Step 2, skip: drop what is stored already, by the SHA-256 of its bytes, before any parsing: (raw, where, sha256)
    of the others; the dropped count as skipped."""
    conn = db.conn
    shas = [_sha256(raw) for raw, _ in batch]
    known = set()
    for i in range(0, len(shas), 900):
        chunk = shas[i : i + 900]
        known.update(
            r[0] for r in conn.execute(f"SELECT raw_sha256 FROM messages WHERE raw_sha256 IN ({','.join('?' * len(chunk))})", chunk)
        )
    items = []
    for (raw, where), sha in zip(batch, shas):
        if sha in known or sha in in_flight:
            stats.skipped += 1
            continue
        known.add(sha)  # the same bytes twice in one input are stored once
        items.append((raw, where, sha))
    return items


class Parsed(NamedTuple):
    """One parsed message: the row to store (and its warnings), or the error line that replaced it.

    Plain data, so the worker can send it back through a pipe; `values` (the
    row's _COLUMNS as a tuple, for the INSERT) is built there to spare the
    process that stores.
    """

    where: str
    row: dict | None = None
    warnings: list | None = None
    values: tuple | None = None
    error: str | None = None


def _parse_items(items, list_id, origin, now) -> list[Parsed]:
    """Parse raw messages (raw, where, sha256) into Parsed records; runs in the worker process too."""
    out = []
    for raw, where, sha in items:
        try:
            parsed = parse_message(raw, sha256=sha)
        except Exception as exc:  # noqa: BLE001 - one bad message never stops an import
            out.append(Parsed(where, error=f"cannot parse message: {type(exc).__name__}: {exc}"))
            continue
        if not parsed.has_headers:
            out.append(Parsed(where, error="not an email message (no From, Subject, Message-ID or Date header); skipped"))
            continue
        row = message_row(parsed, list_id=list_id, origin=origin or where.rsplit(":#", 1)[0], now=now)
        out.append(Parsed(where, row, parsed.warnings, tuple([row[c] for c in _COLUMNS])))
    return out


def _store_parsed(db, results: list[Parsed], stats: ImportStats, seen: dict) -> None:
    """Store one parsed batch: accept its rows, then thread and insert the new ones in one transaction."""
    rows = _accepted_rows(results, stats, seen)
    if rows:
        _store_rows(db, rows, stats)


def _accepted_rows(results: list[Parsed], stats: ImportStats, seen: dict) -> list[dict]:
    """The rows to store: errors and warnings become warning lines, a Message-ID seen before in this
    input a duplicate (the first is kept)."""
    rows = []
    for result in results:
        where = result.where
        if result.error is not None:
            stats.unreadable += 1
            stats.warn(f"{where}: {result.error}")
            continue
        row = result.row
        row["_values"] = result.values
        for warning in result.warnings:
            stats.warn(f"{where}: {warning}")
        first = seen.get(row["message_id"])
        if first is not None:
            stats.duplicates += 1
            stats.warn(f"{where}: duplicate Message-ID <{row['message_id']}> (first at {first}); kept the first")
            continue
        seen[row["message_id"]] = where
        rows.append(row)
    return rows


def _store_rows(db, rows: list[dict], stats: ImportStats) -> None:
    """Thread the rows not stored yet, then insert them with their series, in one transaction.

    Its own transaction for a plain import (so a killed import keeps whole
    batches), a savepoint inside a source's transaction (so a source that
    fails later leaves no partial rows).
    """
    with write_transaction(db):
        fresh = _not_stored(db.conn, rows)
        stats.skipped += len(rows) - len(fresh)
        threader = _thread(db, fresh)
        _record_dangling(db.conn, fresh)
        _insert_indexed(db.conn, [_placed_values(row, threader.placed(row["message_id"])) for row in fresh])
        stats.new += len(fresh)
        for old, new in threader.renamed.items():  # a series an earlier batch touched, renamed to a better head
            if old in stats.series_keys:
                stats.series_keys.discard(old)
                stats.series_keys.add(new)
        stats.series_keys |= threader.touched
        stats.new_series += len(threader.created)


def _thread(db, rows: list[dict]) -> Threader:
    """Thread the batch's rows into series in memory, before they are inserted; the Threader says where each goes."""
    threader = Threader(db)
    threader.expect_batch(rows)
    for row in rows:
        threader.add(row)
    threader.finish()
    return threader


def plural(count: int, noun: str, plural_form: str | None = None) -> str:
    """Return "1 message", "2 messages", "1 series" (plural_form for nouns that do not take an s)."""
    return f"{count} {noun if count == 1 else (plural_form or noun + 's')}"


def import_paths(db, paths, *, list_id: str | None = None, progress: Callable[[int], None] | None = None) -> ImportStats:
    """Import every message found at `paths`: mail files and directories, or public-inbox git archives.

    Mail: mbox, mbox.gz, Maildir, .eml/.patch, directories of them. Git:
    a public-inbox v2 epoch (bare, or a `.bundle`), or a v2 inbox directory
    (`git/<N>.git`), read incrementally (see import_epochs).
    """
    total = ImportStats()
    for path in paths:
        total.add(import_path(db, path, list_id=list_id, progress=progress))
    total.series = len(total.series_keys)
    return total


def import_epochs(db, epochs, *, list_id: str | None = None, progress: Callable[[int], None] | None = None) -> ImportStats:
    """Store the commits of epochs [(name, path)] (from find_epochs) not read before; remember the last one read.

    The last commit read is kept per epoch in `meta`, keyed by the epoch's
    first commit, so a second import reads only what was added since, from a
    bundle, a mirror or a whole inbox alike, wherever the copy lives. An
    interrupted import keeps the old mark; the next one skips what was stored
    by hash, before parsing.
    """
    from .db import get_meta, set_meta
    from .errors import KtrackError
    from .public_inbox import epoch_root, has_message, open_epoch, read_epoch

    total = ImportStats()
    for name, epoch in epochs:
        stats = ImportStats()
        try:
            with open_epoch(epoch) as repo:
                root = epoch_root(repo)
                if root is None:
                    total.add(stats)  # an epoch nothing was committed to yet
                    continue
                if not has_message(repo, root):
                    raise KtrackError(f"{epoch}: not a public-inbox archive (its first commit has no message blob `m`)")
                key = f"public-inbox:{root}"
                last: list[str] = []

                def commits(repo=repo, after=get_meta(db, key), last=last):
                    try:
                        for commit, raw in read_epoch(repo, after=after):
                            yield raw, f"{name}:{commit[:12]}"
                            last[:] = [commit]
                    except MailboxReadError:
                        raise
                    except KtrackError as exc:  # git failed part-way: what was read is stored, then this line
                        raise MailboxReadError(exc.message) from None

                stats = store_raw_messages(db, commits(), list_id=list_id, origin=str(epoch), progress=progress)
                if last:
                    with write_transaction(db):
                        set_meta(db, key, last[0])
        except KtrackError as exc:
            stats.errors.append(exc.message)
        total.add(stats)
    total.series = len(total.series_keys)
    return total


def import_path(db, path, *, list_id: str | None = None, progress: Callable[[int], None] | None = None) -> ImportStats:
    """Import one path; a file with no readable email message in it is an error line naming it.

    That error replaces the file's per-message warnings (random bytes give one
    "not an email message" per chunk the mbox reader cuts, saying nothing more).
    """
    from .public_inbox import find_epochs

    path = Path(path)
    epochs = find_epochs(path) if path.exists() else None
    if epochs is not None:
        return import_epochs(db, epochs, list_id=list_id, progress=progress)
    stats = store_raw_messages(db, iter_path(path), list_id=list_id, origin=str(path), progress=progress)
    if stats.errors or stats.read > stats.unreadable:
        return stats
    if path.is_dir():
        if stats.read == 0 and not is_maildir(path):
            stats.warn(f"{path}: no mail files found in this directory")
        elif stats.read:
            stats.errors.append(f"{path}: no email message in this directory ({plural(stats.read, 'file')} read, none an email message)")
            stats.warnings = []
        return stats
    if stats.read == 0:
        stats.errors.append(f"{path}: not a mail file: it is empty")
    else:
        stats.errors.append(
            f"{path}: not a mail file: no email message in it (read as {plural(stats.read, 'part')}, "
            "none with From, Subject, Message-ID or Date headers)"
        )
    stats.warnings = []
    return stats
