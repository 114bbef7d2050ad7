"""Tiny random DPR models for tests: the vocabulary, the config and how a model is saved with its tokenizer
(and a small BM25 + reader YAML to load them in).

Test modules import these directly (``from tiny_models import tiny_dpr_config, save_model``); the
session fixtures in ``tests/conftest.py`` build their models with them.
"""
import json
import string
from pathlib import Path

from transformers import DPRConfig

WORDS = (
    "the of and in to a is was for on as by with from at that which who what when where how city river "
    "capital country born president paris france berlin germany london england war king queen year "
    "population largest first name called language music film world people state new university"
).split()
ACCENTED = list("éèàüöäçñ")


def tiny_vocab() -> list:
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = list(string.ascii_lowercase + string.digits + string.punctuation) + ACCENTED
    return specials + chars + ["##" + c for c in string.ascii_lowercase + string.digits] + WORDS


def tiny_dpr_config(**overrides) -> DPRConfig:
    settings = dict(
        vocab_size=len(tiny_vocab()),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        projection_dim=0,
    )
    settings.update(overrides)
    return DPRConfig(**settings)


def save_model(model, tokenizer_class, vocab_file: Path, directory: Path) -> str:
    model.save_pretrained(directory)
    tokenizer_class(vocab_file=str(vocab_file), do_lower_case=True, model_max_length=128).save_pretrained(directory)
    return str(directory)


def save_tiny_model(kind: str, vocab_file: Path, directory: Path, seed: int) -> str:
    """A random tiny model of ``kind`` saved with its tokenizer: ``question``, ``context`` or ``reader`` (DPR's
    classes) or ``bert`` (a BertModel that AutoModel loads, like all-MiniLM-L6-v2). The tests' session fixtures
    and benchmarks/check_docs.py build theirs with it."""
    import torch
    import transformers as t

    torch.manual_seed(seed)
    if kind == "bert":
        keys = ("vocab_size", "hidden_size", "num_attention_heads", "intermediate_size", "max_position_embeddings")
        config = t.BertConfig(num_hidden_layers=1, **{key: getattr(tiny_dpr_config(), key) for key in keys})
        return save_model(t.BertModel(config), t.BertTokenizerFast, vocab_file, directory)
    model, tokenizer = {"question": (t.DPRQuestionEncoder, t.DPRQuestionEncoderTokenizerFast),
                        "context": (t.DPRContextEncoder, t.DPRContextEncoderTokenizerFast),
                        "reader": (t.DPRReader, t.DPRReaderTokenizerFast)}[kind]
    return save_model(model(tiny_dpr_config()), tokenizer, vocab_file, directory)


def bm25_reader_yaml(reader_params: dict) -> str:
    """A Haystack YAML: InMemory BM25 (top 3) -> DPRSpanReader with ``reader_params``, pipeline ``query``."""
    return f"""version: 1.26.4.post0
components:
  - name: DocumentStore
    type: InMemoryDocumentStore
    params: {{use_bm25: true}}
  - name: Retriever
    type: BM25Retriever
    params: {{document_store: DocumentStore, top_k: 3}}
  - name: Reader
    type: DPRSpanReader
    params: {json.dumps(reader_params)}
pipelines:
  - name: query
    nodes:
      - {{name: Retriever, inputs: [Query]}}
      - {{name: Reader, inputs: [Retriever]}}
"""


# ---- tiny encoders of other architecture families (reader heads over any encoder) ----------------------------

ENCODER_FAMILIES = ("bert", "electra", "mpnet", "roberta", "deberta-v2")


def _trained_tokenizer(family: str, corpus):
    """A byte-level BPE (RoBERTa) or SentencePiece-style Unigram (DeBERTa-v2) tokenizer trained on ``corpus``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import DebertaV2TokenizerFast, RobertaTokenizerFast

    if family == "roberta":
        specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
        tokenizer = Tokenizer(models.BPE())
        tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tokenizer.decoder = decoders.ByteLevel()
        tokenizer.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=400, special_tokens=specials,
                                                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
        tokenizer.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0), trim_offsets=True,
                                                                add_prefix_space=False)
        return RobertaTokenizerFast(tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", sep_token="</s>",
                                    cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>")
    specials = ["[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]"]
    tokenizer = Tokenizer(models.Unigram())
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.train_from_iterator(corpus, trainers.UnigramTrainer(vocab_size=200, special_tokens=specials,
                                                                  unk_token="[UNK]"))
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", 1), ("[SEP]", 2)])
    return DebertaV2TokenizerFast(tokenizer_object=tokenizer, bos_token="[CLS]", eos_token="[SEP]", sep_token="[SEP]",
                                  cls_token="[CLS]", unk_token="[UNK]", pad_token="[PAD]", mask_token="[MASK]")


def tiny_encoder(family: str, directory: Path, vocab_file: Path, corpus) -> str:
    """A random tiny encoder of ``family`` (hidden 32, 2 layers) saved with its tokenizer in ``directory``.

    BERT, ELECTRA and MPNet reuse the tiny WordPiece vocabulary; RoBERTa and DeBERTa-v2 get a byte-level BPE
    or a SentencePiece-style tokenizer trained on ``corpus``.
    """
    import transformers as t

    sizes = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
    if family in ("bert", "electra", "mpnet"):
        names = {"bert": "BertTokenizerFast", "electra": "ElectraTokenizerFast", "mpnet": "MPNetTokenizerFast"}
        specials = (dict(bos_token="[CLS]", eos_token="[SEP]", cls_token="[CLS]", sep_token="[SEP]", unk_token="[UNK]",
                         pad_token="[PAD]", mask_token="[MASK]") if family == "mpnet" else {})
        tokenizer = getattr(t, names[family])(vocab_file=str(vocab_file), do_lower_case=True, **specials)
    else:
        tokenizer = _trained_tokenizer(family, corpus)
    vocab_size, pad = len(tokenizer), tokenizer.pad_token_id
    model = {
        "bert": lambda: t.BertModel(t.BertConfig(vocab_size=vocab_size, max_position_embeddings=128, **sizes)),
        "electra": lambda: t.ElectraModel(t.ElectraConfig(vocab_size=vocab_size, embedding_size=16,
                                                          max_position_embeddings=128, **sizes)),
        "mpnet": lambda: t.MPNetModel(t.MPNetConfig(vocab_size=vocab_size, pad_token_id=pad,
                                                    max_position_embeddings=130, **sizes)),
        "roberta": lambda: t.RobertaModel(t.RobertaConfig(vocab_size=vocab_size, pad_token_id=pad, type_vocab_size=1,
                                                          max_position_embeddings=130, **sizes)),
        "deberta-v2": lambda: t.DebertaV2Model(t.DebertaV2Config(
            vocab_size=vocab_size, pad_token_id=pad, type_vocab_size=0, max_position_embeddings=128,
            relative_attention=True, position_biased_input=False, pos_att_type=["p2c", "c2p"], **sizes)),
    }[family]()
    model.save_pretrained(directory)
    tokenizer.model_max_length = 128
    tokenizer.save_pretrained(directory)
    return str(directory)
