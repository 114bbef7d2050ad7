"""The settings of training, declared once: the library's defaults, validation and help text in one place.

The commands build their options from these dataclasses (:mod:`dpr_components.utils.settings`), so a default
cannot differ between ``train-reader`` / ``train-retriever`` and the Python API. Light on purpose (no torch):
the CLI imports it to build ``--help``.

- :class:`TrainingConfig`: the loop's settings (:func:`dpr_components.training.loop.train`);
- :class:`ReaderSettings`: what the reader reads (:func:`dpr_components.training.reader.train_reader`);
- :class:`RetrieverTrainingConfig`: the bi-encoder's (:func:`.retriever_training.train_retriever`).

Example::

    from dpr_components.training.settings import ReaderSettings, TrainingConfig

    config = TrainingConfig(output_dir="my_reader", learning_rate=5e-5, max_steps=600, num_threads=1)
    settings = ReaderSettings(passages_per_question=4)
"""
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

from dpr_components.errors import ConfigurationError
from dpr_components.utils.choices import Choice, Pooling, Precision, Similarity
from dpr_components.utils.settings import setting


class SpanLoss(Choice):
    """``mml``: the marginal likelihood of all answer spans (the paper); ``mean``: DPR's released code."""

    MML = "mml"
    MEAN = "mean"


class SaveFormat(Choice):
    """``dpr``: DPRQuestionEncoder/DPRContextEncoder checkpoints (Haystack's DensePassageRetriever loads them;
    [CLS] pooling only); ``native``: the encoder's own class; ``auto``: dpr where possible."""

    AUTO = "auto"
    DPR = "dpr"
    NATIVE = "native"


class Validation(Choice):
    """``average_rank``: DPR's (each dev question's positive among all dev passages); ``retrieval``: top-k
    accuracy on a re-embedded dev corpus; ``none``."""

    AVERAGE_RANK = "average_rank"
    RETRIEVAL = "retrieval"
    NONE = "none"


def training_similarity(similarity: Union[str, Similarity]) -> Similarity:
    """``similarity`` as a :class:`Similarity` a bi-encoder can train with (dot_product or cosine)."""
    chosen = Similarity.from_str(similarity)
    if chosen is Similarity.L2:
        raise ConfigurationError("similarity l2 cannot train a bi-encoder (DPR's loss is a softmax over scores); "
                                 "use dot_product or cosine.")
    return chosen


