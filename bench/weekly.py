"""Benchmark the weekly job at LKML scale, end to end through the CLI (issue 19).

Builds an LKML-shaped archive once (synthetic, shape only, as the brief allows for scale:
bench/ingest.py's generator; 200,000 messages is about five months of LKML) and caches the
imported, analysed and published database under the user cache directory. Every case then runs
on a fresh copy of that cache, as `ktrack` subprocesses, and prints its figure next to its
yardstick measured in the same run:

  - `ktrack --help`                      vs `python -c pass`            target <= 150 ms
  - a weekly `ktrack run` with nothing new                            target <= 1 s
  - one new week (~7k messages): import + `run` (analyse, publish)
                                         vs the import alone          target <= 3x
  - analysis of the new week             vs its import                 target <= 0.3x
  - analysis of the whole archive (`analyze --all` on a copy) vs its import (cache build)  target <= 0.3x
  - a full site build                    vs Hugo building the same pages, then Pagefind
                                           indexing them (a Hugo site with search) target <= 2x
  - the same without the search index    vs Hugo alone                 target <= 2x
  - a 2,000-patch stable review series   vs ordinary mail, same count  target >= 0.8x the rate

with the peak RSS of each step. Sources are pointed at a local HTTP server serving the recorded
kernel.org files of the built-in sample, so the run fetches for real and finds nothing new; lore
is off (it is benchmarked by bench/fetch.py). Hugo is Debian's `hugo` (`apt-get install hugo`);
without it that yardstick is skipped and said so.

    .venv/bin/python bench/weekly.py [--messages 200000] [--week 7000] [--rebuild] [--only site,noop,...]

The cache build (import, analyse, build of the whole archive) is timed when it runs and its
figures are kept beside the cache; `--rebuild` measures them again.
"""

from __future__ import annotations

import argparse
import http.server
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from hugo import hugo_build  # noqa: E402  (bench/hugo.py: the Hugo yardstick)
from ingest import generate, stable_review_mbox  # noqa: E402  (bench/ingest.py: the LKML-shaped generators)

from tracker.plugin_host import BUILTIN_PLUGINS  # noqa: E402

CASES = ("help", "noop", "week", "analysis", "site", "review")
RUNS = 5  # site builds and their yardsticks: the best of this many, the same for both (one run moves by 30 %)
WEEK_RUNS = 3  # the new week's import alone and its analysis: the best of this many, each on a fresh copy
CACHE_VERSION = 2  # bump when the generator or the archive layout changes
SAMPLE_DIR = ROOT / "tracker" / "sample"


# -- running ktrack ---------------------------------------------------------------------------

def ktrack_exe() -> str:
    exe = Path(sys.executable).with_name("ktrack")
    return str(exe) if exe.exists() else "ktrack"


def user_env() -> dict:
    """This environment as a user's shell has it: Python may keep the bytecode it compiles.

    A developer's PYTHONDONTWRITEBYTECODE would make every timed command compile
    from source each module edited since its last .pyc: 0.1 s of a 0.4 s command.
    """
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def compile_code() -> None:
    """Compile ktrack's modules ahead, as `pip install` does for a user's install (untimed)."""
    import compileall

    root = Path(__file__).resolve().parent.parent
    for package in ("tracker", "plugins"):
        compileall.compile_dir(str(root / package), quiet=1)


def ktrack_env(root: Path) -> dict:
    """The environment of a ktrack run on the copy in `root`: its database, config and cache, the built-in plugins only."""
    env = {k: v for k, v in user_env().items() if not k.startswith("KTRACK_")}
    env.update(KTRACK_DB=str(root / "ktrack.db"), KTRACK_CONFIG=str(root / "config.toml"), XDG_CACHE_HOME=str(root / "cache"),
               KTRACK_LOAD_PLUGINS=",".join(BUILTIN_PLUGINS))  # a user's install: no example plugins
    return env


