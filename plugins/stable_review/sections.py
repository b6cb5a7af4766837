"""The stable part of a weekly edition and the site pages: reviews, errata, the scorecard."""

from __future__ import annotations

import re

from tracker.api import Section
from tracker.api import Feed, Page

from .review import SECTION_TITLES, conclusions, counted, counts_of, entry_line, unnamed_cves
from .store import errata_between, list_reviews, load_review, scorecard, scorecard_totals

SCORECARD_PATH = "stable/scorecard.html"
FEED_REVIEWS = 30  # reviews per branch feed, newest


def review_path(release: str) -> str:
    return f"stable/{release}.html"


def scorecard_line(totals: dict) -> str:
    """One sentence grading past reviews against the CVEs that arrived since."""
    return (
        f"Scorecard over {counted(totals['updates'], 'reviewed update', 'reviewed updates')} with CVE data: "
        f"{counted(totals['with_cve'], 'patch', 'patches')} later received a CVE, "
        f"{totals['flagged_with_cve']} of them had been flagged security-related; "
        f"{counted(totals['flagged_without_cve'], 'flagged patch has', 'flagged patches have')} no CVE (yet)."
    )


def highlights(entries: list[dict], limit: int) -> tuple[list[dict], int]:
    """Return the security entries a weekly edition lists (in patch order) and how many it leaves to the review page.

    A big update has dozens of flagged patches; the edition shows those with a
    CVE id first, then the surest, and points to the review page for the rest.
    """
    flagged = [e for e in entries if e["category"] == "security"]
    if not limit or len(flagged) <= limit:
        return flagged, 0
    chosen = sorted(flagged, key=lambda e: (not e.get("cves"), -(e.get("score") or 0.0), e["number"]))[:limit]
    return sorted(chosen, key=lambda e: e["number"]), len(flagged) - limit


def stable_section(edition: dict, db, *, limit: int = 10) -> Section | None:
    """Return the "stable" Section for reviews whose series date is in [start, end), or None if nothing happened.

    `limit` caps the security patches listed per update (0: all of them).
    """
    if not db["stable_review_verdicts"].exists():
        return None
    start, end = edition["start"], edition["end"]
    reviews = list_reviews(db, start=start, end=end)
    errata = errata_between(db, start, end)
    if not reviews and not errata:
        return None
    items = []
    for review in reviews:
        release, branch = review["release"], review["branch"]
        items.append(
            {
                "text": (
                    f"{release}: {counted(review['patches'], 'patch', 'patches')}, {review['security']} security-related, "
                    f"{counted(review['bugfix'], 'other bug fix', 'other bug fixes')}, "
                    f"{counted(review['enhancement'], 'enhancement', 'enhancements')}."
                ),
                "link": review_path(release),
                "stable_branch": branch,
                "release": release,
                "kind": "update",
                "read_from": review["read_from"],  # "changelog" (the released update) or "review thread" (the -rc)
                "counts": {"security": review["security"], "bugfix": review["bugfix"], "enhancement": review["enhancement"]},
            }
        )
        shown, rest = highlights(entries_as_of(db, release, load_review(db, release), end), limit)
        for entry in shown:
            items.append(
                {
                    "text": f"{release} {entry_line(entry)}",
                    "link": review_path(release),
                    "stable_branch": branch,
                    "release": release,
                    "kind": "security",
                    "number": entry["number"],
                    "cves": entry["cves"],
                }
            )
        if rest:
            items.append(
                {
                    "text": f"{release}: {counted(rest, 'more security-related fix', 'more security-related fixes')} on the review page.",
                    "link": review_path(release),
                    "stable_branch": branch,
                    "release": release,
                    "kind": "more",
                    "count": rest,
                }
            )
    for erratum in errata:
        said = "had flagged it security-related" if erratum["category"] == "security" else f"had classed it {erratum['category']}"
        items.append(
            {
                "text": (
                    f"Erratum: {erratum['release']} #{erratum['number']} ({erratum['subject']}) received "
                    f"{erratum['cve']}; the review {said}."
                ),
                "link": review_path(erratum["release"]),
                "stable_branch": _branch(erratum["release"]),
                "release": erratum["release"],
                "kind": "erratum",
                "cve": erratum["cve"],
                "found_at": erratum["found_at"],
            }
        )
    rows = scorecard_as_of(db, end)
    if rows:
        items.append({"text": scorecard_line(scorecard_totals(rows)), "link": SCORECARD_PATH, "kind": "scorecard"})
    return Section(
        key="stable",
        title="Stable updates",
        intro=("The security-related fixes of each stable update are listed (those with a CVE id first, "
               "then the surest); every patch is on the update's review page."),
        items=items,
        order=30,
        template="stable_section.html",
    )


def cve_known(cve: str, end: str) -> bool:
    """Whether a CVE id can have been known before `end` (ISO date): CVE-2024-1234 did not exist in 2021.

    The id's year is when it was reserved, so this is a bound, not the
    publication day; errata found on or after `end` are left out besides.
    """
    m = re.match(r"CVE-(\d{4})-", cve or "")
    return not m or int(m.group(1)) <= int(end[:4])


def _late_errata(db, end: str) -> set[tuple[str, int, str]]:
    """(release, number, cve) of the CVEs linked to a reviewed patch on or after `end`."""
    if not db["stable_review_errata"].exists():
        return set()
    return {(r[0], r[1], r[2]) for r in db.execute(
        "select release, number, cve from stable_review_errata where found_at >= ?", [end])}


