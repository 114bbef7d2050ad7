from transformers import AutoConfig, AutoTokenizer


def test_tiny_models_are_dpr_checkpoints(tiny_question_encoder, tiny_context_encoder, tiny_reader):
    for path, architecture in [
        (tiny_question_encoder, "DPRQuestionEncoder"),
        (tiny_context_encoder, "DPRContextEncoder"),
        (tiny_reader, "DPRReader"),
    ]:
        assert AutoConfig.from_pretrained(path).architectures == [architecture]
        tokens = AutoTokenizer.from_pretrained(path)("who was born in paris")["input_ids"]
        assert 1 not in tokens  # no [UNK]: the tiny vocabulary covers plain lowercase text
