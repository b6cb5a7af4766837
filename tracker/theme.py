"""The theme: where templates are looked up, and the one Jinja2 environment over them.

The site, the mailed digest and the Atom feeds render through the same
environment, so `[site] template_dir` and the plugins' template_dirs() apply
to all three.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Iterable

from markupsafe import Markup, escape

from .edition import safe_link
from .errors import KtrackError

PACKAGE_SITE = Path(__file__).resolve().parent.parent / "site"


def theme_dir() -> Path:
    """Return the packaged theme (tracker.site) directory: templates/ and static/."""
    # tracker.site is the site/ folder mapped into the wheel (pyproject package-dir).
    try:
        from importlib.resources import files

        return Path(str(files("tracker.site")))
    except (ImportError, TypeError):
        return PACKAGE_SITE


def template_search_path(*, template_dir: str | Path | None = None, plugin_dirs: Iterable = ()) -> list[Path]:
    """--template-dir / config first, then plugin template_dirs(), then the default theme."""
    dirs = []
    if template_dir:
        path = Path(template_dir).expanduser()
        if not path.is_dir():
            raise KtrackError(f"template directory {path} does not exist")
        dirs.append(path)
    for entry in plugin_dirs:
        for d in entry if isinstance(entry, (list, tuple)) else [entry]:
            if d and Path(d).is_dir():
                dirs.append(Path(d))
    dirs.append(theme_dir() / "templates")
    return dirs


def _bytecode_cache():
    """Compiled templates kept between runs (platformdirs' user cache dir): compiling the theme
    costs more than rendering a week's pages. Jinja2 keys each by its file and checks the source,
    so an edited template compiles again; a cache that cannot be read or written is no cache."""
    import jinja2
    import platformdirs

    class QuietCache(jinja2.FileSystemBytecodeCache):
        def load_bytecode(self, bucket):
            try:
                super().load_bytecode(bucket)
            except Exception:  # noqa: BLE001 - cut short or foreign (pickle, marshal, OS errors): compile anew
                bucket.reset()

        def dump_bytecode(self, bucket):
            try:
                super().dump_bytecode(bucket)
            except OSError:
                pass

    directory = Path(platformdirs.user_cache_dir("ktrack")) / "templates"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return QuietCache(str(directory)) if os.access(directory, os.W_OK) else None


def make_environment(dirs: list[Path]):
    """A Jinja2 environment over `dirs` with autoescape on for every template."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(d)) for d in dirs]),
        bytecode_cache=_bytecode_cache(),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.ChainableUndefined,
    )
    def lore_url(message_id):
        from urllib.parse import quote

        if not message_id:
            return None
        return "https://lore.kernel.org/r/" + quote(str(message_id).strip("<>"), safe="@!$&'()*+,;=-._~")

    env.filters["href"] = href
    env.globals["item_html"] = item_html
    env.globals["item_list_html"] = item_list_html
    env.filters["evidence"] = evidence_words
    env.globals["section_summary"] = section_summary
    env.filters["lore_url"] = lore_url
    env.filters["day"] = lambda value: (value or "")[:10]
    return env


def href(link, root=""):
    """Make a safe item link usable from the current page; unsafe links become None."""
    return _href(link, root) if type(link) is str and type(root) is str else _href_of(link, root)


@lru_cache(maxsize=65536)
def _href(link: str, root: str) -> str | None:
    return _href_of(link, root)


def _href_of(link, root) -> str | None:
    link = safe_link(link)
    if link is None:
        return None
    return link if link.lower().startswith(("http://", "https://")) else root + link


_MISSING = object()


def _field(obj, name: str):
    """obj[name] as a template reads `obj['name']`: a key, else an attribute, else missing."""
    try:
        return obj[name]
    except (AttributeError, TypeError, LookupError):
        return getattr(obj, name, _MISSING)


def _escaped(value) -> str:
    """str(escape(value)), without making a Markup of the plain strings that need no escaping
    (most of an edition's words and links): four of these an item, 23,000 items a build."""
    if type(value) is str and not ("&" in value or "<" in value or ">" in value or '"' in value or "'" in value):
        return value
    return str(escape(value))


def _item_words(item, root: str) -> str:
    parts = item.get("parts", _MISSING) if type(item) is dict else _field(item, "parts")
    if parts is _MISSING or not parts:
        parts = (item,)
    out = []
    for part in parts:
        if type(part) is dict:  # what editions hold; anything else is read as a template would
            link, text = part.get("link"), part.get("text", _MISSING)
        else:
            link, text = _field(part, "link"), _field(part, "text")
        text = "" if text is _MISSING else _escaped(text)
        url = href(link, root) if link and link is not _MISSING else None
        out.append(f'<a href="{_escaped(url)}">{text}</a>' if url else text)
    return "".join(out)


