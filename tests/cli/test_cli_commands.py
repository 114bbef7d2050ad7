"""The CLI in-process: index (resumable), retrieve, ask, --json, and one-line errors, with tiny models."""
import json

import pytest

from dpr_components.cli.main import EXIT_OK, EXIT_USAGE, main

ARTICLES = [
    {"id": "paris", "title": "Paris", "text": "Paris is the capital and largest city of France. " * 25},
    {"id": "berlin", "title": "Berlin", "text": "Berlin is the capital of Germany. " * 40},
    {"id": "thames", "title": "Thames", "text": "The river Thames flows through London in England. " * 12},
]


@pytest.fixture
def tiny(tiny_question_encoder, tiny_context_encoder, tiny_reader):
    """Overrides that point the shipped pipelines at the tiny test models."""
    return [
        "-p", f"Retriever.query_embedding_model={tiny_question_encoder}",
        "-p", f"Retriever.passage_embedding_model={tiny_context_encoder}",
        "-p", "Retriever.max_seq_len_passage=128",
    ]


@pytest.fixture
def tiny_reader_params(tiny_reader):
    return ["-p", f"Reader.model_name_or_path={tiny_reader}", "-p", "Reader.max_seq_len=128",
            "-p", "Reader.doc_stride=32"]


def write_corpus(path, articles):
    path.write_text("".join(json.dumps(a) + "\n" for a in articles), encoding="utf-8")
    return path


@pytest.fixture
def built_store(tmp_path, tiny, capsys):
    corpus = write_corpus(tmp_path / "corpus.jsonl", ARTICLES)
    store = tmp_path / "store"
    assert main(["index", str(corpus), "--store", str(store), "--json", *tiny]) == EXIT_OK
    summary = json.loads(capsys.readouterr().out)
    return store, corpus, summary