def entries_as_of(db, release: str, entries: list[dict], end: str) -> list[dict]:
    """A review's entries with only the CVE ids a week ending on `end` could name (the store keeps today's)."""
    late = _late_errata(db, end)
    return [{**e, "cves": [c for c in e.get("cves") or [] if cve_known(c, end) and (release, e["number"], c) not in late]}
            for e in entries]


def scorecard_as_of(db, end: str) -> list[dict]:
    """The scorecard rows an edition ending on `end` may print: reviews of before `end`, CVEs known by then.

    scorecard() grades every review against today's CVE data; a 2021 edition
    must not count a CVE of 2024. Counts are summed in SQL; only the few
    patches with a CVE are read one by one.
    """
    import json

    late = _late_errata(db, end)
    where = "cves_checked_at is not null and series_date < ?"
    rows: dict[str, dict] = {}
    for r in db.query(
        "select release, branch, max(series_date) as series_date, count(*) as patches, sum(category = 'security') as flagged"
        f" from stable_review_verdicts where {where} group by release order by series_date, release", [end]):
        rows[r["release"]] = {**r, "with_cve": 0, "flagged_with_cve": 0, "flagged_without_cve": r["flagged"] or 0}
    for release, number, category, cves_json in db.execute(
        f"select release, number, category, cves_json from stable_review_verdicts where {where} and cves_json != '[]'", [end]):
        if not any(cve_known(c, end) and (release, number, c) not in late for c in json.loads(cves_json or "[]")):
            continue
        row = rows[release]
        row["with_cve"] += 1
        if category == "security":
            row["flagged_with_cve"] += 1
            row["flagged_without_cve"] -= 1
    for row in rows.values():
        row["missed"] = row["with_cve"] - row["flagged_with_cve"]
    return list(rows.values())


def _branch(release: str) -> str:
    from .store import branch_of

    return branch_of(release)


def index_page(reviews: list[dict]) -> Page:
    """The stable/ index (a nav entry): every reviewed update by branch, newest branch and update first."""
    from tracker.api import version_sort_key

    branches: dict[str, list[dict]] = {}
    for review in sorted(reviews, key=lambda r: version_sort_key(r["release"]), reverse=True):
        link = review_path(review["release"]).split("/", 1)[1]
        branches.setdefault(review["branch"], []).append(dict(review, link=link))
    ordered = sorted(branches.items(), key=lambda item: version_sort_key(item[0]), reverse=True)
    return Page(path="stable/index.html", template="stable_index.html", title="Stable reviews",
                context={"branches": [{"name": name, "reviews": rows, "feed": branch_feed_path(name)} for name, rows in ordered]})


def branch_feeds(reviews: list[dict], entries_of: dict[str, list[dict]]) -> list[Feed]:
    """One Atom feed per stable branch (stable/6.1.xml): each review is an entry with its security-related fixes.

    A distribution's security team follows the branches it ships, not the weekly edition.
    """
    from html import escape

    feeds: dict[str, list[dict]] = {}
    for review in reviews:  # oldest first
        release, entries = review["release"], entries_of[review["release"]]
        flagged = [e for e in entries if e["category"] == "security"]
        items = "".join(f"<li>{escape(entry_line(e))}</li>" for e in flagged)
        feeds.setdefault(review["branch"], []).append({
            "id": release,
            "title": f"Stable review: {release} ({counted(len(entries), 'patch', 'patches')}, {len(flagged)} security-related)",
            "link": review_path(release),
            "updated": review["series_date"] or review["reviewed_at"] or "",
            "content": f"<p>{escape(conclusions(release, entries))}</p>" + (f"<ul>{items}</ul>" if items else ""),
        })
    return [Feed(path=branch_feed_path(branch), title=f"Stable reviews: {branch}", entries=entries[-FEED_REVIEWS:])
            for branch, entries in feeds.items()]


def branch_feed_path(branch: str) -> str:
    return f"stable/{branch}.xml"


def stable_pages(db) -> list[Page | Feed]:
    """Return a page per reviewed update, the stable/ index, the scorecard page and a feed per branch."""
    if not db["stable_review_verdicts"].exists():
        return []
    pages = []
    reviews = list_reviews(db)
    entries_of = {}
    for review in reviews:
        release = review["release"]
        entries = entries_of[release] = load_review(db, release)
        groups = [
            {"key": key, "title": title,
             "entries": [dict(e, line=entry_line(e), unnamed_cves=unnamed_cves(e)) for e in entries if e["category"] == key]}
            for key, title in SECTION_TITLES
        ]
        pages.append(
            Page(
                path=review_path(release),
                template="stable_review.html",
                title=f"Stable review: {release}",
                context={
                    "release": release,
                    "branch": review["branch"],
                    "series_date": review["series_date"],
                    "from_changelog": review["read_from"] == "changelog",
                    "patch_count": len(entries),
                    "counts": counts_of(entries),
                    "groups": groups,
                    "conclusions": conclusions(release, entries),
                    "feed": branch_feed_path(review["branch"]),
                },
            )
        )
    pages.append(index_page(reviews))
    pages += branch_feeds(reviews, entries_of)
    rows = scorecard(db)
    pages.append(
        Page(
            path=SCORECARD_PATH,
            template="stable_scorecard.html",
            title="Stable review scorecard",
            context={
                "rows": [dict(r, link=review_path(r["release"]).split("/", 1)[1]) for r in rows],
                "totals": scorecard_totals(rows),
                "summary": scorecard_line(scorecard_totals(rows)) if rows else "",
                "reviews": [dict(r, link=review_path(r["release"]).split("/", 1)[1]) for r in reviews],
            },
        )
    )
    return pages
