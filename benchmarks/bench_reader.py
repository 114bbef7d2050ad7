"""Section 4: the DPR reader on 20 passages for one question, ours vs the model card's transformers code.

The measurement is the reader's own ``benchmarks/reader_speed.py`` (same random BERT-base DPRReader, real
passages, spans checked against ``decode_best_spans``); this section calls its parts and turns the figures
into report rows. Baselines: the model card's single call over all passages (padded to the longest) and the
plain loop of one call per passage.
"""
import tempfile
from pathlib import Path

from benchmarks import stacks
from benchmarks.harness import Measurement, SectionResult, interleaved, median, round_ratios, timed
from benchmarks.sizes import Sizes

TARGET = 3.0  # issue 13: >= 3x the model card's loop, with the same spans
TOP_K = 10
PRECISIONS = ("fp32", "bf16", "int8")


def run(sizes: Sizes) -> SectionResult:
    result = SectionResult(f"4. Reader ({sizes.reader_passages} passages, one question)")
    try:
        from transformers import DPRReaderTokenizerFast

        from benchmarks import reader_speed
    except ImportError as error:
        result.error = f"benchmarks/reader_speed.py or the reader is not available yet ({error})"
        return result

    question = reader_speed.QUESTION
    passages = reader_speed.wikipedia_passages(sizes.reader_passages)
    titles, texts = [t for t, _ in passages], [p for _, p in passages]
    documents = [reader_speed.Document(text, id=f"p{i}", meta={"name": title})
                 for i, (title, text) in enumerate(passages)]
    with tempfile.TemporaryDirectory(prefix="dpr-bench-reader-") as workdir:
        path = reader_speed.build_model(Path(workdir))
        card = reader_speed.ModelCard(path)
        fast_tokenizer = DPRReaderTokenizerFast.from_pretrained(path)
        encoded, outputs, _ = card.read(question, titles, texts, TOP_K)  # warm-up; its logits for agreement
        native, _ = stacks.native_bf16()  # emulated bf16 (AVX2) would only add minutes
        nodes = {p: reader_speed.DPRSpanReader(path, precision=p, top_k=TOP_K) for p in PRECISIONS
                 if p != "bf16" or native}
        for node in nodes.values():
            node.predict(question, documents)  # warm-up
        runs = {"model card, one call": lambda: card.read(question, titles, texts, TOP_K),
                "model card, loop per passage": lambda: card.read_loop(question, titles, texts, TOP_K)}
        runs.update({p: (lambda node=node: node.predict(question, documents)) for p, node in nodes.items()})
        seconds = interleaved({name: (lambda run=run: timed(run)) for name, run in runs.items()}, sizes.rounds)
        lengths = encoded["attention_mask"].sum(dim=1).tolist()
        result.facts.append(f"random BERT-base DPRReader, {len(documents)} real passages, input tokens "
                            f"{min(lengths)}-{max(lengths)}, top_k {TOP_K}, {sizes.rounds} interleaved rounds "
                            "(model card one call, loop, ours per precision), median round")
        for precision, node in nodes.items():
            for name in ("model card, one call", "model card, loop per passage"):
                result.measurements.append(Measurement(
                    section="reader", name=f"DPRSpanReader {precision} vs {name}",
                    ours=median(seconds[precision]) * 1000, baseline=median(seconds[name]) * 1000, unit="ms",
                    higher_is_better=False, baseline_name=name, precision=precision,
                    target=TARGET if name.endswith("loop per passage") and precision != "int8" else None,
                    round_ratios=round_ratios(seconds[precision], seconds[name], higher_is_better=False)))
            same, title_bug, differ, same_order = reader_speed.agreement(card, encoded, outputs, documents,
                                                                         fast_tokenizer, node)
            result.facts.append(f"{precision}: best span per passage {same} same as the model card's (fp32), "
                                f"{differ} different, {title_bug} where the card answers from the title "
                                f"(transformers issue 10375); passage order {'same' if same_order else 'DIFFERENT'}")
    return result