def test_index_reports_counts_and_is_resumable(built_store, tmp_path, tiny, capsys):
    store, corpus, summary = built_store
    expected_passages = sum(-(-len(a["text"].split()) // 100) for a in ARTICLES)
    assert summary["documents_indexed"] == summary["documents_new"] == 3 and summary["documents_unchanged"] == 0
    assert summary["passages_written"] == summary["passages_in_store"] == expected_passages

    # Re-running skips everything stored; a corpus that grew only adds what is new.
    assert main(["index", str(corpus), "--store", str(store), "--json", *tiny]) == EXIT_OK
    again = json.loads(capsys.readouterr().out)
    assert (again["documents_indexed"], again["documents_unchanged"], again["passages_written"]) == (0, 3, 0)
    added = [{"id": "rome", "title": "Rome", "text": "Rome is old."}, {"id": "blank", "title": "Blank", "text": " "}]
    grown = write_corpus(tmp_path / "grown.jsonl", ARTICLES + added)
    counts = []
    for _ in range(2):  # a document without words is reported, never counted as indexed
        assert main(["index", str(grown), "--store", str(store), "--json", *tiny]) == EXIT_OK
        more = json.loads(capsys.readouterr().out)
        assert more["documents_empty"] == 1 and more["passages_in_store"] == expected_passages + 1
        counts.append((more["documents_indexed"], more["documents_unchanged"], more["passages_written"]))
    assert counts == [(1, 3, 1), (0, 4, 0)]


def test_index_text_output_for_people(tmp_path, tiny, capsys):
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "oslo.md").write_text("# Oslo\n\nOslo is the capital of Norway.\n", encoding="utf-8")
    assert main(["index", str(corpus), "--store", str(tmp_path / "s"), "--no-progress", *tiny]) == EXIT_OK
    assert "Indexed 1 documents (1 new; 1 passages written), 0 unchanged (already stored)." in capsys.readouterr().out


def test_retrieve_json_and_text(built_store, tiny, capsys):
    store, _, _ = built_store
    argv = ["retrieve", "capital of Germany", "river in London", "--store", str(store), "--top-k", "2", *tiny]
    assert main([*argv, "--json"]) == EXIT_OK
    results = json.loads(capsys.readouterr().out)
    assert [r["query"] for r in results] == ["capital of Germany", "river in London"]
    assert all(len(r["documents"]) == 2 for r in results)
    first = results[0]["documents"][0]
    assert set(first) >= {"id", "score", "title", "content", "meta"} and first["title"] in {"Paris", "Berlin", "Thames"}
    assert main(argv) == EXIT_OK
    text = capsys.readouterr().out
    assert text.startswith("Q: capital of Germany\n   1. ") and "Q: river in London" in text


def test_hybrid_retrieve_shows_fused_and_per_source_scores(built_store, tiny, capsys):
    store, _, summary = built_store
    argv = ["retrieve", "Thames London", "--pipeline", "hybrid_retrieval", "--store", str(store),
            "--top-k", str(summary["passages_in_store"])]
    assert main([*argv, *tiny, "--json"]) == EXIT_OK
    documents = json.loads(capsys.readouterr().out)[0]["documents"]
    assert len(documents) == summary["passages_in_store"]
    assert [d["score"] for d in documents] == sorted((d["score"] for d in documents), reverse=True)
    assert all(set(d["meta"]["fusion"]) <= {"BM25", "Retriever"} and d["meta"]["fusion"] for d in documents)
    bm25_first = next(d for d in documents if d["meta"]["fusion"].get("BM25", {}).get("rank") == 1)
    assert bm25_first["title"] == "Thames"  # the only passages with "Thames" or "London"
    assert main([*argv, *tiny]) == EXIT_OK
    text = capsys.readouterr().out
    assert "scores: BM25 " in text and "(#1) · Retriever " in text  # the Thames passage, found by both


def test_ask_returns_answers_with_source_passages(built_store, tiny, tiny_reader_params, capsys, tmp_path):
    store, _, _ = built_store
    questions = tmp_path / "questions.txt"
    questions.write_text("what is the capital of France?\n\nwhere does the Thames flow?\n", encoding="utf-8")
    argv = ["ask", "--questions-file", str(questions), "--pipeline", "hybrid_qa", "--store", str(store),
            "--top-k", "2", *tiny, *tiny_reader_params]
    assert main([*argv, "--json"]) == EXIT_OK
    results = json.loads(capsys.readouterr().out)
    assert len(results) == 2
    for result in results:
        assert 1 <= len(result["answers"]) <= 2
        for answer in result["answers"]:
            assert answer["source"] is not None and answer["answer"].lower() in answer["source"]["content"].lower()
    assert main(argv) == EXIT_OK
    assert "from: " in capsys.readouterr().out


def test_query_with_another_encoder_than_the_index_is_one_line(built_store, tiny_question_encoder, minilm_path, capsys):
    store, _, _ = built_store
    argv = ["retrieve", "capital", "--store", str(store), "-p", f"Retriever.query_embedding_model={minilm_path}",
            "-p", f"Retriever.passage_embedding_model={minilm_path}"]
    assert main(argv) == EXIT_USAGE
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 1 and "Traceback" not in error
    assert "384" in error and "32" in error  # the two embedding sizes


def test_same_size_encoder_with_another_name_is_refused(built_store, tiny_question_encoder, tiny_context_encoder,
                                                        tmp_path, capsys):
    store, corpus, _ = built_store
    swapped = ["-p", f"Retriever.query_embedding_model={tiny_context_encoder}",
               "-p", f"Retriever.passage_embedding_model={tiny_question_encoder}",
               "-p", "Retriever.max_seq_len_passage=128"]
    assert main(["retrieve", "capital", "--store", str(store), *swapped]) == EXIT_USAGE
    error = capsys.readouterr().err
    assert "another encoder" in error and error.count("\n") == 1
    more = write_corpus(tmp_path / "more.jsonl", [{"id": "oslo", "title": "Oslo", "text": "Oslo is in Norway."}])
    assert main(["index", str(more), "--store", str(store), *swapped]) == EXIT_USAGE
    assert "another encoder" in capsys.readouterr().err


@pytest.mark.parametrize("model", [
    "no-such-model-anywhere",
    "nobody/none",  # a hub id: not found locally, no network
])
def test_model_missing_offline_says_what_to_do(built_store, tiny, capsys, model):
    store, _, _ = built_store
    argv = ["retrieve", "capital", "--store", str(store), *tiny, "-p", f"Retriever.query_embedding_model={model}"]
    assert main(argv) == EXIT_USAGE
    error = capsys.readouterr().err
    assert model in error and "local directory" in error and "network" in error
    assert error.count("\n") == 1


def test_errors_people_meet_are_single_lines(tmp_path, tiny, capsys):
    corpus, store = write_corpus(tmp_path / "c.jsonl", ARTICLES[:1]), tmp_path / "store"
    cases = [
        (["index", str(tmp_path / "missing.jsonl"), *tiny], "does not exist"),
        (["index", str(corpus), "--store", str(store), "-p", "Retriever.top_kk=3", *tiny], "Did you mean 'top_k'"),
        (["index", str(corpus), "--store", str(store), "-p", "Retriever.pooling=max", *tiny], "'max'"),
        (["retrieve", "q", "--store", str(tmp_path / "never_built"), *tiny], "does not exist: index a corpus"),
        (["retrieve", "q", "--store", str(store), *tiny], "does not exist"),  # the failed index runs left nothing
        (["retrieve", "q", "--pipeline", "no_such_pipeline"], "bundled pipelines"),
        (["retrieve", "--store", str(tmp_path)], "No question given"),
    ]
    for argv, expected in cases:
        assert main(argv) == EXIT_USAGE, argv
        error = capsys.readouterr().err
        assert expected in error and error.count("\n") == 1 and "Traceback" not in error, (argv, error)


def test_debug_shows_the_traceback_and_keeps_the_exit_status(capsys):
    assert main(["--debug", "retrieve", "q", "--pipeline", "no_such_pipeline"]) == EXIT_USAGE  # main: 1
    error = capsys.readouterr().err
    assert "Traceback" in error and error.rstrip().splitlines()[-1].startswith("error: Pipeline file")
