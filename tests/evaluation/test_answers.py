"""has_answer (DPR's retrieval matching), SQuAD EM/F1, on the cases that trip simpler matchers."""
import unicodedata

import pytest

from dpr_components.errors import ConfigurationError
from dpr_components.evaluation.answers import (
    dpr_tokens,
    exact_match,
    f1_score,
    has_answer,
    normalize_answer,
)
from dpr_components.evaluation.questions import load_pyserini_topics


def token_window_reference(answers, text):
    """DPR's rule spelled out the slow way: NFD, regex tokens, lower case, compare every token window."""
    passage = dpr_tokens(text)
    for answer in answers:
        needle = dpr_tokens(answer)
        if needle and any(passage[i : i + len(needle)] == needle for i in range(len(passage) - len(needle) + 1)):
            return True
    return False


@pytest.mark.parametrize(
    "answers, text, expected",
    [
        # case and NFC/NFD forms of the same letters are the same tokens
        (["paris"], "PARIS is the capital", True),
        (["Wilhelm Conrad Röntgen"], unicodedata.normalize("NFD", "won by Wilhelm Conrad Röntgen in 1901"), True),
        # an accent is a combining mark inside the token: no accent-folding
        (["Rontgen"], "Wilhelm Conrad Röntgen", False),
        (["Röntgen"], "Wilhelm Conrad Rontgen", False),
        # compatibility characters are not folded by NFD (DPR does not use NFKD)
        (["finance"], "\ufb01nance ministry", False),
        # punctuation characters are tokens of their own; spacing around them does not matter
        (["581 (second edition)"], "it has 581 ( second edition ) pages", True),
        (["Saint Lawrence River"], "flows into the Saint-Lawrence River", False),
        (["U.S."], "the U.S. Army", True),
        (["U.S."], "the US Army", False),
        (["July 5, 2018"], "released on July 5 , 2018 in Japan", True),
        # numbers: separators are tokens, and digits only match whole digit runs
        (["1,000"], "about 1,000 people", True),
        (["1000"], "about 1,000 people", False),
        (["1,000"], "about 1 000 people", False),
        (["3.14"], "pi is 3.14159", False),
        (["1959"], "on January 3, 1959.", True),
        # whole tokens only: no match inside a longer word
        (["art"], "a famous artist", False),
        (["art"], "modern Art.", True),
        # an answer longer than the passage, or not contiguous in it
        (["the capital of France is Paris"], "Paris", False),
        (["New York"], "New and old York", False),
        # symbols and emoji are single tokens
        (["🚁"], "a 🚁 landed", True),
        # any of several answers
        (["Hamburg", "Berlin"], "Berlin is large", True),
        # no tokens at all never matches (DPR's loop would count it as found everywhere)
        ([""], "anything", False),
        (["   "], "anything", False),
    ],
)
def test_has_answer_string_mode(answers, text, expected):
    assert has_answer(answers, text) is expected
    assert token_window_reference(answers, text) is expected


def test_has_answer_accepts_a_single_string():
    assert has_answer("Berlin", "Berlin is large")


@pytest.mark.parametrize(
    "patterns, text, expected",
    [
        # a real CuratedTREC pattern (pyserini's topics.dpr.curated.test.txt, question 0)
        ([r"20\s?,?\s?(32|40)0\s?-?\s?f(ee|oo)t|6,194-meter|20,?237\s*f(oo|ee)?t"], "Denali is 20,320 feet high", True),
        ([r"20\s?,?\s?(32|40)0\s?-?\s?f(ee|oo)t"], "Denali is 20,000 feet high", False),
        # case-insensitive, searched anywhere (not anchored), not token-bounded
        (["Kansas"], "DODGE CITY, KANSAS", True),
        (["cat"], "concatenate", True),
        # NFD on both sides: a composed pattern finds a decomposed text
        (["Röntgen"], unicodedata.normalize("NFD", "Röntgen"), True),
        # a pattern that does not compile matches nothing instead of failing the evaluation
        (["(unclosed"], "(unclosed", False),
        (["(unclosed", "closed"], "closed", True),
    ],
)
def test_has_answer_regex_mode(patterns, text, expected):
    assert has_answer(patterns, text, match="regex") is expected


def test_string_and_regex_modes_differ_on_substrings():
    assert not has_answer(["cat"], "concatenate", match="string")
    assert has_answer(["cat"], "concatenate", match="regex")


def test_unknown_match_mode_is_a_clear_error():
    with pytest.raises(ConfigurationError, match="'string', 'regex'"):
        has_answer(["a"], "a", match="fuzzy")


def test_fast_matcher_agrees_with_token_windows_on_real_answers():
    questions = load_pyserini_topics("nq-dev")[:300]
    answers = [answer for question in questions for answer in question.answers]
    # passages made of real answers glued with punctuation, so matches and near-misses both occur
    passages = [" ".join(answers[i : i + 7]).replace(" ", " ,", i % 3) for i in range(0, len(answers), 5)]
    checked = matched = 0
    for question in questions:
        for passage in passages[:40]:
            expected = token_window_reference(question.answers, passage)
            assert has_answer(question.answers, passage) is expected, (question.answers, passage)
            checked += 1
            matched += expected
    assert checked == 12000 and matched > 50


@pytest.mark.parametrize(
    "text, normalized",
    [("The  Beatles!", "beatles"), ("a tale of an apple", "tale of apple"), ("U.S.A.", "usa"), ("  ", "")],
)
def test_squad_normalisation(text, normalized):
    assert normalize_answer(text) == normalized


def test_exact_match_uses_squad_normalisation_and_the_best_gold_answer():
    assert exact_match("The Beatles.", ["beatles"])
    assert exact_match("Paris", ["Lyon", "paris"])
    assert not exact_match("Paris, France", ["Paris"])
    assert exact_match("", [""])


def test_f1_is_token_overlap_against_the_best_gold_answer():
    assert f1_score("Barack Obama Jr", ["Barack Obama"]) == pytest.approx(0.8)
    assert f1_score("the fab four", ["fab 4", "The Fab Four"]) == pytest.approx(1.0)
    assert f1_score("fab four", ["fab 4"]) == pytest.approx(0.5)
    assert f1_score("London", ["Paris"]) == 0.0
    assert f1_score("the", ["Paris"]) == 0.0  # only an article: empty after normalisation
    assert f1_score("", [""]) == 1.0


def test_regex_exact_match_anchors_at_the_start_and_f1_equals_it():
    assert exact_match("Kansas City", ["kansas"], match="regex")
    assert not exact_match("in Kansas", ["kansas"], match="regex")
    assert f1_score("Kansas City", ["kansas"], match="regex") == 1.0
    assert f1_score("in Kansas", ["kansas"], match="regex") == 0.0
