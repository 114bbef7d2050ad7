"""Reader inputs ``[CLS] question [SEP] title [SEP] passage``, cut into overlapping windows.

Question, title and passage are tokenised separately with the fast tokenizer (no special tokens), and the
ids are assembled here. This gives the ids of transformers' ``DPRReaderTokenizer`` and DPR's own
tensorizer, plus what they lack: the character offsets of every passage token in the original text,
the index of the first passage token (right after the second ``[SEP]``, known by construction, not
searched for), and windows over the passage alone, so the question and title are repeated in every
window and never cut.

Example::

    from transformers import AutoTokenizer
    from dpr_components.readers.inputs import ReaderInputs

    inputs = ReaderInputs(AutoTokenizer.from_pretrained("facebook/dpr-reader-single-nq-base"),
                          max_seq_len=350, doc_stride=128)
    question, title, passage = inputs.tokenize(["who wrote it?", "Hamlet", "Hamlet is a play by ..."])
    windows = inputs.windows(question, title, passage)
"""
from dataclasses import dataclass
from typing import List, Sequence, Tuple

import numpy as np
from tokenizers import Tokenizer
from transformers import PreTrainedTokenizerFast

CONTINUATION_PREFIX = "##"


@dataclass(frozen=True)
class TokenizedText:
    """Token ids of a text with their character spans in that text."""

    ids: np.ndarray
    offsets: np.ndarray  # (n, 2): start and end character of each token
    is_continuation: np.ndarray  # True for "##" pieces that continue the previous token's word

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
        vocab = tokenizer.get_vocab()
        self._is_continuation = np.zeros(max(vocab.values()) + 1, dtype=bool)
        for token, token_id in vocab.items():
            self._is_continuation[token_id] = token.startswith(CONTINUATION_PREFIX)
        self.cls_id, self.sep_id, self.pad_id = tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id
        self.max_seq_len = max_seq_len
        self.doc_stride = doc_stride

    def tokenize(self, texts: Sequence[str]) -> List[TokenizedText]:
        tokenized = []
        for encoding in self._backend.encode_batch(list(texts), add_special_tokens=False):
            ids = np.asarray(encoding.ids, dtype=np.int64)
            offsets = np.asarray(encoding.offsets, dtype=np.int64).reshape(-1, 2)
            tokenized.append(TokenizedText(ids, offsets, self._is_continuation[ids]))
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
