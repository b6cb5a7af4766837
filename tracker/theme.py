"""The theme: where templates are looked up, and the one Jinja2 environment over them.

The site, the mailed digest and the Atom feeds render through the same
environment, so `[site] template_dir` and the plugins' template_dirs() apply
to all three.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

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


def make_environment(dirs: list[Path]):
    """A Jinja2 environment over `dirs` with autoescape on for every template."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader([jinja2.FileSystemLoader(str(d)) for d in dirs]),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.ChainableUndefined,
    )
    from .edition import safe_link

    def href(link, root=""):
        """Make a safe item link usable from the current page; unsafe links become None."""
        link = safe_link(link)
        if link is None:
            return None
        return link if link.lower().startswith(("http://", "https://")) else root + link

    def lore_url(message_id):
        from urllib.parse import quote

        if not message_id:
            return None
        return "https://lore.kernel.org/r/" + quote(str(message_id).strip("<>"), safe="@!$&'()*+,;=-._~")

    env.filters["href"] = href
    env.filters["lore_url"] = lore_url
    env.filters["day"] = lambda value: (value or "")[:10]
    return env


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
