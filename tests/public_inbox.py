"""A real public-inbox server for the lore tests: Debian's public-inbox, serving real linux-api mail.

The inbox is built the way a mirror builds one: the list's first git epoch
(tests/data/lists/linux-api-epoch0-first400.bundle, 400 real messages of
2019) fetched into `git/0.git`, indexed with Xapian by public-inbox-index,
served by public-inbox-httpd on a free loopback port. What the lore source
sends (rt: ranges, search downloads, thread mboxes, query feeds) is then
answered by the software lore.kernel.org runs, not by our idea of it. An
external index over the inbox is served as `/all/`, as lore's all-lists search is.

.ci/run installs the package; elsewhere the tests using it are skipped,
unless KTRACK_REQUIRE_PUBLIC_INBOX=1 (set by .ci/run) turns that into a failure.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

TOOLS = ("public-inbox-init", "public-inbox-index", "public-inbox-extindex", "public-inbox-httpd", "public-inbox-mda", "git")
INBOX = "linux-api"
ADDRESS = "linux-api@vger.kernel.org"


def require_tools() -> None:
    """Skip (or fail, in CI) when public-inbox is not installed."""
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if not missing:
        return
    message = f"public-inbox is not installed ({', '.join(missing)} missing): apt-get install public-inbox"
    if os.environ.get("KTRACK_REQUIRE_PUBLIC_INBOX") == "1":
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd: list[str], env: dict) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")


def _deliver(raw: bytes, address: str, env: dict) -> None:
    """Deliver one message as a list's mail server does (public-inbox-mda, spam check off)."""
    done = subprocess.run(["public-inbox-mda", "--no-precheck"], input=raw, env={**env, "ORIGINAL_RECIPIENT": address},
                          capture_output=True, timeout=60)
    if done.returncode:
        raise RuntimeError(f"public-inbox-mda failed ({done.returncode}): {done.stderr.decode(errors='replace')[-500:]}")


@contextmanager
def running_public_inbox(bundle: Path | None, workdir: Path, *, name: str = INBOX, address: str = ADDRESS,
                         messages: list[bytes] = ()):
    """Build an inbox from a public-inbox epoch bundle and/or mails, serve it; yield (base URL, inbox dir)."""
    home = workdir / "home"
    home.mkdir(parents=True)
    env = {**os.environ, "HOME": str(home), "PI_CONFIG": str(workdir / "pi-config")}
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    inbox = workdir / name
    _run(["public-inbox-init", "-V2", name, str(inbox), f"{base}/{name}", address], env)
    if bundle is not None:
        _run(["git", "--git-dir", str(inbox / "git" / "0.git"), "fetch", "-q", str(bundle), "refs/heads/*:refs/heads/*"], env)
    if messages:
        _run(["git", "config", "-f", env["PI_CONFIG"], "publicinboxmda.spamcheck", "none"], env)
        for raw in messages:
            _deliver(raw, address, env)
    _run(["public-inbox-index", str(inbox)], env)
    config = env["PI_CONFIG"]
    _run(["git", "config", "-f", config, "extindex.all.topdir", str(workdir / "all")], env)
    _run(["git", "config", "-f", config, "extindex.all.url", f"{base}/all"], env)
    _run(["public-inbox-extindex", "--all", str(workdir / "all")], env)
    log = open(workdir / "httpd.log", "wb")
    server = subprocess.Popen(["public-inbox-httpd", "-l", base], env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{base}/{name}/new.atom", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"public-inbox-httpd did not start: {(workdir / 'httpd.log').read_text()[-500:]}")
            time.sleep(0.1)
        yield base, inbox
    finally:
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(server.pid, signal.SIGKILL)
        log.close()
