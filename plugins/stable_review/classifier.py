"""Sort one stable patch into security / bugfix / enhancement, with the reasons shown.

A patch with a commit message goes through the message model
(model-message.json: logistic regression over the subject, the message, its
trailers and the diff, fitted with scikit-learn by bench/train_stable_model.py
and read here as plain JSON). A patch with only a subject (a cover letter's
shortlog, `git log --oneline`) falls back to the subject model (model.json)
and says so in its evidence. The evidence quotes the lines that weighed most,
so a reader can check a verdict against the mail itself.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from . import describe
from . import message as msg
from .features import clean_subject, loose_precheck, pattern_features, subject_features  # noqa: F401 (re-exported)

MODEL_PATH = Path(__file__).with_name("model.json")
MESSAGE_MODEL_PATH = Path(__file__).with_name("model-message.json")
CATEGORIES = ("security", "bugfix", "enhancement")

# Function words still weigh in the score but say nothing to a reader as evidence.
EVIDENCE_STOPWORDS = frozenset("a an the in on of for to from by with and or at as is be when if into it its this that".split())
CVE_ID = re.compile(r"\bCVE-\d{4}-\d{4,7}\b", re.I)
_MAYBE_USER_REACHABLE = loose_precheck(describe.USER_REACHABLE.pattern)

# The subject model's diff rules, for a patch that came with a diff but no message (the message
# model reads diffs itself). Round weights: an editor's reading, kept from the subject-only days.
DIFF_RULES = [
    ("diff adds a bounds/length check", 0.4, re.compile(r"^\+.*\bif \(.*(len|size|count|idx|index|offset)\b.*[<>]=?", re.M)),
    ("diff adds a NULL check", 0.3, re.compile(r"^\+\s*if \(!\w+(->\w+)*\)|^\+.*== null\b", re.M)),
    ("diff adds a capability check", 1.0, re.compile(r"^\+.*\b(ns_)?capable\(", re.M)),
    ("diff touches copy_from_user/copy_to_user", 0.4, re.compile(r"^[+-].*\bcopy_(from|to)_user\(", re.M)),
]

# Paths that cannot carry a runtime vulnerability on their own.
HARMLESS_PATHS = re.compile(r"^(documentation/|tools/testing/|tools/perf/|scripts/|arch/[^/]+/boot/dts/|.*\.(rst|txt|yaml)$|maintainers$)")


@dataclass
class Verdict:
    """What the stable review says about one patch; `evidence` lists what a reader can check."""

    category: str
    summary: str
    subsystem: str
    score: float  # confidence in `category`, 0..1
    evidence: list[str] = field(default_factory=list)
    security_score: float = 0.0  # probability-like score of the security class, 0..1
    by: str = "stable_review"
    confidence: float | None = None  # calibrated probability that the patch gets a CVE
    message_evidence: list[dict] = field(default_factory=list)  # {"source", "text", "weight"}: the lines that weighed most
    warnings: list[str] = field(default_factory=list)  # what could not be read (an oversized diff, an HTML-only mail...)
    fixes: list[dict] = field(default_factory=list)  # {"commit", "subject"} of each Fixes: trailer

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@lru_cache(maxsize=1)
def load_model(path: str = str(MODEL_PATH)) -> dict:
    """Read the shipped weights once: {"bias": b, "threshold": t, "weights": {feature: w}}."""
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


@lru_cache(maxsize=1)
def load_message_model(path: str = str(MESSAGE_MODEL_PATH)) -> dict | None:
    """Read the message model once ({"with_diff": table, "message_only": table}); None when it is not shipped."""
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        return None


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(min(z, 30.0), -30.0)))


def describe_feature(name: str) -> str:
    """Turn a model feature into words: "w:overflow" -> "word 'overflow'"."""
    kind, _, value = name.partition(":")
    return {
        "w": f"word '{value}'",
        "w0": f"subject starts with '{value}'",
        "b": f"phrase '{value.replace('_', ' ', 1)}'",
        "p": f"subsystem tag '{value}'",
        "p0": f"subsystem '{value}'",
        "g": f"{value} wording",
        "f": {"revert": "a revert", "noprefix": "no subsystem tag"}.get(value, value),
    }.get(kind, name)


def security_logit(subject: str, *, model: dict | None = None) -> tuple[float, list[tuple[str, float]]]:
    """Return (logit, [(feature, weight), ...]) of the subject under the model."""
    model = model or load_model()
    weights = model["weights"]
    contributions = []
    z = model["bias"]
    for f in subject_features(subject):
        w = weights.get(f)
        if w:
            z += w
            contributions.append((f, w))
    return z, contributions


# The stable rules long capped a patch at 100 lines: a check somewhere in a
# bigger change says nothing about what the change fixes.
FIX_SIZED_LINES = 100


def fix_evidence_diff(diff: str) -> str:
    """Return the part of a diff whose added checks can be read as a fix: changes to existing files, fix-sized.

    A NULL or bounds check inside a brand-new file, or inside a feature-sized
    change, is the feature's own code. On 1,810 real linux-api patches (mostly
    features) this and the user-reachability condition in classify_patch cut
    the security flags by a third (15.6% -> 10.3%; bench/stable_quality.py
    section 3), at 0.7 points of recall on held-out CNA fixes.
    """
    blocks = re.split(r"(?m)^(?=diff --git )", diff)
    kept = "".join(b for b in blocks if "\n--- /dev/null" not in b and "\nnew file mode" not in b)
    added = sum(1 for line in kept.splitlines() if line.startswith("+") and not line.startswith("+++"))
    return kept if added <= FIX_SIZED_LINES else ""


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def classify_patch(patch: dict) -> Verdict:
    """Classify one patch dict (needs "subject"; uses body, diff, files, trailers when present)."""
    subject = clean_subject(_as_text(patch.get("subject")))
    body = _as_text(patch.get("body"))
    diff = _as_text(patch.get("diff"))
    files = [f for f in (patch.get("files") or []) if isinstance(f, str)]
    trailers = [t for t in (patch.get("trailers") or []) if isinstance(t, (list, tuple)) and len(t) == 2]
    warnings = input_warnings(patch)

    reading = msg.read_message(subject, body, diff, files, trailers)
    warnings += reading.warnings
    mmodel = load_message_model()
    message_evidence: list[dict] = []
    if reading.has_body and mmodel:
        z, threshold, evidence, message_evidence = _message_verdict(reading, mmodel)
    else:
        z, threshold, evidence = _subject_verdict(subject, diff, trailers)
        why = "no commit message" if not body.strip() else "the message model is not installed" if not mmodel else "no readable commit message"
        evidence.insert(0, f"{why}: verdict from the subject model only")

    cves = sorted({c.upper() for c in CVE_ID.findall(subject + "\n" + body)})
    if cves:
        z += 4.0
        evidence.append("CVE id in the patch: " + ", ".join(cves))
    for name in ("Reported-by", "Fixes"):  # who found it, and the commit that brought the bug: for a reader to check
        values = [v for n, v in trailers if isinstance(n, str) and n.lower() == name.lower()] or \
                 (reading.reported_by if name == "Reported-by" else [f"{sha} (\u201c{title}\u201d)" if title else sha for sha, title in reading.fixes])
        if values:
            evidence.append(f"{name}: " + "; ".join(dict.fromkeys(values[:2])))
    if files:
        if all(HARMLESS_PATHS.match(f.lower()) for f in files):
            z -= 3.0
            evidence.append("touches only documentation, tests, tools or device trees (-3.0)")
        shown = ", ".join(files[:3]) + (f" (+{len(files) - 3} more)" if len(files) > 3 else "")
        evidence.append(f"touched files: {shown}")

    p = _sigmoid(z)
    text = (subject + "\n" + body).lower()
    user_reachable = bool(_MAYBE_USER_REACHABLE.search(text) and describe.USER_REACHABLE.search(text))
    if z >= threshold:
        category = "security"
    elif describe.is_enhancement(subject):
        category = "enhancement"
        evidence.append("subject reads as hardware enablement, a quirk, a helper or performance work")
    elif "d:only_ids" in reading.origin and not describe.FIXING.search(subject.lower()):
        category = "enhancement"
        evidence.append("the diff only adds device ids or match-table entries")
    elif "t:stable_dep_of" in reading.origin and not describe.FIXING.search(subject.lower()):
        category = "enhancement"
        evidence.append("taken as a dependency of a later fix (Stable-dep-of:), not a fix itself")
    else:
        category = "bugfix"
    if user_reachable and category == "security":
        evidence.append("user-reachable interface named (ioctl, syscall, netlink, fuzzer report...)")
    subsystem = describe.subsystem_of(subject, files)
    # The bug class is read from the message's first lines: the explanation comes before stack traces and logs.
    summary = describe.impact_line(category, subject, subsystem, text=body[:BUG_TEXT_CHARS], user_reachable=user_reachable)
    if category == "enhancement" and evidence[-1].startswith("the diff only adds device ids"):
        summary = f"Hardware enablement (new device ids) in {describe._where(subsystem)}"
    elif category == "enhancement" and evidence[-1].startswith("taken as a dependency"):
        summary = f"Cleanup or refactoring that a later fix builds on, in {describe._where(subsystem)}"
    if category != "enhancement" and reading.has_body:  # how it is reached: said of a security fix only
        summary += describe.how_reached(body[:8000].lower(), found_by=msg.found_by(reading), reach=category == "security")
    confidence = p if category == "security" else 1.0 - p
    return Verdict(
        category=category,
        summary=summary,
        subsystem=subsystem,
        score=round(confidence, 3),
        evidence=evidence,
        security_score=round(p, 4),
        confidence=round(p, 4),
        message_evidence=message_evidence,
        warnings=warnings,
        fixes=[{"commit": sha, "subject": title} for sha, title in reading.fixes],
    )


BUG_TEXT_CHARS = 2500

# What quoting a line costs: enough to recognise it in the mail, short enough for a review line.
QUOTE_CHARS = 100
SOURCE_NAMES = {"subject": "subject", "trailer": "trailer", "diff": "diff", "message": "message", "shape": "shape"}


def _source_of(feature: str) -> str:
    """Where a feature was read: subject, trailer, diff, message, or "shape" (size: weighed, not quoted)."""
    source = _SOURCES.get(feature)
    if source is None:
        source = _source_kind(feature)
        if len(_SOURCES) < 200000:  # a memo, bounded: message words are many
            _SOURCES[feature] = source
    return source


_SOURCES: dict[str, str] = {}


def _source_kind(feature: str) -> str:
    kind = feature.partition(":")[0]
    if kind in SUBJECT_KINDS:
        return "subject"
    if kind == "t":
        return "trailer"
    if kind == "len" or feature.startswith(("d:size_", "d:many_files", "d:only_adds")):
        return "shape"  # the mail's size and shape: weighed, but no line to quote
    if kind == "d":
        return "diff"
    return "message"


SUBJECT_KINDS = frozenset({"w", "b", "p", "p0", "w0", "g", "f"})


def _quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1].rstrip() + "\u2026"


DIFF_WORDS = {
    "d:add_bounds_check": "adds a bounds check", "d:add_null_check": "adds a NULL check",
    "d:add_overflow_check": "adds an overflow check or clamp", "d:add_refcount": "takes or drops a reference",
    "d:del_refcount": "removes a reference get/put", "d:add_lock": "adds locking", "d:del_lock": "removes locking",
    "d:add_free": "adds a free", "d:del_free": "removes a free", "d:free_moved": "moves a free",
    "d:add_zero_init": "zeroes memory", "d:add_user_copy": "changes a user copy", "d:add_error_return": "adds an error return",
    "d:add_capability": "adds a capability check", "d:add_barrier": "adds a barrier or a sync",
    "d:add_set_null": "clears a pointer", "d:add_device_id": "adds a device id", "d:only_ids": "only adds device ids",
    "d:docs_only": "only documentation", "d:new_file": "adds a new file", "d:many_files": "touches many files",
    "d:only_adds": "only adds lines",
}


def _message_verdict(reading: msg.Reading, mmodel: dict) -> tuple[float, float, list[str], list[dict]]:
    """Score a patch with its message: (logit, threshold, evidence lines, message_evidence)."""
    table = mmodel["with_diff" if reading.has_diff else "message_only"]
    weights = table["weights"]
    z = table["bias"]
    by_line: dict[tuple[str, str], float] = {}
    labels: dict[tuple[str, str], list[str]] = {}
    for f in reading.features:
        w = weights.get(f)
        if not w:
            continue
        z += w
        source = _source_of(f)
        key = (source, reading.subject if source == "subject" else reading.origin.get(f, ""))
        by_line[key] = by_line.get(key, 0.0) + w
        if f in DIFF_WORDS:
            labels.setdefault(key, []).append(DIFF_WORDS[f])
    boost, floored = msg.floor_boost(reading.features, weights) if table.get("editor_floors", True) else (0.0, [])
    z += boost
    for f in floored:  # the line that said it now weighs at least the floor
        key = (_source_of(f), reading.origin.get(f, ""))
        by_line[key] = by_line.get(key, 0.0) + msg.EDITOR_FLOORS[f] - weights.get(f, 0.0)
    ranked = sorted(by_line.items(), key=lambda kv: -abs(kv[1]))
    message_evidence = [
        {"source": source, "text": _quote(line), "weight": round(w, 3), **({"says": ", ".join(labels[(source, line)])} if (source, line) in labels else {})}
        for (source, line), w in ranked
        if abs(w) >= 0.05 and source != "shape"
    ][:8]
    read = "subject, commit message and diff" if reading.has_diff else "subject and commit message (no diff)"
    evidence = [f"read: {read}; message model, probability of a CVE {_sigmoid(z):.2f} (threshold {table['threshold']:.2f})"]
    ups = [e for e in message_evidence if e["weight"] > 0][:3]
    downs = [e for e in message_evidence if e["weight"] < 0][:2]
    for e in ups + downs:
        says = f" ({e['says']})" if e.get("says") else ""
        evidence.append(f"{e['source']}: \u201c{e['text']}\u201d{says} ({e['weight']:+.2f})")
    for f in floored:
        evidence.append(f"counted as security evidence whatever the 2022-2024 fit says: \u201c{_quote(reading.origin.get(f, ''))}\u201d")
    return z, _logit(table["threshold"]), evidence, message_evidence


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _subject_verdict(subject: str, diff: str, trailers: list) -> tuple[float, float, list[str]]:
    """Score a patch from its subject (and diff rules when a diff came without a message)."""
    model = load_model()
    z, contributions = security_logit(subject, model=model)
    evidence: list[str] = []
    shown = [c for c in contributions if c[0].partition(":")[2] not in EVIDENCE_STOPWORDS]
    top = sorted((c for c in shown if c[1] > 0.15), key=lambda c: -c[1])[:3]
    low = sorted((c for c in shown if c[1] < -0.15), key=lambda c: c[1])[:2]
    for f, w in top + low:
        evidence.append(f"subject: {describe_feature(f)} ({w:+.2f})")
    if diff:
        changed = fix_evidence_diff(diff)
        for text, weight, rx in DIFF_RULES:
            if rx.search(changed):
                z += weight
                evidence.append(f"{text} ({weight:+.1f})")
    return z, _logit(model.get("threshold", 0.5)), evidence


REPLACEMENT = "\ufffd"
HTML_TAGS = re.compile(r"<(html|body|div|p|br|span|table|font)\b[^>]*>", re.I)


def input_warnings(patch: dict) -> list[str]:
    """Say what of a patch could not be read: the review goes on with the rest, but a reader must know."""
    out = list(w for w in (patch.get("warnings") or []) if isinstance(w, str))
    body = _as_text(patch.get("body"))
    diff = _as_text(patch.get("diff"))
    if patch.get("from_shortlog"):
        return out
    if body.count(REPLACEMENT) + diff.count(REPLACEMENT) >= 3:
        out.append("undecodable characters in the mail (wrong or unknown charset): read what decoded")
    if HTML_TAGS.search(body):
        out.append("the message carries HTML markup: read as text")
    return out


def verdict_from(value: Any) -> Verdict | None:
    """Accept a Verdict or a dict from any plugin; return a Verdict, or None if unusable."""
    if isinstance(value, Verdict):
        return value
    if isinstance(value, dict) and value.get("category") in CATEGORIES:
        confidence = value.get("confidence")
        return Verdict(
            category=value["category"],
            summary=str(value.get("summary") or ""),
            subsystem=str(value.get("subsystem") or ""),
            score=float(value.get("score") or 0.0),
            evidence=[str(e) for e in value.get("evidence") or []],
            security_score=float(value.get("security_score", value.get("score") if value["category"] == "security" else 0.0) or 0.0),
            by=str(value.get("by") or "plugin"),
            confidence=float(confidence) if isinstance(confidence, (int, float)) else None,
            message_evidence=[e for e in value.get("message_evidence") or [] if isinstance(e, dict)],
            warnings=[str(w) for w in value.get("warnings") or []],
        )
    return None


def naive_is_security(subject: str) -> bool:
    """The baseline every report compares against: any alarming word in the subject."""
    return bool(NAIVE_WORDS.search(subject.lower()))


NAIVE_WORDS = re.compile(
    r"overflow|use-after-free|use after free|\buaf\b|null|leak|out-of-bounds|out of bounds|\boob\b|race|"
    r"double free|double-free|security|cve|crash|deadlock|uninit|underflow|divide|panic|oops|permission|privilege"
)


__all__ = ["Verdict", "classify_patch", "verdict_from", "naive_is_security", "pattern_features"]
