"""Train and honestly measure the subject-only security model, pure Python.

Used by bench/train_stable_model.py (writes model.json), bench/stable_quality.py
(prints the figures) and the quality-floor test, so all three run the SAME
procedure.

The model: naive Bayes log-odds per subject feature (features.py). Each
feature seen in training carries log(P(f | CVE) / P(f | no CVE)) with add-one
smoothing, so every weight is a count ratio a reader can check, and a verdict's
evidence is simply its largest weights. Grouped cross-validation on the dev
set chose it over the earlier logistic regression (out-of-fold PR-AUC 0.529
vs 0.520; an NB+LR blend 0.530 was not worth a second model).

Data:
- the dev TSV items (both classes; the label is "the CNA gave a commit with
  this subject a CVE");
- extra positives: CNA records whose subject is not a TSV item, weighted 0.3
  (they come from every kernel era and tilt subsystem rates otherwise).
  Records fixed in a 6.1.y update OUTSIDE the dev range (6.1.60..6.1.119) are
  never used: those updates are exactly the "older and newer releases" the
  tool is judged on, and training on their CVE records would be training on
  the test labels.

Honest measurement (cross_validate): folds are 5 contiguous blocks of
updates. For each block the model is trained on the other blocks' items plus
CNA records that neither share a (normalised) subject with the block nor were
fixed in the block's 6.1.y range; the decision threshold comes from nested
CV inside the training blocks only, never from the evaluated block.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from .features import clean_subject, subject_features

# Contiguous blocks of the dev set's Debian updates, and the upstream 6.1.y
# range each block covers (a Debian update folds several upstream ones).
BLOCKS: tuple[tuple[str, ...], ...] = (
    ("6.1.64", "6.1.66", "6.1.67", "6.1.69"),
    ("6.1.76", "6.1.82"),
    ("6.1.85", "6.1.90", "6.1.94"),
    ("6.1.98", "6.1.99", "6.1.106"),
    ("6.1.112", "6.1.115", "6.1.119"),
)
BLOCK_RANGES: tuple[tuple[int, int], ...] = ((60, 69), (70, 82), (83, 94), (95, 106), (107, 119))
DEV_RANGE = (60, 119)

CNA_WEIGHT = 0.3  # weight of one extra CNA positive relative to one dev item
ALPHA = 1.0  # add-one smoothing of the per-class feature counts
MIN_COUNT = 2  # a feature must be seen this often (weighted) to get a weight
PRUNE = 0.05  # weights closer to zero than this are dropped (they barely move a score)

Example = tuple[list[str], int, float]  # (features, label, sample weight)


def vkey(version: str) -> tuple[int, ...]:
    return tuple(int(x) for x in version.split(".") if x.isdigit())


def norm(subject: str) -> str:
    """Subject as compared across sources: mail tags dropped, lower case, single spaces."""
    return " ".join(clean_subject(subject).lower().split())


def read_items(path: Path) -> list[dict]:
    """Return the dev TSV items: release, subject, security (0/1), cves."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return [
        {"release": r["release"], "subject": r["subject"], "security": int(r["security"]), "cves": r.get("cves") or ""}
        for r in rows
        if r.get("release") and r.get("subject")
    ]