def timed(cmd: list[str], env: dict, *, check: bool = True) -> tuple[float, float, str]:
    """Run cmd; return (seconds, peak RSS in MB of it and its children, stdout+stderr)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    out = proc.stdout.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if check and proc.returncode != 0:
        raise SystemExit(f"bench: {' '.join(map(str, cmd))} exited {proc.returncode}:\n{out[-2000:]}")
    return seconds, usage.ru_maxrss / 1024, out


class Env:
    """A database, a config and a site directory: one copy of the cached archive."""

    def __init__(self, root: Path, server_url: str):
        self.root = root
        self.db = root / "ktrack.db"
        self.site = root / "site"
        self.config = root / "config.toml"
        self.config.write_text(config_text(server_url))

    def env(self) -> dict:
        return ktrack_env(self.root)

    def run(self, *args: str, check: bool = True) -> tuple[float, float, str]:
        return timed([ktrack_exe(), *args], self.env(), check=check)


def config_text(server_url: str) -> str:
    """kernel.org served locally; every lore-backed source off (bench/fetch.py covers lore)."""
    return f"""
[site]
base_url = "https://ktrack.example.org/"

[plugins.kernelorg]
releases_url = "{server_url}/releases.json"
feed_url = "{server_url}/kdist.xml"

[plugins.lore]
enabled = false

[plugins.stable_review]
fetch_reviews = false
"""


def serve_sample() -> tuple[str, http.server.ThreadingHTTPServer]:
    """Serve the sample's recorded kernel.org files, unchanged between runs (so: nothing new)."""

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(SAMPLE_DIR), **kwargs)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server


# -- the archive ------------------------------------------------------------------------------

def split_mbox(path: Path, head: Path, tail: Path, tail_count: int) -> tuple[int, int]:
    """Cut a generated mbox (oldest first) into its last tail_count messages and the rest."""
    starts = []
    with open(path, "rb") as fh:
        offset = 0
        for line in fh:
            if line.startswith(b"From mboxrd@z "):
                starts.append(offset)
            offset += len(line)
    cut = starts[max(0, len(starts) - tail_count)]
    with open(path, "rb") as src, open(head, "wb") as h, open(tail, "wb") as t:
        # in chunks: a child forked from a process that once held the whole file would report
        # that peak as its own (Linux carries the hiwater RSS across fork and exec)
        left = cut
        while left:
            chunk = src.read(min(left, 1 << 20))
            h.write(chunk)
            left -= len(chunk)
        shutil.copyfileobj(src, t)
    return len(starts) - tail_count, tail_count


def cache_dir(messages: int, week: int) -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("ktrack-bench")) / f"weekly-v{CACHE_VERSION}-{messages}-{week}"


def build_cache(cache: Path, messages: int, week: int, server_url: str) -> dict:
    """Generate, import, analyse and publish the archive once; keep the db, the site and the timings."""
    if cache.exists():
        shutil.rmtree(cache)
    cache.mkdir(parents=True)
    work = Path(tempfile.mkdtemp(prefix="ktrack-weekly-build-"))
    try:
        full = work / "all.mbox"
        start = time.perf_counter()
        generate(full, messages + week)
        base_n, week_n = split_mbox(full, work / "base.mbox", cache / "week.mbox", week)
        full.unlink()
        print(f"generated {base_n:,} + {week_n:,} messages in {time.perf_counter() - start:.0f} s", flush=True)
        env = Env(cache, server_url)
        figures = {"messages": base_n, "week_messages": week_n}
        figures["import_s"], figures["import_rss"], _ = env.run("import", str(work / "base.mbox"), "--list", "lkml", "--no-analyze")
        print(f"  cache build: import {figures['import_s']:.1f} s", flush=True)
        figures["analyze_s"], figures["analyze_rss"], _ = env.run("analyze")
        print(f"  cache build: analyze {figures['analyze_s']:.1f} s", flush=True)
        figures["site_s"], figures["site_rss"], _ = env.run("site", "build", "--out", str(env.site))
        print(f"  cache build: site build {figures['site_s']:.1f} s", flush=True)
        figures["db_mb"] = env.db.stat().st_size / 1e6
        figures["built"] = time.strftime("%Y-%m-%d %H:%M")
        (cache / "figures.json").write_text(json.dumps(figures, indent=1))
        return figures
    finally:
        shutil.rmtree(work, ignore_errors=True)