@dataclass
class TrainingConfig:
    """Settings of :func:`train`. ``work_dir`` defaults to ``<output_dir>.work`` next to the output. Paths may be
    given as strings, enums by their values: ``__post_init__`` converts them to the annotated types."""

    output_dir: Path = setting(help="where the trained model goes (written whole at the end)", flag="--output")
    learning_rate: float = setting(1e-5, "AdamW learning rate")
    weight_decay: float = setting(0.0, "AdamW weight decay (not on biases and LayerNorm)")
    adam_eps: float = setting(1e-8, "AdamW epsilon")
    warmup_steps: int = setting(0, "steps of linear learning-rate warm-up (then linear decay to 0)")
    max_grad_norm: float = setting(1.0, "gradient clipping norm (0 disables)")
    accumulation: int = setting(1, "micro-batches per optimizer step")
    num_epochs: Optional[int] = setting(None, "passes over the data (default 1 unless max steps are given)",
                                        flag="--epochs")
    max_steps: Optional[int] = setting(None, "optimizer steps to train (the planned budget)")
    max_minutes: Optional[float] = setting(None, "a cap on training time, said when it cuts the planned steps "
                                           "short (the model then depends on the machine's speed)")
    eval_every: int = setting(0, "dev evaluation every N steps (0: at the end only)")
    checkpoint_every: int = setting(100, "resumable checkpoint every N steps (0: at the end only)")
    metric: Optional[str] = setting(None, "dev metric that picks the best model (default: the task's own)")
    seed: int = setting(42, "random seed (data order, sampling, initialisation, dropout)")
    device: str = setting("auto", "auto | cpu | cuda | cuda:N")
    precision: Precision = setting(Precision.AUTO, "auto: bf16 autocast where the hardware has it, else fp32")
    num_threads: Optional[int] = setting(None, "torch CPU threads (default: torch's; 1 is faster on a busy CPU; "
                                         "the count changes float sums, hence the weights)")
    resume: bool = setting(True, "start over instead of resuming <output>.work")
    overwrite: bool = setting(False, "replace an existing output")
    show_progress: bool = setting(True, "no progress bar", flag="--no-progress")
    keep_work: bool = setting(False, "keep <output>.work (checkpoints, best model) after a finished run")
    work_dir: Path = setting(None, "checkpoints and the best model during training (default <output>.work)")

    def __post_init__(self) -> None:
        self.output_dir = Path(self.output_dir)
        self.work_dir = Path(self.work_dir or f"{self.output_dir}.work")
        self.precision = Precision.from_str(self.precision)
        for name in ("accumulation",):
            if getattr(self, name) < 1:
                raise ConfigurationError(f"{name} must be >= 1, got {getattr(self, name)}.")
        for name in ("num_epochs", "max_steps"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigurationError(f"{name} must be >= 1 (or unset), got {value}.")
        if self.max_minutes is not None and not self.max_minutes > 0:
            raise ConfigurationError(f"max_minutes must be > 0 (or unset), got {self.max_minutes}.")
        if not self.learning_rate > 0:
            raise ConfigurationError(f"learning_rate must be > 0, got {self.learning_rate}.")


@dataclass
class ReaderSettings:
    """What the reader reads and how it is scored (the optimiser's settings are in :class:`TrainingConfig`)."""

    passages_per_question: int = setting(24, "M passages per question: 1 positive + M-1 negatives (DPR: 24)")
    questions_per_batch: int = setting(2, "questions per micro-batch (so N*M windows per forward pass)")
    max_seq_len: int = setting(256, "tokens per window")
    doc_stride: int = setting(128, "tokens between window starts in long passages")
    max_answer_length: int = setting(10, "longest answer span in tokens (dev decoding)")
    span_loss: SpanLoss = setting(SpanLoss.MML, SpanLoss.__doc__)
    switch_weight: float = setting(1.0, "weight of the passage-selection loss (0 trains the span heads only)")
    head_lr_scale: float = setting(1.0, "learning rate of the span and relevance heads, as a multiple of the "
                                   "learning rate (new heads start random: short runs learn faster with 10-20)")
    dev_passages: int = setting(20, "passages read per dev question")
    dev_batch_size: int = setting(32, "windows per forward pass in dev evaluation")

    def __post_init__(self) -> None:
        self.span_loss = SpanLoss.from_str(self.span_loss)
        for name in ("passages_per_question", "questions_per_batch", "max_answer_length", "dev_passages"):
            if getattr(self, name) < 1:
                raise ConfigurationError(f"{name} must be >= 1, got {getattr(self, name)}.")
        if self.max_seq_len < 32:
            raise ConfigurationError(f"max_seq_len must be >= 32, got {self.max_seq_len}.")
        if not self.head_lr_scale > 0:
            raise ConfigurationError(f"head_lr_scale must be > 0, got {self.head_lr_scale}.")


@dataclass
class RetrieverTrainingConfig:
    """What to train (the loop's own settings are in :class:`TrainingConfig`)."""

    train_file: Union[str, Path] = setting(help="DPR training JSON (.json list or .jsonl)", flag="--train")
    question_model: str = setting(help="DPR question encoder or any encoder AutoModel loads (e.g. MiniLM)")
    passage_model: Optional[str] = setting(None, "DPR context encoder (default: the question model)")
    dev_file: Optional[Union[str, Path]] = setting(None, "dev set in the same format (picks the best model)",
                                                   flag="--dev")
    shared: bool = setting(False, "one encoder for questions and passages")
    pooling: Pooling = setting(Pooling.CLS, "how a non-DPR encoder's token vectors become one vector")
    normalize: bool = setting(False, "L2-normalise the vectors (MiniLM)")
    similarity: Similarity = setting(Similarity.DOT_PRODUCT, "dot_product (DPR) or cosine")
    temperature: float = setting(1.0, "scores are divided by it (MiniLM: 0.05)")
    batch_size: int = setting(16, "questions per batch")
    hard_negatives: int = setting(1, "hard negatives per question (0: in-batch negatives only)")
    shuffle_positives: bool = setting(False, "draw each question's positive at random among its positives")
    chunk_size: Optional[int] = setting(None, "gradient caching: encode N texts at a time (default: all)")
    max_seq_len_query: int = setting(64, "question tokens")
    max_seq_len_passage: int = setting(256, "passage tokens")
    validation: Validation = setting(Validation.AVERAGE_RANK, Validation.__doc__)
    dev_corpus: Optional[Union[str, Path]] = setting(None, "passages JSONL re-embedded for validation retrieval")
    save_format: SaveFormat = setting(SaveFormat.AUTO, SaveFormat.__doc__)
    freeze_passage_encoder: bool = setting(False, "train the question encoder only (passage vectors stay)")

    def __post_init__(self) -> None:
        self.pooling, self.validation = Pooling.from_str(self.pooling), Validation.from_str(self.validation)
        self.similarity, self.save_format = training_similarity(self.similarity), SaveFormat.from_str(self.save_format)
        if self.validation is Validation.RETRIEVAL and not self.dev_corpus:
            raise ConfigurationError("validation 'retrieval' re-embeds a corpus: give dev_corpus (--dev-corpus "
                                     "passages.jsonl with id, title, text), or use validation average_rank.")
        for name in ("batch_size", "max_seq_len_query", "max_seq_len_passage"):
            if getattr(self, name) < 1:
                raise ConfigurationError(f"{name} must be >= 1, got {getattr(self, name)}.")
        if self.hard_negatives < 0:
            raise ConfigurationError(f"hard_negatives must be >= 0, got {self.hard_negatives}.")
        if self.chunk_size is not None and self.chunk_size < 1:
            raise ConfigurationError(f"chunk_size must be >= 1 (or unset: no gradient caching), got {self.chunk_size}.")
