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
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import click

from tracker import hookimpl
from tracker.errors import KtrackError

PLUGIN = "watch"
RULES = ("paths", "maintainers", "prefixes", "words", "people")
TOPIC_KEYS = {"title", *RULES}
WILDCARD = re.compile(r"[*?]")
SLUG = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
LEADING_BRACKETS = re.compile(r"^\s*(\[[^\]]*\]\s*)+")
PAGE_LIMIT = 200  # series per topic page, newest first


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


def topics(config: dict) -> dict[str, dict]:
    """Return the configured topics, each with every rule as a list; raise KtrackError on a malformed table."""
    table = ((config or {}).get("plugins", {}).get(PLUGIN) or {}).get("topics") or {}
    origin = (config or {}).get("_path") or "config"
    if not isinstance(table, dict):
        raise KtrackError(f"{origin}: plugins.watch.topics must be a table of topics")
    out = {}
    for slug, topic in table.items():
        where = f"plugins.watch.topics.{slug}"
        if not SLUG.match(slug):
            raise KtrackError(f"{origin}: {where}: a topic name is lower-case letters, digits, '-', '_' or '.'")
        if not isinstance(topic, dict):
            raise KtrackError(f"{origin}: {where} must be a table")
        unknown = sorted(set(topic) - TOPIC_KEYS)
        if unknown:
            raise KtrackError(f"{origin}: unknown key {where}.{unknown[0]} (known: {', '.join(sorted(TOPIC_KEYS))})")
        rules = {}
        for rule in RULES:
            value = topic.get(rule) or []
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
                raise KtrackError(f"{origin}: {where}.{rule} must be a list of non-empty strings")
            rules[rule] = [v.strip() for v in value]
        if not any(rules.values()):
            raise KtrackError(f"{origin}: {where} has no rule: give paths, maintainers, prefixes, words or people")
        entries = maintainers_entries(config, rules["maintainers"], f"{origin}: {where}.maintainers")
        out[slug] = {"slug": slug, "title": str(topic.get("title") or slug), **rules, "entries": entries}
    return out


def maintainers_entries(config: dict, names: list[str], where: str) -> list[dict]:
    """Return the MAINTAINERS entries a topic names, as plain dicts of their F:, X: and N: lines.

    The file is the one `[plugins.categories] maintainers` names (parsed once
    while it is unchanged); a name must be an entry's title line, any case.
    """
    if not names:
        return []
    import difflib

    from .categories import maintainers_from_config
    from .categories_maintainers import valid_regexes

    maintainers = maintainers_from_config(config)
    if maintainers is None:
        raise KtrackError(f"{where} needs a local MAINTAINERS file: set [plugins.categories] maintainers")
    by_name = {e.name.upper(): e for e in maintainers.entries}
    out = []
    for name in names:
        entry = by_name.get(name.upper())
        if entry is None:
            near = difflib.get_close_matches(name.upper(), list(by_name), n=1)
            raise KtrackError(f"{where}: no entry {name!r} in the MAINTAINERS file" + (f" (did you mean {near[0]!r}?)" if near else ""))
        out.append({"name": entry.name, "files": list(entry.files), "excludes": list(entry.excludes), "regexes": valid_regexes(entry.regexes)})
    return out


@hookimpl
def check_config(config):
    topics(config)


def lore_query(topic: dict) -> str:
    """Return the lore (public-inbox) search that finds a topic's mail: any rule, as one query.

    Paths are diff file names (dfn:), prefixes subject words (s:), words the
    subject, unquoted message text or changed diff lines, people the From
    header. The stored-mail matching then decides; lore only has to find a superset.
    """
    def quoted(text: str) -> str:
        return '"' + text.replace('"', "") + '"'

    patterns = topic["paths"] + [f for entry in topic.get("entries", []) for f in entry["files"]]
    terms = [f"dfn:{quoted(fixed_part(p))}" for p in dict.fromkeys(patterns) if fixed_part(p)]
    terms += [f"s:{quoted(p)}" for p in topic["prefixes"]]
    for word in topic["words"]:
        terms += [f"{field}:{quoted(word)}" for field in ("s", "nq", "dfb", "dfa")]
    terms += [f"f:{quoted(p)}" for p in topic["people"]]
    return "(" + " OR ".join(terms) + ")" if terms else ""


@hookimpl
def register_sources(register, config):
    settings = config.get("plugins", {}).get(PLUGIN) or {}
    if not settings.get("lore_search", True):
        return
    try:
        from tracker.plugins.lore import LoreQuerySource
    except ImportError:  # the lore plugin is not installed or disabled
        return
    for slug, topic in topics(config).items():
        if lore_query(topic):
            register(LoreQuerySource(f"lore-query:watch:{slug}", lore_query(topic),
                                     days=int(settings.get("lore_days") or 14)))


