"""The watched topics of the config: checked, expanded (MAINTAINERS entries) and said as a lore search."""

from __future__ import annotations

import re

from tracker.api import config_origin, plugin_config
from tracker.api import KtrackError

PLUGIN = "watch"
RULES = ("paths", "maintainers", "prefixes", "words", "people")
TOPIC_KEYS = {"title", *RULES}
WILDCARD = re.compile(r"[*?]")
SLUG = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


def topics(config: dict) -> dict[str, dict]:
    """Return the configured topics, each with every rule as a list; raise KtrackError on a malformed table."""
    table = plugin_config(config, PLUGIN).get("topics") or {}
    origin = config_origin(config)
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

    from ..categories import maintainers_from_config
    from ..categories_maintainers import valid_regexes

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
