"""Train DPR's bi-encoder on DPR-format JSON with the shared training loop (``dpr-components train-retriever``).

:class:`RetrieverTask` is a :class:`dpr_components.training.loop.TrainingTask`: it shuffles the training
questions each epoch (seeded), lays out each batch as DPR does (see :mod:`.negatives`), computes DPR's
in-batch NLL (:mod:`.biencoder_loss`) through :func:`.biencoder_step.biencoder_step` (gradient caching with
``chunk_size``; negatives gathered across processes in data-parallel runs) and validates on the dev set:

- ``validation="average_rank"`` (default, DPR's ``validate_average_rank``): every dev question is ranked
  against the pool of all dev passages (each dev question's positive and hard negatives); metrics ``mrr``,
  ``average_rank`` and ``pool_top_1/5/20``. No re-indexing.
- ``validation="retrieval"``: the pair is saved, ``dev_corpus`` (passages JSONL ``{"id","title","text"}``)
  is embedded into an InMemoryDocumentStore with the new passage encoder through DPRRetriever, and the dev
  questions are run through a Haystack pipeline and scored by :mod:`dpr_components.evaluation`
  (``top_1 ... top_100``, ``mrr``): the real top-k accuracy, at the cost of re-embedding the corpus.

Example::

    from dpr_components.training.loop import TrainingConfig
    from dpr_components.training.retriever_training import RetrieverTrainingConfig, train_retriever

    result = train_retriever(
        RetrieverTrainingConfig(train_file="train.jsonl", dev_file="dev.jsonl", question_model="/models/minilm",
                                shared=True, pooling="mean", normalize=True, similarity="cosine",
                                temperature=0.05, batch_size=16, hard_negatives=1),
        TrainingConfig(output_dir="out/minilm-dpr", learning_rate=2e-5, warmup_steps=10, max_minutes=10,
                       num_epochs=3, metric="mrr"))
    print(result.best_metrics)                 # DPRRetriever(**retriever_params("out/minilm-dpr")) loads it
"""
import json
import logging
import math
import random
from dataclasses import asdict
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

import numpy as np
import torch

from dpr_components.errors import ConfigurationError
from dpr_components.evaluation.metrics import TOP_KS
from dpr_components.training.biencoder import BiEncoder, embed, retriever_params
from dpr_components.training.biencoder_loss import similarity_scores
from dpr_components.training.biencoder_step import BiEncoderBatch, all_reduce_gradients, biencoder_step
from dpr_components.training.data import TrainingExample, examples_digest, read_examples
from dpr_components.training.loop import TrainingConfig, TrainingResult, train
from dpr_components.training.negatives import batch_passages, usable_examples
from dpr_components.training.settings import RetrieverTrainingConfig, Validation
from dpr_components.utils.files import remove, scratch_dir

logger = logging.getLogger(__name__)

def load_examples(path: Union[str, Path], what: str) -> Tuple[List[TrainingExample], int]:
    """The usable examples of ``path`` and how many questions were skipped for having no positive passage."""
    examples, skipped = usable_examples(read_examples(path))
    if skipped:
        logger.warning("%s: skipped %d question(s) without a positive passage", path, skipped)
    if not examples:
        raise ConfigurationError(f"{path} has no question with a positive passage ({skipped} skipped): nothing "
                                 f"to {what}. Build the file with build-training-data or add positive_ctxs.")
    return examples, skipped