def prefix_matches(subject: str, prefixes: list[str]) -> str | None:
    """Return the prefix that names the subject's subsystem ("selftests/landlock: ..." for "landlock"), else None."""
    text = LEADING_BRACKETS.sub("", subject or "").strip().lower()
    head = text.split(": ", 1)[0] if ": " in text else ""
    parts = set(re.split(r"[/,\s]+", head.rstrip(":")))
    return next((p for p in prefixes if p.lower() in parts), None)


def changed_lines(diff: str) -> str:
    """Return the added and removed lines of a diff: a word in a context line is not what the patch changes."""
    return "\n".join(line for line in (diff or "").splitlines()
                     if line[:1] in "+-" and not line.startswith(("+++ ", "--- ")))


def mentions(text: str, word: str) -> bool:
    """Whole-word, case-blind; "_" separates words as in the full-text index ("landlock" finds landlock_add_rule)."""
    return re.search(r"(?<![A-Za-z0-9])" + re.escape(word) + r"(?![A-Za-z0-9])", text or "", re.I) is not None


def file_matches(path: str, pattern: str) -> bool:
    """Match as a MAINTAINERS F: line does (get_maintainer.pl): "dir/" takes all below, "*" and "?" are wildcards."""
    from .categories_maintainers import pattern_depth

    return pattern_depth(pattern, path) is not None


def in_entry(path: str, entry: dict) -> bool:
    """Return whether a MAINTAINERS entry covers `path`: an F: line matches and no X: line, or an N: regex does."""
    if any(file_matches(path, p) for p in entry["files"]) and not any(file_matches(path, x) for x in entry["excludes"]):
        return True
    return any(re.search(rx, path) for rx in entry["regexes"])


def fixed_part(pattern: str) -> str:
    """Return what lore can search for a path pattern: the directories before a glob's first wildcard.

    "drivers/net/*/mlx5/" -> "drivers/net/". A glob whose fixed part is a
    single top-level directory ("arch/*/...") returns "": asking lore for all
    of arch/ would fetch far more than the topic.
    """
    match = WILDCARD.search(pattern)
    if match is None:
        return pattern
    fixed = pattern[: pattern.rfind("/", 0, match.start()) + 1]
    return fixed if fixed.count("/") >= 2 else ""


def _reasons(db, topic: dict, since: str | None, until: str | None) -> dict[str, list[str]]:
    """Return {series_key: [why, ...]} for the series in [since, until) that one of the topic's rules catches."""
    from tracker.queries import fts_query

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

    def add(key: str, why: str) -> None:
        if why not in reasons.setdefault(key, []):
            reasons[key].append(why)

    if topic["paths"] or topic.get("entries", []):
        for key, path in db.execute(f"select m.series_key, j.value {frm} join json_each(m.files_json) j {cond}", args):
            if any(file_matches(path, pattern) for pattern in topic["paths"]):
                add(key, f"touches {path}")
            for entry in topic.get("entries", []):
                if in_entry(path, entry):
                    add(key, f"touches {path} ({entry['name']})")
    if topic["prefixes"]:
        for key, subject in db.execute(f"select m.series_key, m.subject {frm} {cond}", args):
            prefix = prefix_matches(subject, topic["prefixes"])
            if prefix:
                add(key, f"{prefix}: in a subject")
    for word in topic["words"]:
        sql = f"select distinct m.series_key {frm} {cond} and m.rowid in (select rowid from messages_fts where messages_fts match ?)"
        for (key,) in db.execute(sql, [*args, fts_query(word)]):  # the index holds subjects and messages
            add(key, f"mentions {word}")
        sql = f"select m.series_key, m.diff {frm} {cond} and instr(lower(m.diff), ?) > 0"
        for key, diff in db.execute(sql, [*args, word.lower()]):
            if f"mentions {word}" not in reasons.get(key, ()) and mentions(changed_lines(diff), word):
                add(key, f"changes {word}")
    for person in topic["people"]:
        for (key,) in db.execute(f"select distinct m.series_key {frm} {cond} and lower(m.author_email) = ?", [*args, person.lower()]):
            add(key, f"from {person}")
    return reasons


