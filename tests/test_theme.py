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


def test_compiled_templates_are_kept_between_runs_and_an_edited_template_is_read_again(tmp_path, monkeypatch):
    """The theme compiles once per change, not once per build (issue 19); a template edit still shows."""
    from tracker.theme import make_environment

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    theme = tmp_path / "theme"
    theme.mkdir()
    page = theme / "page.html"
    page.write_text("first {{ x }}", encoding="utf-8")
    assert make_environment([theme]).get_template("page.html").render(x=1) == "first 1"
    kept = list((tmp_path / "cache" / "ktrack" / "templates").iterdir())
    assert len(kept) == 1
    compiled = kept[0].read_bytes()
    page.write_text("second {{ x }}", encoding="utf-8")
    assert make_environment([theme]).get_template("page.html").render(x=2) == "second 2"
    assert kept[0].read_bytes() != compiled  # compiled anew, and kept


def test_a_broken_or_unwritable_template_cache_is_no_cache(tmp_path, monkeypatch):
    from tracker.theme import make_environment

    theme = tmp_path / "theme"
    theme.mkdir()
    (theme / "page.html").write_text("hello {{ x }}", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    make_environment([theme]).get_template("page.html")
    for kept in (tmp_path / "cache" / "ktrack" / "templates").iterdir():
        kept.write_bytes(kept.read_bytes()[:30])  # cut short, as a full disk leaves it
    assert make_environment([theme]).get_template("page.html").render(x=1) == "hello 1"
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache directory would be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    assert make_environment([theme]).get_template("page.html").render(x=2) == "hello 2"


# The item_words macro as it was written in Jinja before item_html took its place (issue 19).
OLD_ITEM_WORDS = """{% macro item_words(item, root) -%}
{% if item['parts'] %}{% for part in item['parts'] %}{% set url = part['link'] | href(root) %}{% if url %}<a href="{{ url }}">{{ part['text'] }}</a>{% else %}{{ part['text'] }}{% endif %}{% endfor %}
{%- else %}{% set url = item['link'] | href(root) %}{% if url %}<a href="{{ url }}">{{ item['text'] }}</a>{% else %}{{ item['text'] }}{% endif %}{% endif %}
{%- endmacro %}{{ item_words(item, root) }}"""


def test_item_html_says_what_the_jinja_macro_said():
    from markupsafe import Markup

    from tracker.theme import item_html, make_environment, template_search_path

    class Obj:
        text = "as attribute <b>"
        link = "releases/6.1.html"

    env = make_environment(template_search_path())
    old = env.from_string(OLD_ITEM_WORDS)
    items = [
        {"text": "Dev 1: mm: fix <x> & y (2 patches)", "link": "https://lore.kernel.org/r/a&b@x"},
        {"text": "no link"}, {"text": None}, {}, {"link": "https://lore.kernel.org/r/only"},
        {"text": "unsafe", "link": "javascript:alert(1)"}, {"text": "up", "link": "../../etc/passwd"},
        {"text": "site", "link": "releases/6.1.html#top"}, {"text": Markup("<em>kept</em>"), "link": None},
        {"text": 42, "link": ""}, {"parts": [], "text": "empty parts", "link": "stable/6.1.1.html"},
        {"parts": [{"text": "Dev 19: ", "link": None}, {"text": "x \"quoted\"", "link": "https://lore.kernel.org/r/q\"x"},
                   {"text": " (v2)"}, {"link": "https://lore.kernel.org/r/nolabel"}, "a string part", Obj()],
         "text": "whole", "link": "https://lore.kernel.org/r/whole"},
        Obj(), "a bare string item",
    ]
    for root in ("", "../"):
        for item in items:
            assert str(item_html(item, root)) == old.render(item=item, root=root), item


# The item_list macro as it was written in Jinja before item_list_html took its place (issue 19).
OLD_ITEM_LIST = """{% from "_macros.html" import item_quote %}{% macro item_list(items, root) %}
<ul class="items">
{% for item in items %}
  <li>{{ item_html(item, root) }}
  {{ item_quote(item) if item['quote'] else '' }}
  {% if item['excerpt'] %}<p class="excerpt">{{ item['excerpt'] }}</p>{% endif %}
  </li>
{% endfor %}
</ul>
{% endmacro %}{{ item_list(items, root) }}"""


def test_item_list_html_says_what_the_jinja_macro_said():
    from markupsafe import Markup

    from tracker.theme import make_environment, template_search_path

    class Obj:
        text = "object <item>"
        quote = "quoted by attribute"
        quote_by = "Linus Torvalds wrote:"

    env = make_environment(template_search_path())
    old = env.from_string(OLD_ITEM_LIST)
    new = env.from_string('{% from "_macros.html" import item_list %}{{ item_list(items, root) }}')
    items = [
        {"text": "plain"}, {"text": "with <excerpt>", "excerpt": "It's <b>bold</b> & \"quoted\""},
        {"text": "release", "link": "releases/6.1.html", "quote": "Things look normal.", "quote_by": "Linus says:",
         "quote_link": "<CAHk-=abc@mail.gmail.com>"},
        {"text": "empty quote", "quote": "", "excerpt": None}, {"text": "kept", "excerpt": Markup("<em>safe</em>")},
        {"parts": [{"text": "Dev: "}, {"text": "x", "link": "https://lore.kernel.org/r/x@y"}], "excerpt": 0},
        Obj(), "a bare string",
    ]
    for root in ("", "../"):
        assert new.render(items=items, root=root) == old.render(items=items, root=root)
        assert new.render(items=[], root=root) == old.render(items=[], root=root)
