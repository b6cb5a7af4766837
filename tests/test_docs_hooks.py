"""docs/plugins.md and tracker/hookspecs.py must agree, and every hook must be exercised.

Adding a hook to hookspecs.py fails this test until docs/plugins.md documents it
(a `### name` heading and a `def name(args)` line) and some plugin or test implements it.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from tracker import hookspecs

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "plugins.md"
SIGNATURE = re.compile(r"^def (\w+)\(([^)]*)\)$", re.M)  # no colon: a spec line, not an example


def spec_signatures() -> dict[str, str]:
    """Return {hook name: "arg1, arg2"} of every hookspec."""
    specs = {}
    for name, func in inspect.getmembers(hookspecs, inspect.isfunction):
        if hasattr(func, "ktrack_spec"):
            specs[name] = ", ".join(inspect.signature(func).parameters)
    return specs


def doc_signatures() -> dict[str, str]:
    text = DOC.read_text()
    reference = text[text.index("## 5. Hook reference"):]
    found = {}
    for name, args in SIGNATURE.findall(reference):
        assert name not in found, f"docs/plugins.md documents {name} twice"
        found[name] = ", ".join(a.strip() for a in args.split(",") if a.strip())
    return found


def test_hookspecs_are_found():
    specs = spec_signatures()
    assert "edition_sections" in specs and specs["edition_sections"] == "edition, db, config"
    source = Path(hookspecs.__file__).read_text()
    assert len(specs) == len(re.findall(r"^@hookspec", source, re.M))


def test_docs_list_every_hook_with_its_exact_signature():
    specs, docs = spec_signatures(), doc_signatures()
    missing = sorted(set(specs) - set(docs))
    extra = sorted(set(docs) - set(specs))
    assert not missing, f"hooks not documented in docs/plugins.md: {missing}"
    assert not extra, f"docs/plugins.md documents hooks that do not exist: {extra}"
    wrong = {name: (docs[name], specs[name]) for name in specs if docs[name] != specs[name]}
    assert not wrong, f"signatures differ (docs, hookspecs): {wrong}"


def test_docs_have_a_section_and_example_per_hook():
    text = DOC.read_text()
    for name in spec_signatures():
        heading = f"\n### {name}\n"
        assert heading in text, f"no '### {name}' heading"
        body = text[text.index(heading) + len(heading):]
        body = body.split("\n### ", 1)[0]
        assert "**When:**" in body, f"{name}: say when it runs"
        assert f"def {name}(" in body.replace(f"def {name}(" + spec_signatures()[name] + ")\n", "", 1), \
            f"{name}: give an example implementation"


def test_docs_say_first_result_hooks_stop_at_first_answer():
    text = DOC.read_text()
    for name, func in inspect.getmembers(hookspecs, inspect.isfunction):
        opts = getattr(func, "ktrack_spec", None)
        if opts and opts.get("firstresult"):
            body = text[text.index(f"\n### {name}\n"):].split("\n### ", 2)[1]
            assert "First result wins" in body, name


def _implementations() -> dict[str, list[Path]]:
    """Return, per hook, the files under plugins/, examples/ and tests/ that implement it."""
    found: dict[str, list[Path]] = {name: [] for name in spec_signatures()}
    files = [*ROOT.glob("plugins/**/*.py"), *ROOT.glob("examples/*/**/*.py"), *ROOT.glob("tests/**/*.py")]
    for path in files:
        text = path.read_text(errors="replace")
        for name in found:
            if re.search(rf"@hookimpl[^\n]*\n\s*def {name}\(", text):
                found[name].append(path.relative_to(ROOT))
    return found


@pytest.mark.parametrize("hook", sorted(spec_signatures()))
def test_every_hook_has_an_implementation_and_a_test(hook):
    impls = _implementations()[hook]
    assert impls, f"no @hookimpl of {hook} in plugins/, examples/ or tests/"
    # A test must reach the hook: it implements it, calls it, or tests a plugin module that implements it.
    modules = {p.stem if p.stem != "__init__" else p.parent.name for p in impls if p.parts[0] != "tests"}
    tests_text = "\n".join(p.read_text(errors="replace") for p in [*ROOT.glob("tests/**/*.py"), *ROOT.glob("examples/*/tests/*.py")]
                           if p.name != "test_docs_hooks.py")
    reached = hook in tests_text or any(m in tests_text for m in modules)
    assert reached, f"no test mentions {hook} or a plugin implementing it ({sorted(modules)})"
