"""Release status: the edition's opening section and one site page per release.

LWN's weekly kernel page opens with "The current development kernel is
2.6.34-rc1 ... The current stable kernel is 2.6.32.9, released on February 23,
with 93 fixes". This plugin writes that from the `releases` table (kept by the
kernel.org source plugin), quoting the announcement excerpt when one is stored.
"""

from __future__ import annotations

import json
import re
from datetime import date

from tracker import hookimpl

SECTION_ORDER = 10
# Mainline tags an -rc every Sunday and stable updates come several times a
# week, so a tracker whose newest release (of any kind) is older than this,
# seen from the edition's last day, lacks that week's data (a source failing,
# or an archive imported long after): it then says how old its data is and
# never calls a kernel "current".
STALE_DAYS = 10
SECURITY_HINT = "security-related"
_SAFE_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.+_-]{0,63}$")
# Paragraphs of an announcement that every mail of its kind carries: not worth quoting.
BOILERPLATE = re.compile(
    r"^(i'?m announcing the release|all users of the|the updated \S+ git tree|and can be browsed|"
    r"this is the start of the stable review cycle|responses should be made by|anything received after|"
    r"the whole patch series can be found|thanks,?$|greg k-h$)",
    re.I,
)
QUOTE_MAX = 420
_DIFFSTAT = re.compile(r"^\s*(\d+) files? changed(?:, (\d+) insertions?\(\+\))?(?:, (\d+) deletions?\(-\))?", re.M)

# Its edition sections read the week's own mail and series, whole-store tables and mail they
# name by Message-ID, nothing else: the edition cache may reuse them (tracker/edition_cache.py).
edition_inputs = "week"


def release_slug(version: str | None) -> str | None:
    """Return the file name stem of a release page, or None for a version that is not safe as one.

    Versions come from feeds and mail: "5.10.1" -> "5.10.1", "../../x" -> None.
    """
    if not version or not _SAFE_VERSION.match(version) or ".." in version:
        return None
    return version


def release_path(version: str | None) -> str | None:
    slug = release_slug(version)
    return f"releases/{slug}.html" if slug else None


def _is_stable_rc(version: str) -> bool:
    try:
        from tracker.api import parse_version

        return parse_version(version).stable > 0
    except (ImportError, ValueError):
        return False


def _branch(version: str) -> str | None:
    try:
        from tracker.api import branch_of

        return branch_of(version)
    except (ImportError, ValueError):
        return None


def _day(released_at: str | None) -> date | None:
    try:
        return date.fromisoformat((released_at or "")[:10])
    except ValueError:
        return None


def _on(released_at: str | None, reference: date) -> str:
    day = _day(released_at)
    if day is None:
        return ""
    text = f"{day:%B} {day.day}"
    return f" on {text}" if day.year == reference.year else f" on {text}, {day.year}"


def _latest(db, end: str, kinds: tuple[str, ...], *, skip_stable_rc: bool = False) -> dict | None:
    marks = ",".join("?" for _ in kinds)
    rows = db.query(
        f"select * from releases where released_at < ? and kind in ({marks})"
        " order by sort_key desc, released_at desc limit 8",
        [end, *kinds],
    )
    for row in rows:
        if skip_stable_rc and row["kind"] == "rc" and _is_stable_rc(row["version"]):
            continue
        return row
    return None


def _age_words(days: int) -> str:
    """Return how old data is in words a reader takes in at once: "12 days", "3 weeks", "5 months"."""
    if days < 14:
        return f"{days} days"
    if days < 61:
        return f"{round(days / 7)} weeks"
    if days < 730:
        return f"{round(days / 30.4)} months"
    return f"{round(days / 365.25)} years"


def lead_paragraph(excerpt: str, *, limit: int = QUOTE_MAX) -> str:
    """Return the first paragraph of an announcement excerpt that is not boilerplate, cut at a sentence near `limit`.

    Linus's "So the first few weeks of the 6.14 release development were
    smaller-than-usual ..." is quoted; the stable team's "I'm announcing the
    release of the 6.1.119 kernel." and "All users ... must upgrade." are not.
    """
    for para in re.split(r"\n\s*\n", excerpt or ""):
        para = " ".join(para.split())
        if not para or BOILERPLATE.match(para) or para.endswith(":"):
            continue
        if len(para) > limit:
            cut = para.rfind(". ", 0, limit)
            para = para[: cut + 1] if cut > 0 else para[: limit - 3].rstrip() + "..."
        return para
    return ""


def diffstat_of(body: str | None) -> dict | None:
    """Return {"files", "insertions", "deletions"} from a "N files changed, ..." line of a mail, or None."""
    m = _DIFFSTAT.search(body or "")
    if not m:
        return None
    return {"files": int(m.group(1)), "insertions": int(m.group(2) or 0), "deletions": int(m.group(3) or 0)}


