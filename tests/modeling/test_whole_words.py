"""Whole words from character offsets: WordPiece (##), byte-level BPE (Ġ) and SentencePiece (▁) alike."""
import re

import numpy as np
import pytest
from transformers import AutoTokenizer

from dpr_components.readers.inputs import ReaderInputs, character_span
from dpr_components.training.data import Context, TrainingExample
from dpr_components.training.reader_samples import answer_spans, prepare_examples

TEXTS = [
    "The King was born in Paris, the capital of France.",
    "London  is\tthe capital\n\nof England; the Queen was born there.",
    "Café Zürich — naïve crème brûlée, 東京 and Paris: population 2,1 million.",
    "parisian paris. u.s.a. 1984's re-election",
    "  leading and trailing spaces  ",
]


def words(text):
    """Character spans of the words of ``text`` (runs of letters, digits and marks)."""
    return [match.span() for match in re.finditer(r"[^\W_]+", text)]


def test_wordpiece_continuations_are_exactly_the_hash_pieces(tiny_reader):
    tokenizer = AutoTokenizer.from_pretrained(tiny_reader)
    inputs = ReaderInputs(tokenizer, 64, 16)
    for text, tokens in zip(TEXTS, inputs.tokenize(TEXTS)):
        pieces = tokenizer.convert_ids_to_tokens(tokens.ids.tolist())
        assert tokens.is_continuation.tolist() == [p.startswith("##") for p in pieces], text


@pytest.mark.parametrize("family", ["roberta", "deberta-v2", "mpnet"])
def test_every_word_is_one_group_of_tokens(tiny_encoders, family):
    """Grouping tokens by is_continuation gives back the text's words (and punctuation on its own)."""
    inputs = ReaderInputs(AutoTokenizer.from_pretrained(tiny_encoders[family]), 64, 16)
    for text, tokens in zip(TEXTS, inputs.tokenize(TEXTS)):
        starts = np.flatnonzero(~tokens.is_continuation).tolist() + [len(tokens)]
        groups = [character_span(text, tokens, first, last - 1) for first, last in zip(starts, starts[1:])]
        groups = [(a, b) for a, b in groups if b > a]
        for start, end in words(text):
            if re.fullmatch(r"[\u4e00-\u9fff]+", text[start:end]):
                continue  # CJK ideographs are words of their own
            assert any(a <= start and end <= b for a, b in groups), (family, text[start:end], groups)
            # a word never shares a group with the next word across whitespace
            assert not any(a < end and b > end and text[end:b].lstrip() != text[end:b] for a, b in groups)


def test_character_span_trims_whitespace_carried_by_tokens(tiny_encoders):
    inputs = ReaderInputs(AutoTokenizer.from_pretrained(tiny_encoders["deberta-v2"]), 64, 16)
    text = "the king  was born in paris"
    (tokens,) = inputs.tokenize([text])
    for t in range(len(tokens)):
        first, last = character_span(text, tokens, t, t)
        assert text[first:last] == text[first:last].strip()


@pytest.mark.parametrize("family", ["roberta", "deberta-v2"])
def test_answers_found_mid_passage_and_at_its_start(tiny_encoders, family):
    """Byte-level BPE encodes 'paris' and ' paris' differently: both forms of an answer are looked for."""
    inputs = ReaderInputs(AutoTokenizer.from_pretrained(tiny_encoders[family]), 64, 16)
    example = TrainingExample("what is the capital", ("paris",),
                              (Context("Paris", "paris is the capital . the king was born in paris ."),))
    (prepared,) = prepare_examples(inputs, [example])
    passage = inputs.tokenize([example.positive_ctxs[0].text])[0]
    found = answer_spans(passage, inputs.tokenize(["paris", " paris"]))
    texts = [example.positive_ctxs[0].text[slice(*character_span(example.positive_ctxs[0].text, passage, s, e))]
             for s, e in found]
    assert texts == ["paris", "paris"] and prepared is not None
    assert sum(len(spans) for spans in prepared.positives[0].spans_per_window) >= 2