def watched_series(db, topic: dict, *, since: str | None = None, until: str | None = None) -> list[dict]:
    """Return the topic's series in [since, until), newest first, each with "why" (the rules that caught it).

    A series posted in several versions within the window is listed once, by
    its newest version, as the edition tells a re-post.
    """
    reasons = _reasons(db, topic, since, until)
    if not reasons:
        return []
    marks = ",".join("?" * len(reasons))
    rows = list(db.query(f"select * from series where series_key in ({marks}) order by date desc, series_key", list(reasons)))
    seen, out = set(), []
    for row in rows:
        lineage = row.get("lineage") or row["series_key"]
        if lineage in seen:
            continue
        seen.add(lineage)
        out.append(_item(row, topic, reasons[row["series_key"]]))
    return out


def _item(row: dict, topic: dict, why: list[str]) -> dict:
    author = row.get("author_name") or row.get("author_email") or "unknown"
    count = row.get("total") or row.get("received") or 1
    version = row.get("version") or 1
    detail = (f"v{version}, " if version > 1 else "") + f"{count} patch" + ("es" if count != 1 else "")
    shown = why[:2] + ([f"{len(why) - 2} more"] if len(why) > 2 else [])
    message_id = (row.get("cover_message_id") or row["series_key"] or "").strip("<>")
    return {
        "text": f"{author}: {row['subject']} ({detail}; {', '.join(shown)})",
        "link": "https://lore.kernel.org/r/" + quote(message_id, safe="@+=$!"),
        "group": topic["title"],
        "topic": topic["slug"],
        "series_key": row["series_key"],
        "subject": row["subject"],
        "author": author,
        "version": version,
        "patch_count": count,
        "date": row.get("date"),
        "why": why,
    }


@hookimpl
def edition_sections(edition, db, config):
    from tracker.edition import Section

    items = []
    for topic in topics(config).values():
        found = watched_series(db, topic, since=edition["start"], until=edition["end"])
        items += reversed(found)  # oldest first reads like the week went
    if not items:
        return []
    return [Section(key="watch", title="Watched topics", items=items, order=20, template="watch_section.html",
                    intro="Series on the topics this tracker is set to watch.")]


@hookimpl
def site_pages(db, config):
    from tracker.pages import Page

    configured = topics(config)
    if not configured:
        return []
    pages, index = [], []
    for slug, topic in configured.items():
        found = watched_series(db, topic)
        index.append({"text": f"{topic['title']}: {len(found)} series", "link": f"watch/{slug}.html"})
        pages.append(Page(path=f"watch/{slug}.html", template="page.html", title=f"Watched: {topic['title']}",
                          context={"intro": rules_sentence(topic),
                                   "items": [{**i, "text": f"{(i['date'] or '')[:10]}: {i['text']}"} for i in found[:PAGE_LIMIT]]}))
    pages.append(Page(path="watch/index.html", template="page.html", title="Watched",
                      context={"intro": "The topics this tracker is set to watch, with every series seen on each.", "items": index}))
    return pages


def rules_sentence(topic: dict) -> str:
    """Say in one sentence what the topic catches, for its page."""
    parts = []
    if topic["paths"]:
        parts.append("touch " + ", ".join(topic["paths"]))
    if topic.get("entries", []):
        parts.append("touch the files of " + ", ".join(e["name"] for e in topic.get("entries", [])) + " in MAINTAINERS")
    if topic["prefixes"]:
        parts.append("have a subject prefix " + ", ".join(topic["prefixes"]))
    if topic["words"]:
        parts.append("mention " + ", ".join(topic["words"]))
    if topic["people"]:
        parts.append("come from " + ", ".join(topic["people"]))
    return "Series that " + " or ".join(parts) + ", newest first."


@hookimpl
def template_dirs():
    return [str(Path(__file__).parent / "templates" / "watch")]


@hookimpl
def register_commands(cli):
    from tracker.cli import print_json

    @cli.command(name="watch")
    @click.argument("names", nargs=-1, metavar="[TOPIC]...")
    @click.option("--since", metavar="DATE", help="Only series from this date on (YYYY-MM-DD).")
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
        if since and not re.match(r"^\d{4}-\d{2}-\d{2}$", since):
            raise KtrackError(f"--since {since}: expected a date as YYYY-MM-DD")
        chosen = [configured[n] for n in names] if names else list(configured.values())
        found = {t["slug"]: watched_series(app.db, t, since=since) for t in chosen}
        if as_json:
            print_json(found)
            return
        for topic in chosen:
            click.echo(f"{topic['title']} ({len(found[topic['slug']])} series)")
            for item in found[topic["slug"]]:
                click.echo(f"  {(item['date'] or '')[:10]}  {item['text']}")
