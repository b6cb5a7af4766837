"""Write a stable update's ChangeLog the way kernel.org does: `git log` of real commits, by real git.

The commits are the six real patches of the 2.6.14.7 review (their authors,
dates and messages, up to the "---" before the diffstat), committed in
review order, topped by the "Linux 2.6.14.7" version bump, in a scratch
repository. The ChangeLog has no diffs, so empty commits carry everything it
shows.
"""

from __future__ import annotations

import mailbox
import os
import re
import subprocess
from email.utils import parsedate_to_datetime
from pathlib import Path

REVIEW = "stable-reviews/2.6.14.7-review.mbox"


def review_commits(data_dir: Path) -> list[dict]:
    """The 2.6.14.7 patches as commits (oldest first): subject, author, date, message."""
    commits = []
    for msg in mailbox.mbox(str(data_dir / REVIEW)):
        m = re.match(r"\[patch (\d+)/\d+\] (.*)", " ".join(str(msg["Subject"]).split()))
        if not m or m.group(1) == "0":
            continue
        body = msg.get_payload(decode=True).decode("utf-8", "replace")
        author = re.search(r"^From: (.*?) <(.*?)>$", body, re.M)
        message = body[author.end():].split("\n---\n", 1)[0].strip()
        commits.append({
            "number": int(m.group(1)),
            "subject": m.group(2),
            "author": (author.group(1).strip('"'), author.group(2)),
            "date": parsedate_to_datetime(msg["Date"]).isoformat(),
            "message": f"{m.group(2)}\n\n{message}\n",
        })
    return sorted(commits, key=lambda c: c["number"])


def _commit(repo: Path, message: str, author: tuple[str, str], date: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": author[0], "GIT_AUTHOR_EMAIL": author[1], "GIT_AUTHOR_DATE": date,
           "GIT_COMMITTER_NAME": "Chris Wright", "GIT_COMMITTER_EMAIL": "chrisw@sous-sol.org", "GIT_COMMITTER_DATE": date}
    subprocess.run(["git", "-C", str(repo), "commit", "-q", "--allow-empty", "--cleanup=verbatim", "-F", "-"],
                   input=message.encode(), env=env, check=True)


def make_changelog(data_dir: Path, out_dir: Path, *log_args: str) -> Path:
    """Write out_dir/ChangeLog-2.6.14.7 with `git log [log_args]` and return its path."""
    repo = out_dir / "linux-stable"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    for commit in review_commits(data_dir):
        _commit(repo, commit["message"], commit["author"], commit["date"])
    _commit(repo, "Linux 2.6.14.7\n", ("Chris Wright", "chrisw@sous-sol.org"), "2006-01-30T17:36:05-08:00")
    path = out_dir / "ChangeLog-2.6.14.7"
    path.write_bytes(subprocess.run(["git", "-C", str(repo), "log", *log_args], capture_output=True, check=True).stdout)
    return path