def fresh_copy(cache: Path, server_url: str) -> Env:
    """A copy of the cached archive brought up to this code (untimed): its migrations, then its analysis.

    A cache built by older code would otherwise make the first timed command pay
    for them. The analysis: the archive as a weekly job running this code leaves
    it. A cache analysed before the watermark kept the keys analysed at its stamp
    (62c710d) has 476 series pending at that stamp, which this code analyses once;
    the new week's analysis must not be charged for them.
    """
    root = Path(tempfile.mkdtemp(prefix="ktrack-weekly-"))
    shutil.copy2(cache / "ktrack.db", root / "ktrack.db")
    shutil.copytree(cache / "site", root / "site", symlinks=True)
    env = Env(root, server_url)
    env.run("migrate")
    env.run("analyze")
    return env


# -- yardsticks -------------------------------------------------------------------------------

def python_start() -> float:
    return min(timed([sys.executable, "-c", "pass"], user_env())[0] for _ in range(5))


# -- the cases --------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=200_000, help="archive size (default 200,000)")
    parser.add_argument("--week", type=int, default=7_000, help="messages in the new week (default 7,000)")
    parser.add_argument("--review", type=int, default=2_000, help="patches in the stable review series")
    parser.add_argument("--rebuild", action="store_true", help="rebuild and re-time the cached archive")
    parser.add_argument("--only", default=",".join(CASES),
                        help=f"comma-separated cases to measure, of {', '.join(CASES)} (default: all)")
    args = parser.parse_args()
    only = {case.strip() for case in args.only.split(",") if case.strip()}
    if not only <= set(CASES):
        parser.error(f"--only: unknown case(s) {', '.join(sorted(only - set(CASES)))}; known: {', '.join(CASES)}")

    print("data: synthetic LKML-shaped mail (bench/ingest.py's generator); kernel.org: tracker/sample's recorded files; "
          "plugins: the built-in ones (KTRACK_LOAD_PLUGINS), as a user's install has")
    compile_code()
    server_url, server = serve_sample()
    cache = cache_dir(args.messages, args.week)
    figures_file = cache / "figures.json"
    if args.rebuild or not figures_file.exists():
        print(f"building the cached archive in {cache} (once) ...", flush=True)
        figures = build_cache(cache, args.messages, args.week, server_url)
        built_now = True
    else:
        figures = json.loads(figures_file.read_text())
        built_now = False
    print(f"archive: {figures['messages']:,} messages, database {figures['db_mb']:.0f} MB "
          f"({'built in this run' if built_now else 'cached, built ' + figures['built'] + '; --rebuild re-times it'})")
    results: list[tuple[bool, str]] = []

    # 1. start-up
    if "help" in only:
        base = python_start()
        helps = [timed([ktrack_exe(), "--help"], user_env())[0] for _ in range(5)]
        help_s = min(helps)
        print(f"ktrack --help: {help_s * 1000:.0f} ms (median {statistics.median(helps) * 1000:.0f}); "
              f"python -c pass: {base * 1000:.0f} ms")
        results.append((help_s <= 0.150, f"ktrack --help {help_s * 1000:.0f} ms (target <= 150 ms)"))

    # 2. a weekly run with nothing new (the first run after the cache build fetches the recorded
    #    kernel.org files once, a forced build fills the edition and feed caches with this code's
    #    output; the measured one finds them unchanged)
    env = fresh_copy(cache, server_url) if only & {"noop", "week", "analysis", "site"} else None
    try:
        if env is not None:
            env.run("run", "--out", str(env.site), check=False)
            # as a site is after a week of this code: its edition cache and feed entries filled
            env.run("site", "build", "--out", str(env.site), "--force")
        if "noop" in only:
            noop, noop_rss, out = env.run("run", "--out", str(env.site), check=False)
            print(f"weekly run, nothing new: {noop:.2f} s, peak RSS {noop_rss:.0f} MB")
            results.append((noop <= 1.0, f"no-op weekly run {noop:.2f} s (target <= 1 s)"))

        if "week" in only:
            # 3. one new week, imported alone (a second copy) and imported + run
            imports, analyses, together = [], [], []
            for _ in range(WEEK_RUNS):  # best of WEEK_RUNS, each on its own copy: one run moves by 30 %
                alone, both = fresh_copy(cache, server_url), fresh_copy(cache, server_url)
                try:
                    # the import alone: store and thread (import analyses by default; that is measured next)
                    imports.append(alone.run("import", str(cache / "week.mbox"), "--list", "lkml", "--no-analyze")[:2])
                    analyses.append(alone.run("analyze")[:2])
                    together.append(both.run("import", str(cache / "week.mbox"), "--list", "lkml")[0])  # for information
                finally:
                    shutil.rmtree(alone.root, ignore_errors=True)
                    shutil.rmtree(both.root, ignore_errors=True)
            (imp_alone, imp_rss), (ana_week, ana_rss) = min(imports), min(analyses)
            # each round's pair on the same state, then their median: the difference of two bests is noise
            inside = max(statistics.median(t - i for t, (i, _) in zip(together, imports)), 0.0)
            imp, _, _ = env.run("import", str(cache / "week.mbox"), "--list", "lkml")  # analyses what it stored
            run_s, run_rss, out = env.run("run", "--out", str(env.site), check=False)
            whole = imp + run_s
            print(f"new week ({figures['week_messages']:,} messages): import alone {imp_alone:.2f} s, best of {WEEK_RUNS} (RSS {imp_rss:.0f} MB); "
                  f"import + run (analyse, publish) {whole:.1f} s (run {run_s:.1f} s, RSS {run_rss:.0f} MB) = {whole / imp_alone:.1f}x")
            results.append((whole <= 3 * imp_alone, f"new week published in {whole / imp_alone:.1f}x the import alone (target <= 3x)"))
            print(f"analysis of the new week: {ana_week:.2f} s, best of {WEEK_RUNS} = {ana_week / imp_alone:.2f}x its import (RSS {ana_rss:.0f} MB); "
                  f"inside the import that stores it (import minus import --no-analyze in each round, median; no second start-up): {inside:.2f} s = "
                  f"{inside / imp_alone:.2f}x (information; the target is on `ktrack analyze` itself)")
            results.append((ana_week <= 0.3 * imp_alone, f"week analysis {ana_week / imp_alone:.2f}x its import (target <= 0.3x)"))
        if "analysis" in only:
            ratio = figures["analyze_s"] / figures["import_s"]
            print(f"analysis of the whole archive at the cache build ({figures['built']}, the code of then): "
                  f"{figures['analyze_s']:.1f} s = {ratio:.2f}x its import {figures['import_s']:.1f} s "
                  f"(RSS {figures['analyze_rss']:.0f} / {figures['import_rss']:.0f} MB)")
            # the whole archive again with this code: `analyze --all` on a copy (the import is the cache build's)
            again = fresh_copy(cache, server_url)
            try:
                ana_all, ana_all_rss, _ = again.run("analyze", "--all")
            finally:
                shutil.rmtree(again.root, ignore_errors=True)
            ratio = ana_all / figures["import_s"]
            print(f"analysis of the whole archive now (analyze --all): {ana_all:.1f} s = {ratio:.2f}x its import "
                  f"{figures['import_s']:.1f} s (RSS {ana_all_rss:.0f} MB)")
            results.append((ratio <= 0.3, f"archive analysis {ratio:.2f}x the import (target <= 0.3x)"))

        if "site" in only:
            # 4. a full site build against Hugo on the same pages: every page rendered and indexed into an
            #    empty directory (editions from the edition cache, as the weekly build has them), best of RUNS
            #    as Hugo's; then the same with every edition assembled again (--force), and without the
            #    Pagefind index against Hugo alone
            shutil.rmtree(env.site)
            forced, forced_rss, _ = env.run("site", "build", "--out", str(env.site), "--force")

            def best_build(*extra: str) -> tuple[float, float]:
                runs = []
                for _ in range(RUNS):
                    shutil.rmtree(env.site, ignore_errors=True)
                    runs.append(env.run("site", "build", "--out", str(env.site), *extra)[:2])
                return min(runs)

            bare, _ = best_build("--no-search")
            full, full_rss = best_build()
            rendered = [p for p in env.site.rglob("*.html") if "pagefind" not in p.parts]
            ours_mb = sum(p.stat().st_size for p in rendered) / 1e6
            print(f"full site build: {full:.2f} s for {len(rendered):,} pages, {ours_mb:.1f} MB of HTML (RSS {full_rss:.0f} MB); "
                  f"without the Pagefind index (--no-search): {bare:.2f} s; every edition assembled (--force): "
                  f"{forced:.1f} s (RSS {forced_rss:.0f} MB)")
            hugo = hugo_build(env.site, runs=RUNS, timed=timed)
            if hugo is None:
                print("Hugo yardstick skipped: `hugo` not installed (apt-get install hugo)")
            else:
                text_only = hugo_build(env.site, runs=RUNS, timed=timed, structured=False)
                yard = hugo["seconds"] + hugo["pagefind"]
                print(f"Hugo, the same {hugo['pages']:,} pages from their structure (headings, paragraphs, items and their links "
                      f"as front matter, through templates): {hugo['seconds']:.2f} s, {hugo['bytes'] / 1e6:.1f} MB of HTML; "
                      f"Pagefind over Hugo's output {hugo['pagefind']:.2f} s; together {yard:.2f} s "
                      f"(Hugo given only the pages' text, no markup or links: {text_only['seconds']:.2f} s)")
                results.append((full <= 2 * yard, f"full site build {full:.2f} s = {full / yard:.1f}x Hugo + Pagefind "
                                                  f"on the same pages {yard:.2f} s (target <= 2x)"))
                results.append((bare <= 2 * hugo["seconds"], f"site build without the search index {bare:.2f} s = "
                                                              f"{bare / hugo['seconds']:.1f}x Hugo alone {hugo['seconds']:.2f} s (target <= 2x)"))
    finally:
        if env is not None:
            shutil.rmtree(env.root, ignore_errors=True)

    # 5. threading a huge stable review against ordinary mail of the same count
    if "review" in only:
        work = Path(tempfile.mkdtemp(prefix="ktrack-weekly-review-"))
        try:
            stable_review_mbox(work / "review.mbox", args.review)
            generate(work / "plain.mbox", args.review + 1, seed=3)
            rates = {}
            for name in ("review", "plain"):
                (work / name).mkdir()
                seconds, _, _ = Env(work / name, server_url).run("import", str(work / f"{name}.mbox"), "--no-analyze")  # threading, not review analysis
                rates[name] = (args.review + 1) / seconds
            ratio = rates["review"] / rates["plain"]
            print(f"{args.review:,}-patch stable review: {rates['review']:,.0f} msg/s; ordinary mail: "
                  f"{rates['plain']:,.0f} msg/s = {ratio:.2f}x")
            results.append((ratio >= 0.8, f"stable review threads at {ratio:.2f}x ordinary mail (target >= 0.8x)"))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    server.shutdown()

    for ok, line in results:
        print(f"{'PASS' if ok else 'FAIL'}: {line}")


if __name__ == "__main__":
    main()
