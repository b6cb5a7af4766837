"""Fit and measure the message model of the stable review (scikit-learn; the `train` extra).

Shared by bench/train_stable_model.py (writes plugins/stable_review/model-message.json)
and bench/stable_quality.py (prints the out-of-fold figures), so both run the SAME
procedure. Reads ../shared/data/stable-labels/stable-candidates-2022-2024.mbox.gz and
its -labels.tsv (2,694 real stable-candidate mails, labelled by the CNA's CVE records).

The model: L2 logistic regression over binary features (message.read_message:
subject, commit message, trailers, diff), features seen in fewer than MIN_DF
training mails dropped. Selection and the decision threshold are made by
time: a model is always trained on earlier months and scored on later ones.

Folds by time: calendar quarters. Each quarter of the later half is scored by a
model trained on every earlier quarter; its regularisation C and its threshold
come from an inner time split of those training quarters only (each of the last
INNER quarters scored by a model fitted on the quarters before it). The
weights are then Platt-scaled on the same inner scores, so `confidence` is a
probability of a CVE, not a raw logit.
"""

from __future__ import annotations

import csv
import math
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tracker.plugins.stable_review import message as msg
from tracker.plugins.stable_review.classifier import NAIVE_WORDS
from tracker.plugins.stable_review.training import average_precision, best_threshold, prf  # noqa: F401  (smf.prf etc.: one copy)

from recorded import recorded  # noqa: E402  (bench/recorded.py: ../shared/data, not shipped with the repo)

ROOT = Path(__file__).resolve().parent.parent
MBOX = recorded("stable-labels/stable-candidates-2022-2024.mbox.gz")
TSV = recorded("stable-labels/stable-candidates-2022-2024-labels.tsv")

MIN_DF = 3
C_GRID = (0.03, 0.1, 0.3)
AP_TOLERANCE = 0.01  # C values whose inner average precision is this close to the best count as equal
INNER = 4  # inner time folds (the last INNER training quarters)
PRUNE = 0.01  # shipped weights closer to zero than this are dropped


def require_train_extra() -> None:
    """Stop with one line when scikit-learn is missing: fitting needs the `train` extra, verdicts do not."""
    try:
        import numpy  # noqa: F401
        import sklearn  # noqa: F401
    except ImportError:
        raise SystemExit("this needs scikit-learn and numpy: pip install -e '.[train]'") from None


def load_mails(mbox: Path = MBOX, tsv: Path = TSV) -> list[dict]:
    """Return the labelled mails, oldest first: label columns + body, diff, files."""
    from tracker.mail import parse_message
    from tracker.mailbox_io import iter_path

    with open(tsv, newline="", encoding="utf-8") as fh:
        labels = {r["message_id"].strip("<>"): r for r in csv.DictReader(fh, delimiter="\t")}
    rows = []
    for raw, _ in iter_path(mbox):
        parsed = parse_message(raw)
        label = labels.get(parsed.message_id.strip("<>"))
        if label is None:
            continue
        rows.append({**label, "security": int(label["security"]), "body": parsed.body, "diff": parsed.diff,
                     "files": parsed.files, "trailers": parsed.trailers})
    rows.sort(key=lambda r: (r["date"], r["message_id"]))
    return rows


def quarter(date: str) -> str:
    return f"{date[:4]}Q{(int(date[5:7]) - 1) // 3 + 1}"


# Feature families a variant keeps (prefix before ":"), for the sweep.
SUBJECT_KINDS = frozenset({"w", "b", "p", "p0", "w0", "g", "f"})
VARIANTS: dict[str, Callable[[str], bool]] = {
    "subject only": lambda f: f.split(":", 1)[0] in SUBJECT_KINDS,
    "subject+message": lambda f: not f.startswith("d:"),
    "subject+message+diff": lambda f: True,
    "no message words": lambda f: not f.startswith(("m:", "mb:")),
    "no word pairs": lambda f: not f.startswith(("mb:", "b:")),
    "no trailers": lambda f: not f.startswith("t:"),
    "no diff, no signatures": lambda f: not f.startswith(("d:", "sig:")),
}


def features_of(row: dict, *, with_diff: bool = True) -> list[str]:
    return msg.read_message(row["subject"], row.get("body") or "", row.get("diff") or "", row.get("files"),
                            with_diff=with_diff).features


@dataclass
class Fitted:
    """A linear model as plain data: what the shipped JSON holds (before calibration)."""

    bias: float
    weights: dict[str, float]

    def logit(self, feats: list[str]) -> float:
        w = self.weights
        return self.bias + sum(w.get(f, 0.0) for f in feats)


