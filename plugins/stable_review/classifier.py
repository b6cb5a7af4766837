"""Sort one stable patch into security / bugfix / enhancement, with the reasons shown.

The subject goes through a small logistic model (model.json, trained by
bench/train_stable_model.py); the commit message, trailers and diff, when
given, add or remove weight through named rules (a CVE id, Reported-by
syzbot, a KASAN report, a Documentation-only diff...). Every contribution
that moved the verdict is listed as evidence a person can check.
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
from .features import clean_subject, loose_precheck, pattern_features, subject_features

MODEL_PATH = Path(__file__).with_name("model.json")
CATEGORIES = ("security", "bugfix", "enhancement")

# Function words still weigh in the score but say nothing to a reader as evidence.
EVIDENCE_STOPWORDS = frozenset("a an the in on of for to from by with and or at as is be when if into it its this that".split())
CVE_ID = re.compile(r"\bCVE-\d{4}-\d{4,7}\b", re.I)
_MAYBE_USER_REACHABLE = loose_precheck(describe.USER_REACHABLE.pattern)

# (evidence text, logit change, pattern on the lower-cased commit message).
# Weights are deliberately round numbers: they encode an editor's reading,
# not a fit to the dev set.
FIXES_TRAILER = re.compile(r"^fixes:", re.M)

MESSAGE_RULES = [
    ("Reported-by a fuzzer (syzbot/syzkaller)", 1.5, re.compile(r"reported-by:.*(syzbot|syzkaller)|syzkaller|syzbot")),
    ("KASAN report in the message", 1.5, re.compile(r"\bkasan\b|bug: kasan")),
    ("UBSAN report in the message", 1.0, re.compile(r"\bubsan\b")),
    ("KMSAN report (uninitialised memory) in the message", 1.5, re.compile(r"\bkmsan\b|kernel-infoleak")),
    ("KCSAN data-race report in the message", 0.5, re.compile(r"\bkcsan\b")),
    ("memory-safety words in the message (use-after-free, out-of-bounds, double free)", 1.0,
     re.compile(r"use[- ]after[- ]free|out[- ]of[- ]bounds|double[- ]free|buffer overflow|heap overflow|stack overflow")),
    ("NULL pointer dereference described in the message", 0.8, re.compile(r"null pointer dereference|null-ptr-deref|unable to handle kernel null")),
    ("kernel oops/panic trace in the message", 0.6, re.compile(r"call trace:|\boops\b|kernel panic|general protection fault|kernel bug at")),
    ("information leak described in the message", 1.0, re.compile(r"info(rmation)? leak|leaks? (kernel|uninitiali[sz]ed|stack) (memory|data|bytes)|disclos")),
    ("privilege or permission check described in the message", 1.0,
     re.compile(r"privilege escalation|unprivileged|without (the )?(permission|capabilit)|permission check|capable\(|cap_sys_admin|cap_net_admin")),
    ("denial of service described in the message", 0.7, re.compile(r"denial[- ]of[- ]service|\bdos\b|soft lockup|hung task|infinite loop")),
    ("user-reachable interface named in the message (ioctl, syscall, netlink, copy_from_user...)", 0.4, describe.USER_REACHABLE),
    ("Fixes: trailer names the commit that introduced the bug", 0.2, FIXES_TRAILER),
]

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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@lru_cache(maxsize=1)
def load_model(path: str = str(MODEL_PATH)) -> dict:
    """Read the shipped weights once: {"bias": b, "threshold": t, "weights": {feature: w}}."""
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


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
    model = load_model()
    subject = clean_subject(_as_text(patch.get("subject")))
    body = _as_text(patch.get("body"))
    diff = _as_text(patch.get("diff"))
    files = [f for f in (patch.get("files") or []) if isinstance(f, str)]
    trailers = patch.get("trailers") or []

    z, contributions = security_logit(subject, model=model)
    evidence: list[str] = []
    shown = [c for c in contributions if c[0].partition(":")[2] not in EVIDENCE_STOPWORDS]
    top = sorted((c for c in shown if c[1] > 0.15), key=lambda c: -c[1])[:3]
    low = sorted((c for c in shown if c[1] < -0.15), key=lambda c: c[1])[:2]
    for f, w in top + low:
        evidence.append(f"subject: {describe_feature(f)} ({w:+.2f})")

    message = body.lower()
    if trailers:
        message += "\n" + "\n".join(f"{n}: {v}".lower() for n, v in trailers if isinstance(n, str))
    cves = sorted({c.upper() for c in CVE_ID.findall(subject + "\n" + body)})
    if cves:
        z += 4.0
        evidence.append("CVE id in the patch: " + ", ".join(cves))
    if message:
        # Naming an ioctl or a syscall makes a bug user-triggerable; without a bug it is just a feature's description.
        low = subject.lower()
        bug_seen = bool(describe.bug_class(low, skip=describe.HARMLESS) or describe.FIXING.search(low) or FIXES_TRAILER.search(message))
        for text, weight, rx in MESSAGE_RULES:
            if rx is describe.USER_REACHABLE and not bug_seen:
                continue
            if rx.search(message):
                z += weight
                bug_seen = True
                evidence.append(f"{text} ({weight:+.1f})")
        for name in ("Reported-by", "Fixes"):  # who found it, and the commit that brought the bug: for a reader to check
            values = [v for n, v in trailers if isinstance(n, str) and n.lower() == name.lower()]
            if values:
                evidence.append(f"{name}: " + "; ".join(values[:2]))
    if diff:
        changed = fix_evidence_diff(diff)
        for text, weight, rx in DIFF_RULES:
            if rx.search(changed):
                z += weight
                evidence.append(f"{text} ({weight:+.1f})")
    if files:
        if all(HARMLESS_PATHS.match(f.lower()) for f in files):
            z -= 3.0
            evidence.append("touches only documentation, tests, tools or device trees (-3.0)")
        shown = ", ".join(files[:3]) + (f" (+{len(files) - 3} more)" if len(files) > 3 else "")
        evidence.append(f"touched files: {shown}")

    p = _sigmoid(z)
    threshold = model.get("threshold", 0.5)
    text = (subject + "\n" + body).lower()
    user_reachable = bool(_MAYBE_USER_REACHABLE.search(text) and describe.USER_REACHABLE.search(text))
    if p >= threshold:
        category = "security"
    elif describe.is_enhancement(subject):
        category = "enhancement"
        evidence.append("subject reads as hardware enablement, a quirk, a helper or performance work")
    else:
        category = "bugfix"
    if user_reachable and category == "security":
        evidence.append("user-reachable interface named (ioctl, syscall, netlink, fuzzer report...)")
    subsystem = describe.subsystem_of(subject, files)
    summary = describe.impact_line(category, subject, subsystem, text=body[:4000], user_reachable=user_reachable)
    confidence = p if category == "security" else 1.0 - p
    return Verdict(
        category=category,
        summary=summary,
        subsystem=subsystem,
        score=round(confidence, 3),
        evidence=evidence,
        security_score=round(p, 4),
    )


def verdict_from(value: Any) -> Verdict | None:
    """Accept a Verdict or a dict from any plugin; return a Verdict, or None if unusable."""
    if isinstance(value, Verdict):
        return value
    if isinstance(value, dict) and value.get("category") in CATEGORIES:
        return Verdict(
            category=value["category"],
            summary=str(value.get("summary") or ""),
            subsystem=str(value.get("subsystem") or ""),
            score=float(value.get("score") or 0.0),
            evidence=[str(e) for e in value.get("evidence") or []],
            security_score=float(value.get("security_score", value.get("score") if value["category"] == "security" else 0.0) or 0.0),
            by=str(value.get("by") or "plugin"),
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
