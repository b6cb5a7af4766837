"""`ktrack stable list | scorecard | errata | cve`: what the stored reviews say, for scripts and security teams.

A distribution's security team asks other questions than an editor: which
updates have been reviewed, which stable release carries the fix for a CVE,
what did the review miss once the CVEs arrived, and how far the verdicts can
be trusted. Each command answers one of them from the stored reviews, in
plain text or, with --json, in a shape scripts can rely on.
"""

from __future__ import annotations

import re

import click

from tracker.api import KtrackError

CVE_ID = re.compile(r"^CVE-\d{4}-\d{4,}$", re.I)


def patches_fixing(db, cve: str) -> list[dict]:
    """Return the reviewed patches linked to `cve`, oldest update first, with what the review had said."""
    if not db["stable_review_verdicts"].exists():
        return []
    return list(db.query(
        "select v.release, v.branch, v.number, v.subject, v.upstream_commit, v.category, v.score, "
        "v.series_date, v.cve_match, e.found_at as erratum_found_at "
        "from stable_review_verdicts v join json_each(v.cves_json) j "
        "left join stable_review_errata e on e.release = v.release and e.number = v.number and e.cve = j.value "
        "where upper(j.value) = ? order by v.series_date, v.release, v.number",
        [cve.upper()],
    ))


def verdict_words(category: str) -> str:
    return "flagged security-related" if category == "security" else f"reviewed as {category}"


def add_report_commands(group: click.Group) -> None:
    from tracker.api import print_json

    @group.command(name="list")
    @click.option("--branch", help="Only this stable branch, e.g. 6.1.")
    @click.option("--json", "as_json", is_flag=True, help="Output JSON.")
    @click.pass_obj
    def list_command(app, branch, as_json):
        """List the stable updates reviewed so far, newest first, with their counts.

        Example: ktrack stable list --branch 6.1 --json
        """
        from .store import list_reviews

        rows = list_reviews(app.db, branch=branch)[::-1]  # newest first, as every listing
        if as_json:
            print_json(rows)
            return
        if not rows:
            click.echo("No stable reviews stored yet: run `ktrack stable review VERSION --fetch` or `ktrack run`.")
        for r in rows:
            click.echo(
                f"{r['release']:<12} {(r['series_date'] or '')[:10]:<10}  {r['patches']:>4} patches: "
                f"{r['security']} security, {r['bugfix']} bug fixes, {r['enhancement']} enhancements"
                + (f"; {r['with_cve']} with CVE ids" if r["with_cve"] else "")
                + (" (from its ChangeLog)" if r["read_from"] == "changelog" else "")
            )

    @group.command(name="scorecard")
    @click.option("--json", "as_json", is_flag=True, help="Output JSON.")
    @click.pass_obj
    def scorecard_command(app, as_json):
        """Grade past reviews against the CVEs assigned since: caught, missed and false alarms per update.

        Only updates whose patches have been checked against a CVE source
        ([plugins.stable_review] vulns_path or cve_jsonl) are graded.
        Example: ktrack stable scorecard --json
        """
        from .sections import scorecard_line
        from .store import scorecard, scorecard_totals

        rows = scorecard(app.db) if app.db["stable_review_verdicts"].exists() else []
        totals = scorecard_totals(rows)
        if as_json:
            print_json({"totals": totals, "updates": rows})
            return
        if not rows:
            click.echo("No CVE data yet: set [plugins.stable_review] vulns_path or cve_jsonl, then run `ktrack analyze`.")
            return
        for r in rows:
            click.echo(
                f"{r['release']:<12} {r['patches']:>4} patches, {r['with_cve']} later CVE'd, "
                f"{r['flagged_with_cve']} of them flagged, {r['missed']} missed, {r['flagged_without_cve']} flagged without CVE"
            )
        click.echo(scorecard_line(totals))

    @group.command(name="errata")
    @click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="Only errata found on or after this date (YYYY-MM-DD).")
    @click.option("--json", "as_json", is_flag=True, help="Output JSON.")
    @click.pass_obj
    def errata_command(app, since, as_json):
        """List CVEs that arrived after their patch was reviewed, and what the review had said.

        Example: ktrack stable errata --since 2024-12-01
        """
        from .store import errata_between

        rows = errata_between(app.db, since.date().isoformat() if since else "")
        if as_json:
            print_json(rows)
            return
        if not rows:
            click.echo("No errata.")
        for r in rows:
            click.echo(f"{r['found_at'][:10]}  {r['cve']}  {r['release']} #{r['number']}: {r['subject']} ({verdict_words(r['category'])})")

    @group.command(name="cve")
    @click.argument("cves", nargs=-1, required=True, metavar="CVE-ID...")
    @click.option("--json", "as_json", is_flag=True, help="Output JSON.")
    @click.pass_obj
    def cve_command(app, cves, as_json):
        """Show which reviewed stable updates carry the fix for each CVE, and the review's verdict.

        Exits with status 1 when a CVE is in no reviewed update.
        Example: ktrack stable cve CVE-2024-50012 --json
        """
        bad = [c for c in cves if not CVE_ID.match(c)]
        if bad:
            raise KtrackError(f"{bad[0]}: not a CVE id (expected CVE-YYYY-NNNN)")
        found = [{"cve": c.upper(), "patches": patches_fixing(app.db, c)} for c in cves]
        if as_json:
            print_json(found)
        else:
            for item in found:
                if not item["patches"]:
                    click.echo(f"{item['cve']}: in no reviewed stable update")
                for p in item["patches"]:
                    later = f", CVE found {p['erratum_found_at'][:10]}" if p["erratum_found_at"] else ""
                    click.echo(f"{item['cve']}: {p['release']} #{p['number']}: {p['subject']} ({verdict_words(p['category'])}{later})")
        if any(not item["patches"] for item in found):
            raise SystemExit(1)
