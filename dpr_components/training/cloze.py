"""Synthetic cloze questions made from the corpus's own passages: in-domain training data for the reader.

Distant supervision keeps few real questions on a small corpus (1,657 of 17,594 NQ/TriviaQA dev questions on
the mini Wikipedia). Cloze questions (Lewis et al., 2019, "Unsupervised Question Answering by Cloze
Translation") add many more: in a sentence of a passage, a candidate answer (a number, a year, a capitalised
name) is replaced by a wh-word that is moved to the front, and the words around it become the question::

    "Animal Farm is an allegorical novella by George Orwell, first published in England on 17 August 1945."
    -> "who animal farm is an allegorical novella by first published in england on 17 august"
       answer "George Orwell" (a word or two may be dropped)

Only the words near the answer are kept (a clause, not the whole sentence) and a few are dropped, so the
reader cannot solve the question by matching the sentence verbatim. The passage's title is appended when the
clause does not name it, as real questions name their subject. The questions carry no test-split
information: they come from the passages alone.

Example::

    from dpr_components.training.cloze import cloze_questions

    questions = cloze_questions([("Animal Farm", "Animal Farm is an allegorical novella by George Orwell, "
                                                 "first published in England on 17 August 1945.")])
    questions[0].question, questions[0].answers   # e.g. ('when novella by george orwell first ...', ['1945'])

or from the command line, then label them like any question file::

    dpr-components cloze-questions --corpus passages.jsonl --output cloze.jsonl --per-passage 3
    dpr-components build-training-data --questions cloze.jsonl --store my_store --output cloze-train.jsonl
"""
import re
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from dpr_components.evaluation.questions import Question
from dpr_components.utils.validation import positive_int

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_WORD = re.compile(r"\S+")
_YEAR = re.compile(r"^(1[0-9]{3}|20[0-9]{2})s?$")
_NUMBER = re.compile(r"^[0-9][0-9,]*(\.[0-9]+)?$")
_CAPITALISED = re.compile(r"^[A-Z][\w'\-.]*$")
_CONNECTORS = {"of", "the", "de", "von", "van", "and", "da", "del", "al"}
_PLACE_PREPOSITIONS = {"in", "at", "from", "near", "to", "into"}
_MONTHS = {"January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"}
_STOP_CAPITALISED = {"The", "A", "An", "In", "On", "At", "It", "He", "She", "They", "This", "That", "These",
                     "Those", "His", "Her", "Its", "Their", "As", "By", "For", "From", "After", "Before", "During",
                     "When", "While", "However", "Although", "But", "And", "Or", "If", "Since", "With", "There",
                     "We", "I", "Some", "Many", "Most", "One", "Other", "Also", "Such", "Both", "All", "Each"}
CLAUSE_WORDS = 7  # words kept on each side of the answer
DROP_PROBABILITY = 0.1
MAX_ANSWER_WORDS = 4


def _strip(word: str) -> str:
    return word.strip(".,;:!?\"'()[]")


def candidate_answers(words: Sequence[str]) -> List[Tuple[int, int, str]]:
    """``(first, end, wh-word)`` word ranges of a sentence that can serve as answers.

    Years give "when", other numbers "how many", runs of up to four capitalised words (connectors such as
    "of" allowed inside; not at the sentence's start, where a name is usually the subject the question
    keeps) "where" after a place preposition, else "who" for two or three capitalised words, else "what".
    """
    found, i = [], 0
    clean = [_strip(w) for w in words]
    while i < len(words):
        word = clean[i]
        if _YEAR.match(word):
            found.append((i, i + 1, "when"))
        elif _NUMBER.match(word):
            found.append((i, i + 1, "how many"))
        elif _CAPITALISED.match(word) and word not in _STOP_CAPITALISED and word not in _MONTHS:
            end = i + 1
            while end < len(words) and not words[end - 1].endswith((",", ".", ";", ":")) and (
                    _CAPITALISED.match(clean[end]) or (clean[end] in _CONNECTORS and end + 1 < len(words)
                                                       and _CAPITALISED.match(clean[end + 1]))):
                end += 1
            while end > i + 1 and clean[end - 1] in _CONNECTORS:
                end -= 1
            if end - i <= MAX_ANSWER_WORDS and i > 0:  # a sentence-initial name is usually the subject
                before = i - 1 if i > 1 and clean[i - 1].lower() in ("the", "a", "an") else i  # "in the United States"
                previous = clean[before - 1].lower()
                plain = all(_CAPITALISED.match(w) for w in clean[i:end])
                wh = "where" if previous in _PLACE_PREPOSITIONS else ("who" if plain and 2 <= end - i <= 3 else "what")
                found.append((i, end, wh))
            i = end
            continue
        i += 1
    return found


def cloze_question(words: Sequence[str], first: int, end: int, wh: str, title: str,
                   rng: np.random.Generator, question_id: str = "cloze") -> Optional[Question]:
    """The question for the answer ``words[first:end]``: wh-word first, then the clause around the gap."""
    around = (*words[max(0, first - CLAUSE_WORDS):first], *words[end:end + CLAUSE_WORDS])
    context = [w for w in (_strip(w).lower() for w in around) if w and rng.random() >= DROP_PROBABILITY]
    if len(context) < 4:
        return None
    answer = _strip(" ".join(words[first:end]))
    title_words = [w.lower() for w in _WORD.findall(title)]
    if title_words and not set(title_words) <= set(context) and title.lower() not in answer.lower():
        context += title_words
    return Question(question_id, " ".join([wh, *context]), [answer])


def passage_sentences(text: str) -> List[List[str]]:
    return [_WORD.findall(sentence) for sentence in _SENTENCE_END.split(text)]


def cloze_questions(passages: Iterable[Tuple[str, str]], per_passage: int = 3, seed: int = 0) -> List[Question]:
    """Up to ``per_passage`` cloze questions per ``(title, text)`` passage, answers drawn at random."""
    per_passage = positive_int("per_passage", per_passage)
    rng = np.random.default_rng(seed)
    questions: List[Question] = []
    seen = set()
    for title, text in passages:
        options = [(words, c) for words in passage_sentences(text) for c in candidate_answers(words)]
        made = 0
        for k in rng.permutation(len(options)):
            if made == per_passage:
                break
            words, (first, end, wh) = options[k]
            question = cloze_question(words, first, end, wh, title, rng, f"cloze-{len(questions)}")
            if question is None or question.question in seen:
                continue
            seen.add(question.question)
            questions.append(question)
            made += 1
    return questions


def write_cloze_questions(corpus: Union[str, Path], output: Union[str, Path], per_passage: int = 3,
                          seed: int = 0) -> int:
    """``cloze-questions``: cloze questions from a corpus file (any format ``index`` reads), its documents cut
    into DPR's 100-word passages as indexing cuts them; written atomically as a question file. Returns how many."""
    from dpr_components.evaluation.questions import write_questions
    from dpr_components.preprocessing.passages import corpus_passages
    from dpr_components.utils.files import atomic_write

    passages = ((p["title"], p["text"]) for p in corpus_passages(corpus))
    questions = cloze_questions(passages, per_passage, seed)  # validates before anything is written
    atomic_write(Path(output), lambda path: write_questions(questions, path))
    return len(questions)
