"""Reader inputs ``[CLS] question [SEP] title [SEP] passage``, cut into overlapping windows.

Question, title and passage are tokenised separately with the fast tokenizer (no special tokens), and the
ids are assembled here. This gives the ids of transformers' ``DPRReaderTokenizer`` and DPR's own
tensorizer, plus what they lack: the character offsets of every passage token in the original text,
the index of the first passage token (right after the second ``[SEP]``, known by construction, not
searched for), and windows over the passage alone, so the question and title are repeated in every
window and never cut.

Whole words, for any tokenizer (WordPiece ``##``, byte-level BPE ``Ġ``, SentencePiece ``▁``): a token continues
the previous token's word when it starts where that one ended and the characters on both sides of the
boundary are word characters (letters, digits, marks; CJK ideographs are words of their own, as BERT splits
them), when it overlaps the previous token (a character split into bytes), or when the previous token holds
only the whitespace before it (a lone ``▁`` or ``Ġ``, which starts the word). Token offsets are trimmed of
leading whitespace (SentencePiece tokens carry the space before their word). For WordPiece this marks
exactly the ``##`` pieces (up to symbols BERT does not split off).

Example::

    from transformers import AutoTokenizer
    from dpr_components.readers.inputs import ReaderInputs

    inputs = ReaderInputs(AutoTokenizer.from_pretrained("facebook/dpr-reader-single-nq-base"),
                          max_seq_len=350, doc_stride=128)
    question, title, passage = inputs.tokenize(["who wrote it?", "Hamlet", "Hamlet is a play by ..."])
    windows = inputs.windows(question, title, passage)
"""
import unicodedata
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import numpy as np
from tokenizers import Tokenizer
from transformers.tokenization_utils_fast import PreTrainedTokenizerFast  # the top-level name: a dummy to mypy

UNKNOWN, WORD, SPACE, OTHER = 0, 1, 2, 3
# Character classes by code point, filled in as characters are met (a text's new characters classified once).
_CHAR_CLASS = np.zeros(0x110000, dtype=np.int8)
# BERT's CJK ideograph blocks (BertTokenizer._is_chinese_char): each ideograph is a word of its own.
CJK_RANGES = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F),
              (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))


@dataclass(frozen=True)
class TokenizedText:
    """Token ids of a text with their character spans in that text."""

    ids: np.ndarray
    offsets: np.ndarray  # (n, 2): start and end character of each token
    is_continuation: np.ndarray  # True where a token continues the previous token's word (module docstring)

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class Window:
    """One model input: the ids, and where the passage tokens of this window come from."""

    input_ids: np.ndarray
    passage_offset: int  # index in input_ids of the first passage token
    first_token: int  # index of that token in the passage's own token sequence


def window_starts(n_tokens: int, room: int, overlap: int) -> List[int]:
    """First token of each window of ``room`` tokens over ``n_tokens``, consecutive windows sharing ``overlap``.

    The last window ends at the last token; an empty passage still gets one (empty) window.
    """
    step = max(1, room - overlap)
    starts = [0]
    while starts[-1] + room < n_tokens:
        starts.append(starts[-1] + step)
    return starts


def _classify(character: str) -> int:
    if character.isspace():
        return SPACE
    code = ord(character)
    if any(low <= code <= high for low, high in CJK_RANGES):
        return OTHER
    if character.isalnum() or unicodedata.category(character).startswith("M"):
        return WORD
    return OTHER


def character_classes(text: str) -> np.ndarray:
    """WORD / SPACE / OTHER per character of ``text``."""
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    classes = _CHAR_CLASS[codes]
    for code in np.unique(codes[classes == UNKNOWN]):
        _CHAR_CLASS[code] = _classify(chr(code))
    return _CHAR_CLASS[codes]


def whole_word_offsets(text: str, offsets: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """``(offsets trimmed of leading whitespace, is_continuation)`` of a text's tokens (module docstring)."""
    offsets = offsets.copy()
    continuation = np.zeros(len(offsets), dtype=bool)
    if not len(offsets) or not text:
        return offsets, continuation
    classes = character_classes(text)
    last = len(classes) - 1
    starts, ends = offsets[:, 0], offsets[:, 1]
    while True:
        leading = (starts < ends) & (classes[np.minimum(starts, last)] == SPACE)
        if not leading.any():
            break
        starts[leading] += 1
    first, previous_end = starts[1:], ends[:-1]
    glued = ((first == previous_end) & (first > 0) & (classes[np.clip(first - 1, 0, last)] == WORD)
             & (classes[np.minimum(first, last)] == WORD))
    empty = starts >= ends  # whitespace only
    continuation[1:] = ~empty[1:] & (glued | (first < previous_end) | (empty[:-1] & (first == previous_end)))
    return offsets, continuation


def character_span(text: str, tokens: TokenizedText, start: int, end: int) -> Tuple[int, int]:
    """Characters ``[first, last)`` of ``text`` covered by tokens ``start..end`` (inclusive), whitespace trimmed."""
    first, last = int(tokens.offsets[start][0]), int(tokens.offsets[end][1])
    while first < last and text[first].isspace():
        first += 1
    while last > first and text[last - 1].isspace():
        last -= 1
    return first, last


def fit_prefix(question: np.ndarray, title: np.ndarray, max_tokens: int) -> Tuple[np.ndarray, np.ndarray]:
    """Shorten title, then question, until both fit in ``max_tokens`` (leaving room for the passage)."""
    title = title[:max(0, max_tokens - len(question))]
    question = question[:max(0, max_tokens - len(title))]
    return question, title


class ReaderInputs:
    """Tokenises texts and builds the windows the DPR reader reads."""

    def __init__(self, tokenizer: PreTrainedTokenizerFast, max_seq_len: int, doc_stride: int):
        # A private copy of the Rust tokenizer, so a truncation/padding setting saved with it cannot apply.
        self._backend = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
        self._backend.no_truncation()
        self._backend.no_padding()
        self.cls_id, self.sep_id, self.pad_id = tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id
        self.max_seq_len = max_seq_len
        self.doc_stride = doc_stride

    def tokenize(self, texts: Sequence[str]) -> List[TokenizedText]:
        tokenized = []
        for text, encoding in zip(texts, self._backend.encode_batch(list(texts), add_special_tokens=False)):
            ids = np.asarray(encoding.ids, dtype=np.int64)
            offsets = np.asarray(encoding.offsets, dtype=np.int64).reshape(-1, 2)
            tokenized.append(TokenizedText(ids, *whole_word_offsets(text, offsets)))
        return tokenized

    def windows(self, question: TokenizedText, title: TokenizedText, passage: TokenizedText) -> List[Window]:
        """Windows ``[CLS] q [SEP] t [SEP] passage[a:b]`` of at most ``max_seq_len`` tokens covering the passage.

        Question and title together keep at most half of the input, so a long question cannot crowd the
        passage out. Consecutive windows share ``doc_stride`` tokens (at most half a window), so an answer
        shorter than the overlap is seen whole by at least one window.
        """
        q_ids, t_ids = fit_prefix(question.ids, title.ids, self.max_seq_len // 2 - 3)
        prefix = np.concatenate([[self.cls_id], q_ids, [self.sep_id], t_ids, [self.sep_id]]).astype(np.int64)
        room = self.max_seq_len - len(prefix)
        overlap = min(self.doc_stride, room // 2)
        return [
            Window(np.concatenate([prefix, passage.ids[start:start + room]]), len(prefix), start)
            for start in window_starts(len(passage), room, overlap)
        ]
