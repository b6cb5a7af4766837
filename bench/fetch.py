"""Measure the CPU a `ktrack fetch` costs when every source answers 304 Not Modified.

    .venv/bin/python bench/fetch.py

A local HTTP server plays kernel.org and lore (the recorded releases.json and
kdist feed, an empty list feed for each lore list and query) and answers 304
to a matching If-None-Match. The script primes the store with one fetch, then
runs `ktrack fetch --force` in a child process and prints its user+system CPU
next to the CPU of `ktrack --version` (start-up and imports) measured in the
same run. Target (issue 3): under 1 s of CPU for the all-304 fetch.
"""

from __future__ import annotations

import hashlib
import os
import resource
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "formats"  # shipped: byte-exact copies of the recorded files
EMPTY_ATOM = (
    b'<?xml version="1.0" encoding="us-ascii"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
    b"<title>empty</title><id>mailto:bench@vger.kernel.org</id><updated>2025-01-01T00:00:00Z</updated></feed>"
)


def body_for(path: str) -> bytes:
    if path.startswith("/releases.json"):
        return (DATA / "kernel.org/releases-excerpt-2020-12-14.json").read_bytes()
    if path.startswith("/feeds/kdist.xml"):
        return (DATA / "kernel.org/kdist-2020-05-06.xml").read_bytes()
    return EMPTY_ATOM  # every lore list feed and query


class Handler(BaseHTTPRequestHandler):
    requests = {"200": 0, "304": 0}

    def do_GET(self):  # noqa: N802 - http.server's naming
        body = body_for(self.path)
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        if self.headers.get("If-None-Match") == etag:
            Handler.requests["304"] += 1
            self.send_response(304)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        Handler.requests["200"] += 1
        self.send_response(200)
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def child_cpu(args: list[str], env: dict) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    print(f"data: {DATA.relative_to(ROOT)}/kernel.org (shipped with the repo)")
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.toml"
        config.write_text(
            f"""
[plugins.fetch]
host_delay = 0.0
[plugins.kernelorg]
releases_url = "{base}/releases.json"
feed_url = "{base}/feeds/kdist.xml"
[plugins.lore]
base_url = "{base}"
lists = ["lkml", "stable", "linux-api"]
"""
        )
        env = {**os.environ, "KTRACK_CONFIG": str(config), "KTRACK_DB": str(Path(tmp) / "bench.db")}
        ktrack = [sys.executable, "-m", "tracker"]
        child_cpu(ktrack + ["fetch", "--force"], env)  # prime: 200s, validators stored
        primed = dict(Handler.requests)
        baseline = min(child_cpu(ktrack + ["--version"], env) for _ in range(3))
        runs = [child_cpu(ktrack + ["fetch", "--force"], env) for _ in range(3)]
        sources = Handler.requests["304"]
        print(f"sources fetched (first run, HTTP 200): {primed['200']}")
        print(f"304 answers over 3 measured runs:      {sources} ({Handler.requests['200'] - primed['200']} extra 200s)")
        print(f"ktrack --version CPU (baseline):        {baseline:.3f} s")
        print(f"ktrack fetch --force, all 304, CPU:     {min(runs):.3f} s (best of 3; all: {', '.join(f'{r:.3f}' for r in runs)})")
        print(f"target under 1 s:                       {'met' if min(runs) < 1.0 else 'MISSED'}")
    server.shutdown()


if __name__ == "__main__":
    main()
