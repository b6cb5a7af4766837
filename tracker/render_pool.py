"""Render a site's pages on every core the build may use.

A full build renders a few dozen edition pages of a thousand items or more; one Python process
renders them one after another on one core while the others idle. The pages are split by cost
(an edition's items); forked workers inherit the render jobs and the compiled theme, so nothing
crosses a process boundary but one error line per failed page coming back; each worker writes its
pages itself, and the calling process renders the first share meanwhile.

Where fork is missing, for a handful of pages, or with one core, pages render in the calling
process: the same code path, so what is written does not depend on how many cores there were.
"""

from __future__ import annotations

import os
from typing import Callable, Sequence

# Below this many pages a worker costs more to start than it saves.
MIN_PARALLEL_PAGES = 8

# What a worker renders, set by render_pages just before forking (a forked child inherits it).
_WORK: tuple[Sequence, Callable] | None = None


def available_workers() -> int:
    """Cores this process may run on (its affinity, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _fork_context():
    import multiprocessing

    return multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None


def _render_chunk(indexes: list[int]) -> list[tuple[int, str | None]]:
    jobs, render_one = _WORK
    return [(index, render_one(jobs[index])) for index in indexes]


def _worker(indexes: list[int], conn, parent: int) -> None:
    """A forked worker: render its pages and send back their errors, or what stopped it.

    It dies with the building process (as the import's parsing worker does): a killed build
    leaves no worker writing into its temporary directory.
    """
    from .parse_worker import die_with_parent

    die_with_parent(parent)
    try:
        message = (_render_chunk(indexes), None)
    except BaseException as exc:  # noqa: BLE001 - handed to the parent, which raises it
        message = (None, exc)
    try:
        conn.send(message)
    except Exception:  # noqa: BLE001 - an exception that does not pickle, or a parent that gave up
        try:
            conn.send((None, RuntimeError(f"{type(message[1]).__name__}: {message[1]}")))
        except Exception:  # noqa: BLE001
            pass
    finally:
        conn.close()


def _chunks(costs: list[int], count: int) -> list[list[int]]:
    """Split page numbers into `count` lists of about equal cost (largest first onto the lightest)."""
    buckets: list[list[int]] = [[] for _ in range(count)]
    loads = [0] * count
    for index in sorted(range(len(costs)), key=lambda i: -costs[i]):
        lightest = loads.index(min(loads))
        buckets[lightest].append(index)
        loads[lightest] += costs[index]
    return [bucket for bucket in buckets if bucket]


def render_pages(jobs: Sequence, render_one: Callable, *, costs: list[int] | None = None,
                 workers: int | None = None, before_fork: Callable[[], None] | None = None) -> list[str | None]:
    """Call `render_one(job)` for every job, on up to `workers` processes; return each job's error.

    `render_one` renders and writes one page and returns None, or an error line for a page that
    could not be rendered (it must not raise for a page's own fault). `costs` weigh the pages
    (an edition's item count) so that the workers finish together. `before_fork` runs once when
    workers are about to start: what they should inherit ready (compiled templates), not each redo.
    """
    global _WORK
    workers = available_workers() if workers is None else max(1, workers)
    context = _fork_context()
    count = min(workers, len(jobs))
    if count < 2 or len(jobs) < MIN_PARALLEL_PAGES or context is None:
        return [render_one(job) for job in jobs]
    if before_fork is not None:
        before_fork()
    errors: list[str | None] = [None] * len(jobs)
    chunks = _chunks(list(costs or [1] * len(jobs)), count)
    _WORK = (jobs, render_one)
    workers_started = []
    try:
        for chunk in chunks[1:]:  # the first is rendered here, while the workers render the others
            receive, send = context.Pipe(duplex=False)
            process = context.Process(target=_worker, args=(chunk, send, os.getpid()), daemon=True)
            process.start()
            send.close()
            workers_started.append((process, receive))
        for index, error in _render_chunk(chunks[0]):
            errors[index] = error
        for process, receive in workers_started:
            try:
                results, exc = receive.recv()
            except EOFError:
                process.join()
                results, exc = None, RuntimeError(f"a page-rendering worker died (exit code {process.exitcode})")
            if exc is not None:
                raise exc
            for index, error in results:
                errors[index] = error
    finally:
        _WORK = None
        for process, receive in workers_started:
            receive.close()
            process.join()
    return errors
