"""Read the prefixes of a mailing-list subject: what kind of mail it is and where it sits in a series.

Kernel mail encodes its metadata in the subject: `[PATCH net-next v3 RFC 02/10]`,
`[patch 0/6]`, `[PATCH 6.1 000/123]`, Mercurial's `[PATCH 1 of 2]`, Patchwork's
`[net,v2,1/2]`, `Re:`/`Fwd:` chains, `[GIT PULL]`, `[ANNOUNCE]`, and people
who forget the brackets (`PATCH v2: foo`) or one of them (`PATCH v2 0/2] power: supply: ...`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_REPLY_RE = re.compile(r"^\s*(re|fwd?|aw|sv|antw)\s*(?:\[\d+\])?\s*:\s*", re.I)
_BRACKET_RE = re.compile(r"^\s*\[([^\[\]]*)\]\s*:?\s*")
# "PATCH v2 3/7: foo" or "PATCH: foo" or "RFC PATCH 1/2 foo" without brackets.
_BARE_RE = re.compile(r"^\s*((?:RFC\s+)?PATCH(?:\s+v\d+)?(?:\s+\d+\s*/\s*\d+)?)(?:\s*:\s*|\s+(?=\S))")
# A prefix that lost one bracket: "PATCH v2 0/2] power: supply: ..." or "[PATCH v2 0/2 power: supply: ...".
_STRAY_CLOSE_RE = re.compile(r"^\s*((?:RFC\s+|RESEND\s+)*PATCH\b[^\[\]:]{0,60}?)\]\s*:?\s*", re.I)
_UNCLOSED_RE = re.compile(r"^\s*\[((?:RFC\s+|RESEND\s+)*PATCH(?:\s+[\w.-]+)*?\s+\d+\s*/\s*\d+)\s+(?=[^\]]*$)", re.I)
_NUMBER_RE = re.compile(r"(?<![\w.])(\d+)\s*(?:/|\s+of\s+)\s*(\d+)(?![\w.])", re.I)
_VERSION_RE = re.compile(r"^(?:patch)?[-_]?v(\d+)$", re.I)
_SPLIT_RE = re.compile(r"[\s,]+")
_STEM_VERSION_RE = re.compile(r"\s*\((?:v|take\s*)\d+\)\s*$", re.I)
# Words that make a bracket a prefix (rather than part of the title, like "[EBTABLES]").
_PREFIX_WORDS = {"patch", "rfc", "resend", "git", "pull", "announce", "announcement", "pull request"}


@dataclass
class Subject:
    """What the prefixes of one subject say. `number`/`total` are None outside a numbered series."""

    is_patch: bool = False
    is_reply: bool = False
    is_forward: bool = False
    is_pull: bool = False
    is_announce: bool = False
    is_rfc: bool = False
    is_resend: bool = False
    version: int = 1
    version_explicit: bool = False
    number: int | None = None
    total: int | None = None
    prefixes: list[str] = field(default_factory=list)
    stem: str = ""


def _is_prefix_bracket(tokens: list[str], inside: str) -> bool:
    low = inside.lower()
    if _NUMBER_RE.search(inside):
        return True
    return any(t.lower() in _PREFIX_WORDS or _VERSION_RE.match(t) or t.lower().startswith("patch") for t in tokens) or "git pull" in low


def _read_tokens(inside: str, result: Subject) -> None:
    """Fold the tokens of one prefix bracket into `result`."""
    m = _NUMBER_RE.search(inside)
    if m:
        result.number, result.total = int(m.group(1)), int(m.group(2))
        inside = inside[: m.start()] + " " + inside[m.end() :]
    for token in _SPLIT_RE.split(inside):
        if not token:
            continue
        low = token.lower()
        vm = _VERSION_RE.match(token)
        if vm:
            result.version = int(vm.group(1))
            result.version_explicit = True
            if low.startswith("patch"):
                result.is_patch = True
                result.prefixes.append("PATCH")
            continue
        if low == "patch" or low == "patches":
            result.is_patch = True
            result.prefixes.append("PATCH")
        elif low == "rfc":
            result.is_rfc = True
            result.prefixes.append("RFC")
        elif low == "resend":
            result.is_resend = True
            result.prefixes.append("RESEND")
        elif low == "pull":
            result.is_pull = True
            result.prefixes.append("PULL")
        elif low == "git":
            result.prefixes.append("GIT")
        elif low in ("announce", "announcement"):
            result.is_announce = True
            result.prefixes.append("ANNOUNCE")
        else:
            result.prefixes.append(token)


def parse_subject(subject: str | None) -> Subject:
    """Parse the prefixes of a subject.

    Example: "Re: [PATCH net-next v2 3/7] net: foo" -> is_reply, is_patch,
    version 2, number 3, total 7, prefixes ["PATCH", "net-next"], stem "net: foo".
    """
    result = Subject()
    text = " ".join((subject or "").split())
    saw_bracket = False
    while True:
        m = _REPLY_RE.match(text)
        if m:
            if m.group(1).lower().startswith("f"):
                result.is_forward = True
            else:
                result.is_reply = True
            text = text[m.end() :]
            continue
        m = _BRACKET_RE.match(text)
        if m:
            inside = m.group(1).strip()
            tokens = [t for t in _SPLIT_RE.split(inside) if t]
            # The first bracket is always a prefix (a list tag at worst); later ones only
            # when they read like one, so "[patch 2/6] [EBTABLES] Don't..." keeps its tag.
            if not saw_bracket or _is_prefix_bracket(tokens, inside):
                saw_bracket = True
                _read_tokens(inside, result)
                text = text[m.end() :]
                continue
            break
        if not saw_bracket:
            m = _STRAY_CLOSE_RE.match(text) or _UNCLOSED_RE.match(text) or _BARE_RE.match(text)
            if m:
                saw_bracket = True
                _read_tokens(m.group(1), result)
                text = text[m.end() :]
                continue
        break
    if result.number is not None:
        result.is_patch = True  # "[net,v2,1/2]" (a list's own tag) still numbers a patch
    if result.is_pull or result.is_announce:
        result.is_patch = False
    stem = text.strip()
    if not result.version_explicit:
        vm = re.search(r"\((?:v)(\d+)\)\s*$", stem, re.I)
        if vm:
            result.version = int(vm.group(1))
    result.stem = stem
    return result


def stem_key(stem: str) -> str:
    """Return the comparable form of a stem: lower case, single spaces, no "(v3)" suffix."""
    return " ".join(_STEM_VERSION_RE.sub("", stem or "").lower().split())


# "2.6.32.9-stable review", "4.19.107-stable review", "6.12.5-rc1 review", "2.6.14.7 -stable review"
_STABLE_REVIEW_RE = re.compile(r"^(\d+\.\d+(?:\.\d+)*(?:-rc\d+)?)\s*(?:-\s*stable\s+|stable\s+)?review\b", re.I)


def stable_release_of(stem: str) -> str | None:
    """Return the release a stable review cover announces, e.g. "6.12.5-rc1 review" -> "6.12.5-rc1"."""
    m = _STABLE_REVIEW_RE.match(stem or "")
    return m.group(1) if m else None


def message_role(subject: Subject, *, has_diff: bool, in_reply_to: str | None) -> tuple[str | None, int | None, int | None]:
    """Return (role, number, total): role is "cover", "patch", "reply" or None.

    A mail without prefixes that carries a diff is a patch of its own
    (Patchwork's "unnumbered" fixture: its own series); a "Re:" is a reply even
    with a diff.
    """
    if subject.is_reply or subject.is_forward:
        return "reply", None, None
    if subject.is_patch:
        if subject.number == 0:
            return "cover", 0, subject.total
        return "patch", subject.number or 1, subject.total or 1
    if has_diff and not (subject.is_pull or subject.is_announce):
        return "patch", 1, 1
    if in_reply_to:
        return "reply", None, None
    return None, None, None