def read_cna(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def stable_61_updates(record: dict) -> list[int]:
    """Return the y of every 6.1.y update the CNA record says carries the fix."""
    out = []
    for version in record.get("fixed_in") or []:
        parts = version.split(".")
        if len(parts) == 3 and parts[:2] == ["6", "1"] and parts[2].isdigit():
            out.append(int(parts[2]))
    return out


def block_of(release: str) -> int:
    for k, block in enumerate(BLOCKS):
        if release in block:
            return k
    y = vkey(release)[-1] if release.startswith("6.1.") else -1
    for k, (lo, hi) in enumerate(BLOCK_RANGES):
        if lo <= y <= hi:
            return k
    raise ValueError(f"release {release} is outside the dev blocks")


def build_examples(
    items: list[dict],
    cna: list[dict],
    *,
    exclude_subjects: set[str] = frozenset(),
    exclude_range: tuple[int, int] | None = None,
    featurize: Callable[[str], list[str]] = subject_features,
) -> list[Example]:
    """Training examples: the items, plus CNA positives not excluded (see module docstring)."""
    examples: list[Example] = [(featurize(i["subject"]), i["security"], 1.0) for i in items]
    have = {norm(i["subject"]) for i in items}
    for rec in cna:
        s = norm(rec.get("subject") or "")
        if not s or s in have or s in exclude_subjects:
            continue
        ys = stable_61_updates(rec)
        if any(y < DEV_RANGE[0] or y > DEV_RANGE[1] for y in ys):
            continue  # fixed in a 6.1.y update outside the dev set: judged data, never trained on
        if exclude_range and any(exclude_range[0] <= y <= exclude_range[1] for y in ys):
            continue
        have.add(s)
        examples.append((featurize(rec["subject"]), 1, CNA_WEIGHT))
    return examples


@dataclass
class Model:
    """Log-odds model: score(features) = bias + sum of weights of the features present."""

    bias: float
    weights: dict[str, float]
    counts: dict[str, tuple[float, float]] = field(default_factory=dict)  # feature -> (pos, neg) weighted counts

    def logit(self, feats: Iterable[str]) -> float:
        w = self.weights
        return self.bias + sum(w.get(f, 0.0) for f in feats)


def train(examples: list[Example], *, alpha: float = ALPHA, min_count: float = MIN_COUNT) -> Model:
    """Fit naive Bayes log-count ratios over the features present in each example."""
    pos: dict[str, float] = {}
    neg: dict[str, float] = {}
    npos = nneg = 0.0
    for feats, y, sw in examples:
        table = pos if y else neg
        if y:
            npos += sw
        else:
            nneg += sw
        for f in feats:
            table[f] = table.get(f, 0.0) + sw
    weights = {}
    counts = {}
    lpos = math.log(npos + 2 * alpha)
    lneg = math.log(nneg + 2 * alpha)
    for f in set(pos) | set(neg):
        p, n = pos.get(f, 0.0), neg.get(f, 0.0)
        if p + n < min_count:
            continue
        w = (math.log(p + alpha) - lpos) - (math.log(n + alpha) - lneg)
        if abs(w) >= PRUNE:
            weights[f] = w
            counts[f] = (p, n)
    return Model(bias=math.log(npos / nneg), weights=weights, counts=counts)


def best_threshold(scored: list[tuple[float, int]]) -> float:
    """Return the logit threshold maximising F1 over (logit, label) pairs (midpoint between scores)."""
    scored = sorted(scored, reverse=True)
    total_pos = sum(y for _, y in scored)
    tp = fp = 0
    best_t, best_f1 = 0.0, -1.0
    for i, (s, y) in enumerate(scored):
        tp += y
        fp += 1 - y
        if i + 1 < len(scored) and scored[i + 1][0] == s:
            continue
        f1 = 2 * tp / (tp + fp + total_pos) if tp else 0.0
        if f1 > best_f1:
            nxt = scored[i + 1][0] if i + 1 < len(scored) else s - 1.0
            best_t, best_f1 = (s + nxt) / 2, f1
    return best_t


def _cached(featurize: Callable[[str], list[str]]) -> Callable[[str], list[str]]:
    memo: dict[str, list[str]] = {}

    def get(subject: str) -> list[str]:
        feats = memo.get(subject)
        if feats is None:
            feats = memo[subject] = featurize(subject)
        return feats

    return get


def _fit_on(items: list[dict], cna: list[dict], held: list[dict], held_block: int, featurize) -> Model:
    return train(
        build_examples(
            items,
            cna,
            exclude_subjects={norm(i["subject"]) for i in held},
            exclude_range=BLOCK_RANGES[held_block],
            featurize=featurize,
        )
    )


def choose_threshold(items: list[dict], cna: list[dict], blocks: list[int], featurize=subject_features) -> float:
    """Threshold from leave-one-block-out scores over `blocks` only (the inner loop of nested CV)."""
    return best_threshold(block_out_scores(items, cna, blocks, featurize))


def block_out_scores(items: list[dict], cna: list[dict], blocks: list[int], featurize=subject_features) -> list[tuple[float, int]]:
    """(logit, label) of each item in `blocks`, scored by a model trained on the other `blocks`."""
    featurize = _cached(featurize)
    scored: list[tuple[float, int]] = []
    for j in blocks:
        test = [i for i in items if block_of(i["release"]) == j]
        rest = [i for i in items if block_of(i["release"]) in blocks and block_of(i["release"]) != j]
        model = _fit_on(rest, cna, test, j, featurize)
        scored.extend((model.logit(featurize(i["subject"])), i["security"]) for i in test)
    return scored


def platt(scored: list[tuple[float, int]], *, steps: int = 50) -> tuple[float, float]:
    """Fit p = sigmoid(a * logit + b) to (logit, label) pairs by Newton's method; return (a, b).

    Naive Bayes adds up correlated words as if independent, so its raw
    logits are overconfident; scaling them makes security_score a usable
    probability and lets the message/diff rules' round weights matter.
    """
    def loss(a: float, b: float) -> float:
        total = 0.0
        for z, y in scored:
            t = a * z + b
            # log(1 + e^t) - y*t, computed without overflow
            total += (t if t > 0 else 0.0) + math.log1p(math.exp(-abs(t))) - y * t
        return total

    a, b = 1.0, 0.0
    current = loss(a, b)
    for _ in range(steps):
        ga = gb = haa = hab = hbb = 0.0
        for z, y in scored:
            t = a * z + b
            p = 1.0 / (1.0 + math.exp(-t)) if t > -700 else 0.0
            d = p - y
            v = p * (1 - p) + 1e-9
            ga += d * z
            gb += d
            haa += v * z * z
            hab += v * z
            hbb += v
        det = haa * hbb - hab * hab
        if det <= 0:
            break
        da = (hbb * ga - hab * gb) / det
        db = (haa * gb - hab * ga) / det
        step = 1.0
        while step > 1e-6:  # damped: only accept steps that lower the loss
            trial = loss(a - step * da, b - step * db)
            if trial <= current:
                break
            step /= 2
        else:
            break
        a, b, improvement = a - step * da, b - step * db, current - trial
        current = trial
        if improvement < 1e-9 * len(scored):
            break
    return a, b


@dataclass
class FoldResult:
    block: int
    releases: tuple[str, ...]
    threshold: float  # logit threshold chosen inside the training blocks
    scored: list[tuple[float, int]]  # (logit, label) of each held-out item


def evaluate_block(items: list[dict], cna: list[dict], k: int, featurize=subject_features) -> FoldResult:
    """Train without block k (nested threshold), score block k."""
    featurize = _cached(featurize)
    others = [j for j in range(len(BLOCKS)) if j != k]
    test = [i for i in items if block_of(i["release"]) == k]
    train_items = [i for i in items if block_of(i["release"]) != k]
    threshold = choose_threshold(train_items, cna, others, featurize)
    model = _fit_on(train_items, cna, test, k, featurize)
    scored = [(model.logit(featurize(i["subject"])), i["security"]) for i in test]
    return FoldResult(k, BLOCKS[k], threshold, scored)


def cross_validate(items: list[dict], cna: list[dict], featurize=subject_features) -> list[FoldResult]:
    """Out-of-fold scores for every dev item: one FoldResult per block."""
    featurize = _cached(featurize)
    return [evaluate_block(items, cna, k, featurize) for k in range(len(BLOCKS))]


def prf(predicted: list[bool], labels: list[int]) -> tuple[float, float, float]:
    tp = sum(1 for p, y in zip(predicted, labels) if p and y)
    fp = sum(1 for p, y in zip(predicted, labels) if p and not y)
    fn = sum(1 for p, y in zip(predicted, labels) if not p and y)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def average_precision(scores: list[float], labels: list[int]) -> float:
    """Area under the precision-recall curve as average precision (ties broken pessimistically)."""
    ranked = sorted(zip(scores, labels), key=lambda sl: (-sl[0], sl[1]))
    total = sum(labels)
    tp = 0
    ap = 0.0
    for i, (_, y) in enumerate(ranked, 1):
        if y:
            tp += 1
            ap += tp / i
    return ap / total if total else 0.0


def model_json(model: Model, threshold: float, scale: tuple[float, float], *, meta: dict) -> dict:
    """The shipped file: weights and bias on the calibrated (Platt) scale; `threshold` is the chosen logit's probability."""
    a, b = scale
    weights = {f: round(a * w, 3) for f, w in sorted(model.weights.items())}
    if any(w == 0 for w in weights.values()):
        weights = {f: w for f, w in weights.items() if w}
    return {
        "format": 2,
        "kind": "naive Bayes log-odds over subject features (features.py)",
        "trained_by": "bench/train_stable_model.py",
        **meta,
        "threshold": round(1.0 / (1.0 + math.exp(-(a * threshold + b))), 4),
        "calibration": {"a": round(a, 4), "b": round(b, 4)},
        "bias": round(a * model.bias + b, 4),
        "weights": weights,
    }