def _announcement(db, row: dict) -> dict:
    """The stored announcement mail of a release: its author, quote and diffstat (empty when none was ingested)."""
    found: dict = {}
    quote = lead_paragraph(row.get("excerpt") or "")
    if quote:
        found["quote"] = quote
    message_id = row.get("announcement_message_id")
    if message_id and "messages" in db.table_names():
        mail = next(iter(db.query("select author_name, body from messages where message_id = ?", [message_id])), None)
        if mail:
            found["author"] = (mail.get("author_name") or "").strip()
            found["diffstat"] = diffstat_of(mail.get("body"))
            found["message_id"] = message_id
    return found


def _reviews(db, end: str) -> dict[str, dict]:
    """Stable reviews known before `end`, by release: patch and security-related counts (needs the stable_review plugin's table)."""
    if "stable_review_verdicts" not in db.table_names():
        return {}
    rows = db.query(
        "select release, count(*) as patches, sum(category = 'security') as security from stable_review_verdicts"
        " where series_date < ? or series_date is null group by release",
        [end],
    )
    return {r["release"]: r for r in rows}


def _review_key(version: str) -> str:
    # a review is stored under "4.19.107" whether it was read from "4.19.107-rc1 review" or the ChangeLog
    return re.sub(r"-rc\d+$", "", version)


