"""Store raw mail: parse, upsert into `messages`, thread into `series`, keep FTS current.

Every source of mail ends here: `ktrack import` (files) and the lore source
(bytes from HTTP) both call store_raw_messages. Work is committed in batches,
each batch one transaction holding its messages *and* their threading, so a
process killed mid-import leaves whole batches only; the next run skips what
is stored (by raw SHA-256, before any parsing) and ends with exactly what an
uninterrupted run stores.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from .db import utcnow, write_transaction
from .mail import ParsedMessage, parse_message
from .mailbox_io import MailboxReadError, is_maildir, iter_path
from .series import Threader
from .series_rows import Placement
from .subjects import message_role, parse_subject

BATCH_SIZE = int(os.environ.get("KTRACK_IMPORT_BATCH", "1000"))  # small batches make kill tests cheap
# Inputs with this many messages not stored yet get a parsing worker process (starting
# one costs ~0.2 s); small inputs, re-imports and lore fetches stay in one process.
PARALLEL_AFTER = int(os.environ.get("KTRACK_IMPORT_PARALLEL_AFTER", "3000"))
_PIPELINE_DEPTH = 2  # batches parsed ahead of the one being stored
_CACHE_KB = 64 * 1024  # page cache during an import (SQLite's default is 2 MB)
_CHECKPOINT_PAGES = 8192  # 32 MB of WAL between checkpoints during an import (without the checkpoint thread)
WAL_MAX_PAGES = 16384  # past 64 MB of WAL the checkpoint thread makes the next batch start the WAL afresh
_FTS_TRIGGER = "messages_fts_ai"  # migration m002: indexes each inserted message in messages_fts
_BULK_FTS_MIN = 20  # below this, the trigger is cheaper than dropping and re-creating it
MAX_WARNINGS = 1000  # keep a huge broken archive from filling memory with lines

_COLUMNS = (
    "message_id", "list_id", "subject", "author_name", "author_email", "date", "in_reply_to",
    "references_json", "body", "diff", "diffstat_json", "files_json", "trailers_json", "upstream_commit",
    "patch_number", "patch_total", "is_cover", "is_patch", "patch_version", "raw_sha256", "origin", "imported_at",
)
# the parsed columns, then what threading sets: inserted once, with their series
_INSERT_SQL = (
    f"INSERT OR IGNORE INTO messages ({', '.join(_COLUMNS)}, series_key, reply_to_number) "
    f"VALUES ({', '.join('?' * (len(_COLUMNS) + 2))})"
)
_NORE = tuple(_COLUMNS.index(c) for c in ("is_patch", "patch_number", "patch_total", "patch_version"))


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


def _dumps(value) -> str:
    return json.dumps(value) if value else "[]"  # most lists are empty; skip the encoder


def message_row(parsed: ParsedMessage, *, list_id: str | None, origin: str | None, now: str | None = None) -> dict:
    """Return the `messages` columns of a parsed message, with its series role from the subject."""
    subject = parse_subject(parsed.subject)
    role, number, total = message_role(subject, has_diff=bool(parsed.diff), in_reply_to=parsed.in_reply_to)
    return {
        "message_id": parsed.message_id,
        "list_id": list_id or parsed.list_id,
        "subject": parsed.subject,
        "author_name": parsed.author_name,
        "author_email": parsed.author_email,
        "date": parsed.date,
        "in_reply_to": parsed.in_reply_to,
        "references_json": _dumps(parsed.references),
        "body": parsed.body,
        "diff": parsed.diff,
        "diffstat_json": _dumps(parsed.diffstat),
        "files_json": _dumps(parsed.files),
        "trailers_json": _dumps(parsed.trailers),
        "upstream_commit": parsed.upstream_commit,
        "patch_number": number,
        "patch_total": total,
        "is_cover": int(role == "cover"),
        "is_patch": int(role == "patch"),
        "patch_version": subject.version if role in ("cover", "patch") else None,
        "raw_sha256": parsed.raw_sha256,
        "origin": origin,
        "imported_at": now or utcnow(),
        # not columns: what the threader needs
        "references": parsed.references,
        "trailers": parsed.trailers,
        "prefixes": subject.prefixes,
        "version_explicit": subject.version_explicit,
    }


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


@contextmanager
def _bulk_pragmas(db):
    """Relax fsync, widen the page cache and checkpoint in the background during an import; restore after.

    Yields a function to call after each committed batch (it wakes the
    checkpointing thread), or None.

    In WAL mode synchronous=NORMAL still keeps every committed batch on an
    application crash (only a power cut can lose the last ones), and skips an
    fsync per commit; a larger cache keeps the message indexes (random
    Message-IDs, hashes) from thrashing once the database outgrows 2 MB.
    """
    conn = db.conn
    sync = conn.execute("PRAGMA synchronous").fetchone()[0]
    cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    # SQLite refuses to change it inside a transaction (a source's fetch); that one keeps its level
    relax = not conn.in_transaction and conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    checkpoint = conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    if relax:
        conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute(f"PRAGMA cache_size = {min(cache, -_CACHE_KB) if cache < 0 else cache}")
    checkpointer = _Checkpointer.start(conn) if relax else None
    # a batch writes about 1,000 pages: checkpoint every few batches, not after each
    conn.execute(f"PRAGMA wal_autocheckpoint = {0 if checkpointer else max(int(checkpoint), _CHECKPOINT_PAGES)}")
    try:
        yield checkpointer.poke if checkpointer else None
    finally:
        if checkpointer is not None:
            checkpointer.stop()
        if relax:
            conn.execute(f"PRAGMA synchronous = {int(sync)}")
        conn.execute(f"PRAGMA cache_size = {int(cache)}")
        conn.execute(f"PRAGMA wal_autocheckpoint = {int(checkpoint)}")


class _Checkpointer:
    """Copy the WAL into the database from a second connection in a thread, while the import writes on.

    A checkpoint is mostly I/O and an fsync; SQLite releases the GIL for it,
    so done here it overlaps the next batch instead of stalling the commit
    that crossed wal_autocheckpoint (about a tenth of a big import).
    """

    def __init__(self, conn):
        import threading

        self.conn = conn
        self.wake = threading.Event()
        self.done = False
        self.thread = threading.Thread(target=self._run, name="ktrack-checkpoint", daemon=True)

    @classmethod
    def start(cls, importing):
        """Start one for the importing connection's database; None where that cannot be (the caller then
        keeps SQLite's auto-checkpoint)."""
        import sqlite3

        path = next((row[2] for row in importing.execute("PRAGMA database_list") if row[1] == "main"), "")
        if not path:
            return None  # an in-memory database has no WAL
        try:
            conn = sqlite3.connect(path, timeout=60, check_same_thread=False)
        except sqlite3.Error:
            return None
        checkpointer = cls(conn)
        checkpointer.thread.start()
        return checkpointer

    def _run(self) -> None:
        import sqlite3

        try:
            while not self.done:
                self.wake.wait()
                self.wake.clear()
                try:
                    _, log, _ = self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    if log > WAL_MAX_PAGES:
                        # The WAL starts over only when a write begins after a checkpoint has copied all
                        # of it; with the import writing all the time that can keep missing. RESTART waits
                        # for the current batch, copies the rest and makes the next batch start afresh.
                        self.conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchall()
                except sqlite3.Error:
                    pass  # busy or a full disk: the next batch tries again; the import reports its own errors
        finally:
            self.conn.close()

    def poke(self) -> None:
        self.wake.set()

    def stop(self) -> None:
        self.done = True
        self.wake.set()
        self.thread.join()


