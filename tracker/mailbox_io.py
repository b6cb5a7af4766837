"""Stream raw messages out of mail files: mbox (mboxo/mboxrd), mbox.gz, Maildir, .eml/.patch, directories.

Readers yield `(raw_bytes, where)` one message at a time, where `where` reads
like "linux-api.mbox.gz:#123" for error lines. Nothing is slurped:
`mailbox.mbox` indexes the whole file before the first message (STYLE.md),
and 200,000 messages must import in under 300 MB.

A file that breaks part-way (truncated gzip, unreadable bytes) raises
MailboxReadError *after* every good message before the break was yielded, so
a caller stores those and reports one line naming the file.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import zlib
from pathlib import Path
from typing import Iterable, Iterator

from .errors import KtrackError

GZIP_MAGIC = b"\x1f\x8b"
_FROM_ESCAPED_SUB_RE = re.compile(rb"^>(>*From )", re.M)
_FROM_ESCAPED_LINE_RE = re.compile(rb"\n>(>*From )")
_HEADER_LINE_RE = re.compile(rb"^[!-9;-~]+:")  # RFC 5322 field name then a colon
_SKIP_SUFFIXES = {".db", ".sqlite", ".json", ".py", ".pyc", ".md", ".txt.gz~"}


class MailboxReadError(KtrackError):
    """A mail file is unreadable or broken part-way; the messages before the break were yielded."""


class _GzipReader:
    """Decompress a .gz file block by block, handing back every byte before a break.

    gzip.GzipFile.read() raises on a truncated file and drops the data of that
    read; a reader of a cut-off archive must still yield the messages before
    the cut. Concatenated gzip members (what `cat a.gz b.gz` makes) are read on.
    """

    def __init__(self, fh):
        self.fh = fh
        self.d = zlib.decompressobj(31)
        self.error: Exception | None = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.fh.close()

    def close(self):
        self.fh.close()

    def read(self, n: int = -1) -> bytes:
        if self.error is not None:
            error, self.error = self.error, None
            raise error
        out: list[bytes] = []
        size = 0
        while n < 0 or size < n:
            try:
                if self.d.eof:
                    leftover = self.d.unused_data or self.fh.read(1 << 16)
                    if not leftover.strip(b"\x00"):
                        break  # clean end of the last member
                    self.d = zlib.decompressobj(31)
                    data = self.d.decompress(leftover)
                else:
                    comp = self.fh.read(1 << 16)
                    if not comp:
                        raise EOFError("compressed file ended before the end-of-stream marker was reached")
                    data = self.d.decompress(comp)
            except (EOFError, zlib.error) as exc:
                if out:
                    self.error = exc  # raised on the next read, after the caller has this data
                    break
                raise
            if data:
                out.append(data)
                size += len(data)
        return b"".join(out)


def _open_binary(source: Path | bytes):
    """A binary reader of a file or of bytes in memory, decompressing gzip by its magic number."""
    if isinstance(source, (bytes, bytearray)):
        fh = io.BytesIO(source)
        return _GzipReader(fh) if source[:2] == GZIP_MAGIC else fh
    with open(source, "rb") as fh:
        magic = fh.read(2)
    if magic == GZIP_MAGIC:
        return _GzipReader(open(source, "rb"))
    return open(source, "rb", buffering=1 << 20)


def _looks_like_mbox(path: Path) -> bool:
    with _open_binary(path) as fh:
        try:
            head = fh.read(5)
        except (OSError, EOFError, zlib.error):
            return path.suffix in (".gz", ".mbox", ".mbx")
    return head == b"From "


_CHUNK = 1 << 20


def _unescape(raw: bytes) -> bytes:
    # mboxrd: every ">From " line gained one ">" when written; mboxo files read the same
    # way for the common single ">" case.
    if b">From " in raw:
        # "\n>" as a literal prefix lets the regex engine skip ahead; ^ with re.M tries every byte
        raw = _FROM_ESCAPED_LINE_RE.sub(rb"\n\1", raw)
        if raw.startswith(b">") and _FROM_ESCAPED_SUB_RE.match(raw):
            raw = raw[1:]
    return raw


def iter_mbox(path: str | Path | bytes, *, name: str | None = None) -> Iterator[tuple[bytes, str]]:
    """Yield (raw, "name:#N") for each message of an mbox or mbox.gz, unescaping ">From " (mboxrd).

    `path` may also be the mbox's bytes (a download), named by `name`.
    A message starts at a "From " line at the start of the file or after an
    empty line; Content-Length headers are ignored (mboxrd and public-inbox
    exports do not need them). The file is read in 1 MB blocks and split with
    bytes.find, several times faster than a Python loop over lines.
    """
    if isinstance(path, (bytes, bytearray)):
        name = name or "mbox"
    else:
        path = Path(path)
        name = name or path.name
    count = 0
    buf = b""
    start = 0
    sep = b"\n\nFrom "
    nl = b"\n"
    try:
        with _open_binary(path) as fh:
            buf = fh.read(_CHUNK)
            while (len(buf) < 5 or buf.startswith(b"From ")) and buf.find(b"\n") < 0:
                more = fh.read(_CHUNK)
                if not more:
                    break
                buf += more
            if buf.startswith(b"From "):
                eol = buf.find(b"\n")
                if eol > 0 and buf[eol - 1 : eol] == b"\r":
                    sep, nl = b"\r\n\r\nFrom ", b"\r\n"
                start = eol + 1 if eol >= 0 else len(buf)
            search_from = start
            eof = False
            while True:
                idx = buf.find(sep, search_from)
                if idx >= 0:
                    eol = buf.find(b"\n", idx + len(sep))
                    if eol >= 0 or eof:
                        count += 1
                        # the message keeps its last newline; the blank line belongs to the mbox
                        yield _unescape(buf[start : idx + len(nl)]), f"{name}:#{count}"
                        start = eol + 1 if eol >= 0 else len(buf)
                        search_from = start
                        continue
                if eof:
                    break
                more = fh.read(_CHUNK)
                if not more:
                    eof = True
                    continue
                # a separator whose "From " line is not complete yet is searched for again
                keep_from = idx if idx >= 0 else max(start, len(buf) - len(sep))
                buf = buf[start:] + more
                search_from = keep_from - start
                start = 0
    except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as exc:
        what = "truncated gzip" if isinstance(exc, EOFError) else f"unreadable ({exc})"
        where = name if isinstance(path, (bytes, bytearray)) else path
        raise MailboxReadError(f"{where}: {what} after message #{count}; {count} good messages kept") from None
    raw = buf[start:]
    if raw.strip():
        count += 1
        if raw.endswith(nl + nl):
            raw = raw[: -len(nl)]
        yield _unescape(raw), f"{name}:#{count}"


def iter_single(path: str | Path) -> Iterator[tuple[bytes, str]]:
    """Yield the one message of an .eml/.patch file (a git format-patch file is a one-message mbox)."""
    path = Path(path)
    if _looks_like_mbox(path):
        yield from iter_mbox(path)
        return
    try:
        with _open_binary(path) as fh:
            raw = fh.read()
    except (EOFError, zlib.error, OSError) as exc:
        raise MailboxReadError(f"{path}: unreadable ({exc})") from None
    if raw.strip():
        yield raw, path.name


def is_maildir(path: Path) -> bool:
    return path.is_dir() and (path / "cur").is_dir() and (path / "new").is_dir()


def iter_maildir(path: str | Path) -> Iterator[tuple[bytes, str]]:
    """Yield each message of a Maildir (cur/ then new/, in name order)."""
    path = Path(path)
    for sub in ("cur", "new"):
        for entry in sorted((path / sub).iterdir()):
            if entry.is_file() and not entry.name.startswith("."):
                yield entry.read_bytes(), f"{path.name}/{sub}/{entry.name}"


def _is_mail_file(path: Path) -> bool:
    """Guess whether a file in a directory is mail: an mbox, a gzip, or starts with a header line."""
    if path.name.startswith(".") or path.suffix in _SKIP_SUFFIXES:
        return False
    try:
        with open(path, "rb") as fh:
            head = fh.read(200)
    except OSError:
        return True  # let the reader produce the error line
    return head.startswith((b"From ", GZIP_MAGIC)) or bool(_HEADER_LINE_RE.match(head))


def iter_directory(path: str | Path) -> Iterator[tuple[bytes, str]]:
    """Yield messages of every mail file under a directory (format-patch output, Maildirs, mboxes)."""
    path = Path(path)
    if is_maildir(path):
        yield from iter_maildir(path)
        return
    for root, dirs, files in os.walk(path):
        root_path = Path(root)
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        if is_maildir(root_path):
            dirs[:] = []
            yield from iter_maildir(root_path)
            continue
        for name in sorted(files):
            entry = root_path / name
            if _is_mail_file(entry):
                yield from iter_single(entry)


def iter_path(path: str | Path) -> Iterator[tuple[bytes, str]]:
    """Yield (raw, where) for every message at `path`, whatever kind of mail store it is."""
    path = Path(path)
    if not path.exists():
        raise MailboxReadError(f"{path}: no such file or directory")
    if path.is_dir():
        yield from iter_directory(path)
    elif path.suffix in (".mbox", ".mbx", ".gz") or _looks_like_mbox(path):
        yield from iter_mbox(path)
    else:
        yield from iter_single(path)


def iter_paths(paths: Iterable[str | Path]) -> Iterator[tuple[bytes, str]]:
    """Yield messages of several paths in order (errors stop at the first broken path)."""
    for path in paths:
        yield from iter_path(path)
