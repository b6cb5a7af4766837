"""Render an edition as the weekly digest: Markdown, plain text, HTML or JSON.

The edition is plain data (tracker.edition.assemble_edition); each format is a
view of it. Per-reader filters keep only chosen sections, or the items of
chosen categories or stable branches, so one subscriber can get
"networking + 6.1 only" and a maintainer "release status + watched topics".
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable

from .config import DIGEST_FORMATS as FORMATS
from .theme import section_summary  # the digest's words for a section; templates use it too


def _matches(value: Any, wanted: set[str]) -> bool:
    if isinstance(value, dict):
        value = value.get("name") or value.get("key") or value.get("title")
    if isinstance(value, (list, tuple)):
        return any(_matches(v, wanted) for v in value)
    return str(value).strip().lower() in wanted


def filter_edition(edition: dict, *, categories: Iterable[str] = (), stable: Iterable[str] = (),
                   sections: Iterable[str] = ()) -> dict:
    """Keep only the chosen sections (by key), and items whose "category" / "stable_branch" matches, when the item has that key.

    Items without the key are kept (release status applies to everyone);
    sections left with no items are dropped. A maintainer's digest can be
    `sections=["release-status", "watch"]`: the news and their own topics.
    """
    cats = {c.strip().lower() for c in categories if c and c.strip()}
    branches = {b.strip().lower() for b in stable if b and b.strip()}
    keys = {k.strip().lower() for k in sections if k and k.strip()}
    if not cats and not branches and not keys:
        return edition
    kept = []
    for section in edition.get("sections", []):
        if keys and str(section.get("key", "")).lower() not in keys:
            continue
        items = [
            item
            for item in section["items"]
            if not (cats and item.get("category") not in (None, "") and not _matches(item["category"], cats))
            and not (branches and item.get("stable_branch") not in (None, "") and not _matches(item["stable_branch"], branches))
        ]
        if items or (section.get("intro") and not section["items"]):
            kept.append({**section, "items": items})
    return {**edition, "sections": kept}


def item_url(link: str | None, base_url: str) -> str | None:
    """Return an absolute URL for an item link: http(s) as is, site paths under base_url, else None."""
    if not link:
        return None
    if link.lower().startswith(("http://", "https://")):
        return link
    return base_url + link if base_url else None


# "_" inside a word (process_mrelease) never starts emphasis in CommonMark: leave it readable.
_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")


def md_escape(text: str) -> str:
    """Escape Markdown and inline-HTML syntax so untrusted text stays text, e.g. "<script>" -> "\\<script\\>"."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _with_urls(edition: dict, base_url: str) -> dict:
    sections = []
    for section in edition.get("sections", []):
        items = []
        for item in section["items"]:
            item = {**item, "url": item_url(item.get("link"), base_url)}
            if item.get("parts"):
                item["parts"] = [{**p, "url": item_url(p.get("link"), base_url)} for p in item["parts"]]
            if item.get("quote_link"):  # the announcement mail the quote comes from
                from urllib.parse import quote

                item["quote_url"] = "https://lore.kernel.org/r/" + quote(str(item["quote_link"]).strip("<>"), safe="@!$&'()*+,;=-._~")
            items.append(item)
        sections.append({**section, "items": items})
    return {**edition, "sections": sections}


def _markdown_words(item: dict) -> str:
    """An item in Markdown: prose with its linked words ("parts"), else its text linked whole."""
    if item.get("parts"):
        words = []
        for part in item["parts"]:
            text = part["text"]
            escaped = md_escape(text)
            if part.get("url") and escaped:
                escaped = f"[{escaped}](<{part['url']}>)"
            # md_escape folds whitespace: keep the spaces between parts
            words.append((" " if text[:1].isspace() else "") + escaped + (" " if text[-1:].isspace() else ""))
        return " ".join("".join(words).split())
    text = md_escape(item["text"])
    return f"[{text}](<{item['url']}>)" if item.get("url") else text


