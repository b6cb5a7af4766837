"""Feature items: a new system call or sysctl knob told the way a kernel news page tells it.

The syscalls and sysctls plugins find the names a series adds; this module
turns each of their edition items into a short story a reader can take in:
what the interface is for, in the author's own words from the cover letter
(trimmed to a paragraph), its prototype or /proc/sys path, which version of
the series this is and how far review went, and how much discussion it drew.

It reads only what is stored (the plugins' findings of the week, the series,
its cover letter, the replies and trailers) and the "name" of each item, so
the detectors can change freely. Not a plugin: it
has no hooks; each plugin's edition_sections calls `feature_items`.
"""

from __future__ import annotations

import re
from typing import Any

from .prose import SIGNATURE, cut_at_sentence, paragraphs

ABOUT_MAX = 420  # a paragraph a reader takes in at a glance; cut at a sentence
TEMPLATE = "feature_section.html"
# Paragraphs of a cover letter about the posting, not the feature.
_PROCESS = re.compile(
    r"(\bapplies (on|to|cleanly)\b|\brebased\b|\bbased on\b|can you (please )?(consider|take|merge|pick)|"
    r"\bchanges? (since|from|in) v\d|^v\d+\b|^changes\b|^changelog|\bprevious versions?\b|^link:|^\[\d+\]|"
    r"\bthis (new )?(version|revision|iteration|respin)\b|^(hi|hello|hey|dear)\b|^thanks\b|^cheers\b|"
    r"\bsigned-off-by:|\bcc: |^---|^git\b|https?://|"
    r"^this (new )?(patch ?(set|series)|series|version) (fix|fixes|addresses|rebases|updates)|"
    r"\bvs\.? v\d|\bsince v\d|\bmain changes?\b)",
    re.I,
)
_PURPOSE = re.compile(r"\b(goal|purpose|allows?|enables?|introduc\w*|provides?|adds?|lets?|so that|in order to|"
                      r"is (used|meant|needed)|useful|motivation|problem)\b", re.I)
_SHORTLOG = re.compile(r"^\S.*\s\(\d+\):\s*$")
_HEADING = re.compile(r"^[=\-~#*]{3,}\s*$")


def _paragraphs(body: str) -> list[str]:
    """The cover letter's prose paragraphs: no headings, quotes, lists of links or diffstat."""
    def ends(line: str, stripped: str) -> bool:
        # the signature, a diffstat or a shortlog ("Peter Oskolkov (6):") ends the prose
        return stripped in SIGNATURE or bool(re.match(r"^\S.*\|\s+\d+", stripped) or _SHORTLOG.match(line))

    def hidden(stripped: str, index: int, lines: list[str], starting: bool) -> bool:
        underline = index + 1 < len(lines) and _HEADING.match(lines[index + 1].strip() or "x")
        # a heading, underlined or not, and a man-page style one ("DESCRIPTION") opening a paragraph
        return bool(_HEADING.match(stripped) or underline or (starting and re.match(r"^[A-Z][A-Z ]{3,}$", stripped)))

    return paragraphs(body, ends=ends, hidden=hidden)


