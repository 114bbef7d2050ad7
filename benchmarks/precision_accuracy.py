"""What each precision costs in accuracy: cosine to fp32 and (optionally) the mini benchmark's DPR top-k.

1. Cosine: the real all-MiniLM-L6-v2 (mean pooling + normalize) embeds ``--passages`` real 100-word
   Wikipedia passages (title + text) and ``--questions`` real NQ questions at each precision; the cosine of
   every vector to its fp32 vector is summarised (mean, min).
2. ``--top-k``: the whole mini Wikipedia benchmark (4,807 passages, dev + test questions; see
   benchmarks/mini_wikipedia.py) embedded at each precision, DPR alone, exact dot-product search; top-1/5/20/100
   accuracy and the number of questions whose top-20 verdict differs from fp32's. Slow: one full embedding
   of the corpus per precision.

Usage::

    python benchmarks/precision_accuracy.py                            # cosine only, a minute or two
    python benchmarks/precision_accuracy.py --top-k --precisions fp32,bf16 --out runs/mini_wikipedia
    python benchmarks/precision_accuracy.py --top-k --precisions fp32,int8,int8-onnxruntime --out runs/mini_wikipedia
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402

from benchmarks import corpus, models, stacks  # noqa: E402
from benchmarks.harness import load_warning  # noqa: E402
from dpr_components.encoders import TextEncoder  # noqa: E402
from dpr_components.utils.devices import cpu_description  # noqa: E402

KS = (1, 5, 20, 100)


def encoder(precision: str) -> TextEncoder:
    """``int8`` is torch's int8; ``int8-onnxruntime`` (or ``fp32-onnxruntime``) runs on ONNX Runtime."""
    precision, _, runtime = precision.partition("-")
    return TextEncoder(models.minilm_dir(), pooling="mean", normalize=True, precision=precision, device="cpu",
                       runtime=runtime or "torch")


def cosines(reference: np.ndarray, other: np.ndarray) -> np.ndarray:
    return (reference * other).sum(1) / np.linalg.norm(reference, axis=1) / np.linalg.norm(other, axis=1)


def cosine_report(precisions, passages: int, questions: int) -> None:
    documents = corpus.passages(passages)
    texts = [(d.meta["name"], d.content) for d in documents]
    asked = corpus.questions(questions)
    vectors = {}
    for precision in precisions:
        model = encoder(precision)
        vectors[precision] = (model.encode(texts, 256, batch_size=16), model.encode(asked, 64, batch_size=16))
    for precision in precisions:
        if precision == "fp32":
            continue
        for kind, index, count in (("passages", 0, passages), ("questions", 1, questions)):
            values = cosines(vectors["fp32"][index], vectors[precision][index])
            print(f"cosine to fp32, {precision}, {count} real {kind}: mean {values.mean():.5f}, min {values.min():.5f}")


def top_k_report(precisions, out: Path) -> None:
    from dpr_components.data.wikipedia_mini import build_mini_wikipedia
    from dpr_components.evaluation import has_answer, load_questions

    build_mini_wikipedia(out / "data")
    with open(out / "data" / "passages.jsonl", encoding="utf-8") as handle:
        passages = [json.loads(line) for line in handle]
    questions = {split: load_questions(out / "data" / f"{split}.jsonl") for split in ("dev", "test")}
    hits = {}
    for precision in precisions:
        model = encoder(precision)
        started = time.perf_counter()
        matrix = model.encode([(p["title"], p["text"]) for p in passages], 256, batch_size=32)
        print(f"{precision}: embedded {len(passages)} passages in {time.perf_counter() - started:.0f} s "
              f"(load average {os.getloadavg()[0]:.2f})", flush=True)
        for split, split_questions in questions.items():
            query_vectors = model.encode([q.question for q in split_questions], 64, batch_size=32)
            ranked = np.argsort(-(query_vectors @ matrix.T), axis=1, kind="stable")[:, :max(KS)]
            hits[precision, split] = [[has_answer(q.answers, passages[i]["text"], q.match) for i in row]
                                      for q, row in zip(split_questions, ranked)]
    for split in questions:
        for precision in precisions:
            rows = hits[precision, split]
            accuracy = "  ".join(f"top-{k} {100 * np.mean([any(r[:k]) for r in rows]):.1f}" for k in KS)
            changed = sum(any(a[:20]) != any(b[:20]) for a, b in zip(rows, hits["fp32", split]))
            print(f"{split} ({len(rows)} questions), DPR {precision}: {accuracy}; top-20 verdict differs from fp32 "
                  f"on {changed} question(s)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--precisions", default="fp32,bf16,int8,int8-onnxruntime")
    parser.add_argument("--passages", type=int, default=100)
    parser.add_argument("--questions", type=int, default=100)
    parser.add_argument("--top-k", action="store_true", help="also the mini benchmark's DPR top-k per precision")
    parser.add_argument("--out", default="runs/mini_wikipedia", help="where the mini benchmark's data is built")
    args = parser.parse_args(argv)
    stacks.quiet_logs()
    precisions = ["fp32"] + [p for p in args.precisions.split(",") if p != "fp32"]
    print(f"cpu: {cpu_description()}; load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}. "
          f"{load_warning()}", flush=True)
    cosine_report(precisions, args.passages, args.questions)
    if args.top_k:
        top_k_report(precisions, Path(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
