"""Train the stable-review models from ../shared/data/stable-labels.

    .venv/bin/python bench/train_stable_model.py             # both models
    .venv/bin/python bench/train_stable_model.py --subject   # only model.json (pure Python)
    .venv/bin/python bench/train_stable_model.py --message   # only model-message.json (needs the `train` extra)

model.json, the subject model (the fallback when a patch has no commit
message: a shortlog, `git log --oneline`): naive Bayes over subject features,
pure Python, procedure in tracker.plugins.stable_review.training; its
threshold comes from leave-one-block-out cross-validation over the Debian 6.1
dev set, and its logits are Platt-scaled on those same scores.

model-message.json, the message model: logistic regression (scikit-learn,
`pip install -e '.[train]'`) over the subject, commit message, trailers and
diff (tracker.plugins.stable_review.message), fitted on the 2,694 labelled
stable-candidate mails of 2022-2024, procedure in bench/stable_message_fit.py.
Two weight tables: "with_diff" (a review mail) and "message_only" (a
ChangeLog or git log: messages without diffs). C and the threshold are chosen
by time (the last quarters, each scored by a model fitted on the quarters
before it), the weights Platt-scaled on those scores. A verdict reads the
JSON with neither scikit-learn nor numpy.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from tracker.plugins.stable_review import training  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from recorded import announce, recorded  # noqa: E402

TSV = recorded("stable-labels/debian-6.1-stable-items-dev.tsv")
CNA = recorded("stable-labels/kernel-cna-cve-fixes.jsonl")
OUT = ROOT / "plugins" / "stable_review" / "model.json"
OUT_MESSAGE = ROOT / "plugins" / "stable_review" / "model-message.json"


def train_subject(out: Path) -> None:
    announce(TSV, CNA, file=sys.stderr)
    start = time.perf_counter()
    items = training.read_items(TSV)
    cna = training.read_cna(CNA)
    blocks = list(range(len(training.BLOCKS)))
    scored = training.block_out_scores(items, cna, blocks)
    threshold = training.best_threshold(scored)
    scale = training.platt(scored)
    print(f"leave-one-block-out threshold (logit) {threshold:.3f}; calibration a={scale[0]:.3f} b={scale[1]:.3f}", file=sys.stderr)
    examples = training.build_examples(items, cna)
    model = training.train(examples)
    meta = {
        "training_data": (
            f"{len(items)} dev TSV items (6.1.60..6.1.119) + {len(examples) - len(items)} kernel CNA CVE subjects "
            f"(weight {training.CNA_WEIGHT}) not among them and not fixed in a 6.1.y update outside 6.1.60..6.1.119"
        ),
        "threshold_chosen_by": "F1 over leave-one-block-out scores of the 5 dev blocks (training.BLOCKS)",
        "calibrated_by": "Platt scaling fitted on the same leave-one-block-out scores",
        "measured_by": "bench/stable_quality.py (grouped 5-block CV, nested threshold)",
    }
    data = training.model_json(model, threshold, scale, meta=meta)
    out.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    print(f"wrote {out}: {len(data['weights'])} weights, {out.stat().st_size:,} bytes, {time.perf_counter() - start:.1f}s", file=sys.stderr)


def train_message(out: Path) -> None:
    import stable_message_fit as smf

    smf.require_train_extra()
    start = time.perf_counter()
    rows = smf.load_mails()
    quarters = [smf.quarter(r["date"]) for r in rows]
    labels = [r["security"] for r in rows]
    data = {
        "format": 1,
        "kind": "logistic regression over subject, commit message, trailer and diff features (message.py)",
        "trained_by": "bench/train_stable_model.py --message (scikit-learn, the `train` extra)",
        "training_data": f"{len(rows)} stable-candidate mails {rows[0]['date'][:7]}..{rows[-1]['date'][:7]} "
                         f"({sum(labels)} with a CVE), {smf.MBOX.name}",
        "measured_by": "bench/stable_quality.py (folds by time, C and threshold chosen inside the training quarters)",
    }
    for name, with_diff in (("with_diff", True), ("message_only", False)):
        feats = [smf.features_of(r, with_diff=with_diff) for r in rows]
        choice = smf.choose(feats, labels, quarters)
        model = smf.fit(feats, labels, choice.C)
        data[name] = smf.shipped_table(model, choice, meta={
            "threshold_chosen_by": f"F1 over the last {smf.INNER} quarters, each scored by a model fitted on the quarters before it",
            "calibrated_by": "Platt scaling on those same out-of-time scores",
        })
        print(f"{name}: C={choice.C} threshold p={data[name]['threshold']} {len(data[name]['weights'])} weights", file=sys.stderr)
    out.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    print(f"wrote {out}: {out.stat().st_size:,} bytes, {time.perf_counter() - start:.1f}s", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subject", action="store_true", help="train only the subject model (model.json)")
    parser.add_argument("--message", action="store_true", help="train only the message model (model-message.json)")
    parser.add_argument("--out", type=Path, default=None, help="where to write (with --subject or --message)")
    args = parser.parse_args(argv)
    both = not (args.subject or args.message)
    if args.subject or both:
        train_subject(args.out if args.out and args.subject else OUT)
    if args.message or both:
        train_message(args.out if args.out and args.message else OUT_MESSAGE)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
