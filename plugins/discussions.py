"""Discussions of the week: the threads with the most replies and participants, patch or not.

A week's news is often a thread that carries no patch at all ("Testing if
two open descriptors refer to the same inode", a regression report Linus
answers), so this section reads every stored message dated in the edition's
week, groups them by thread (the first Message-ID of References, else
In-Reply-To, else the message itself) and ranks the threads by how many
people took part and how many replies they wrote that week.

Other plugins add or boost threads through the `edition_discussions` hook
(tracker/hookspecs.py): each returns rankings [{"message_id": thread root,
"score": number, "why": "..."}]; a thread they name that this week's mail
does not show is still listed, with what is stored of it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tracker import hookimpl

from .prose import cut_at_sentence, paragraphs

SECTION_ORDER = 25
LIMIT = 8  # threads per edition
MIN_REPLIES = 3  # fewer replies than this is not a discussion
MIN_PEOPLE = 2  # nor is an author answering themselves
EXCERPT_MAX = 280
# "On Mon, ... X wrote:", "Le 29/01/2018 à 21:20, X a écrit :", "Am ... schrieb X:": the line before a quote
_QUOTE_INTRO = re.compile(r"^(on .{0,200} wrote:|.{0,120} writes:|.{0,120}\bwrote:|.{0,160}\ba\s+écrit\s*:|.{0,160}\bschrieb.{0,80}:|"
                          r".{0,160}\bescribió\s*:)$", re.I)
_HEADER_LINE = re.compile(r"^(from|to|cc|date|subject):\s", re.I)  # "From: Mike Rapoport <...>" atop a patch
_REPLY_PREFIX = re.compile(r"^\s*((re|fwd?|aw|sv)\s*:\s*)+", re.I)

# Its edition sections read the week's own mail and series, whole-store tables and mail they
# name by Message-ID, nothing else: the edition cache may reuse them (tracker/edition_cache.py).
edition_inputs = "week"


def thread_root(message: dict) -> str:
    """Return the Message-ID of a message's thread: the first References entry, else In-Reply-To, else its own."""
    try:
        refs = json.loads(message.get("references_json") or "[]")
    except ValueError:
        refs = []
    refs = [r for r in refs if isinstance(r, str) and r.strip()]
    if refs:
        return refs[0].strip().strip("<>")
    return (message.get("in_reply_to") or message["message_id"]).strip().strip("<>")


def clean_subject(subject: str | None) -> str:
    """A thread's subject for a reader: "Re: Re: [PATCH v2] x" -> "[PATCH v2] x"."""
    return " ".join(_REPLY_PREFIX.sub("", subject or "").split())


def opening_words(body: str | None, *, limit: int = EXCERPT_MAX) -> str:
    """Return the first paragraph a person wrote in a mail: no quoted lines, no "On ... wrote:", cut at a sentence."""
    found = paragraphs(
        body,
        ends=lambda line, stripped: stripped in ("--", "-- ", "---") or stripped.startswith("Signed-off-by:"),
        hidden=lambda stripped, index, lines, starting: bool(_QUOTE_INTRO.match(stripped) or _HEADER_LINE.match(stripped)),
    )
    # "Hey Jan/Amir/Christian," and "As indicated earlier:" lead into the words worth quoting
    words = next((p for p in found if len(p) > 20 and not (len(p) < 50 and p.endswith((",", ":")))), "")
    return cut_at_sentence(words or next(iter(found), ""), limit, shortest=60)


def week_threads(db, edition: dict) -> dict[str, dict[str, Any]]:
    """Return the threads with mail in the edition's week, by root Message-ID, with their week's counts."""
    if "messages" not in db.table_names():
        return {}
    rows = db.execute(
        "select message_id, subject, author_name, author_email, date, in_reply_to, references_json, is_patch, is_cover"
        " from messages where date >= ? and date < ? order by date",
        [edition["start"], edition["end"]],
    ).fetchall()
    names = ["message_id", "subject", "author_name", "author_email", "date", "in_reply_to", "references_json", "is_patch", "is_cover"]
    threads: dict[str, dict[str, Any]] = {}
    for row in rows:
        message = dict(zip(names, row))
        root = thread_root(message)
        thread = threads.setdefault(root, {"message_id": root, "messages": 0, "replies": 0, "people": {}, "first": message,
                                           "patches": 0, "last_date": None})
        thread["messages"] += 1
        if message["is_patch"] or message["is_cover"]:
            thread["patches"] += 1  # a series' own postings are not replies
        elif message["message_id"] != root:
            thread["replies"] += 1
        who = (message.get("author_email") or message.get("author_name") or "").strip().lower()
        if who:
            thread["people"].setdefault(who, message.get("author_name") or who)
        thread["last_date"] = message["date"]
    return _merge_by_subject(threads, _stored_subjects(db, list(threads)))


def _stored_subjects(db, message_ids: list[str]) -> dict[str, str]:
    """Return {Message-ID: subject} of the thread roots that are stored."""
    found: dict[str, str] = {}
    for start in range(0, len(message_ids), 500):
        chunk = message_ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        for message_id, subject in db.execute(f"select message_id, subject from messages where message_id in ({marks})", chunk):
            found[message_id] = subject or ""
    return found