def item_html(item, root: str = ""):
    """An item's words as HTML: its "parts" ([{text, link}]) with the safe links made links, else
    its text, linked whole when it has a safe link; text escaped as `{{ text }}` would be.

    The `item_words` macro of _macros.html, in Python: an edition has a thousand items or more, and
    the template code per item was most of a full build. A theme that wants other markup overrides
    `item_words` and `item_list` in its own _macros.html.
    """
    return Markup(_item_words(item, root))


def item_list_html(items, root: str, quote) -> Markup:
    """The `<ul class="items">` of the default theme's `item_list` macro: each item's words
    (item_html), its quote through the theme's `item_quote` macro (`quote`), and its excerpt.

    Written in Python for the same reason as item_html; a theme's own `item_list` in its
    _macros.html replaces it whole.
    """
    out = ['<ul class="items">\n']
    for item in items:
        if type(item) is dict:
            said, excerpt = item.get("quote"), item.get("excerpt")
        else:
            said, excerpt = _field(item, "quote"), _field(item, "excerpt")
            said, excerpt = (None if said is _MISSING else said), (None if excerpt is _MISSING else excerpt)
        # str() throughout: a str joined to Markup would be escaped
        out.append("  <li>" + _item_words(item, root) + "\n  " + (str(quote(item)) if said else "") + "\n"
                   + ('<p class="excerpt">' + _escaped(excerpt) + "</p>" if excerpt else "") + "  </li>\n")
    out.append("</ul>")
    return Markup("".join(out))


def _counted(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def section_summary(section: dict) -> str:
    """Say in a few words what a section holds, counted from the items it shows: "4 series in 3 categories".

    Counted at render time, so a page of a digest filtered to one category or branch stays right
    (the site's "In this edition" list and section heads use it).
    """
    items = section.get("items") or []
    key = section.get("key")
    if key == "patches":
        groups = {str(i.get("category") or i.get("group") or "") for i in items}
        return f"{_counted(len(items), 'series', 'series')} in {_counted(len(groups), 'category', 'categories')}"
    if key == "discussions":
        return _counted(len(items), "thread", "threads")
    if key == "stable":
        updates = [i for i in items if i.get("kind") == "update"]
        security = sum((i.get("counts") or {}).get("security") or 0 for i in updates)
        return f"{_counted(len(updates), 'update', 'updates')}, {_counted(security, 'security-related fix', 'security-related fixes')}" if updates else ""
    if section.get("template") == "feature_section.html":
        return _counted(len([i for i in items if not i.get("same_story")]), "proposal", "proposals")
    if key == "release-status":
        return next((str(i["version"]) for i in items if i.get("version")), "")
    return _counted(len(items), "item", "items") if len(items) > 1 else ""


_WEIGHED = re.compile(r"^(?P<what>.*?)\s*\((?P<weight>[+-]\d+(?:\.\d+)?)\)$")
_SUBJECT_WORD = re.compile(r"^subject: word '(?P<word>[^']*)'$")


def evidence_words(line: str) -> str | None:
    """Say a classifier's evidence line to a reader, or None when it says nothing.

    "subject: word 'overflow' (+0.82)" -> "the subject says “overflow” (points to a security fix)";
    "subject: word '1' (-0.24)" -> None: a number or a two-letter word is no evidence a person can check.
    """
    text = str(line or "").strip()
    m = _WEIGHED.match(text)
    if not m:
        return text or None
    what, weight = m.group("what"), float(m.group("weight"))
    word = _SUBJECT_WORD.match(what)
    if word:
        value = word.group("word")
        if len(value) < 3 or value.isdigit():
            return None
        what = f"the subject says “{value}”"
    elif what.startswith("subject: "):
        what = "the subject: " + what[len("subject: "):]
    return f"{what} (points {'to' if weight > 0 else 'away from'} a security fix)"


def app_template_dirs(app, template_dir: str | Path | None = None) -> list[Path]:
    """The search path for `app`: --template-dir or `[site] template_dir`, then plugins', then the theme."""
    site_config = app.config.get("site") or {}
    return template_search_path(
        template_dir=template_dir or site_config.get("template_dir"),
        plugin_dirs=app.host.call("template_dirs"),
    )


def app_environment(app, template_dir: str | Path | None = None):
    """The environment the site, the mailed digest and the feeds of `app` render with."""
    return make_environment(app_template_dirs(app, template_dir))
