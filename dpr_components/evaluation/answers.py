"""Answer matching as the DPR papers measure it: ``has_answer`` for retrieval, EM and F1 for readers.

Retrieval accuracy follows DPR's ``qa_validation.has_answer``:

* ``string`` mode: passage text and each answer are NFD-normalised, split by the regex tokenizer
  ``[\\p{L}\\p{N}\\p{M}]+|[^\\p{Z}\\p{C}]`` (runs of letters/digits/marks, or any single visible
  non-space character) and lower-cased; the passage has the answer when the answer's tokens occur
  contiguously in the passage's tokens. Only the passage text is searched, never its title.
* ``regex`` mode (CuratedTREC): each answer is a regular expression, NFD-normalised, searched anywhere in
  the NFD-normalised passage, case-insensitively. A pattern that does not compile matches nothing.

Haystack 1.x's own evaluation uses a case-sensitive substring test instead; its numbers are not comparable
with the DPR literature. One deliberate difference from DPR's code: an answer with no tokens at all (empty or
only whitespace) matches nothing here, whereas DPR's loop would count it as found in every passage.

Reader metrics use SQuAD's normalisation (lower case, drop punctuation and the articles a/an/the, squeeze
whitespace); EM and F1 take the best value over the gold answers. In ``regex`` mode a prediction is exact
when a pattern matches at its start (DrQA's CuratedTREC convention) and F1 equals EM.

Usage::

    from dpr_components.evaluation.answers import has_answer, exact_match, f1_score

    has_answer(["Saint Lawrence River"], "... flows into the saint-lawrence river ...")  # False: '-' is a token
    has_answer(["Café de Flore"], "the cafe\u0301 de flore")                            # True (NFD)
    has_answer([r"20\\s?,?320 f(ee|oo)t"], "is 20,320 feet high", match="regex")         # True
    exact_match("The Beatles!", ["beatles"]), f1_score("the fab four", ["fab 4"])       # True, 0.5
"""
import collections
import re as std_re
import string
import unicodedata
from functools import lru_cache
from typing import Iterable, List, Union

import regex

from dpr_components.utils.choices import Choice

TOKEN_PATTERN = regex.compile(
    r"([\p{L}\p{N}\p{M}]+)|([^\p{Z}\p{C}])", flags=regex.IGNORECASE | regex.UNICODE | regex.MULTILINE
)
_PUNCTUATION = frozenset(string.punctuation)
_ARTICLES = std_re.compile(r"\b(a|an|the)\b")


class MatchMode(Choice):
    """How gold answers are compared with passages and predictions."""

    STRING = "string"
    REGEX = "regex"


def dpr_tokens(text: str, uncased: bool = True) -> List[str]:
    """Tokens of ``text`` as DPR's answer matching sees them: NFD, regex tokenizer, lower case (per token)."""
    tokens = [match.group() for match in TOKEN_PATTERN.finditer(unicodedata.normalize("NFD", text))]
    return [token.lower() for token in tokens] if uncased else tokens


@lru_cache(maxsize=65536)
def _joined_tokens(text: str) -> str:
    # Tokens never contain a space (the tokenizer excludes \p{Z}), so " a b " occurs in " x a b y " exactly
    # when the token sequence (a, b) occurs contiguously: DPR's token-window comparison as one C-level search.
    # Cached because evaluations test the same passages and answers many times over.
    return " " + " ".join(dpr_tokens(text)) + " "


@lru_cache(maxsize=4096)
def _compiled(pattern: str):
    try:
        return regex.compile(pattern, flags=regex.IGNORECASE | regex.UNICODE | regex.MULTILINE)
    except regex.error:
        return None


def regex_search(pattern: str, text: str) -> bool:
    """True when the (NFD-normalised) ``pattern`` is found in ``text``, ignoring case; bad patterns never match."""
    compiled = _compiled(unicodedata.normalize("NFD", pattern))
    return compiled is not None and compiled.search(unicodedata.normalize("NFD", text)) is not None


def has_answer(answers: Iterable[str], text: str, match: Union[str, MatchMode] = "string") -> bool:
    """Whether passage ``text`` contains any of ``answers``, exactly as DPR's retrieval accuracy decides."""
    mode = MatchMode.from_str(match)
    if isinstance(answers, str):
        answers = [answers]
    if mode is MatchMode.REGEX:
        return any(regex_search(answer, text) for answer in answers)
    passage = _joined_tokens(text)
    return any(len(answer_tokens := _joined_tokens(answer)) > 2 and answer_tokens in passage for answer in answers)


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lower case, no punctuation, no articles, single spaces."""
    text = "".join(char for char in text.lower() if char not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _regex_exact(prediction: str, pattern: str) -> bool:
    compiled = _compiled(pattern)
    return compiled is not None and compiled.match(prediction.strip()) is not None


def exact_match(prediction: str, answers: Iterable[str], match: Union[str, MatchMode] = "string") -> bool:
    """Whether the SQuAD-normalised prediction equals a SQuAD-normalised gold answer (regex mode: matches one)."""
    if isinstance(answers, str):
        answers = [answers]
    if MatchMode.from_str(match) is MatchMode.REGEX:
        return any(_regex_exact(prediction, answer) for answer in answers)
    normalized = normalize_answer(prediction)
    return any(normalized == normalize_answer(answer) for answer in answers)


def _token_f1(prediction: str, answer: str) -> float:
    predicted, gold = normalize_answer(prediction).split(), normalize_answer(answer).split()
    if not predicted or not gold:  # SQuAD 2.0 convention: both empty is a perfect match
        return float(predicted == gold)
    common = sum((collections.Counter(predicted) & collections.Counter(gold)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(gold)
    return 2 * precision * recall / (precision + recall)


def f1_score(prediction: str, answers: Iterable[str], match: Union[str, MatchMode] = "string") -> float:
    """Best SQuAD token F1 of the prediction against the gold answers (regex mode: equals exact match)."""
    if isinstance(answers, str):
        answers = [answers]
    answers = list(answers)
    if MatchMode.from_str(match) is MatchMode.REGEX:
        return float(exact_match(prediction, answers, match))
    return max((_token_f1(prediction, answer) for answer in answers), default=0.0)
