"""Say what of a raw review mail could not be read as sent, so a verdict never hides it.

The mail parser (tracker.mail) always returns text: an HTML-only mail becomes
its text, an unknown charset is decoded as best it can. That is the right
thing for a review, which goes on with what can be read; but the reader must
be told, patch by patch. `mail_notes` looks at the raw mail's MIME structure
(headers only, cheap) and returns one warning line per problem.
"""

from __future__ import annotations

import binascii
import codecs
from email import message_from_bytes
from email.policy import compat32

from tracker.api import normalize_message_id


def mail_notes(raw: bytes) -> tuple[str | None, list[str]]:
    """Return (Message-ID, warnings) for one raw mail: HTML parts, broken base64, unknown or undecodable charsets."""
    try:
        msg = message_from_bytes(raw, policy=compat32)
    except Exception:  # noqa: BLE001 - what cannot be parsed is reported by the importer
        return None, []
    message_id = normalize_message_id(str(msg.get("message-id") or "")) or None
    notes: list[str] = []
    types = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        types.append(ctype)
        encoding = str(part.get("content-transfer-encoding") or "").strip().lower()
        payload = part.get_payload()
        if encoding == "base64" and isinstance(payload, str):
            try:
                binascii.a2b_base64("".join(payload.split()).encode("ascii", "replace"))
            except (binascii.Error, ValueError):
                notes.append("broken base64 body: read what decoded")
        charset = part.get_content_charset()
        if charset and ctype.startswith("text/"):
            try:
                codecs.lookup(charset)
            except LookupError:
                notes.append(f"unknown charset {charset!r}: read as UTF-8 or Latin-1")
                continue
            data = part.get_payload(decode=True) or b""
            try:
                data.decode(charset)
            except (UnicodeDecodeError, LookupError):
                notes.append(f"text not valid in its charset {charset!r}: undecodable bytes replaced")
    if "text/html" in types:
        if any(t == "text/plain" for t in types):
            notes.append("an HTML part was left out; the plain-text part was read")
        else:
            notes.append("only an HTML part: its text was read")
    return message_id, list(dict.fromkeys(notes))
