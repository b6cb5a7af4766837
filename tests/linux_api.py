"""The real linux-api 2021 mail the tests read: tests/data/lists/linux-api-2021-excerpt.mbox.gz.

The excerpt (350 messages, see tests/data/lists/PROVENANCE.md) is kept small
for the repository. A test whose point is volume (an import killed part-way,
a disk filling up) asks `messages(count)` for more than that: past the
excerpt's end it gets the same real messages again under new Message-IDs, so
the mail stays real and only the amount is made up.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

from tracker.mailbox_io import iter_path

LINUX_API = Path(__file__).resolve().parent / "data" / "lists" / "linux-api-2021-excerpt.mbox.gz"

_ID_FIELD = re.compile(rb"^(message-id|in-reply-to|references):", re.I)
_ID = re.compile(rb"<([^<>\s]+)>")


def recopy(raw: bytes, n: int) -> bytes:
    """The message with every id in its Message-ID, In-Reply-To and References headers made `copyN.<id>`.

    A copied thread stays a thread of its own, and no copy collides with the original.
    """
    head, sep, body = raw.partition(b"\n\n")
    lines, field_is_id = [], False
    for line in head.split(b"\n"):
        if not line[:1].isspace():
            field_is_id = bool(_ID_FIELD.match(line))
        if field_is_id:
            line = _ID.sub(lambda m: b"<copy%d." % n + m.group(1) + b">", line)
        lines.append(line)
    return b"\n".join(lines) + sep + body


def messages(count: int | None = None) -> list[bytes]:
    """The excerpt's first `count` messages (all of them if None), repeated under new Message-IDs past its end."""
    real = [raw for raw, _ in iter_path(LINUX_API)]
    if count is None:
        return real
    out = real[:count]
    n = 1
    while len(out) < count:
        out += [recopy(raw, n) for raw in real[: count - len(out)]]
        n += 1
    return out


def write_mbox_gz(path: Path, raws: list[bytes]) -> Path:
    """Write raws as an mboxrd .mbox.gz, the archive's own format."""
    with gzip.open(path, "wb") as fh:
        for raw in raws:
            fh.write(b"From mboxrd@z Thu Jan  1 00:00:00 1970\n" + re.sub(rb"(?m)^(>*From )", rb">\1", raw) + b"\n")
    return path
