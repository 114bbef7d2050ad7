"""Length-sorted, padded batches: every model that reads many token sequences batches them the same way.

Sequences are ordered by length (longest first) and each batch is right-padded only to its own longest
member, so a batch of short inputs costs what short inputs cost (real 100-word passages are ~130-160
tokens: padding every batch to 256 would waste nearly half the work). Callers scatter results back with
the returned positions.

Example::

    from dpr_components.utils.batching import padded_batches

    for positions, input_ids, attention_mask in padded_batches([[2, 7, 3], [2, 3]], batch_size=16, pad_id=0):
        print(positions, input_ids.tolist(), attention_mask.tolist())
    # [0, 1] [[2, 7, 3], [2, 3, 0]] [[1, 1, 1], [1, 1, 0]]
"""
from typing import Iterator, List, Sequence, Tuple, Union

import numpy as np

Ids = Union[Sequence[int], np.ndarray]  # a list of token ids, or a 1-D integer array


def pad_batch(sequences: Sequence[Ids], pad_id: int) -> Tuple[np.ndarray, np.ndarray]:
    """Right-pad ``sequences`` to the longest one: ``(input_ids, attention_mask)``, both int64."""
    width = max(len(s) for s in sequences)
    input_ids = np.full((len(sequences), width), pad_id, dtype=np.int64)
    attention_mask = np.zeros((len(sequences), width), dtype=np.int64)
    for row, sequence in enumerate(sequences):
        input_ids[row, :len(sequence)] = sequence
        attention_mask[row, :len(sequence)] = 1
    return input_ids, attention_mask


def padded_batches(sequences: Sequence[Ids], batch_size: int, pad_id: int
                   ) -> Iterator[Tuple[List[int], np.ndarray, np.ndarray]]:
    """``(positions, input_ids, attention_mask)`` per batch of at most ``batch_size`` sequences, longest
    first; ``positions`` are the indices of the batch's rows in ``sequences`` (equal lengths keep input order)."""
    order = sorted(range(len(sequences)), key=lambda i: -len(sequences[i]))
    for start in range(0, len(order), batch_size):
        positions = order[start:start + batch_size]
        input_ids, attention_mask = pad_batch([sequences[i] for i in positions], pad_id)
        yield positions, input_ids, attention_mask
