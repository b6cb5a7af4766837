"""The stable part of a weekly edition and the site pages: reviews, errata, the scorecard."""

from __future__ import annotations

from tracker.edition import Section
from tracker.pages import Page

from .review import SECTION_TITLES, conclusions, counts_of, entry_line
from .store import errata_between, list_reviews, load_review, scorecard, scorecard_totals

SCORECARD_PATH = "stable/scorecard.html"


def review_path(release: str) -> str:
    return f"stable/{release}.html"


def scorecard_line(totals: dict) -> str:
    """One sentence grading past reviews against the CVEs that arrived since."""
    return (
        f"Scorecard over {totals['updates']} reviewed updates with CVE data: {totals['with_cve']} patches later received "
        f"a CVE, {totals['flagged_with_cve']} of them had been flagged security-related; "
        f"{totals['flagged_without_cve']} flagged patches have no CVE (yet)."
    )


def stable_section(edition: dict, db) -> Section | None:
    """Return the "stable" Section for reviews whose series date is in [start, end), or None if nothing happened."""
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
                    f"{release}: {review['patches']} patches, {review['security']} security-related, "
                    f"{review['bugfix']} other bug fixes, {review['enhancement']} enhancements."
                ),
                "link": review_path(release),
                "stable_branch": branch,
                "release": release,
                "kind": "update",
                "counts": {"security": review["security"], "bugfix": review["bugfix"], "enhancement": review["enhancement"]},
            }
        )
        for entry in load_review(db, release):
            if entry["category"] == "security":
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
    rows = scorecard(db)
    if rows:
        items.append({"text": scorecard_line(scorecard_totals(rows)), "link": SCORECARD_PATH, "kind": "scorecard"})
    return Section(
        key="stable",
        title="Stable updates",
        intro="Each patch of the stable updates reviewed this week, sorted by the stable_review plugin; security-related fixes are listed.",
        items=items,
        order=30,
    )


def _branch(release: str) -> str:
    from .store import branch_of

    return branch_of(release)


def stable_pages(db) -> list[Page]:
    """Return a page per reviewed update plus the scorecard page."""
    if not db["stable_review_verdicts"].exists():
        return []
    pages = []
    reviews = list_reviews(db)
    for review in reviews:
        release = review["release"]
        entries = load_review(db, release)
        groups = [
            {"key": key, "title": title, "entries": [dict(e, line=entry_line(e)) for e in entries if e["category"] == key]}
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
                    "patch_count": len(entries),
                    "counts": counts_of(entries),
                    "groups": groups,
                    "conclusions": conclusions(release, entries),
                },
            )
        )
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