class RetrieverTask:
    """The bi-encoder as a task of the shared training loop."""

    def __init__(self, model: BiEncoder, settings: RetrieverTrainingConfig, train_examples: List[TrainingExample],
                 dev_examples: Optional[List[TrainingExample]] = None, seed: int = 42):
        self.model = model
        self.settings = settings
        self.train_examples = train_examples
        self.dev_examples = dev_examples or []
        self.seed = seed

    def num_batches(self) -> int:
        return math.ceil(len(self.train_examples) / self.settings.batch_size)

    def batches(self, epoch: int):
        rng = random.Random(self.seed * 1000 + epoch)
        order = list(range(len(self.train_examples)))
        rng.shuffle(order)
        size = self.settings.batch_size
        for start in range(0, len(order), size):
            yield self.make_batch([self.train_examples[i] for i in order[start:start + size]], rng)

    def make_batch(self, examples: List[TrainingExample], rng: Optional[random.Random] = None) -> Dict:
        passages, positives = batch_passages(examples, self.settings.hard_negatives, rng,
                                             self.settings.shuffle_positives)
        return {
            "questions": self.model.tokenize_questions([e.question for e in examples], self.settings.max_seq_len_query),
            "passages": self.model.tokenize_passages([(p.title, p.text) for p in passages],
                                                     self.settings.max_seq_len_passage),
            "positives": torch.tensor(positives, dtype=torch.long),
        }

    def backward(self, batch: Dict, scale: float) -> float:
        """Gradient of ``scale`` x the batch loss into the weights (the loop calls this instead of loss())."""
        result = biencoder_step(self.model, BiEncoderBatch(**batch), self.settings.chunk_size,
                                self.settings.similarity, self.settings.temperature, loss_scale=scale)
        all_reduce_gradients(self.model.parameters())
        return result.loss

    def loss(self, batch: Dict) -> torch.Tensor:
        from dpr_components.training.biencoder_step import biencoder_loss

        return biencoder_loss(self.model, BiEncoderBatch(**batch), self.settings.similarity,
                              self.settings.temperature)[0]

    def fingerprint(self) -> Dict[str, str]:
        """The settings and the data's digests (file paths and model names may change; content may not)."""
        paths = ("train_file", "dev_file", "question_model", "passage_model", "dev_corpus")
        settings = {key: str(value) for key, value in asdict(self.settings).items() if key not in paths}
        return {**settings, "training data": examples_digest(self.train_examples),
                "dev data": examples_digest(self.dev_examples)}

    def dev_metrics(self) -> Tuple[str, ...]:
        """Higher-is-better metrics of the validation, its default first (DPR's average rank is reported, not
        chosen by: lower is better)."""
        if not self.dev_examples or self.settings.validation is Validation.NONE:
            return ()
        if self.settings.validation is Validation.RETRIEVAL:
            return ("top_20", "mrr", *(f"top_{k}" for k in TOP_KS if k != 20))
        return ("mrr", "pool_top_1", "pool_top_5", "pool_top_20")

    def evaluate(self, device: torch.device) -> Dict[str, float]:
        if not self.dev_examples or self.settings.validation is Validation.NONE:
            return {}
        if self.settings.validation is Validation.RETRIEVAL:
            return self.retrieval_accuracy()
        return self.average_rank()

    def average_rank(self) -> Dict[str, float]:
        """DPR's validation: rank of each dev question's positive among all dev questions' passages."""
        pool: List[Tuple[str, str]] = []
        positives: List[int] = []
        seen: Dict[Tuple[str, str], int] = {}
        for example in self.dev_examples:
            for index, ctx in enumerate(batch_passages([example], self.settings.hard_negatives)[0]):
                key = (ctx.title, ctx.text)
                if key not in seen:
                    seen[key] = len(pool)
                    pool.append(key)
                if index == 0:
                    positives.append(seen[key])
        passages = embed(self.model, "passage", pool, self.settings.max_seq_len_passage)
        questions = embed(self.model, "question", [e.question for e in self.dev_examples],
                          self.settings.max_seq_len_query)
        scores = similarity_scores(torch.from_numpy(questions), torch.from_numpy(passages),
                                   self.settings.similarity, self.settings.temperature).numpy()
        positive_scores = scores[np.arange(len(positives)), positives][:, None]
        ranks = (scores > positive_scores).sum(axis=1)  # 0-based
        metrics = {"average_rank": float(ranks.mean()), "mrr": float((1.0 / (ranks + 1)).mean()),
                   "pool_size": float(len(pool))}
        for k in (1, 5, 20):
            metrics[f"pool_top_{k}"] = float((ranks < k).mean())
        return metrics

    def retrieval_accuracy(self) -> Dict[str, float]:
        """Top-k accuracy of the dev questions on ``dev_corpus`` re-embedded by the current passage encoder."""
        from dpr_components.training.retrieval_validation import evaluate_saved_pair

        pair = scratch_dir("retriever-eval")  # a killed run's copy of the pair is removed by the next
        try:
            self.save(pair)
            assert self.settings.dev_corpus is not None  # RetrieverTrainingConfig requires it for this validation
            return evaluate_saved_pair(pair, self.settings.dev_corpus, self.dev_examples)
        finally:
            remove(pair)

    def save(self, directory: Path) -> None:
        self.model.write(Path(directory), self.settings.save_format, self.settings.max_seq_len_query,
                         self.settings.max_seq_len_passage,
                         extra={"similarity": self.settings.similarity.value, "temperature": self.settings.temperature})


def train_retriever(settings: RetrieverTrainingConfig, loop: TrainingConfig) -> TrainingResult:
    """Train a bi-encoder as ``settings`` says with the shared loop; the best pair lands in ``loop.output_dir``."""
    model = BiEncoder.from_pretrained(settings.question_model, settings.passage_model, settings.shared,
                                      settings.pooling, settings.normalize)
    model.resolved_save_format(settings.save_format)  # refuse an impossible format before training
    if settings.freeze_passage_encoder:
        model.freeze("passage")
    train_examples, skipped_train = load_examples(settings.train_file, "train on")
    dev_examples, skipped_dev = load_examples(settings.dev_file, "validate on") if settings.dev_file else (None, 0)
    model.check_max_length(settings.max_seq_len_query, settings.max_seq_len_passage)
    task = RetrieverTask(model, settings, train_examples, dev_examples, seed=loop.seed)
    result = train(task, loop)
    (Path(loop.output_dir) / "training.json").write_text(json.dumps(
        {"steps": result.steps, "stopped_by": result.stopped_by, "best_metrics": result.best_metrics,
         "last_metrics": result.last_metrics, "seconds": round(result.seconds, 1), "device": result.device,
         "precision": result.precision, "train_questions": len(train_examples),
         "dev_questions": len(dev_examples or []),
         "skipped_without_positive": {"train": skipped_train, "dev": skipped_dev}}, indent=2) + "\n", encoding="utf-8")
    logger.info("DPRRetriever parameters: %s", retriever_params(loop.output_dir))
    return result
