"""Which stored series a topic catches, and why: files, subject prefixes, words, authors."""

from __future__ import annotations

import re
from functools import lru_cache

LEADING_BRACKETS = re.compile(r"^\s*(\[[^\]]*\]\s*)+")


def prefix_matches(subject: str, prefixes: list[str]) -> str | None:
    """Return the prefix that names the subject's subsystem ("selftests/landlock: ..." for "landlock"), else None."""
    text = LEADING_BRACKETS.sub("", subject or "").strip().lower()
    head = text.split(": ", 1)[0] if ": " in text else ""
    parts = set(re.split(r"[/,\s]+", head.rstrip(":")))
    return next((p for p in prefixes if p.lower() in parts), None)


def mentions(text: str, word: str) -> bool:
    """Whole-word and case-blind; "_" separates words as in the full-text index ("landlock" finds landlock_add_rule)."""
    return _word_rx(word).search(text or "") is not None


@lru_cache(maxsize=256)
def _word_rx(word: str) -> re.Pattern:
    return re.compile(r"(?<![A-Za-z0-9])" + re.escape(word) + r"(?![A-Za-z0-9])", re.I)


def changes(diff: str, word: str) -> bool:
    """Say whether an added or removed line of `diff` has `word`: a word in a context line is not what the patch changes.

    Whole-word and case-blind; "_" separates words as in the full-text index
    ("landlock" finds landlock_add_rule). One regex pass over the diff.
    """
    return _changed_line_rx(word).search(diff or "") is not None


@lru_cache(maxsize=256)
def _changed_line_rx(word: str) -> re.Pattern:
    return re.compile(r"^(?![+-]{3} )[+-][^\n]*?(?<![A-Za-z0-9])" + re.escape(word) + r"(?![A-Za-z0-9])", re.I | re.M)


@lru_cache(maxsize=65536)  # a series' patches touch the same files; MAINTAINERS entries have many patterns
def file_matches(path: str, pattern: str) -> bool:
    """Match as a MAINTAINERS F: line does (get_maintainer.pl): "dir/" takes all below, "*" and "?" are wildcards."""
    from ..categories_maintainers import pattern_depth

    return pattern_depth(pattern, path) is not None


def in_entry(path: str, entry: dict) -> bool:
    """Return whether a MAINTAINERS entry covers `path`: an F: line matches and no X: line, or an N: regex does."""
    if any(file_matches(path, p) for p in entry["files"]) and not any(file_matches(path, x) for x in entry["excludes"]):
        return True
    return any(re.search(rx, path) for rx in entry["regexes"])


def _reasons(db, topic: dict, since: str | None, until: str | None) -> tuple[dict[str, list[str]], dict[str, set[int]]]:
    """Return ({series_key: [why, ...]}, {series_key: {patch numbers}}) for the series in [since, until) a rule catches.

    The patch numbers matter for a stable review: it gathers unrelated fixes,
    and the reader wants the few that touch the topic.
    """
    window, args = "", []
    if since:
        window += " and s.date >= ?"
        args.append(since)
    if until:
        window += " and s.date < ?"
        args.append(until)
    frm = "from messages m join series s on s.series_key = m.series_key"
    cond = "where (m.is_patch = 1 or m.is_cover = 1)" + window
    reasons: dict[str, list[str]] = {}
    numbers: dict[str, set[int]] = {}

    def add(key: str, why: str, number: int | None) -> None:
        if why not in reasons.setdefault(key, []):
            reasons[key].append(why)
        if number:
            numbers.setdefault(key, set()).add(number)

    if topic["paths"] or topic.get("entries", []):
        sql = f"select m.series_key, m.patch_number, j.value {frm} join json_each(m.files_json) j {cond}"
        for key, number, path in db.execute(sql, args):
            if any(file_matches(path, pattern) for pattern in topic["paths"]):
                add(key, f"touches {path}", number)
            for entry in topic.get("entries", []):
                if in_entry(path, entry):
                    add(key, f"touches {path} ({entry['name']})", number)
    if topic["prefixes"]:
        for key, number, subject in db.execute(f"select m.series_key, m.patch_number, m.subject {frm} {cond}", args):
            prefix = prefix_matches(subject, topic["prefixes"])
            if prefix:
                add(key, f"{prefix}: in a subject", number)
    for word in topic["words"]:
        # LIKE (case-blind for ASCII) narrows the week's patches in SQLite; the whole-word tests decide.
        like = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        sql = (f"select m.series_key, m.patch_number, m.subject, m.body, m.diff {frm} {cond} "
               "and (m.subject like ? escape '\\' or m.body like ? escape '\\' or m.diff like ? escape '\\')")
        for key, number, subject, body, diff in db.execute(sql, [*args, like, like, like]):
            if mentions(subject, word) or mentions(body, word):
                add(key, f"mentions {word}", number)
            elif changes(diff, word):
                add(key, f"changes {word}" if f"mentions {word}" not in reasons.get(key, ()) else f"mentions {word}", number)
    for person in topic["people"]:
        sql = f"select m.series_key, m.patch_number {frm} {cond} and lower(m.author_email) = ?"
        for key, number in db.execute(sql, [*args, person.lower()]):
            add(key, f"from {person}", number)
    return reasons, numbers


def watched_series(db, topic: dict, *, since: str | None = None, until: str | None = None) -> list[dict]:
    """Return the topic's series in [since, until), newest first, each with "why" (the rules that caught it).

    A series posted in several versions within the window is listed once, by
    its newest version, as the edition tells a re-post.
    """
    from tracker.api import review_counts

    reasons, numbers = _reasons(db, topic, since, until)
    if not reasons:
        return []
    from ..categories import reply_counts

    reviews = review_counts(db, list(reasons), until=until)
    replies = reply_counts(db, list(reasons), until)  # as the edition's series items say them
    marks = ",".join("?" * len(reasons))
    rows = list(db.query(f"select * from series where series_key in ({marks}) order by date desc, series_key", list(reasons)))
    seen, out = set(), []
    for row in rows:
        lineage = row.get("lineage") or row["series_key"]
        if lineage in seen:
            continue
        seen.add(lineage)
        key = row["series_key"]
        out.append(_item({**row, "replies": replies.get(key, 0)}, topic, reasons[key], reviews.get(key, {}),
                         sorted(numbers.get(key, ()))))
    return out


def _item(row: dict, topic: dict, why: list[str], reviews: dict[str, int], patches: list[int]) -> dict:
    from ..categories import lore_link, series_details  # told as the edition's Patches and updates tell a series

    author = row.get("author_name") or row.get("author_email") or "unknown"
    count = row.get("total") or row.get("received") or 1
    version = row.get("version") or 1
    detail = ", ".join(series_details({**row, "reviews": reviews}))
    shown = why[:2] + ([f"{len(why) - 2} more"] if len(why) > 2 else [])
    subject = row["subject"]
    if row.get("is_stable_review") and patches:  # a review gathers unrelated fixes: name the topic's own
        subject += ": " + ", ".join(f"#{n}" for n in patches[:8]) + (f" and {len(patches) - 8} more" if len(patches) > 8 else "")
    return {
        "text": f"{author}: {subject} ({detail}; {', '.join(shown)})",
        "link": lore_link(row.get("cover_message_id") or row["series_key"] or ""),
        "group": topic["title"],
        "topic": topic["slug"],
        "series_key": row["series_key"],
        "subject": row["subject"],
        "author": author,
        "version": version,
        "patch_count": count,
        "date": row.get("date"),
        "why": why,
        "reviews": reviews,
        "replies": row.get("replies") or 0,
        "patches": patches,  # the numbers of the patches a rule caught
    }
