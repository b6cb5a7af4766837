"""Measure the stable-review security classifier against the CNA ground truth, subjects only.

    .venv/bin/python bench/stable_quality.py

Prints precision, recall and F1 at the shipped threshold, the precision-recall
curve's area (average precision) and classification speed, for the classifier
and for a naive keyword matcher, in the same run. CVE links are off: only
each item's subject is given to the classifier.

The model was trained (bench/train_stable_model.py) on the dev TSV's updates
before 6.1.90 plus CNA records whose subjects are not among the later items,
so the HELD-OUT line (6.1.90 .. 6.1.119) is the honest figure; the ALL and
EARLY lines are shown for reference only (EARLY was training data).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from train_stable_model import TSV, read_tsv, split_items  # noqa: E402

from tracker.plugins.stable_review.classifier import classify_patch, load_model, naive_is_security  # noqa: E402
from tracker.plugins.stable_review.features import clean_subject, split_subject  # noqa: E402


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


def evaluate(items: list[dict]) -> dict:
    labels = [i["security"] for i in items]
    verdicts = [classify_patch({"subject": i["subject"]}) for i in items]
    predicted = [v.category == "security" for v in verdicts]
    scores = [v.security_score for v in verdicts]
    naive = [naive_is_security(i["subject"]) for i in items]
    return {
        "n": len(items),
        "positives": sum(labels),
        "model": (*prf(predicted, labels), average_precision(scores, labels)),
        "naive": (*prf(naive, labels), average_precision([float(x) for x in naive], labels)),
    }


def speed(subjects: list[str], *, rounds: int = 3) -> tuple[float, float]:
    """Return (classifier patches/s, naive patches/s), best of `rounds`."""
    best_model = best_naive = 0.0
    for _ in range(rounds):
        clean_subject.cache_clear()  # every round starts cold: no credit for repeats
        split_subject.cache_clear()
        start = time.perf_counter()
        for s in subjects:
            classify_patch({"subject": s})
        best_model = max(best_model, len(subjects) / (time.perf_counter() - start))
        start = time.perf_counter()
        for s in subjects:
            naive_is_security(s)
        best_naive = max(best_naive, len(subjects) / (time.perf_counter() - start))
    return best_model, best_naive


def main() -> int:
    load_model()
    items = read_tsv(TSV)
    early, late = split_items(items)
    print(f"data: {TSV.name}, subjects only, CVE links off; shipped threshold {load_model()['threshold']}")
    print("held-out = updates 6.1.90..6.1.119, never seen in training (the honest figure)")
    print(f"{'set':<10}{'who':<8}{'n':>6}{'pos':>6}{'precision':>11}{'recall':>8}{'F1':>7}{'PR-AUC':>8}")
    for name, subset in (("HELD-OUT", late), ("ALL", items), ("EARLY*", early)):
        result = evaluate(subset)
        for who in ("model", "naive"):
            p, r, f1, ap = result[who]
            print(f"{name:<10}{who:<8}{result['n']:>6}{result['positives']:>6}{p:>11.3f}{r:>8.3f}{f1:>7.3f}{ap:>8.3f}")
    print("* EARLY (6.1.60..6.1.89) items were training data: reference only")
    model_rate, naive_rate = speed([i["subject"] for i in items])
    print(f"speed: classifier {model_rate:,.0f} patches/s; naive matcher {naive_rate:,.0f} patches/s (target >= 5,000)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
