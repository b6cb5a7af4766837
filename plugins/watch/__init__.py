"""Watched topics: every series that touches your files, names your subsystem, says your words or comes from your people.

A maintainer, or a reader following one driver, wants each series about it
however the edition categorises it. Each `[plugins.watch.topics.<slug>]`
table says what to look for; any one rule matching is enough:

    [plugins.watch.topics.landlock]
    title = "Landlock"
    paths = ["security/landlock/", "include/uapi/linux/landlock*.h"]  # as MAINTAINERS F: ("/" at the end: all below)
    maintainers = ["LANDLOCK SECURITY MODULE"]  # an entry's F:/X:/N: lines ([plugins.categories] maintainers file)
    prefixes = ["landlock"]        # subjects "landlock: ...", "selftests/landlock: ..."
    words = ["landlock"]           # whole words in a subject, a message, or a diff's changed lines
    people = ["mic@digikod.net"]   # authors' addresses

The edition gets a "Watched topics" section, the site a page per topic, and
`ktrack watch` lists the matches with the rule that caught each. Matching is
done when asked, over what is stored, so a topic added today also finds the
series of past weeks, and a topic removed leaves nothing behind.

The hooks live here; topics.py reads the config, matching.py finds the series.
"""

from __future__ import annotations

from pathlib import Path

import click

from tracker import hookimpl
from tracker.api import plugin_config
from tracker.api import KtrackError

# Its edition sections read the week's own mail and series, whole-store tables and mail they
# name by Message-ID, nothing else: the edition cache may reuse them (tracker/edition_cache.py).
edition_inputs = "week"

from .matching import watched_series
from .topics import PLUGIN, lore_query, rules_sentence, topics

PAGE_LIMIT = 200  # series per topic page, newest first
FEED_LIMIT = 50  # entries per topic feed


@hookimpl
def config_defaults():
    return {
        # {slug: {title, paths, prefixes, words, people}}; see the module docstring.
        "topics": {},
        # Also ask lore for each topic's series of the last lore_days days (one search source per topic),
        # so a topic is followed on every list, not only on those polled.
        "lore_search": True,
        "lore_days": 14,
    }


@hookimpl
def check_config(config):
    topics(config)


@hookimpl
def register_sources(register, config):
    settings = plugin_config(config, PLUGIN)
    if not settings["lore_search"]:
        return
    try:
        from tracker.plugins.lore import LoreQuerySource
    except ImportError:  # the lore plugin is not installed or disabled
        return
    for slug, topic in topics(config).items():
        query = lore_query(topic)
        if query:
            register(LoreQuerySource(f"lore-query:watch:{slug}", query, days=int(settings["lore_days"])))


@hookimpl
def edition_sections(edition, db, config):
    from tracker.api import Section

    items = []
    for topic in topics(config).values():
        found = watched_series(db, topic, since=edition["start"], until=edition["end"])
        items += reversed(found)  # oldest first reads like the week went
    if not items:
        return []
    return [Section(key="watch", title="Watched topics", items=items, order=20, template="watch_section.html",
                    intro="Series on the topics this tracker is set to watch.")]


@hookimpl
def claim_series(edition, db, config):
    """The watched series are told in "Watched topics"; "Patches and updates" leaves them out."""
    keys = []
    for topic in topics(config).values():
        keys += [item["series_key"] for item in watched_series(db, topic, since=edition["start"], until=edition["end"])]
    return keys


@hookimpl
def site_pages(db, config):
    from tracker.api import Feed, Page

    configured = topics(config)
    if not configured:
        return []
    pages, index = [], []
    for slug, topic in configured.items():
        found = watched_series(db, topic)
        index.append({"text": f"{topic['title']}: {len(found)} series", "link": f"watch/{slug}.html"})
        pages.append(Page(path=f"watch/{slug}.html", template="page.html", title=f"Watched: {topic['title']}",
                          context={"intro": rules_sentence(topic), "feed": f"watch/{slug}.xml",
                                   "items": [{**i, "text": f"{(i['date'] or '')[:10]}: {i['text']}"} for i in found[:PAGE_LIMIT]]}))
        pages.append(Feed(path=f"watch/{slug}.xml", title=f"Watched: {topic['title']}",
                          entries=[feed_entry(i) for i in found[:FEED_LIMIT]]))
    pages.append(Page(path="watch/index.html", template="page.html", title="Watched",
                      context={"intro": "The topics this tracker is set to watch, with every series seen on each.", "items": index}))
    return pages


def feed_entry(item: dict) -> dict:
    """A watched series as an Atom entry: a reader subscribes to one topic and hears of each new series."""
    from html import escape

    why = "".join(f"<li>{escape(w)}</li>" for w in item["why"])
    return {"id": item["series_key"], "title": f"{item['author']}: {item['subject']}", "link": item["link"],
            "updated": item["date"] or "", "content": f"<p>{escape(item['text'])}</p><ul>{why}</ul>"}


@hookimpl
def template_dirs():
    return [str(Path(__file__).parent / "templates")]


@hookimpl
def register_commands(cli):
    from tracker.api import print_json

    @cli.command(name="watch")
    @click.argument("names", nargs=-1, metavar="[TOPIC]...")
    @click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="Only series from this date on (YYYY-MM-DD).")
    @click.option("--json", "as_json", is_flag=True, help="Output JSON.")
    @click.pass_obj
    def watch_command(app, names, since, as_json):
        """List the series of each watched topic ([plugins.watch.topics.*]), newest first, with why each matched.

        Example: ktrack watch landlock --since 2021-11-01 --json
        """
        configured = topics(app.config)
        if not configured:
            raise KtrackError("no watched topics: add a [plugins.watch.topics.NAME] table to the config (see docs/config.md)")
        unknown = [n for n in names if n not in configured]
        if unknown:
            raise KtrackError(f"{unknown[0]}: no such watched topic (configured: {', '.join(configured)})")
        chosen = [configured[n] for n in names] if names else list(configured.values())
        found = {t["slug"]: watched_series(app.db, t, since=since.date().isoformat() if since else None) for t in chosen}
        if as_json:
            print_json(found)
            return
        for topic in chosen:
            click.echo(f"{topic['title']} ({len(found[topic['slug']])} series)")
            for item in found[topic["slug"]]:
                click.echo(f"  {(item['date'] or '')[:10]}  {item['text']}")
