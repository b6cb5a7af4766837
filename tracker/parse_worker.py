"""The import's parsing worker: one forked process that parses while the parent stores.

It dies with the parent, whatever signal killed that (issue 14): a cron
timeout or the OOM killer must not leave it blocked on a pipe for good.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor


def start_pool():
    """Start one parsing worker; None where that is not cheap and safe (the import then runs serially).

    Linux only, by fork: "spawn" would re-run the caller's script in the child
    when it has no __main__ guard, and macOS does not make fork safe. The
    child only parses; it never touches the inherited SQLite connection and
    leaves by os._exit, so the connection is never closed there.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"),
                                   initializer=die_with_parent, initargs=(os.getpid(),))
    except Exception:  # noqa: BLE001
        return None


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_PARENT_POLL_SECONDS = 0.2


def die_with_parent(parent: int) -> None:
    """Make this worker exit when the importing process dies, whatever signal killed it.

    A forked worker holds copies of both ends of its pipes, so when the parent
    is SIGKILLed (a cron timeout, the OOM killer) it never sees a broken pipe:
    it blocked writing its results to a pipe nobody reads, for good (issue 14).
    prctl(PR_SET_PDEATHSIG) has the kernel kill it with its parent; a thread
    that polls the parent pid covers a kernel or libc without it. Either way
    the worker is gone within a fraction of a second. The parent's batches are
    committed one by one, so nothing the worker was parsing is lost.
    """
    import signal
    import threading
    import time

    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="ktrack-parent-watch", daemon=True).start()
