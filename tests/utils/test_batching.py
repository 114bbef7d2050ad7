"""padded_batches: longest first, each batch padded to its own longest member, every input once."""
from dpr_components.utils.batching import padded_batches


def test_batches_are_length_sorted_padded_only_to_their_longest_and_cover_every_input():
    sequences = [[1, 2], [1, 2, 3, 4, 5], [1], [1, 2, 3], [1, 2, 3]]
    batches = list(padded_batches(sequences, batch_size=2, pad_id=0))
    assert [positions for positions, _, _ in batches] == [[1, 3], [4, 0], [2]]
    widths = [input_ids.shape[1] for _, input_ids, _ in batches]
    assert widths == [5, 3, 1]
    for positions, input_ids, mask in batches:
        for row, position in enumerate(positions):
            length = len(sequences[position])
            assert input_ids[row, :length].tolist() == sequences[position]
            assert mask[row].tolist() == [1] * length + [0] * (input_ids.shape[1] - length)
            assert input_ids[row, length:].tolist() == [0] * (input_ids.shape[1] - length)


def test_no_sequences_no_batches():
    assert list(padded_batches([], batch_size=4, pad_id=0)) == []
