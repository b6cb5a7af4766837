"""A small public-inbox stand-in for the lore tests, serving REAL linux-api mail.

It reads the first messages of tests/data/lists/linux-api-2021-excerpt.mbox.gz and
answers like lore does: `new.atom` (the newest 25 "arrived" messages, in
public-inbox's Atom shape: thr:in-reply-to, Message-ID in the link),
`<msgid>/t.mbox.gz` (the whole thread) and `POST /?q=rt:A..B&x=m` (the
messages received in that window, as mbox.gz). Tests move `arrived` forward
to simulate time passing.

Where this stand-in and a real public-inbox could differ, the real one was
asked (tests/test_lore_public_inbox.py runs public-inbox-httpd 1.9): rt:
takes Unix times, a search without hits is a 404 ("No results found" for a
download, the HTML results page for x=A), and a download's body button
`z=results only` gives the results, `x=...` their whole threads.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import message_from_bytes
from email.policy import compat32
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote
from xml.sax.saxutils import escape

from werkzeug import Request, Response

from tracker.mailbox_io import iter_mbox

LIST = "linux-api"
_ID = re.compile(r"<([^<>\s]+)>")


@dataclass
class Mail:
    raw: bytes
    message_id: str
    date: datetime
    subject: str
    author: str
    in_reply_to: str | None
    root: str = ""


def load_mails(data_dir, count: int) -> list[Mail]:
    """The excerpt's first `count` dated messages (it starts with the archive's first 170, unbroken), oldest first."""
    mails: list[Mail] = []
    for raw, _ in iter_mbox(data_dir / "lists/linux-api-2021-excerpt.mbox.gz"):
        msg = message_from_bytes(raw, policy=compat32)
        mid = _ID.search(msg.get("Message-ID", ""))
        try:
            date = parsedate_to_datetime(msg.get("Date")).astimezone(timezone.utc)
        except (TypeError, ValueError):
            continue
        if not mid:
            continue
        reply = _ID.findall(str(msg.get("In-Reply-To", "")))
        mails.append(Mail(raw, mid.group(1), date, str(msg.get("Subject", "")), str(msg.get("From", "")),
                          reply[-1] if reply else None))
        if len(mails) >= count:
            break
    mails.sort(key=lambda m: m.date)
    by_id = {m.message_id: m for m in mails}
    for m in mails:
        root = m
        seen = set()
        while root.in_reply_to in by_id and root.message_id not in seen:
            seen.add(root.message_id)
            root = by_id[root.in_reply_to]
        m.root = root.message_id
    return mails


def to_mbox_gz(mails: list[Mail]) -> bytes:
    out = []
    for m in mails:
        body = re.sub(rb"(?m)^(>*From )", rb">\1", m.raw)  # mboxrd
        out.append(b"From mboxrd@z Thu Jan  1 00:00:00 1970\n" + body.rstrip(b"\n") + b"\n\n")
    return gzip.compress(b"".join(out))


def pi_time(text: str) -> datetime:
    return datetime.fromtimestamp(int(text), tz=timezone.utc)


@dataclass
class FakeLore:
    mails: list[Mail]
    base: str
    arrived: int = 0  # how many of `mails` the list has received so far
    posts: list[str] = field(default_factory=list)  # q= of every search download
    threads: list[str] = field(default_factory=list)  # msgids whose t.mbox.gz was asked for
    cap: int | None = None  # truncate search results like a capped server
    inbox: str = LIST

    def visible(self) -> list[Mail]:
        return self.mails[: self.arrived]

    def atom(self) -> bytes:
        newest = list(reversed(self.visible()))[:25]
        entries = []
        for m in newest:
            href = f"{self.base}/{self.inbox}/{quote(m.message_id, safe='@')}/"
            reply = ""
            if m.in_reply_to:
                rhref = f"{self.base}/{self.inbox}/{quote(m.in_reply_to, safe='@')}/"
                reply = f'<thr:in-reply-to ref="urn:x" href="{escape(rhref)}"/>'
            entries.append(
                f"<entry><author><name>{escape(m.author)}</name></author><title>{escape(m.subject)}</title>"
                f"<updated>{m.date.strftime('%Y-%m-%dT%H:%M:%SZ')}</updated><link href=\"{escape(href)}\"/>"
                f"<id>urn:uuid:{abs(hash(m.message_id))}</id>{reply}<content type=\"text\">x</content></entry>"
            )
        return (
            '<?xml version="1.0" encoding="us-ascii"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
            'xmlns:thr="http://purl.org/syndication/thread/1.0"><title>Linux-API Archive</title>'
            f'<id>mailto:linux-api@vger.kernel.org</id><updated>2021-01-01T00:00:00Z</updated>{"".join(entries)}</feed>'
        ).encode()

    def handle(self, request: Request) -> Response:
        path = request.path
        prefix = f"/{self.inbox}/"
        if path == f"{prefix}new.atom" or (path == prefix and request.args.get("x") == "A"):
            if request.args.get("q"):
                self.posts.append(request.args["q"])
                if not self.visible():
                    page = f"<html><head><title>{escape(request.args['q'])} - search results</title></head></html>"
                    return Response(page, status=404, content_type="text/html; charset=UTF-8")
            return Response(self.atom(), content_type="application/atom+xml")
        if path == prefix and request.method == "POST" and request.args.get("x") == "m":
            q = request.args.get("q", "")
            self.posts.append(q)
            m = re.fullmatch(r"rt:(\d+)\.\.(\d+)", q)
            if not m or request.form.get("z") != "results only":
                return Response("No results found", status=404, content_type="text/plain")  # as for a form it cannot read
            since, until = pi_time(m.group(1)), pi_time(m.group(2))
            found = [x for x in self.visible() if since <= x.date <= until]
            if self.cap is not None:
                found = found[: self.cap]
            if not found:
                return Response("No results found", status=404, content_type="text/plain")
            return Response(to_mbox_gz(found), content_type="application/gzip")
        if path.startswith(prefix) and path.endswith("/t.mbox.gz"):
            mid = unquote(path[len(prefix): -len("/t.mbox.gz")])
            self.threads.append(mid)
            target = next((x for x in self.visible() if x.message_id == mid), None)
            if target is None:
                return Response("not found", status=404)
            return Response(to_mbox_gz([x for x in self.visible() if x.root == target.root]), content_type="application/gzip")
        return Response("not found", status=404)
