"""Section 4: the DPR reader on 20 passages for one question, ours vs the model card's transformers code.

The measurement is the reader's own ``benchmarks/reader_speed.py`` (same random BERT-base DPRReader, real
passages, spans checked against ``decode_best_spans``); this section calls its parts and turns the figures
into report rows. Baselines: the model card's single call over all passages (padded to the longest) and the
plain loop of one call per passage.
"""
import tempfile
from pathlib import Path

from benchmarks.harness import Measurement, SectionResult
from benchmarks.sizes import Sizes

TARGET = 2.0
TOP_K = 10


def run(sizes: Sizes) -> SectionResult:
    result = SectionResult(f"4. Reader ({sizes.reader_passages} passages, one question)")
    try:
        from benchmarks import reader_speed
        from transformers import DPRReaderTokenizerFast
    except ImportError as error:
        result.error = f"benchmarks/reader_speed.py or the reader is not available yet ({error})"
        return result

    repeats = sizes.reader_questions
    question = reader_speed.QUESTION
    passages = reader_speed.wikipedia_passages(sizes.reader_passages)
    titles, texts = [t for t, _ in passages], [p for _, p in passages]
    documents = [reader_speed.Document(text, id=f"p{i}", meta={"name": title})
                 for i, (title, text) in enumerate(passages)]
    with tempfile.TemporaryDirectory(prefix="dpr-bench-reader-") as workdir:
        path = reader_speed.build_model(Path(workdir))
        card = reader_speed.ModelCard(path)
        fast_tokenizer = DPRReaderTokenizerFast.from_pretrained(path)
        card.read(question, titles, texts, TOP_K)  # warm-up
        one_call_s, (encoded, outputs, _) = reader_speed.timed(lambda: card.read(question, titles, texts, TOP_K),
                                                               repeats)
        loop_s, _ = reader_speed.timed(lambda: card.read_loop(question, titles, texts, TOP_K), repeats)
        lengths = encoded["attention_mask"].sum(dim=1).tolist()
        result.facts.append(f"random BERT-base DPRReader, {len(documents)} real passages, input tokens "
                            f"{min(lengths)}-{max(lengths)}, top_k {TOP_K}, median of {repeats} runs")
        for precision in ("fp32", "int8"):
            node = reader_speed.DPRSpanReader(path, precision=precision, top_k=TOP_K)
            node.predict(question, documents)  # warm-up
            ours_s, _ = reader_speed.timed(lambda: node.predict(question, documents), repeats)
            for name, baseline_s in (("model card, one call", one_call_s), ("model card, loop per passage", loop_s)):
                result.measurements.append(Measurement(
                    section="reader", name=f"DPRSpanReader {precision} vs {name}", ours=ours_s * 1000,
                    baseline=baseline_s * 1000, unit="ms", higher_is_better=False, baseline_name=name,
                    target=TARGET if precision == "fp32" else None))
            same, title_bug, differ, same_order = reader_speed.agreement(card, encoded, outputs, documents,
                                                                         fast_tokenizer, node)
            result.facts.append(f"{precision}: best span per passage {same} same as the model card's, {differ} "
                                f"different, {title_bug} where the card answers from the title (transformers "
                                f"issue 10375); passage order {'same' if same_order else 'DIFFERENT'}")
    return result