def cover_paragraph(body: str | None, words: list[str], *, limit: int = ABOUT_MAX) -> str:
    """Return the cover letter's paragraph that best says what the feature is for, trimmed at a sentence.

    Process talk ("It applies on v5.16-rc1", "Changes since v16", greetings,
    links) is skipped; a paragraph that names the feature or says what it
    enables wins, the earlier the better.
    """
    best, best_score = "", 0.0
    for position, para in enumerate(_paragraphs(body or "")[:12]):
        if len(para) < 60 or _PROCESS.search(para) or para.count(" ") < 8:
            continue
        low = para.lower()
        score = 1.0 + (2.0 if _PURPOSE.search(para) else 0.0)
        score += sum(2.0 for w in words if w and w.lower() in low)
        score -= 0.3 * position
        if score > best_score:
            best, best_score = para, score
    return cut_at_sentence(best, limit, shortest=limit // 3)


def _series_facts(db, series_key: str, until: str, message_id: str | None = None) -> dict[str, Any]:
    """Version, size, review trailers, replies and participants of one stored series, as known before `until`."""
    from tracker.api import review_counts, review_phrases

    row = next(iter(db.query("select * from series where series_key = ?", [series_key])), None)
    if row is None:
        return {}
    people = {r[0] for r in db.execute(
        "select distinct lower(coalesce(author_email, author_name)) from messages where series_key = ? and date < ?",
        [series_key, until]) if r[0]}
    replies = db.execute(
        "select count(*) from messages where series_key = ? and coalesce(is_patch, 0) = 0 and coalesce(is_cover, 0) = 0"
        " and date < ?", [series_key, until]).fetchone()[0]
    # no cover letter: the commit message of the patch that adds the interface says what it is for
    source = row.get("cover_message_id") or message_id or series_key
    cover = next(iter(db.query("select body from messages where message_id = ?", [source])), None)
    reviews = review_counts(db, [series_key], until=until).get(series_key, {})
    return {
        "version": row.get("version") or 1,
        "patch_count": row.get("total") or row.get("received") or 1,
        "author": row.get("author_name") or row.get("author_email") or "",
        "subject": row.get("subject") or "",
        "reviews": reviews,
        "review_state": ", ".join(review_phrases(reviews)) or "no review trailers yet",
        "replies": replies,
        "participants": len(people),
        "cover": (cover or {}).get("body") or "",
        "is_rfc": "RFC" in (row.get("prefixes_json") or ""),
    }


def week_finding(db, plugin: str, name: str, edition: dict) -> dict | None:
    """Return the newest stored finding of `name` in the edition's week: its series, message and data."""
    import json

    row = db.execute(
        "select series_key, message_id, data_json from findings where plugin = ? and key like ? escape '\\'"
        " and date >= ? and date < ? order by date desc, id desc limit 1",
        [plugin, name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "@%", edition["start"], edition["end"]],
    ).fetchone()
    if row is None:
        return None
    try:
        data = json.loads(row[2] or "{}")
    except ValueError:
        data = {}
    return {"series_key": row[0], "message_id": row[1], "data": data if isinstance(data, dict) else {}}


def feature_items(db, items: list[dict], edition: dict, *, kind: str) -> list[dict]:
    """Add the story of each syscall/sysctl item: "about" (cover letter words), "prototypes", a summary line, a title.

    `kind` is "syscall" or "sysctl". Items keep their "text" (the digest
    line). The names one series adds make one story, told by the first of
    its items ("names", "prototypes"); the others are marked "same_story".
    An item whose series is not stored is returned as it came.
    """
    plugin = "syscalls" if kind == "syscall" else "sysctls"
    found = {}
    for item in items:
        finding = week_finding(db, plugin, item.get("name") or "", edition) if item.get("name") else None
        if finding:
            data = finding["data"]
            found[id(item)] = {"series_key": finding["series_key"], "message_id": finding["message_id"],
                               "prototype": data.get("signature") if kind == "syscall" else data.get("path")}
    by_series: dict[str, list[dict]] = {}
    for item in items:
        if id(item) in found:
            by_series.setdefault(found[id(item)]["series_key"], []).append({**item, **found[id(item)]})
    out, told = [], set()
    for item in items:
        key = found.get(id(item), {}).get("series_key")
        if key in told:
            out.append({**item, "same_story": True})
            continue
        facts = _series_facts(db, key, edition["end"], found[id(item)]["message_id"]) if key else {}
        if not facts:
            out.append(item)
            continue
        told.add(key)
        group = by_series[key]
        names = [i.get("name") or "" for i in group]
        words = [n.rsplit("/", 1)[-1].rsplit(".", 1)[-1] for n in names]
        words += ["system call", "syscall"] if kind == "syscall" else ["sysctl", "knob"]
        about = cover_paragraph(facts["cover"], words)
        titles = names if kind == "syscall" else [i.get("prototype") or i.get("name") or "" for i in group]
        prototypes = [i["prototype"] for i in group if i.get("prototype")]
        version = f"v{facts['version']}" + (" (RFC)" if facts["is_rfc"] else "")
        replies, people = facts["replies"], facts["participants"]
        discussion = (f"{replies} repl{'y' if replies == 1 else 'ies'} from {people} {'person' if people == 1 else 'people'}"
                      if replies else "no replies yet")
        count = facts["patch_count"]
        summary = (f"{version} of “{facts['subject']}” by {facts['author']}, {count} patch{'es' if count != 1 else ''};"
                   f" {facts['review_state']}; {discussion}.")
        out.append({
            **item,
            "title": ", ".join(titles),
            "names": names,
            "summary": summary,
            "about": about,
            "about_by": facts["author"],
            "prototypes": prototypes,
            "review_state": facts["review_state"],
            "replies": replies,
            "participants": people,
            "version": facts["version"],
            "excerpt": about,  # the digest quotes it
        })
    return out
