"""Every hook a ktrack plugin can implement: one screen, one sentence each.

Plugins import `hookimpl` from `tracker` and implement any subset of these.
docs/plugins.md documents each one with an example; a test keeps the two in step.
The host calls them through pluggy (`pm.hook.NAME(...)`), so wrappers, tryfirst/
trylast and firstresult work as pluggy documents; an implementation that raises is
reported once per run against its plugin and counts as answering None.
"""

import pluggy

hookspec = pluggy.HookspecMarker("ktrack")
hookimpl = pluggy.HookimplMarker("ktrack")


@hookspec
def register_commands(cli):
    """Add click commands or groups to the `ktrack` click group `cli`."""


@hookspec
def register_migrations(register):
    """Call register(migrations) with a sqlite_utils.Migrations set that creates this plugin's tables."""


@hookspec
def config_defaults():
    """Return this plugin's `[plugins.<name>]` defaults, which are its schema too (tracker.config.Setting where a default cannot say the type or allowed values); other keys, other types are errors."""


@hookspec
def check_config(config):
    """Raise tracker.errors.KtrackError naming the key if this plugin's table (plugin_config(config, name)) cannot be used for a reason its schema cannot say."""


@hookspec
def register_sources(register, config):
    """Call register(source) for each tracker.sources.Source this plugin provides under `config`."""


@hookspec
def analyze_series(series, db, config, host):
    """Return a list of tracker.findings.Finding for one stored patch series (a dict with its patches); write nothing: the host stores them."""


@hookspec
def store_analysis(series, db, config, host):
    """Write this plugin's own tables for one stored patch series (e.g. a stable review's verdicts), after analyze_series; return nothing."""


@hookspec
def after_analyze(db, config, host, full):
    """Do cross-series work (lineage, merged-in releases, CVE errata) once a run's analysis is done; `full` for `analyze --all`."""


@hookspec(firstresult=True)
def stable_patch_verdict(patch, release):
    """Return a Verdict for this stable patch (a dict), or None to let others decide; first result wins."""


@hookspec(firstresult=True)
def series_category(series, config):
    """Return the "Patches and updates" category slug of a series (a dict), or None to let others decide."""


@hookspec
def edition_sections(edition, db, config):
    """Return a list of tracker.edition.Section (plain data) for one weekly edition (a dict)."""


@hookspec
def site_pages(db, config):
    """Return a list of tracker.pages.Page to add to the static site (path, template, context)."""


@hookspec
def template_dirs():
    """Return directories of Jinja2 templates that override or add to the default theme."""


@hookspec
def edition_discussions(edition, db, config):
    """Return rankings [{"message_id": thread root, "score": number, "why": text}] to add to the week's discussions."""


@hookspec
def claim_series(edition, db, config):
    """Return the series_keys this plugin's own section shows this week, so "Patches and updates" does not repeat them."""