def digest_summary(section: dict) -> str:
    """The sentence under a section's heading in the Markdown and text digests, as the site prints it.

    "4 series in 3 categories this week."; the stable section leads with its
    counts: "2 stable updates reviewed this week: 5.15.3 with 4 security-related
    fixes; ...". Counted from the items shown, so a filtered digest stays right.
    The release status says its versions in its own sentences: no summary.
    """
    if section.get("key") == "release-status":
        return ""
    if section.get("key") == "stable":
        updates = [i for i in section.get("items") or [] if i.get("kind") == "update"]
        if not updates:
            return ""
        said = []
        for update in updates:
            security = (update.get("counts") or {}).get("security") or 0
            said.append(f"{update.get('release')} with {security} security-related fix{'es' if security != 1 else ''}")
        count = len(updates)
        return f"{count} stable update{'s' if count != 1 else ''} reviewed this week: {'; '.join(said)}."
    said = section_summary(section)
    if section.get("key") == "discussions" and said:
        replies = sum(i.get("replies") or 0 for i in section.get("items") or [])
        said += f", {replies} repl{'y' if replies == 1 else 'ies'}"
    return f"{said} this week." if said else ""


def _item_summary(item: dict) -> str:
    """An item's own summary line (a feature item's version, review state and replies) when its text does not say it."""
    summary = " ".join(str(item.get("summary") or "").split())
    return summary if summary and summary not in " ".join(str(item.get("text") or "").split()) else ""


def _blank_before(lines: list[str]) -> list[str]:
    """One blank line before a group heading, not a second one after a section heading."""
    return [""] if lines and lines[-1] else []


def render_markdown(edition: dict) -> str:
    lines = [f"# {md_escape(edition['title'])}", ""]
    for section in edition["sections"]:
        lines += [f"## {md_escape(section['title'])}", ""]
        if summary := digest_summary(section):
            lines += [md_escape(summary), ""]
        if section.get("intro"):
            lines += [md_escape(section["intro"]), ""]
        group = None
        for item in section["items"]:
            if item.get("group") and item["group"] != group:
                group = item["group"]
                lines += _blank_before(lines) + [f"### {md_escape(group)}", ""]
            lines.append(f"- {_markdown_words(item)}")
            if summary := _item_summary(item):
                lines.append(f"  {md_escape(summary)}")
            if item.get("quote"):
                lines.append(f"  > {md_escape(item.get('quote_by') or '')} {md_escape(item['quote'])}".rstrip())
            if item.get("excerpt"):
                lines.append(f"  > {md_escape(item['excerpt'])}")
        lines.append("")
    if not edition["sections"]:
        lines += ["No news this week.", ""]
    return "\n".join(lines)


def render_text(edition: dict) -> str:
    title = edition["title"]
    lines = [title, "=" * len(title), ""]
    for section in edition["sections"]:
        lines += [section["title"], "-" * len(section["title"]), ""]
        if summary := digest_summary(section):
            lines += [summary, ""]
        if section.get("intro"):
            lines += [" ".join(section["intro"].split()), ""]
        group = None
        for item in section["items"]:
            if item.get("group") and item["group"] != group:
                group = item["group"]
                lines += _blank_before(lines) + [f"{group}:"]
            lines.append(f"* {' '.join(item['text'].split())}")
            if summary := _item_summary(item):
                lines.append(f"  {summary}")
            if item.get("quote"):
                lines.append(f"  {item.get('quote_by') or ''} \"{' '.join(item['quote'].split())}\"".rstrip())
            if item.get("excerpt"):
                lines.append(f"  \"{' '.join(item['excerpt'].split())}\"")
            if item.get("url"):
                lines.append(f"  {item['url']}")
        lines.append("")
    if not edition["sections"]:
        lines += ["No news this week.", ""]
    return "\n".join(lines)


def render_html(edition: dict, *, fragment: bool = False, env=None) -> str:
    """Render with `env`, the app's theme environment (tracker.theme.app_environment); the default theme without one."""
    if env is None:
        from .theme import make_environment, template_search_path

        env = make_environment(template_search_path())
    return env.get_template("digest.html").render(edition=edition, fragment=fragment)


def render_edition(edition: dict, fmt: str = "markdown", *, base_url: str = "", fragment: bool = False, env=None) -> str:
    """Return the edition rendered as `fmt` (markdown, text, html, json)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown digest format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if base_url and not base_url.endswith("/"):
        base_url += "/"
    if fmt == "json":
        return json.dumps(edition, indent=2, default=str, ensure_ascii=False)
    edition = _with_urls(edition, base_url)
    if fmt == "markdown":
        return render_markdown(edition)
    if fmt == "text":
        return render_text(edition)
    return render_html(edition, fragment=fragment, env=env)
