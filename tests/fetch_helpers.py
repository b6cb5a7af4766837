"""Helpers shared by the fetch/source tests: a config pointing sources at a local server."""

from pathlib import Path

FAST_HTTP = """
[plugins.fetch]
timeout = 3.0
retries = 1
backoff = 0.01
max_retry_after = 2.0
host_delay = 0.0
"""


def configure(app, tmp_path: Path, toml: str) -> None:
    """Write `toml` (plus fast HTTP settings) as the app's config file before anything reads it."""
    path = tmp_path / "ktrack-test.toml"
    path.write_text(FAST_HTTP + toml)
    app.config_path = path


def kernelorg_config(httpserver) -> str:
    return f"""
[plugins.kernelorg]
releases_url = "{httpserver.url_for('/releases.json')}"
feed_url = "{httpserver.url_for('/feeds/kdist.xml')}"
"""


def register_source(app, source) -> None:
    """Add one Source to the app's plugin host, as a plugin's register_sources hook would."""
    from tracker import hookimpl

    class OneSource:
        @hookimpl
        def register_sources(self, register, config):
            register(source)

    app.host.pm.register(OneSource(), name=f"test-source-{source.name}")
