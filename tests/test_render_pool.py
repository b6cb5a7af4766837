"""Pages rendered on every core: the same bytes as on one, failures named as on one."""

from __future__ import annotations

import os

import pytest

from tracker.edition import edition_for
from tracker.errors import KtrackError
from tracker.pages import Page
from tracker.render_pool import MIN_PARALLEL_PAGES, render_pages
from tracker.sitebuild import build_site, site_jobs


def test_render_pages_runs_in_other_processes_and_keeps_each_pages_result():
    jobs = list(range(3 * MIN_PARALLEL_PAGES))
    results = render_pages(jobs, lambda job: f"{job}:{os.getpid()}", costs=[job % 5 for job in jobs], workers=2)
    assert [r.split(":")[0] for r in results] == [str(job) for job in jobs]
    pids = {r.split(":")[1] for r in results}
    assert len(pids) == 2 and str(os.getpid()) in pids  # this process renders a share too


def test_pages_are_shared_by_cost():
    from tracker.render_pool import _chunks

    costs = [1250, 1250, 1250, 1250, 50, 50, 50, 50, 40]
    shares = _chunks(costs, 2)
    assert sorted(i for share in shares for i in share) == list(range(len(costs)))
    loads = sorted(sum(costs[i] for i in share) for share in shares)
    assert loads[1] - loads[0] <= 50 and [costs[i] for i in shares[0]].count(1250) == 2


@pytest.mark.parametrize("jobs, workers", [(list(range(MIN_PARALLEL_PAGES - 1)), 2), (list(range(20)), 1)])
def test_few_pages_or_one_core_render_here(jobs, workers):
    assert set(render_pages(jobs, lambda job: str(os.getpid()), workers=workers)) == {str(os.getpid())}


def test_a_workers_own_error_reaches_the_build():
    def render(job):
        if job == 7:
            raise OSError(28, "No space left on device")
        return None

    with pytest.raises(OSError, match="No space left"):
        render_pages(list(range(20)), render, workers=2)


def test_a_worker_that_dies_is_one_error_not_a_hang():
    def render(job):
        if job == 3 and os.getpid() != parent:
            os._exit(9)
        return None

    parent = os.getpid()
    with pytest.raises(RuntimeError, match="worker died"):
        render_pages(list(range(20)), render, costs=[1] * 20, workers=2)


def editions(count: int) -> list[dict]:
    """Weeks of series items, as the edition cache gives them (links, parts, categories)."""
    out = []
    for index in range(count):
        edition = edition_for(f"2021-W{index + 1:02d}")
        items = [{"text": f"Dev {n}: mm: fix {n} (v2)", "link": f"https://lore.kernel.org/r/{index}-{n}@example.org",
                  "parts": [{"text": f"Dev {n}: ", "link": None},
                            {"text": f"mm: fix {n}", "link": f"https://lore.kernel.org/r/{index}-{n}@example.org"},
                            {"text": " (v2)", "link": None}],
                  "category": "mm", "category_name": "Memory management", "category_order": 1}
                 for n in range(40)]
        edition["sections"] = [{"key": "patches", "title": "Patches and updates", "intro": "", "order": 90,
                                "template": "patches_section.html", "items": items}]
        out.append(edition)
    return out


def built(tmp_path, name, jobs, workers):
    out = tmp_path / name
    stats = build_site(jobs, out, site={"title": "t"}, search=False, workers=workers)
    return stats, {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def test_a_site_is_the_same_on_one_core_and_on_two_and_a_broken_plugin_page_is_skipped_on_both(tmp_path):
    pages = [("notes", Page(path=f"notes/{n}.html", title=f"Note {n}", template="page.html",
                            context={"items": [{"text": f"note {n}"}]})) for n in range(4)]
    pages.append(("broken", Page(path="broken/index.html", title="Broken", template="no-such-template.html", context={})))
    jobs = site_jobs(editions(12), pages, site={"title": "t"})
    assert len(jobs) >= MIN_PARALLEL_PAGES
    one, serial = built(tmp_path, "one", jobs, 1)
    two, parallel = {}, {}
    for attempt in range(2):  # what is written must not depend on which worker took which page
        two, parallel = built(tmp_path, f"two-{attempt}", jobs, 2)
        assert parallel == serial
    assert one.rendered == two.rendered == len(jobs) - 1
    broken = "plugin broken: site page broken/index.html: template 'no-such-template.html' not found (page skipped)"
    assert one.skipped == two.skipped == [broken]
    assert "broken/index.html" not in serial and "editions/2021-W12.html" in serial
    assert b"https://lore.kernel.org/r/11-39@example.org" in serial["editions/2021-W12.html"]


def test_a_broken_theme_page_stops_a_parallel_build_and_names_the_page(tmp_path):
    theme = tmp_path / "theme"
    theme.mkdir()
    (theme / "archive.html").write_text("{% extends 'base.html' %}{% block content %}{{ 1 // 0 }}{% endblock %}")
    from tracker.theme import template_search_path

    jobs = site_jobs(editions(10), [], site={"title": "t"})
    with pytest.raises(KtrackError, match="site page archive.html: template 'archive.html' failed: ZeroDivisionError"):
        build_site(jobs, tmp_path / "out", site={"title": "t"}, search=False, workers=2,
                   template_dirs=template_search_path(template_dir=theme))
    assert not (tmp_path / "out").exists()


WORKER_SCRIPT = """
import os, time
from tracker.render_pool import render_pages

parent = os.getpid()
said = []

def render(job):
    if os.getpid() != parent and not said:
        print(os.getpid(), flush=True)  # a worker says it is rendering
        said.append(job)
    time.sleep(0.5)

render_pages(list(range(40)), render, costs=[1] * 40, workers=2)
"""


def test_a_killed_build_leaves_no_render_worker(tmp_path):
    """A build killed mid-render (a cron timeout) takes its workers with it, as the import does."""
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    proc = subprocess.Popen([sys.executable, "-c", WORKER_SCRIPT], stdout=subprocess.PIPE, text=True,
                            start_new_session=True, cwd=tmp_path)
    try:
        worker = int(proc.stdout.readline())
        assert worker != proc.pid
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                stat = Path(f"/proc/{worker}/stat").read_text()
            except OSError:
                break  # gone and reaped
            if stat[stat.rindex(")") + 2] == "Z":
                break  # exited; only its reaping is left
            time.sleep(0.05)
        else:
            raise AssertionError(f"render worker {worker} outlived its killed build")
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_before_fork_runs_once_and_only_when_workers_start():
    calls = []
    render_pages(list(range(20)), lambda job: None, workers=2, before_fork=lambda: calls.append(os.getpid()))
    assert calls == [os.getpid()]
    render_pages(list(range(20)), lambda job: None, workers=1, before_fork=lambda: calls.append("serial"))
    assert calls == [os.getpid()]
