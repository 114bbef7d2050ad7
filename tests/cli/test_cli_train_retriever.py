"""train-retriever from the command line, then index --reembed puts the new passage encoder in the store."""
import json

from dpr_components.cli.main import EXIT_OK, EXIT_USAGE, main
from dpr_components.training.data import Context, TrainingExample, write_examples

ARTICLES = [
    {"id": "paris", "title": "Paris", "text": "Paris is the capital and largest city of France. " * 5},
    {"id": "berlin", "title": "Berlin", "text": "Berlin is the capital of Germany. " * 5},
    {"id": "thames", "title": "Thames", "text": "The river Thames flows through London in England. " * 5},
]


def test_train_then_reembed_then_retrieve(tmp_path, tiny_question_encoder, tiny_context_encoder, capsys):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(a) + "\n" for a in ARTICLES), encoding="utf-8")
    old = ["-p", f"Retriever.query_embedding_model={tiny_question_encoder}",
           "-p", f"Retriever.passage_embedding_model={tiny_context_encoder}", "-p", "Retriever.max_seq_len_passage=128"]
    store = tmp_path / "store"
    assert main(["index", str(corpus), "--store", str(store), "--json", *old]) == EXIT_OK
    capsys.readouterr()

    contexts = [Context(a["title"], a["text"]) for a in ARTICLES]
    examples = [TrainingExample(q, ("x",), (contexts[i],), (), (contexts[(i + 1) % 3],))
                for i, q in enumerate(["capital of france", "capital of germany", "river in england"])]
    write_examples(tmp_path / "train.jsonl", examples + [TrainingExample("no positive", ("y",))])
    output = tmp_path / "pair"
    assert main(["train-retriever", "--train", str(tmp_path / "train.jsonl"), "--dev", str(tmp_path / "train.jsonl"),
                 "--output", str(output), "--question-model", tiny_question_encoder,
                 "--passage-model", tiny_context_encoder, "--batch-size", "2", "--max-steps", "3",
                 "--max-seq-len-passage", "64", "--device", "cpu", "--num-threads", "1", "--json"]) == EXIT_OK
    summary = json.loads(capsys.readouterr().out)
    assert summary["steps"] == 3 and "mrr" in summary["best_dev"]
    assert json.loads((output / "training.json").read_text())["skipped_without_positive"]["train"] == 1
    new = [f"Retriever.{key}={value}" for key, value in summary["retriever_params"].items()]
    new = [arg for param in new for arg in ("-p", param)]

    # The store refuses the new encoder's queries until every passage is re-embedded with it.
    assert main(["retrieve", "capital", "--store", str(store), *new]) == EXIT_USAGE
    assert "another encoder" in capsys.readouterr().err
    assert main(["index", str(corpus), "--store", str(store), "--reembed", "--json", *new]) == EXIT_OK
    reembedded = json.loads(capsys.readouterr().out)
    assert reembedded["passages_reembedded"] == reembedded["passages_in_store"] > 0
    assert main(["retrieve", "capital", "--store", str(store), "--json", *new]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)[0]["documents"]


def test_train_retriever_bad_file_is_one_line(tmp_path, tiny_question_encoder, capsys):
    bad = tmp_path / "train.jsonl"
    bad.write_text('{"question": "q", "answers": ["a"], "positive_ctxs": [{"title": "t", "text": "x"}]}\n{oops\n')
    assert main(["train-retriever", "--train", str(bad), "--output", str(tmp_path / "out"),
                 "--question-model", tiny_question_encoder, "--max-steps", "1"]) == EXIT_USAGE
    error = capsys.readouterr().err
    assert "train.jsonl line 2" in error and error.count("\n") == 1
