"""Parse one raw mail (bytes) into plain data: ids, author, date, body, diff, trailers.

The stdlib parser runs with the `compat32` policy: on LKML-shaped mail it is
about 8x faster than `policy.default` (STYLE.md; bench/ingest.py prints the
figures) and it never raises on broken MIME. Encoded headers are decoded by
hand with `email.header`, which is all `policy.default` would buy us.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
import binascii
import quopri
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import Message
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime

from .patch_text import find_upstream_commit, read_diffstat, read_trailers, split_diff  # noqa: F401 - re-exported

_MSGID_RE = re.compile(r"<([^<>\s]+)>")
_TEXT_TYPES = {"text/plain", "text/x-patch", "text/x-diff", "text/x-log", "application/x-patch"}
_TAG_RE = re.compile(r"<[^>]*>", re.S)
_SCRIPT_RE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.S | re.I)
_BREAK_RE = re.compile(r"<\s*(br|/p|/div|/tr|/li|/h\d)\b[^>]*>", re.I)


@dataclass
class ParsedMessage:
    """One mail as plain data; `warnings` says what was wrong with it (never raises)."""

    message_id: str
    subject: str = ""
    author_name: str = ""
    author_email: str = ""
    date: str | None = None
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    list_id: str | None = None
    body: str = ""
    diff: str = ""
    diffstat: list[dict] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    trailers: list[list[str]] = field(default_factory=list)
    change_id: str | None = None  # b4's change-id (X-Change-ID header, else the "change-id:" trailer)
    upstream_commit: str | None = None
    raw_sha256: str = ""
    synthetic_id: bool = False
    has_headers: bool = True
    warnings: list[str] = field(default_factory=list)


def _change_id(header: str, trailers: list[list[str]]) -> str | None:
    """b4's change-id of a mail: the X-Change-ID header, else the last "change-id:" trailer.

    The header is kept as a "change-id" trailer too when the body has none (b4
    puts the trailer in the cover letter only, the header on every mail), so
    that threading, which reads trailers_json, joins the versions of a series
    without a column of its own on every message.
    """
    trailer = None
    for name, value in trailers:
        if name == "change-id":
            trailer = value
    header = header.strip().strip("<>").strip() or None
    if header and trailer is None:
        trailers.append(["change-id", header])
    return header or trailer


def decode_header_text(value) -> str:
    """Decode an RFC 2047 header into one unfolded line; never raises on bad charsets."""
    if value is None:
        return ""
    if not isinstance(value, str):  # compat32 hands back a Header for 8-bit junk
        value = str(value)
    if "=?" in value:
        try:
            value = str(make_header(decode_header(value)))
        except Exception:  # noqa: BLE001 - unknown charset, bad base64: keep the raw text
            pass
    return " ".join(value.replace("\x00", "").split())


def normalize_message_id(value: str | None) -> str | None:
    """Return a Message-ID without angle brackets, e.g. "<a@b>" -> "a@b"; None when empty."""
    if not value:
        return None
    m = _MSGID_RE.search(value)
    if m:
        return m.group(1)
    value = value.strip().strip("<>").strip()
    return value.split()[0] if value else None


def _all_ids(values) -> list[str]:
    ids = []
    for value in values or ():
        found = _MSGID_RE.findall(str(value))
        if not found:
            one = normalize_message_id(str(value))
            found = [one] if one else []
        for mid in found:
            if mid not in ids:
                ids.append(mid)
    return ids


def _decode_payload(part) -> str:
    payload = part.get_payload(decode=True)
    if payload is None:
        payload = part.get_payload()
        if isinstance(payload, list):
            return ""
        return str(payload or "")
    charset = part.get_content_charset() or "utf-8"
    try:
        text = payload.decode(charset, errors="replace")
    except LookupError:  # a charset Python does not know: utf-8 first, then bytes as latin-1
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            text = payload.decode("latin-1")
    return text.replace("\x00", "")


def html_to_text(markup: str) -> str:
    """Turn an HTML part into plain text: drop scripts and tags, keep line breaks."""
    markup = _SCRIPT_RE.sub("", markup)
    markup = _BREAK_RE.sub("\n", markup)
    text = html.unescape(_TAG_RE.sub("", markup))
    return "\n".join(line.rstrip() for line in text.splitlines())


def _body_text(msg) -> str:
    plain, htmls = [], []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        if ctype in _TEXT_TYPES or (ctype.startswith("text/") and ctype != "text/html" and part.get_filename()):
            plain.append(_decode_payload(part))
        elif ctype == "text/html":
            htmls.append(_decode_payload(part))
    if plain:
        return "\n".join(plain)
    return "\n".join(html_to_text(h) for h in htmls)


_DATE_RE = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)\Z", re.A
)
_MONTHS = {m: i for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}


def _fast_date(text: str) -> str | None:
    """Convert the common RFC 5322 date shape directly; None sends it through parsedate_to_datetime."""
    m = _DATE_RE.match(text)
    if not m:
        return None
    day, mon, year, hh, mm, ss, sign, tzh, tzm = m.groups()
    offset = int(tzh) * 3600 + int(tzm) * 60
    try:
        dt = datetime(int(year), _MONTHS[mon], int(day), int(hh), int(mm), int(ss))
        if offset:
            dt -= timedelta(seconds=offset if sign == "+" else -offset)
        if not 1 <= dt.year <= 9999 or offset >= 86400:
            return None
    except (ValueError, OverflowError):
        return None
    return dt.isoformat(timespec="seconds") + "+00:00"


def _parse_date(value, warnings: list[str]) -> str | None:
    if not value:
        warnings.append("no Date header")
        return None
    text = decode_header_text(value)
    fast = _fast_date(text)
    if fast is not None:
        return fast
    try:
        dt = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        dt = None
    if dt is None:
        warnings.append(f"invalid Date header {text[:60]!r}")
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    try:
        return dt.astimezone(timezone.utc).isoformat(timespec="seconds")
    except (OverflowError, ValueError):
        warnings.append(f"invalid Date header {text[:60]!r}")
        return None


_WANTED = {"message-id", "x-change-id", "references", "in-reply-to", "from", "subject", "date", "list-id",
           "content-type", "content-transfer-encoding"}
_SIMPLE_FROM_RE = re.compile(r'^\s*"?([^"<>]*?)"?\s*<([^<>\s]+@[^<>\s]+)>\s*$')
_FIELD_RE = re.compile(r"^([!-9;-~]+)[ \t]*:[ \t]?(.*)$")


def _split_raw(raw: bytes) -> tuple[bytes, bytes]:
    """Split raw mail into its header block and body at the first empty line."""
    lf = raw.find(b"\n\n")
    crlf = raw.find(b"\r\n\r\n")
    if crlf >= 0 and (lf < 0 or crlf < lf):
        return raw[: crlf + 2], raw[crlf + 4 :]
    if lf >= 0:
        return raw[: lf + 1], raw[lf + 2 :]
    return raw, b""


def read_header_block(head: bytes) -> tuple[dict[str, list[str]], int]:
    """Return ({lower-case name: [values]}, field count) for the fields ktrack reads, unfolded.

    Splitting the header block by hand is ~2x faster than the stdlib feedparser
    (STYLE.md); 8-bit header bytes are taken as UTF-8 (what mailers send), else latin-1.
    """
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = head.decode("latin-1")
    fields: dict[str, list[str]] = {}
    count = 0
    name = None
    parts: list[str] = []
    for line in text.splitlines():
        first = line[:1]
        if first == " " or first == "\t":
            if name is not None:
                parts.append(line.strip())
            continue
        if name is not None:
            fields.setdefault(name, []).append(" ".join(parts))
            name = None
        # a field is "name:" with a name of printable ASCII but space (what _FIELD_RE says),
        # checked with str methods: a regex per line was a tenth of the parse time
        colon = line.find(":")
        if colon <= 0:
            continue
        field = line[:colon].rstrip(" \t")
        if not (field and field.isascii() and field.isprintable() and " " not in field):
            continue
        count += 1
        low = field.lower()
        if low in _WANTED:
            name, parts = low, [line[colon + 1 :].strip()]
    if name is not None:
        fields.setdefault(name, []).append(" ".join(parts))
    return fields, count


# "text/plain", "text/plain; charset=utf-8", "text/plain; charset=\"UTF-8\"; format=flowed":
# values this simple need no email.message.Message (RFC 2231, comments, escapes do)
_CTYPE_RE = re.compile(
    r'\s*([!#$%&\'*+.^_`|~0-9A-Za-z-]+/[!#$%&\'*+.^_`|~0-9A-Za-z-]+)\s*'
    r'((?:;\s*[A-Za-z0-9_.-]+\s*=\s*(?:"[^"\\;<>]*"|[^\s";\\<>]*)\s*)*);?\s*\Z'
)
_PARAM_RE = re.compile(r'([A-Za-z0-9_.-]+)\s*=\s*(?:"([^"\\;<>]*)"|([^\s";\\<>]*))')


def _content_type(value: str | None) -> tuple[str, str | None] | None:
    """Return (type, charset) like Message.get_content_type/get_content_charset; None if not simple."""
    if value is None:
        return "text/plain", None
    m = _CTYPE_RE.match(value)
    if not m:
        return None
    charset = None
    for name, quoted, bare in _PARAM_RE.findall(m.group(2)):
        if name.lower() == "charset":
            charset = (quoted or bare).lower() if quoted or bare else ""
            break
    return m.group(1).lower(), charset


def _simple_body(headers: dict, body: bytes) -> str | None:
    """Decode a single-part text body without running the full MIME parser; None if not simple.

    The full parser walks every body line in Python; most list mail is one
    text/plain part, for which this is several times faster.
    """
    value = headers["content-type"][0] if headers.get("content-type") else None
    simple = _content_type(value)
    if simple is None:
        msg = Message()
        msg["Content-Type"] = value
        ctype, charset = msg.get_content_type(), msg.get_content_charset()
    else:
        ctype, charset = simple
    if ctype not in _TEXT_TYPES and ctype != "text/html":
        return None
    cte = (headers.get("content-transfer-encoding") or [""])[0].strip().lower()
    try:
        if cte == "quoted-printable":
            body = quopri.decodestring(body)
        elif cte == "base64":
            body = binascii.a2b_base64(body)
    except (binascii.Error, ValueError):
        return None
    charset = charset or "utf-8"
    try:
        text = body.decode(charset, errors="replace")
    except LookupError:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = body.decode("latin-1")
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    text = text.replace("\x00", "")
    return html_to_text(text) if ctype == "text/html" else text


def _read_author(from_value: str) -> tuple[str, str]:
    if not from_value:
        return "", ""
    m = _SIMPLE_FROM_RE.match(from_value)
    if m:
        return m.group(1).strip(), m.group(2)
    try:
        addrs = getaddresses([from_value])
    except Exception:  # noqa: BLE001
        addrs = []
    name, email = addrs[0] if addrs else ("", "")
    if not email and "@" in from_value:
        email = from_value
    return name, email


def parse_message(raw: bytes, *, sha256: str | None = None) -> ParsedMessage:
    """Parse raw mail bytes into a ParsedMessage; problems become `warnings`, never exceptions.

    `sha256` is the hex digest of `raw` when the caller has it already.
    Example: parse_message(open("0001-foo.patch", "rb").read()).files -> ["mm/foo.c"]
    """
    sha = sha256 or hashlib.sha256(raw).hexdigest()
    head, body_bytes = _split_raw(raw)
    headers, field_count = read_header_block(head)
    warnings: list[str] = []

    def first(name):
        values = headers.get(name)
        return values[0] if values else None

    has_headers = any(first(h) is not None for h in ("from", "subject", "message-id", "date"))
    text = None
    if field_count and not (headers.get("content-type") or [""])[0].lower().startswith("multipart"):
        text = _simple_body(headers, body_bytes)
    if text is None:
        try:
            full = message_from_bytes(raw, policy=compat32)
            for defect in full.defects[:1]:
                warnings.append(f"malformed MIME: {type(defect).__name__}")
            text = _body_text(full)
        except Exception as exc:  # noqa: BLE001 - broken MIME must not lose the message
            warnings.append(f"unreadable body: {type(exc).__name__}")
            text = ""

    message_id = normalize_message_id(decode_header_text(first("message-id")))
    synthetic = message_id is None
    if synthetic:
        message_id = f"ktrack-{sha[:32]}@synthetic.invalid"
        warnings.append(f"no Message-ID; stored as {message_id}")

    references = _all_ids(headers.get("references"))
    in_reply_to_ids = _all_ids(headers.get("in-reply-to"))
    in_reply_to = in_reply_to_ids[-1] if in_reply_to_ids else (references[-1] if references else None)
    if in_reply_to == message_id:
        in_reply_to = None
    name, email = _read_author(decode_header_text(first("from")))
    list_id = None
    if first("list-id"):
        lid = decode_header_text(first("list-id"))
        m = _MSGID_RE.search(lid)
        list_id = m.group(1) if m else lid or None

    body, diff = split_diff(text)
    diffstat = read_diffstat(diff) if diff else []
    trailers = read_trailers(body)
    change_id = _change_id(decode_header_text(first("x-change-id")), trailers)
    return ParsedMessage(
        message_id=message_id,
        subject=decode_header_text(first("subject")),
        author_name=name.strip().strip('"'),
        author_email=email.strip().lower(),
        date=_parse_date(first("date"), warnings),
        in_reply_to=in_reply_to,
        references=references,
        list_id=list_id,
        body=body,
        diff=diff,
        diffstat=diffstat,
        files=[d["path"] for d in diffstat],
        trailers=trailers,
        change_id=change_id,
        upstream_commit=find_upstream_commit(body),
        raw_sha256=sha,
        synthetic_id=synthetic,
        has_headers=has_headers,
        warnings=warnings,
    )
