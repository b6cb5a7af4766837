"""docs/cli.md and docs/config.md embed generated references (cog); they must match the code.

When this fails, regenerate: `cog -r -I docs docs/cli.md docs/config.md`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

cogapp = pytest.importorskip("cogapp", reason="cogapp is in the test extra: pip install -e '.[test]'")


@pytest.mark.parametrize("name", ["cli.md", "config.md"])
def test_generated_reference_is_up_to_date(name, monkeypatch, capsys):
    monkeypatch.delenv("KTRACK_LOAD_PLUGINS", raising=False)
    status = cogapp.Cog().main(["cog", "--check", "-I", str(DOCS), str(DOCS / name)])
    out = capsys.readouterr()
    assert status == 0, f"docs/{name} is stale: run `cog -r -I docs docs/{name}`\n{out.out}{out.err}"


def test_cli_reference_lists_every_command(tmp_path):
    from tracker.cli import build_cli
    from tracker.testing import make_app

    group = build_cli(make_app(tmp_path / "k.db"))
    text = (DOCS / "cli.md").read_text()
    assert set(group.commands) == set(re.findall(r"^## ktrack (\S+)$", text, re.M))


def test_config_doc_explains_every_core_key():
    from tracker.config import CORE_DEFAULTS

    text = (DOCS / "config.md").read_text()
    explained = text[: text.index("## Plugin tables")]
    for key, value in CORE_DEFAULTS.items():
        if key == "plugins":
            names = ["plugins.<name>"]
        elif isinstance(value, dict):
            names = [f"{key}.{sub}" for sub in value]
        else:
            names = [key]
        missing = [name for name in names if f"`{name}`" not in explained]
        assert not missing, f"docs/config.md does not explain {missing}"