def _merge_by_subject(threads: dict[str, dict[str, Any]], subjects: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Fold threads that share a subject into the biggest: a reply that lost its References, or another version
    of the same series, is the same discussion for a reader."""
    from tracker.api import parse_subject, stem_key

    by_subject: dict[str, str] = {}
    for root in sorted(threads, key=lambda r: -threads[r]["messages"]):
        # one discussion across the versions of a series: "[PATCH v12 0/3] x" and "[PATCH v13 0/3] x"
        # the root's subject when it is stored: a week's first mail may answer patch 12 of the series
        subject = (subjects or {}).get(root) or threads[root]["first"].get("subject")
        key = stem_key(parse_subject(clean_subject(subject)).stem)
        if not key or key not in by_subject:
            by_subject.setdefault(key, root)
            continue
        main = threads[by_subject[key]]
        other = threads.pop(root)
        for name in ("messages", "replies", "patches"):
            main[name] += other[name]
        for who, name in other["people"].items():
            main["people"].setdefault(who, name)
        first = other["first"]
        if first.get("message_id") == root and _REPLY_PREFIX.match(first.get("subject") or "") \
                and not (first.get("is_patch") or first.get("is_cover")):
            main["replies"] += 1  # a reply that lost its References started that thread: it is a reply too
    return threads


def discussion_score(thread: dict) -> float:
    """People count more than messages: four people trading ten replies beat one author's ten patches."""
    return 2.0 * len(thread["people"]) + thread["replies"]


def _root_message(db, message_id: str) -> dict | None:
    return next(iter(db.query("select message_id, subject, author_name, body, date, series_key from messages where message_id = ?",
                              [message_id])), None)


def discussion_items(db, edition: dict, rankings: list[list[dict]] | None = None, *, limit: int = LIMIT) -> list[dict]:
    """Return the edition items of the week's discussions, most discussed first.

    `rankings` are other plugins' `edition_discussions` results: their
    scores add to a thread's, and the threads they name are listed even when
    they fall below MIN_REPLIES.
    """
    from tracker.plugins.categories import lore_link
    from tracker.api import parse_subject

    threads = week_threads(db, edition)
    extra: dict[str, dict] = {}
    for result in rankings or []:
        for entry in result or []:
            if not isinstance(entry, dict) or not entry.get("message_id"):
                continue
            root = str(entry["message_id"]).strip().strip("<>")
            seen = extra.setdefault(root, {"score": 0.0, "why": []})
            try:
                seen["score"] += float(entry.get("score") or 0)
            except (TypeError, ValueError):
                pass
            if entry.get("why"):
                seen["why"].append(str(entry["why"]))
    ranked = []
    for root, thread in threads.items():
        boost = extra.get(root)
        if (thread["replies"] < MIN_REPLIES or len(thread["people"]) < MIN_PEOPLE) and not boost:
            continue
        ranked.append((discussion_score(thread) + (boost["score"] if boost else 0.0), root, thread))
    for root, boost in extra.items():
        stored = _root_message(db, root) if root not in threads else None
        # a thread a plugin names is listed when it had begun by the week's end: no news from after it
        if stored and (stored.get("date") or "") < edition["end"]:
            ranked.append((boost["score"], root, {"message_id": root, "messages": 0, "replies": 0, "people": {}, "patches": 0,
                                                  "first": {}, "last_date": None}))
    ranked.sort(key=lambda r: (-r[0], r[1]))
    items = []
    for score, root, thread in ranked[:limit]:
        stored = _root_message(db, root) or {}
        first = thread.get("first") or {}
        subject = clean_subject(stored.get("subject") or first.get("subject"))
        # "[PATCH v2 0/3] signal: ..." reads as its title; "on a patch" is said beside it
        subject = parse_subject(subject).stem or subject or root
        excerpt = opening_words(stored.get("body")) if stored else ""
        if not excerpt and first.get("message_id"):
            body = next(iter(db.query("select body from messages where message_id = ?", [first["message_id"]])), {})
            excerpt = opening_words(body.get("body"))
        people = len(thread["people"])
        replies = thread["replies"]
        started = stored.get("author_name") or first.get("author_name") or ""
        summary = f"{people} {'participant' if people == 1 else 'participants'}, {replies} {'reply' if replies == 1 else 'replies'} this week"
        if stored.get("date") and stored["date"] < edition["start"]:
            day = stored["date"][:10]
            summary += f"; thread started {day}"
        why = (extra.get(root) or {}).get("why") or []
        # the root may be a mail this tracker never saw (a report on another list): show the first one it did see
        shown = root if stored else (first.get("message_id") or root)
        items.append({
            "text": f"{subject} ({summary})",
            "parts": [{"text": subject, "link": lore_link(shown)}, {"text": f" ({summary})"}],
            "link": lore_link(shown),
            "title": subject,
            "summary": summary,
            "excerpt": excerpt,
            "excerpt_by": started,
            "message_id": shown,
            "thread_root": root,
            "replies": replies,
            "participants": people,
            "people": sorted(thread["people"].values())[:12],
            "is_patch": bool(thread["patches"]) or bool(stored.get("series_key")),
            "score": round(score, 2),
            "why": why,
        })
    return items


@hookimpl
def edition_sections(edition, db, config):
    from tracker.api import Section

    rankings = edition.get("discussion_rankings") or []
    items = discussion_items(db, edition, rankings)
    if not items:
        return []
    return [Section(key="discussions", title="Discussions of the week", items=items, order=SECTION_ORDER,
                    template="discussions_section.html")]
