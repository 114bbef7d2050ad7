"""FLOP counting and the shape recorder, on configs whose numbers are known."""
import torch
from transformers import BertConfig, BertModel

from benchmarks.flops import ShapeRecorder, bert_sequence_flops, encoder_flops, find_modules, useful_flops


def test_bert_base_flops_per_token_match_the_textbook_figure():
    # BERT-base: 12 layers x (4*768^2 + 2*768*3072) weights = 84.9M multiply-adds per token in Linear layers.
    linear_only = 2 * 12 * (4 * 768 * 768 + 2 * 768 * 3072)
    assert linear_only == 169_869_312
    one_token = bert_sequence_flops(1, 768, 12, 3072)
    assert one_token == linear_only + 12 * 4 * 768  # plus the attention products for L = 1


def test_attention_term_grows_with_the_square_of_the_length():
    base = bert_sequence_flops(100, 64, 1, 128) - 2 * 100 * (4 * 64 * 64 + 2 * 64 * 128)
    double = bert_sequence_flops(200, 64, 1, 128) - 2 * 200 * (4 * 64 * 64 + 2 * 64 * 128)
    assert double == 4 * base


def test_padding_costs_are_the_difference_between_computed_and_useful():
    lengths = [10, 20, 30]
    computed = encoder_flops([(3, 30)], 32, 2, 64)
    assert computed == 3 * bert_sequence_flops(30, 32, 2, 64)
    assert useful_flops(lengths, 32, 2, 64) < computed
    assert useful_flops([30, 30, 30], 32, 2, 64) == computed


class Holder:
    def __init__(self, model):
        self.settings = {"nested": [model]}


def test_shape_recorder_sees_every_forward_of_a_nested_bert():
    config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=64)
    model = BertModel(config).eval()
    modules = find_modules(Holder(model), BertModel)
    assert modules == [model]
    recorder = ShapeRecorder(modules)
    with recorder, torch.inference_mode():
        model(input_ids=torch.ones(3, 7, dtype=torch.long))
        model(torch.ones(2, 5, dtype=torch.long))
    model(input_ids=torch.ones(1, 4, dtype=torch.long))  # after the block: not recorded
    assert recorder.shapes == [(3, 7), (2, 5)]
    assert recorder.seconds > 0