def _counted(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def _size_words(row: dict, found: dict, *, unit: str) -> str:
    """", with 93 fixes (12 files changed, +80/-31 lines)" from the change count and the mail's diffstat."""
    parts = []
    if row.get("change_count"):
        parts.append(_counted(row["change_count"], unit, unit + ("es" if unit.endswith("x") else "s")))
    stat = found.get("diffstat")
    if stat:
        size = (f"{_counted(stat['files'], 'file', 'files')} changed, "
                f"{stat['insertions']} insertions, {stat['deletions']} deletions")
        return f", with {parts[0]} ({size})" if parts else f" ({size})"
    return f", with {parts[0]}" if parts else ""


def _security_parts(version: str, reviews: dict, parts: list[dict]) -> None:
    review = reviews.get(_review_key(version))
    if not review:
        return
    security = review.get("security") or 0
    verb = "is" if security == 1 else "are"
    parts.append({"text": f"; {security} of its {_counted(review['patches'], 'patch', 'patches')} {verb} {SECURITY_HINT} (see "})
    parts.append({"text": "the review", "link": f"stable/{_review_key(version)}.html"})
    parts.append({"text": ")"})


def _item(parts: list[dict], **fields) -> dict:
    """An item told as prose: "text" is the plain sentence, "parts" the same words with links on a few of them."""
    return {"text": "".join(p["text"] for p in parts), "parts": parts, **fields}


def status_items(db, edition: dict) -> list[dict]:
    """Return the release-status paragraphs of an edition, as known that week.

    The current development kernel (with the announcement's first words when
    the mail was ingested), the current stable kernel, then the stable and
    longterm updates released during the week with their fix counts and, when
    a review exists, how many fixes are security-related. Nothing dated on or
    after the edition's end is used. When the newest release data is more
    than STALE_DAYS older than the week, every paragraph says so and how old.
    """
    if "releases" not in db.table_names():
        return []
    end = edition["end"]
    reference = date.fromisoformat(end)
    last_day = reference.fromordinal(reference.toordinal() - 1)
    newest = next(iter(db.query("select max(released_at) as at from releases where released_at < ?", [end])), {}).get("at")
    newest_day = _day(newest)
    if newest_day is None:
        return []
    age = (last_day - newest_day).days
    stale = age > STALE_DAYS
    reviews = _reviews(db, end)
    items: list[dict] = []
    if stale:
        items.append(_item(
            [{"text": f"No kernel release data from this week: the newest release known to this tracker is from "
                      f"{newest_day:%B} {newest_day.day}, {newest_day.year}, {_age_words(age)} before the week ended. "
                      "As of then:"}],
            kind="stale", age_days=age))
    said = set()
    dev = _latest(db, end, ("mainline", "rc"), skip_stable_rc=True)
    if dev:
        found = _announcement(db, dev)
        lead = "The development kernel was " if stale else "The current development kernel is "
        parts = [{"text": lead}, {"text": dev["version"], "link": release_path(dev["version"])},
                 {"text": f", released{_on(dev['released_at'], reference)}{_size_words(dev, found, unit='change')}."}]
        item = _item(parts, link=release_path(dev["version"]), kind="development", version=dev["version"],
                     release_kind=dev["kind"], released_at=dev["released_at"])
        if found.get("quote"):
            item["quote"] = found["quote"]
            author = found.get("author") or ""
            item["quote_by"] = f"{author.split()[0] if author else 'The announcement'} says:"
            item["quote_link"] = found.get("message_id")
        items.append(item)
        said.add(dev["version"])
    stable = _latest(db, end, ("stable", "longterm"))
    if stable:
        found = _announcement(db, stable)
        lead = "The stable kernel was " if stale else "The current stable kernel is "
        parts = [{"text": lead}, {"text": stable["version"], "link": release_path(stable["version"])},
                 {"text": f", released{_on(stable['released_at'], reference)}{_size_words(stable, found, unit='fix')}"}]
        _security_parts(stable["version"], reviews, parts)
        parts.append({"text": "."})
        # no "stable_branch": the current stable kernel is news for every reader, whatever --stable they chose
        items.append(_item(parts, link=release_path(stable["version"]), kind="stable", version=stable["version"]))
        said.add(stable["version"])
    week_rows = db.query(
        "select * from releases where released_at >= ? and released_at < ? order by sort_key desc",
        [edition["start"], end],
    )
    for row in week_rows:
        if row["version"] in said or row["kind"] == "linux-next":
            continue
        found = _announcement(db, row)
        stable_kind = row["kind"] in ("stable", "longterm")
        label = {"stable": "stable update", "longterm": "longterm update", "rc": "release candidate",
                 "mainline": "mainline release"}.get(row["kind"], row["kind"])
        parts = [{"text": row["version"], "link": release_path(row["version"])},
                 {"text": f" ({label}) was released{_on(row['released_at'], reference)}"
                          f"{_size_words(row, found, unit='fix' if stable_kind else 'change')}"}]
        if stable_kind:
            _security_parts(row["version"], reviews, parts)
        parts.append({"text": "."})
        review = reviews.get(_review_key(row["version"])) if stable_kind else None
        item = _item(parts, link=release_path(row["version"]), kind="release", version=row["version"],
                     release_kind=row["kind"], day=_on(row["released_at"], reference).removeprefix(" on "),
                     fixes=row.get("change_count"), security=(review or {}).get("security"),
                     review=f"stable/{_review_key(row['version'])}.html" if review else None)
        if stable_kind and _branch(row["version"]):
            item["stable_branch"] = _branch(row["version"])
        items.append(item)
    return items


@hookimpl
def edition_sections(edition, db):
    from tracker.api import Section

    items = status_items(db, edition)
    if not items:
        return []
    return [Section(key="release-status", title="Release status", items=items, order=SECTION_ORDER,
                    template="release_status.html")]


def _links(source: dict) -> list[dict]:
    """Return the download/changelog links of a releases.json record, as label + URL."""
    links = []
    for label, url in (
        ("Source tarball", source.get("source")),
        ("PGP signature", source.get("pgp")),
        ("Changelog", source.get("changelog")),
        ("Git", source.get("gitweb")),
        ("Diff view", source.get("diffview")),
        ("Patch", (source.get("patch") or {}).get("full") if isinstance(source.get("patch"), dict) else None),
        ("Incremental patch", (source.get("patch") or {}).get("incremental") if isinstance(source.get("patch"), dict) else None),
    ):
        if url:
            links.append({"label": label, "url": url})
    return links


@hookimpl
def site_pages(db):
    """One page per release plus releases/index.html listing them newest first."""
    from tracker.api import Page

    if "releases" not in db.table_names():
        return []
    reviews: dict[str, list[dict]] = {}
    if "series" in db.table_names():
        for row in db.query(
            "select series_key, subject, date, total, stable_release from series"
            " where stable_release is not null and stable_release != '' order by date"
        ):
            reviews.setdefault(row["stable_release"], []).append(
                {"subject": row["subject"], "date": row["date"], "total": row["total"], "message_id": row["series_key"]}
            )
    pages, listing = [], []
    for row in db.query("select * from releases order by sort_key desc, released_at desc"):
        path = release_path(row["version"])
        if path is None:
            continue
        try:
            source = json.loads(row.get("source_json") or "{}")
        except ValueError:
            source = {}
        release = {
            "version": row["version"],
            "kind": row["kind"],
            "moniker": row.get("moniker"),
            "released_at": row.get("released_at"),
            "iseol": bool(row.get("iseol")),
            "change_count": row.get("change_count"),
            "excerpt": row.get("excerpt") or "",
            "shortlog": row.get("shortlog") or "",
            "links": _links(source if isinstance(source, dict) else {}),
            "announcement_message_id": row.get("announcement_message_id"),
        }
        listing.append({k: release[k] for k in ("version", "kind", "released_at", "iseol")} | {"path": path})
        pages.append(
            Page(
                path=path,
                template="release.html",
                title=f"Linux {row['version']}",
                context={"release": release, "reviews": reviews.get(row["version"], [])},
            )
        )
    if listing:
        pages.append(Page(path="releases/index.html", template="releases.html", title="Releases", context={"releases": listing}))
    return pages
