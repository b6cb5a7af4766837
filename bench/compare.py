"""Nothing changes for the reader (issue 19.4): build the same data with two git revisions and compare.

For each revision (a `git worktree` of it in a temporary directory, run with its own code
through PYTHONPATH and this venv's Python and packages), it runs `ktrack run --sample` (the
built-in sample: site, digest) and imports linux-api mail (../shared/data/lists/, the
recorded archive: read from the shared data, not from the repository) one file at a time,
building the site after each (so the last build is an incremental one over new mail), then
writes `ktrack syscalls --json`, `ktrack sysctls --json` and `ktrack series --json`. Every file of the two outputs is compared byte for byte; the differences are named.

    .venv/bin/python bench/compare.py BASE [HEAD] [--year 2021] [--no-lists]

BASE and HEAD are git revisions (HEAD defaults to the working tree itself).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from recorded import announce, recorded  # noqa: E402


def checkout(rev: str, where: Path) -> Path:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-f", str(where), rev],
                   check=True, capture_output=True)
    # pyproject maps plugins/ and site/ into the tracker package; this venv's editable install
    # maps them to ITS tree, so the revision gets its own through links that PYTHONPATH finds first
    for name in ("plugins", "site"):
        if (where / name).is_dir() and not (where / "tracker" / name).exists():
            (where / "tracker" / name).symlink_to(Path("..") / name)
    return where


def working_copy(where: Path) -> Path:
    """The working tree's tracker/, plugins/ and site/ (uncommitted changes included), linked as a checkout is."""
    where.mkdir()
    for name in ("tracker", "plugins", "site"):
        shutil.copytree(ROOT / name, where / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("plugins", "site"):
        (where / "tracker" / name).symlink_to(Path("..") / name)
    return where


def ktrack(code: Path, out: Path, *args: str, stdout: Path | None = None) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KTRACK_")}
    env.update(PYTHONPATH=str(code), KTRACK_DB=str(out / "ktrack.db"), KTRACK_CONFIG=str(out / "config.toml"),
               XDG_CACHE_HOME=str(out / "cache"), KTRACK_LOAD_PLUGINS=builtin_plugins(code), TZ="UTC")
    # the code of `code`, not the installed tracker: run its cli module with this venv's Python
    cmd = [sys.executable, "-c", "import sys; from tracker.cli import main; sys.argv[0] = 'ktrack'; main()", *args]
    result = subprocess.run(cmd, env=env, cwd=str(out), capture_output=True)
    if stdout is not None:
        stdout.write_bytes(result.stdout)
    if result.returncode != 0:
        raise SystemExit(f"compare: ktrack {' '.join(args)} ({code}) exited {result.returncode}: "
                         f"{result.stderr.decode(errors='replace')[-800:]}")


def builtin_plugins(code: Path) -> str:
    out = subprocess.run([sys.executable, "-c", "from tracker.plugin_host import BUILTIN_PLUGINS as b; print(','.join(b))"],
                         env={**os.environ, "PYTHONPATH": str(code)}, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def produce(code: Path, out: Path, lists: list[Path]) -> None:
    out.mkdir(parents=True)
    (out / "config.toml").write_text('[site]\nbase_url = "https://ktrack.example.org/"\n[plugins.lore]\nenabled = false\n')
    sample = out / "sample"
    sample.mkdir()
    (sample / "config.toml").write_text("")
    ktrack(code, sample, "--db", str(sample / "ktrack.db"), "run", "--sample", "--out", str(sample / "site"),
           stdout=sample / "run.txt")
    for path in lists:
        # one list file at a time, the site built after each: the last build is incremental
        # (new mail over a built site), so the edition cache is compared with a build that had none
        ktrack(code, out, "import", str(path), "--list", "linux-api")
        ktrack(code, out, "site", "build", "--out", str(out / "site"))
    if lists:
        for name in ("syscalls", "sysctls", "series"):
            ktrack(code, out, name, "--json", stdout=out / f"{name}.json")
        for bundle in (out / "site").glob("pagefind*"):  # its index names are hashes of the pages
            shutil.rmtree(bundle, ignore_errors=True)
    for db in out.rglob("ktrack.db"):
        db.unlink()
    shutil.rmtree(out / "cache", ignore_errors=True)
    shutil.rmtree(sample / "cache", ignore_errors=True)
    for bundle in (sample / "site").glob("pagefind*"):  # pagefind/ and the year bundles (tracker/search_index.py)
        shutil.rmtree(bundle, ignore_errors=True)


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name not in (".ktrack-manifest.json", "config.toml") and not p.name.startswith("ktrack.db")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("base", help="git revision to compare against")
    parser.add_argument("head", nargs="?", help="git revision (default: this working tree)")
    parser.add_argument("--year", action="append", help="linux-api mbox under ../shared/data/lists (default 2021)")
    parser.add_argument("--no-lists", action="store_true", help="the sample only")
    args = parser.parse_args()
    lists = [] if args.no_lists else [recorded(f"lists/linux-api-{y}.mbox.gz") for y in (args.year or ["2021"])]
    for path in lists:
        announce(path)
    work = Path(tempfile.mkdtemp(prefix="ktrack-compare-"))
    trees = []
    try:
        base = checkout(args.base, work / "base")
        trees.append(base)
        # the working tree too runs from a checkout-like copy of itself: its own plugins and theme
        head = checkout(args.head, work / "head") if args.head else working_copy(work / "head")
        if args.head:
            trees.append(head)
        produce(base, work / "out-base", lists)
        produce(head, work / "out-head", lists)
        a, b = files(work / "out-base"), files(work / "out-head")
        differ = sorted(name for name in set(a) | set(b) if a.get(name) != b.get(name))
        print(f"compared {len(a | b):,} files (sample site and digest; linux-api {', '.join(p.name for p in lists) or 'skipped'}: "
              f"site, syscalls/sysctls/series --json) of {args.base} and {args.head or 'the working tree'}")
        if differ:
            for name in differ[:40]:
                print(f"  differs: {name}" + ("" if name in a and name in b else " (only in one)"))
            print(f"NOT IDENTICAL: {len(differ)} files differ")
            raise SystemExit(1)
        print("IDENTICAL: every page and JSON listing is byte for byte the same")
    finally:
        for tree in trees:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
