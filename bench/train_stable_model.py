"""Train the stable-review security model from ../shared/data/stable-labels, pure Python.

    .venv/bin/python bench/train_stable_model.py            # writes plugins/stable_review/model.json

The procedure (model, data, exclusions, threshold) lives in
tracker.plugins.stable_review.training so the quality bench and the tests run
exactly the same code. The shipped model is trained on every dev item plus the
usable CNA records; its decision threshold is the one leave-one-block-out
cross-validation over the whole dev set picks (the same rule the nested CV in
bench/stable_quality.py applies inside each training fold). Logits are
Platt-scaled on those same out-of-block scores, so security_score is a
probability and the shipped threshold is the chosen logit's probability.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tracker.plugins.stable_review import training  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from recorded import announce, recorded  # noqa: E402

TSV = recorded("stable-labels/debian-6.1-stable-items-dev.tsv")
CNA = recorded("stable-labels/kernel-cna-cve-fixes.jsonl")
OUT = ROOT / "plugins" / "stable_review" / "model.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

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
    args.out.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    size = args.out.stat().st_size
    print(f"wrote {args.out}: {len(data['weights'])} weights, {size:,} bytes, {time.perf_counter() - start:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
