"""average-readers: the soup's weights are the mean of its ingredients', it reads like any reader, bad input is
refused."""
import json

import pytest
import torch
from tiny_models import save_model, tiny_dpr_config
from transformers import DPRReader, DPRReaderTokenizerFast

from dpr_components.cli.main import EXIT_OK, EXIT_USAGE, main
from dpr_components.errors import ConfigurationError, ModelLoadError
from dpr_components.readers.dpr_span_reader import DPRSpanReader
from dpr_components.training.soup import SOUP_FILE, average_readers


@pytest.fixture
def two_readers(tiny_reader, tmp_path):
    """The tiny reader and a copy with every weight shifted by random noise (a second 'fine-tune')."""
    other = DPRReader.from_pretrained(tiny_reader)
    torch.manual_seed(7)
    with torch.no_grad():
        for parameter in other.parameters():
            parameter.add_(torch.randn_like(parameter))
    other.save_pretrained(tmp_path / "other")
    DPRReaderTokenizerFast.from_pretrained(tiny_reader).save_pretrained(tmp_path / "other")
    return tiny_reader, str(tmp_path / "other")


def test_the_soup_is_the_mean_of_its_readers_and_reads_questions(two_readers, tmp_path, capsys):
    output = tmp_path / "soup"
    assert main(["average-readers", *two_readers, "--output", str(output)]) == EXIT_OK
    assert "Wrote the average of 2 readers" in capsys.readouterr().out
    first, second, soup = (DPRReader.from_pretrained(str(path)).state_dict() for path in (*two_readers, output))
    assert set(soup) == set(first)
    for key in first:
        assert torch.allclose(soup[key], (first[key] + second[key]) / 2, atol=1e-6), key
    assert not torch.allclose(soup["span_predictor.qa_outputs.weight"], first["span_predictor.qa_outputs.weight"])
    assert json.loads((output / SOUP_FILE).read_text())["inputs"][1].endswith("other")

    from haystack import Document

    answers = DPRSpanReader(str(output), top_k=1, max_seq_len=128).predict(
        "who wrote it?", [Document(content="the book was written by george orwell in london")])["answers"]
    assert len(answers) == 1 and answers[0].answer


def test_bad_ingredients_are_refused_and_nothing_is_written(two_readers, tiny_question_encoder, tiny_vocab_file,
                                                            tmp_path, capsys):
    output = tmp_path / "soup"
    with pytest.raises(ConfigurationError, match="at least two"):
        average_readers(two_readers[:1], output)
    with pytest.raises(ModelLoadError, match="not a DPRReader checkpoint"):
        average_readers([two_readers[0], tiny_question_encoder], output)
    wider = save_model(DPRReader(tiny_dpr_config(hidden_size=48)), DPRReaderTokenizerFast, tiny_vocab_file,
                       tmp_path / "wider")
    with pytest.raises(ConfigurationError, match="differs .* in hidden_size"):
        average_readers([two_readers[0], wider], output)
    assert main(["average-readers", two_readers[0], tiny_question_encoder, "--output", str(output)]) == EXIT_USAGE
    assert "not a DPRReader checkpoint" in capsys.readouterr().err
    assert not output.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["other", "wider"]

    output.mkdir()
    with pytest.raises(ConfigurationError, match="already exists"):
        average_readers(two_readers, output)
    average_readers(two_readers, output, overwrite=True)
    assert (output / SOUP_FILE).is_file()