def fit(feats: list[list[str]], labels: list[int], C: float) -> Fitted:
    """Fit L2 logistic regression on binary features; return it as a dict of weights."""
    import numpy as np
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    df = Counter(f for fs in feats for f in set(fs))
    dicts = [{f: 1 for f in fs if df[f] >= MIN_DF} for fs in feats]
    dv = DictVectorizer()
    X = dv.fit_transform(dicts).tocsr()
    X.indices = X.indices.astype(np.int32)  # liblinear refuses 64-bit sparse indices
    X.indptr = X.indptr.astype(np.int32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = LogisticRegression(C=C, solver="liblinear", max_iter=3000)
        model.fit(X, labels)
    names = dv.get_feature_names_out()
    weights = {str(n): float(w) for n, w in zip(names, model.coef_[0]) if abs(w) >= PRUNE}
    return Fitted(bias=float(model.intercept_[0]), weights=weights)


@dataclass
class Choice:
    C: float
    threshold: float
    inner: list[tuple[float, int]]  # the inner out-of-time (logit, label) pairs at the chosen C


def choose(feats: list[list[str]], labels: list[int], quarters: list[str], *, grid=C_GRID) -> Choice:
    """Pick C (by inner average precision) and the threshold (by inner F1), by time inside these rows only.

    C is the strongest regularisation whose inner average precision is within
    AP_TOLERANCE of the best (the "one standard error" habit): with 2,700
    mails the C values score within noise of each other, and the simpler
    model carries fewer of one era's words into the next.
    """
    order = sorted(set(quarters))
    inner_quarters = order[-INNER:] if len(order) > INNER else order[1:]
    tried: list[tuple[float, float, list[tuple[float, int]]]] = []
    for C in sorted(grid):
        scored: list[tuple[float, int]] = []
        for q in inner_quarters:
            train = [i for i, qq in enumerate(quarters) if qq < q]
            test = [i for i, qq in enumerate(quarters) if qq == q]
            model = fit([feats[i] for i in train], [labels[i] for i in train], C)
            scored += [(model.logit(feats[i]), labels[i]) for i in test]
        tried.append((C, average_precision([s for s, _ in scored], [y for _, y in scored]), scored))
    best_ap = max(ap for _, ap, _ in tried)
    C, _, scored = next(t for t in tried if t[1] >= best_ap - AP_TOLERANCE)
    return Choice(C, best_threshold(scored), scored)


@dataclass
class Result:
    name: str
    scores: list[float]  # logit minus the fold's threshold
    predicted: list[bool]
    labels: list[int]
    folds: list[tuple[str, float, float]]  # (quarter, C, threshold)
    probs: list[float] = None  # the confidence as shipped: Platt scaling fitted on the fold's inner scores

    def __post_init__(self):
        self.probs = [] if self.probs is None else self.probs


def later_quarters(rows: list[dict]) -> list[str]:
    """The quarters of the later half of the set: from the quarter holding the median mail on."""
    first = quarter(rows[len(rows) // 2]["date"])
    return sorted({quarter(r["date"]) for r in rows if quarter(r["date"]) >= first})


def out_of_time(rows: list[dict], feats: list[list[str]], name: str, *, grid=C_GRID, floors: bool = False) -> Result:
    """Score every later-half quarter with a model trained on the quarters before it (C and threshold chosen inside)."""
    quarters = [quarter(r["date"]) for r in rows]
    labels = [r["security"] for r in rows]
    res = Result(name, [], [], [], [])
    for q in later_quarters(rows):
        train = [i for i, qq in enumerate(quarters) if qq < q]
        test = [i for i, qq in enumerate(quarters) if qq == q]
        choice = choose([feats[i] for i in train], [labels[i] for i in train], [quarters[i] for i in train], grid=grid)
        model = fit([feats[i] for i in train], [labels[i] for i in train], choice.C)
        a, b = platt(choice.inner)
        calibrated = {f: a * w for f, w in model.weights.items()} if floors else {}
        for i in test:
            logit = model.logit(feats[i])
            if floors:  # as shipped: the editor's floors act on the calibrated scale, after the fit
                logit += msg.floor_boost(feats[i], calibrated)[0] / a
            z = logit - choice.threshold
            res.scores.append(z)
            res.predicted.append(z >= 0)
            res.labels.append(labels[i])
            res.probs.append(1.0 / (1.0 + math.exp(-max(min(a * logit + b, 30.0), -30.0))))
        res.folds.append((q, choice.C, choice.threshold))
    return res


def keyword_rule(row: dict) -> bool:
    """The keyword baseline: an alarming word (classifier.NAIVE_WORDS) in the subject or the commit message prose."""
    prose, _ = msg._prose_and_trailers(row.get("body") or "")
    return bool(NAIVE_WORDS.search((row["subject"] + "\n" + "\n".join(prose)).lower()))


def platt(scored: list[tuple[float, int]]) -> tuple[float, float]:
    """Fit p = sigmoid(a * logit + b) on (logit, label) pairs; return (a, b)."""
    from tracker.plugins.stable_review.training import platt as pure_platt

    return pure_platt(scored)


def shipped_table(model: Fitted, choice: Choice, *, meta: dict) -> dict:
    """One weight table of model-message.json, on the calibrated scale (sigmoid of the sum is the probability)."""
    a, b = platt(choice.inner)
    weights = {f: round(a * w, 4) for f, w in sorted(model.weights.items()) if round(a * w, 4)}
    return {
        **meta,
        "C": choice.C,
        "calibration": {"a": round(a, 4), "b": round(b, 4)},
        "threshold": round(1.0 / (1.0 + math.exp(-(a * choice.threshold + b))), 4),
        "bias": round(a * model.bias + b, 4),
        "weights": weights,
    }
