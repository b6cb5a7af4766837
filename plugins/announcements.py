"""Release announcements on the lists, attached to their release: shortlog, change count, excerpt.

Linus announces mainline releases and release candidates as "Linux 6.13-rc3";
the stable team announces updates as "Linux 6.1.119" (older ones
"[ANNOUNCE] Linux 2.6.32.9"). Each mail is prose, a sign-off, then `git
shortlog` output: "Author Name (N):" followed by one indented line per commit.
The prose is what a weekly edition quotes ("Linus says: ...").
"""

from __future__ import annotations

import re

from tracker import hookimpl
from tracker.api import utcnow, write_transaction

_SUBJECT_RE = re.compile(r"^(?:\[announce\]\s*)?linux\s+(v?\d[\w.\-]*)\s*$")
_AUTHOR_RE = re.compile(r"^(\S.*?) \((\d+)\):\s*$")
_ENTRY_RE = re.compile(r"^\s+\S")
# Where the author's words end: the sign-off, a separator, a diffstat or the shortlog.
_STOP_RE = re.compile(r"^(?:-{2,}\s*$|-- $|shortlog:?\s*$|\s*linus\s*$|\s*greg k-h\s*$|thanks,?\s*$|\s\S.*\|\s+\d+)", re.I)
EXCERPT_MAX = 700


def announced_version(subject: str) -> str | None:
    """Return the version a subject announces, e.g. "[ANNOUNCE] Linux 2.6.32.9" -> "2.6.32.9"; else None.

    Replies ("Re: Linux 6.13") and patches ("[PATCH] Linux ...") are not announcements.
    """
    from tracker.api import parse_version

    m = _SUBJECT_RE.match((subject or "").strip().lower())
    if not m:
        return None
    try:
        return parse_version(m.group(1)).text
    except ValueError:
        return None


def read_shortlog(body: str) -> tuple[str, int]:
    """Return (shortlog text, number of entries) of the `git shortlog` part of an announcement."""
    lines = body.splitlines()
    start = next((i for i, line in enumerate(lines) if _AUTHOR_RE.match(line)), None)
    if start is None:
        return "", 0
    kept, count, in_author = [], 0, False
    for line in lines[start:]:
        if _AUTHOR_RE.match(line):
            in_author = True
        elif in_author and _ENTRY_RE.match(line):
            count += 1
        elif line.strip():
            in_author = False
            continue  # trailing junk (a signature) is not shortlog
        kept.append(line)
    return "\n".join(kept).strip("\n"), count


def read_excerpt(body: str, *, limit: int = EXCERPT_MAX) -> str:
    """Return the author's opening words: paragraphs before the sign-off, cut at a sentence near `limit`."""
    paragraphs, current = [], []
    for line in body.splitlines():
        if _STOP_RE.match(line) or _AUTHOR_RE.match(line):
            break
        if line.startswith(">"):
            continue
        if line.strip():
            current.append(line.strip())
        elif current:
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    text = ""
    for para in paragraphs:
        if text and (para.endswith(":") or "://" in para):  # "The tree can be found at: <url>" is not words
            break
        candidate = f"{text}\n\n{para}" if text else para
        if len(candidate) > limit and text:
            break
        text = candidate
    if len(text) > limit:
        cut = max(text.rfind(". ", 0, limit), text.rfind(".\n", 0, limit))
        text = text[: cut + 1] if cut > 0 else text[: limit - 3].rstrip() + "..."
    return text


MARK_KEY = "announcements_scanned_rowid"  # meta: the highest messages rowid already looked at
_MAY_ANNOUNCE = "(subject like 'Linux %' or subject like '[ANNOUNCE]%')"
# Thread roots stored in a range of rowids whose subject may announce a release.
NEW_MAIL_SQL = (
    "select message_id, subject, body, date from messages "
    f"where rowid > ? and rowid <= ? and {_MAY_ANNOUNCE} and in_reply_to is null"
)
# Every such thread root: the full-text index finds the few subjects with the word "linux" or
# "announce" (what both patterns begin with), so that the first run, and `analyze --all`, need
# not read every message either; `+` keeps SQLite from walking the in_reply_to index instead.
ALL_MAIL_SQL = (
    "select message_id, subject, body, date from messages "
    "where rowid in (select rowid from messages_fts where messages_fts match 'subject: (linux OR announce)') "
    f"and {_MAY_ANNOUNCE} and +in_reply_to is null"
)


def attach_announcements(db, *, full: bool = False) -> list[str]:
    """Find announcement mails not attached yet and attach each to its release row; return the versions.

    Only mail stored since the last run is read (messages with a rowid above
    the mark kept in `meta`), so a weekly run costs what the week's mail costs,
    not the archive (issue 19); `full` (`analyze --all`) reads every message again.
    """
    from tracker.api import get_meta, parse_version, version_sort_key, set_meta

    attached = []
    with write_transaction(db):
        known = {r[0]: r[1] for r in db.execute("select version, announcement_message_id from releases")}
        since = 0 if full else int(get_meta(db, MARK_KEY) or 0)
        newest = db.execute("select max(rowid) from messages").fetchone()[0] or 0
        if newest < since:  # mail was deleted since (the store never does): read it all again
            since = 0
        if newest == since:
            return attached
        # a range of rowids (the week's), not the archive; sorted here, not by SQL, which could
        # otherwise walk the whole date index to return them in order
        rows = db.execute(NEW_MAIL_SQL, [since, newest]).fetchall() if since else db.execute(ALL_MAIL_SQL).fetchall()
        for message_id, subject, body, date in sorted(rows, key=lambda row: row[3] or ""):
            version = announced_version(subject)
            if version is None or known.get(version):
                continue  # keep the first announcement of a version
            shortlog, count = read_shortlog(body or "")
            record = {
                "version": version,
                "announcement_message_id": message_id,
                "shortlog": shortlog,
                "change_count": count,
                "excerpt": read_excerpt(body or ""),
                "updated_at": utcnow(),
            }
            if version not in known:
                parsed = parse_version(version)
                record.update(kind=parsed.kind, sort_key=version_sort_key(version), released_at=date)
            db["releases"].upsert(record, pk="version")
            known[version] = message_id
            attached.append(version)
        set_meta(db, MARK_KEY, str(newest))
    return attached


@hookimpl
def after_analyze(db, full):
    attach_announcements(db, full=full)
