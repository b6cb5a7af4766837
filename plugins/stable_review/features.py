"""Turn a commit subject into the features the security model weighs.

Training (bench/train_stable_model.py) and inference share this one function,
so a model can never be scored on features it was not trained on.

A subject is split into its subsystem prefix ("net/sched: ", "[NETFILTER]: ")
and its description; prefixes become "p:" features, description words "w:"
and adjacent word pairs "b:". Hyphenated words ("use-after-free") are kept
whole and also split, so old and new spellings share weight.
"""

from __future__ import annotations

import re
from functools import lru_cache

_MAIL_TAG = re.compile(r"^\s*\[(?:patch|rfc|resend)[^\]]*\]\s*", re.I)
_BRACKET_PREFIX = re.compile(r"^\s*\[([A-Za-z0-9_./+ -]{1,40})\]:?\s*")
_REVERT = re.compile(r'^revert\s*"(.*)"\s*$', re.S | re.I)
_WORD = re.compile(r"[a-z0-9_]+(?:[-'][a-z0-9_]+)*")
_PREFIX_PART = re.compile(r"[a-z0-9_+.-]+")

# A description colon ("foo: bar: fix x") ends a prefix only when what precedes
# it looks like a subsystem tag: short, no spaces after the first word.
_PREFIX_MAX = 40


@lru_cache(maxsize=8192)
def clean_subject(subject: str) -> str:
    """Drop mail tags such as "[PATCH 6.1 012/172]" and surrounding whitespace."""
    subject = " ".join((subject or "").split())
    while True:
        stripped = _MAIL_TAG.sub("", subject, count=1)
        if stripped == subject:
            return subject
        subject = stripped


def _is_prefix(head: str) -> bool:
    """Say whether text before ": " is a subsystem tag ("bpf, offload", "drm/i915") and not prose."""
    head = head.strip()
    if not head or len(head) > _PREFIX_MAX:
        return False
    return " " not in head.replace(", ", ",")


@lru_cache(maxsize=8192)
def split_subject(subject: str) -> tuple[list[str], str]:
    """Return (prefix components, description), e.g. "net/sched: fix x" -> (["net/sched"], "fix x").

    Cached: the classifier and the subsystem namer both ask; callers must not mutate the list.
    """
    subject = clean_subject(subject)
    prefixes: list[str] = []
    while True:
        m = _BRACKET_PREFIX.match(subject)
        if m and not m.group(1).lower().startswith(("patch", "rfc")):
            prefixes.append(m.group(1).strip())
            subject = subject[m.end():]
            continue
        head, sep, rest = subject.partition(": ")
        if sep and rest and _is_prefix(head):
            prefixes.append(head.strip())
            subject = rest
            continue
        return prefixes, subject.strip()


def reverted_subject(subject: str) -> str | None:
    """Return the subject a revert undoes ('Revert "x: fix y"' -> "x: fix y"), else None.

    A revert's own words are the reverted change's: naming the subsystem and the
    impact from them without saying "revert" would describe the opposite change.
    """
    text = clean_subject(subject)
    m = _REVERT.match(text)
    if m:
        return m.group(1).strip()
    if text.lower().startswith("revert "):
        return text[7:].strip()
    return None


def subject_features(subject: str) -> list[str]:
    """Return the feature names of one subject (with repeats removed, order kept)."""
    text = clean_subject(subject)
    feats: list[str] = []
    undone = reverted_subject(text)
    if undone is not None:
        feats.append("f:revert")
        text = undone
    prefixes, desc = split_subject(text)
    for depth, prefix in enumerate(prefixes[:3]):
        parts = _PREFIX_PART.findall(prefix.lower())
        for i, part in enumerate(parts[:3]):
            feats.append("p:" + part)
        if depth == 0 and parts:
            feats.append("p0:" + parts[0])
    if not prefixes:
        feats.append("f:noprefix")
    words: list[str] = []
    for token in _WORD.findall(desc.lower()):
        words.append(token)
        if "-" in token:
            words.extend(token.split("-"))
        if "_" in token:  # an identifier: its parts (tcf_mirred_act -> tcf, mirred, act) recur across fixes
            words.extend(part for part in token.split("_") if part)
    for w in words:
        feats.append("w:" + w)
    plain = _WORD.findall(desc.lower())
    for a, b in zip(plain, plain[1:]):
        feats.append("b:" + a + "_" + b)
    if plain:
        feats.append("w0:" + plain[0])
    feats.extend(pattern_features(desc.lower()))
    seen = set()
    out = []
    for f in feats:
        if f not in seen:
            seen.add(f)
            out.append(f)
    return out


