"""Generate the reference parts of docs/cli.md and docs/config.md from the code (run by cog).

    cog -r -I docs docs/cli.md docs/config.md      # rewrite after changing commands or config
    cog --check -I docs docs/cli.md docs/config.md # what tests/test_docs_generated.py runs

Only the built-in plugins are documented, so an installed third-party plugin
never changes the output.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import click


def _app():
    from tracker.testing import make_app

    return make_app(Path(tempfile.mkdtemp(prefix="ktrack-docs-")) / "docs.db")


def _commands(group: click.Group, prefix: str = "ktrack"):
    for name in sorted(group.commands):
        command = group.commands[name]
        yield f"{prefix} {name}", command
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix} {name}")


def cli_reference() -> str:
    """Return one section per command: its --help output, as `ktrack CMD --help` prints it."""
    from click.testing import CliRunner

    from tracker.cli import build_cli

    app = _app()
    group = build_cli(app)
    out = []
    for path, _ in _commands(group):
        args = path.split()[1:] + ["--help"]
        result = CliRunner().invoke(group, args, obj=app, terminal_width=100, prog_name="ktrack")
        if result.exit_code != 0:
            raise RuntimeError(f"{path} --help failed: {result.output}")
        out += [f"## {path}", "", "```", result.output.rstrip(), "```", ""]
    return "\n".join(out)


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


def _what(spec) -> str:
    """Say what a key accepts beyond its default's type: a Setting's type when unset, its choices."""
    from tracker.config import Setting, _expected

    if not isinstance(spec, Setting):
        return ""
    if spec.choices:
        return "one of " + ", ".join(_toml_value(c) for c in spec.choices)
    if spec.expected:
        return spec.expected
    if spec.type is not None:
        return _expected(spec.types(), spec.item_types())
    return ""


def _toml_table(name: str, table: dict, schema: dict | None = None) -> list[str]:
    from tracker.config import defaults_of

    schema = schema if schema is not None else table
    lines = [f"[{name}]"]
    nested = []
    for key, spec in schema.items():
        value = defaults_of(spec)
        what = _what(spec)
        if isinstance(value, dict) and value:
            nested.append((f"{name}.{key}", spec))
        elif value is None:
            lines.append(f"# {key} = ...  ({what + '; ' if what else ''}not set by default)")
        else:
            lines.append(f"{key} = {_toml_value(value)}" + (f"  # {what}" if what else ""))
    for sub, spec in nested:
        lines += [""] + _toml_table(sub, spec)
    return lines


def config_reference() -> str:
    """Return every config table with its default values, core tables first, then each plugin's."""
    from tracker.config import CORE_SCHEMA

    app = _app()
    app.config  # built and checked, as at every start
    out = ["```toml"]
    top = _toml_table("", {k: v for k, v in CORE_SCHEMA.items() if not isinstance(v, dict)})[1:]
    out += top + [""]
    for key, value in CORE_SCHEMA.items():
        if isinstance(value, dict) and key != "plugins":
            out += _toml_table(key, value) + [""]
    for name, schema in sorted(app.config_schemas.items()):
        out += _toml_table(f"plugins.{name}", {"enabled": True, **schema}) + [""]
    out[-1] = "```"
    return "\n".join(out)
