"""One theme environment (issue 15.5): the site, the mailed digest and the feeds honour [site] template_dir."""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).parent / "data"


def themed_app(app, tmp_path):
    theme = tmp_path / "theme"
    theme.mkdir()
    # an override of the digest template: what a site owner does to brand the mail and the feed
    (theme / "digest.html").write_text("<p>OUR THEME {{ edition.week }}</p>\n", encoding="utf-8")
    config = tmp_path / "config.toml"
    config.write_text(f'[site]\ntemplate_dir = "{theme}"\nbase_url = "https://kt.example.org/"\n', encoding="utf-8")
    app.use_config(config)
    return app


def test_html_digest_uses_the_configured_theme(app, tmp_path, ktrack):
    themed_app(app, tmp_path)
    result = ktrack("digest", "--week", "2006-W05", "--format", "html")
    assert result.exit_code == 0, result.output
    assert "OUR THEME 2006-W05" in result.output


def test_feed_entries_use_the_configured_theme(app, tmp_path, ktrack):
    themed_app(app, tmp_path)
    assert ktrack("import", DATA / "stable-reviews" / "2.6.14.7-review.mbox").exit_code == 0
    out = tmp_path / "site"
    result = ktrack("site", "build", "--out", out, "--no-search")
    assert result.exit_code == 0, result.output
    feed = (out / "feed.xml").read_text(encoding="utf-8")
    assert "OUR THEME" in feed  # each entry's content is the digest, rendered with the site's theme