def _store_all(db, raws, stats: ImportStats, *, list_id, origin, progress, after_batch=None) -> None:
    """Read raws in batches; parse each batch (in a worker process for big inputs) and store it in order.

    With a worker, batch k+1 is parsed while batch k is threaded and stored:
    parsing and SQLite each take about half the time of a big import, and
    every machine this runs on has two cores. Batches are still stored one
    by one, in input order, so the result is the same as a serial run.
    """
    seen: dict[str, str] = {}  # Message-ID -> where, for duplicates inside this input
    pending: deque = deque()  # (future or parsed items, batch size, shas) not stored yet
    in_flight: set[str] = set()  # hashes of pending batches: the database does not know them yet
    pool = None
    decided = False  # whether there is new mail enough for a worker was settled (PARALLEL_AFTER)
    unknown = 0  # messages read that were not stored yet: what a worker would parse
    batch: list[tuple[bytes, str]] = []

    def parse_ahead(items):
        if pool is not None:
            try:
                return pool.submit(_parse_items, items, list_id, origin, utcnow())
            except Exception:  # noqa: BLE001 - a pool that cannot start: parse here
                pass
        return None

    def submit(batch):
        nonlocal pool, decided, unknown
        items = _unknown(db, batch, stats, in_flight)
        if not items and not pending:  # all stored already (a re-import): nothing to parse or wait for
            if progress:
                progress(len(batch))
            return
        unknown += len(items)
        shas = [sha for _, _, sha in items]
        in_flight.update(shas)
        if not decided and unknown >= PARALLEL_AFTER:
            # the batches held so far go to the worker too, but the first: this process parses that one meanwhile
            decided = True
            pool = _start_pool() if (os.cpu_count() or 1) > 1 else None
            for i in range(1, len(pending)):
                future, held, size, held_shas = pending[i]
                pending[i] = (parse_ahead(held), held, size, held_shas)
        pending.append((parse_ahead(items), items, len(batch), shas))
        # until the new mail is known to be plenty, hold its first batches: they may still go to the worker
        while pending and decided and (pool is None or len(pending) > _PIPELINE_DEPTH):
            store_next()

    def store_next():
        future, items, size, shas = pending.popleft()
        results = None
        if future is not None:
            try:
                results = future.result()
            except Exception:  # noqa: BLE001 - a worker that died: parse here, same result
                results = None
        if results is None:
            results = _parse_items(items, list_id, origin, utcnow())
        _store_parsed(db, results, stats, seen)
        if after_batch:
            after_batch()
        in_flight.difference_update(shas)
        if progress:
            progress(size)

    iterator = iter(raws)
    try:
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
                submit(batch)
                batch = []
        if batch:
            submit(batch)
        while pending:
            store_next()
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _start_pool():
    """Start one parsing worker; None where that is not cheap and safe (the import then runs serially).

    Linux only, by fork: "spawn" would re-run the caller's script in the child
    when it has no __main__ guard, and macOS does not make fork safe. The
    child only parses; it never touches the inherited SQLite connection and
    leaves by os._exit, so the connection is never closed there.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"),
                                   initializer=_die_with_parent, initargs=(os.getpid(),))
    except Exception:  # noqa: BLE001
        return None


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_PARENT_POLL_SECONDS = 0.2


def _die_with_parent(parent: int) -> None:
    """Make this worker exit when the importing process dies, whatever signal killed it.

    A forked worker holds copies of both ends of its pipes, so when the parent
    is SIGKILLed (a cron timeout, the OOM killer) it never sees a broken pipe:
    it blocked writing its results to a pipe nobody reads, for good (issue 14).
    prctl(PR_SET_PDEATHSIG) has the kernel kill it with its parent; a thread
    that polls the parent pid covers a kernel or libc without it. Either way
    the worker is gone within a fraction of a second. The parent's batches are
    committed one by one, so nothing the worker was parsing is lost.
    """
    import signal
    import threading
    import time

    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="ktrack-parent-watch", daemon=True).start()


def _unknown(db, batch, stats: ImportStats, in_flight: set) -> list[tuple[bytes, str, str]]:
    """Return (raw, where, sha256) of the messages not stored yet; count the others as skipped."""
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


def _parse_items(items, list_id, origin, now) -> list[tuple]:
    """Parse raw messages into ("ok", where, row, warnings, values) or ("error", where, text) tuples.

    Runs in the worker process too, so it takes and returns plain data only;
    `values` (the row's _COLUMNS as a tuple, for the INSERT) is built there
    to spare the process that stores.
    """
    out = []
    for raw, where, sha in items:
        try:
            parsed = parse_message(raw, sha256=sha)
        except Exception as exc:  # noqa: BLE001 - one bad message never stops an import
            out.append(("error", where, f"cannot parse message: {type(exc).__name__}: {exc}"))
            continue
        if not parsed.has_headers:
            out.append(("error", where, "not an email message (no From, Subject, Message-ID or Date header); skipped"))
            continue
        row = message_row(parsed, list_id=list_id, origin=origin or where.rsplit(":#", 1)[0], now=now)
        out.append(("ok", where, row, parsed.warnings, tuple([row[c] for c in _COLUMNS])))
    return out


def _store_parsed(db, results, stats: ImportStats, seen: dict) -> None:
    conn = db.conn
    rows = []
    for result in results:
        where = result[1]
        if result[0] == "error":
            stats.unreadable += 1
            stats.warn(f"{where}: {result[2]}")
            continue
        row, warnings = result[2], result[3]
        row["_values"] = result[4]
        for warning in warnings:
            stats.warn(f"{where}: {warning}")
        first = seen.get(row["message_id"])
        if first is not None:
            stats.duplicates += 1
            stats.warn(f"{where}: duplicate Message-ID <{row['message_id']}> (first at {first}); kept the first")
            continue
        seen[row["message_id"]] = where
        rows.append(row)
    if not rows:
        return
    # Its own transaction for a plain import (so a killed import keeps whole
    # batches), a savepoint inside a source's transaction (so a source that
    # fails later leaves no partial rows).
    with write_transaction(db):
        existing = set()
        ids = [r["message_id"] for r in rows]
        for i in range(0, len(ids), 900):
            chunk = ids[i : i + 900]
            existing.update(
                r[0] for r in conn.execute(f"SELECT message_id FROM messages WHERE message_id IN ({','.join('?' * len(chunk))})", chunk)
            )
        fresh = [r for r in rows if r["message_id"] not in existing]
        stats.skipped += len(rows) - len(fresh)
        threader = Threader(db)
        threader.expect_batch(fresh)
        for row in fresh:
            threader.add(row)
        threader.finish()
        _insert_indexed(conn, [_placed_values(row, threader.placed(row["message_id"])) for row in fresh])
        stats.new += len(fresh)
        stats.series_keys |= threader.touched
        stats.new_series += len(threader.created)


def _placed_values(row: dict, placed: Placement) -> tuple:
    """The row's INSERT values with what threading set: its series, and no patch role if it was a "nore" reply."""
    values = row["_values"]
    if not placed.is_patch and row["is_patch"]:
        values = list(values)
        for i in _NORE:
            values[i] = 0 if i == _NORE[0] else None
        values = tuple(values)
    return values + (placed.series_key, placed.reply_to_number)


def _insert_indexed(conn, values: list[tuple]) -> None:
    """Insert message rows and add them to `messages_fts` with one INSERT .. SELECT.

    The per-row FTS trigger costs more than parsing the mail (bench/ingest.py);
    inside the batch's transaction it is dropped, the rows indexed in bulk, and
    the trigger re-created from its own SQL, so no other connection ever sees
    the schema without it and every other writer of `messages` keeps using it.
    """
    trigger = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (_FTS_TRIGGER,)).fetchone()
    if trigger is None or len(values) < _BULK_FTS_MIN:
        conn.executemany(_INSERT_SQL, values)
        return
    last = conn.execute("SELECT max(rowid) FROM messages").fetchone()[0] or 0
    conn.execute(f"DROP TRIGGER {_FTS_TRIGGER}")
    conn.executemany(_INSERT_SQL, values)
    conn.execute("INSERT INTO messages_fts(rowid, subject, body) SELECT rowid, subject, body FROM messages WHERE rowid > ?", (last,))
    conn.execute(trigger[0])


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
    from .analyze import get_meta, set_meta
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
