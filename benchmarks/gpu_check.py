"""GPU check (under 5 minutes): parity of GPU results with CPU fp32, then throughput, on a CUDA machine.

1. Embeddings: the real all-MiniLM-L6-v2 (mean pooling + normalize) on 64 real passages, GPU fp32 and
   bf16 vs CPU fp32: minimum cosine (expected >= 0.9999 for fp32, >= 0.999 for bf16).
2. Reader: a random BERT-base DPRReader on 20 real passages, GPU fp32 vs CPU fp32: the same best span and
   the same passage order (bf16 is reported, not required).
3. Throughput: passages/s of BERT-base passage encoding on one GPU (fp32, bf16) and on every GPU
   (``devices``), and reader ms for 20 passages.

Usage (``benchmarks/gpu_check.sh`` runs this)::

    python benchmarks/gpu_check.py                 # exits 1 when a parity check fails, 2 without a GPU
    python benchmarks/gpu_check.py --cpu-dry-run   # the same steps with the CPU standing in (checks the script)
"""
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from benchmarks import corpus, models, reader_speed, stacks  # noqa: E402
from dpr_components.encoders import TextEncoder  # noqa: E402
from dpr_components.readers.dpr_span_reader import DPRSpanReader  # noqa: E402
from dpr_components.utils.devices import cpu_description  # noqa: E402


def cosine_min(a: np.ndarray, b: np.ndarray) -> float:
    return float(((a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)).min())


def best_spans(reader: DPRSpanReader, question: str, documents) -> list:
    answers = reader.predict(question, documents, top_k=len(documents) * reader.spans_per_passage)["answers"]
    best = {}
    for answer in answers:
        offsets = answer.offsets_in_document[0]
        best.setdefault(answer.document_ids[0], (offsets.start, offsets.end))
    return sorted(best.items())


def synchronize() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def passages_per_second(encoder: TextEncoder, texts, batch_size: int = 64) -> float:
    encoder.encode(texts[:batch_size], max_length=256, batch_size=batch_size)  # warm-up
    synchronize()
    start = time.perf_counter()
    encoder.encode(texts, max_length=256, batch_size=batch_size)
    synchronize()
    return len(texts) / (time.perf_counter() - start)


def main() -> int:
    dry_run = "--cpu-dry-run" in sys.argv[1:]
    stacks.quiet_logs()
    if dry_run:
        target, gpus, scale = "cpu", 2, 1
        print(f"dry run on the CPU ({cpu_description()}): figures are CPU figures")
    elif not torch.cuda.is_available():
        print("no CUDA GPU visible to torch: nothing to check")
        return 2
    else:
        target, gpus, scale = "cuda:0", torch.cuda.device_count(), 8
        print(f"cpu: {cpu_description()}; GPUs: {gpus} x {torch.cuda.get_device_name(0)}, "
              f"bf16 supported: {torch.cuda.is_bf16_supported()}, torch {torch.__version__}")
    failures = []
    documents = corpus.passages(64 if not dry_run else 8)
    texts = [(d.meta["name"], d.content) for d in documents]

    minilm = models.minilm_dir()
    cpu = TextEncoder(minilm, pooling="mean", normalize=True, precision="fp32", device="cpu").encode(texts, 256)
    for precision, required in (("fp32", 0.9999), ("bf16", 0.999)):
        gpu = TextEncoder(minilm, pooling="mean", normalize=True, precision=precision, device=target)
        cosine = cosine_min(cpu, gpu.encode(texts, 256))
        verdict = "ok" if cosine >= required else "FAILED"
        print(f"embeddings MiniLM GPU {precision} vs CPU fp32: min cosine {cosine:.6f} (need >= {required}) {verdict}")
        if cosine < required:
            failures.append(f"embeddings {precision}")

    question = reader_speed.QUESTION
    passages = reader_speed.wikipedia_passages(20 if not dry_run else 4)
    reader_documents = [reader_speed.Document(text, id=f"p{i}", meta={"name": title})
                        for i, (title, text) in enumerate(passages)]
    with tempfile.TemporaryDirectory(prefix="dpr-gpu-check-") as workdir:
        path = reader_speed.build_model(Path(workdir))
        reference = best_spans(DPRSpanReader(path, precision="fp32", device="cpu"), question, reader_documents)
        for precision in ("fp32", "bf16"):
            reader = DPRSpanReader(path, precision=precision, device=target)
            spans = best_spans(reader, question, reader_documents)
            same = sum(a == b for a, b in zip(spans, reference))
            print(f"reader GPU {precision} vs CPU fp32: best span same for {same} of {len(reference)} passages")
            if precision == "fp32" and spans != reference:
                failures.append("reader fp32 spans")
            reader.predict(question, reader_documents)
            synchronize()
            start = time.perf_counter()
            for _ in range(5):
                reader.predict(question, reader_documents)
            synchronize()
            print(f"reader GPU {precision}: {(time.perf_counter() - start) / 5 * 1000:.0f} ms for "
                  f"{len(reader_documents)} passages")

    pair = models.bert_base() if not dry_run else models.minilm()
    many = texts * scale  # 512 passages on a GPU
    for precision in ("fp32", "bf16"):
        one = TextEncoder(pair.context_dir, precision=precision, device=target)
        print(f"{pair.name} passage encoding GPU {precision}, 1 GPU: {passages_per_second(one, many):.0f} passages/s")
        del one
        if gpus > 1:
            every = TextEncoder(pair.context_dir, precision=precision,
                                devices=[target if dry_run else f"cuda:{i}" for i in range(gpus)])
            print(f"{pair.name} passage encoding GPU {precision}, {gpus} GPUs: "
                  f"{passages_per_second(every, many * gpus):.0f} passages/s")
            del every
        if torch.cuda.is_available():
            torch.cuda.empty_cache()

    print("parity: " + ("all checks passed" if not failures else "FAILED: " + ", ".join(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