# Word groups pool rare spellings into one dense feature each, so the model
# generalises to releases (and eras) whose exact words it never saw.
PATTERN_GROUPS: dict[str, re.Pattern] = {
    name: re.compile(rx)
    for name, rx in {
        "memsafety": r"use[- ]after[- ]free|\buaf\b|out[- ]of[- ]bounds?|\boobs?\b|overflow|overrun|underflow|double[- ]free|out[- ]of[- ]range|slab|buffer|array[- ]index|\bindex\b|memory corruption|corrupt|stack",
        "nullptr": r"\bnull\b|null[- ]?ptr|nullptr|null[- ]pointer|deref",
        "leak": r"leak|memleak|refcount|reference count|\bput\b|_put\b|missing .*free|free .*on error",
        "infoleak": r"info(rmation)? leak|uninit|initiali[sz]e|zero[- ]?init|kernel pointer|padding|kmsan",
        "concurrency": r"\brac(e|es|y|ing)\b|data[- ]race|concurren|\block(s|ing|ed)?\b|deadlock|rcu|atomic|spinlock|mutex|serialize",
        "crash": r"crash|oops|panic|\bbug\b|bug_on|warn(ing)?\b|warn_on|splat|kasan|ubsan|kmsan|kcsan|syzbot|syzkaller|gpf|general protection|fault",
        "hang": r"hang|stall|lockup|infinite|loop forever|livelock|soft lockup|hung",
        "validate": r"validat|sanity|\bcheck|verify|\bensure|reject|bound|limit|clamp|sanitize|restrict|length|\bsize\b|\blen\b|zero",
        "errorpath": r"error (path|handling|flow|case)|on error|\berr\b|fail|failure|return value|unwind|cleanup|clean up",
        "perm": r"permission|privilege|capab|\bcap_|access|secur|bypass|auth|\bacl\b|uid|namespace|userns",
        "divide": r"divide|division|div(ide)?[- ]by[- ]zero|\bdiv0\b|shift",
        "hwenable": r"\badd(s|ed|ing)?\b.*\b(support|id|ids|quirk|device|entry|compatible|table)\b|quirk|device id|\bpci id|\busb id|new device|\bsupport for\b|enable .* (on|for)\b",
        "build": r"\bbuild\b|compil|kconfig|\bdepends\b|warning:|-wunused|-werror|unused|sparse|clang|gcc|typo|spelling|comment|kernel-doc|\bdoc(s|umentation)?\b",
        "tests": r"selftest|\btests?\b|kselftest|kunit",
        "refactor": r"refactor|cleanup|clean up|\bsimplif|rename|\bmove\b|factor out|helper|introduce|prepare|prep\b|export|wrapper|convert|switch to|use .* instead|\bdrop\b|\bremove\b",
        "perf": r"performance|speed ?up|faster|optimi[sz]|improve|latency|throughput|\breduce\b",
        "hwfix": r"\bclock\b|\bclk\b|regulator|voltage|\bgpio\b|\bpinctrl\b|\bdts\b|dtsi|\bphy\b|\bfirmware\b|\bfw\b|\bled\b|\bpm\b|suspend|resume|\bdisplay\b|timing|frequency|\bdma\b",
        "fixword": r"\bfix(es|ed|ing)?\b|\bavoid\b|\bprevent\b|\bcorrect\b|\bhandle\b|\bdon'?t\b|\bdo not\b",
    }.items()
}


def _alternatives(pattern: str) -> list[str]:
    """Split a regex at its top-level "|" (outside groups and character classes)."""
    parts, depth, in_class, start, i = [], 0, False, 0, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        elif c == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    parts.append(pattern[start:])
    return parts


# Speed: most alternatives match inside one word, so each distinct word is
# tested against the groups once and remembered (words repeat across
# subjects); only alternatives that can span words ("use after free",
# "missing .*free") scan the whole text. Same answers as searching the text
# with each group's full pattern, for the words _WORD finds.
_SPANNING = re.compile(r" |\.\*|\[[^\]]* [^\]]*\]|\\s|[:/]")
_PHRASES = tuple(
    (name, re.compile("|".join(alts)))
    for name, alts in (
        (name, [a for a in _alternatives(rx.pattern) if _SPANNING.search(a)]) for name, rx in PATTERN_GROUPS.items()
    )
    if alts
)
def loose_precheck(*patterns: str) -> re.Pattern:
    """Return one regex matching wherever any of `patterns` could match: their union without "\\b".

    Dropping word boundaries only widens the match, so a miss proves none of
    the patterns matches; and without a leading "\\b" every alternative starts
    with a literal, which lets the regex engine skip ahead (about 4x faster).
    """
    alts = [a.replace(r"\b", "") for p in patterns for a in _alternatives(p)]
    return re.compile("|".join(f"(?:{a})" for a in alts))


# Prechecks: most words and subjects match no group at all, so one search of
# the union settles them before the per-group searches.
_ANY_WORD_GROUP = loose_precheck(*(rx.pattern for rx in PATTERN_GROUPS.values()))
_ANY_PHRASE = loose_precheck(*(rx.pattern for _, rx in _PHRASES))
_TOKEN = re.compile(r"[a-z0-9_]+(?:[-'][a-z0-9_]+)*|[-:/]\S*")
_WORD_GROUPS: dict[str, frozenset] = {}


def _groups_of_word(word: str) -> frozenset:
    found = _WORD_GROUPS.get(word)
    if found is None:
        if _ANY_WORD_GROUP.search(word):
            found = frozenset(name for name, rx in PATTERN_GROUPS.items() if rx.search(word))
        else:
            found = frozenset()
        if len(_WORD_GROUPS) < 50000:
            _WORD_GROUPS[word] = found
    return found


def pattern_features(text: str) -> list[str]:
    """Return "g:<group>" for each word group found in lower-cased `text`, in group order."""
    found: set[str] = set()
    for word in _TOKEN.findall(text):
        found |= _groups_of_word(word)
    if " " in text and _ANY_PHRASE.search(text):
        found.update(name for name, rx in _PHRASES if name not in found and rx.search(text))
    return ["g:" + name for name in PATTERN_GROUPS if name in found]


def clear_caches() -> None:
    """Forget every memo (the speed bench starts each round cold)."""
    clean_subject.cache_clear()
    split_subject.cache_clear()
    _WORD_GROUPS.clear()
