"""A "model soup" (Wortsman et al., 2022): the uniform average of the weights of several reader checkpoints.

Readers fine-tuned from the same start land close enough in weight space that their mean is itself a reader, often
as good as the best of them or better, at the inference cost of one (an output ensemble costs one forward pass per
member); docs/reader-training.md measures which soups helped. The inputs must be ``DPRReader`` checkpoints of one
architecture (as ``train-reader`` writes them); the soup is a standard checkpoint that ``DPRSpanReader`` and YAML
pipelines load unchanged, with the first input's tokenizer and a ``reader_soup.json`` naming its ingredients. It is
written under a temporary name and swapped in atomically at the end (an old soup is replaced in one step), so a
failure leaves nothing behind and a killed run's leftovers are removed by the next.

Example::

    average_readers(["runs/a", "runs/b", "runs/c"], "my_reader")   # DPRSpanReader("my_reader") reads it

or ``dpr-components average-readers runs/a runs/b runs/c --output my_reader``.
"""
import json
from pathlib import Path
from typing import Sequence, Union

import torch

from dpr_components.errors import ConfigurationError, ModelLoadError
from dpr_components.modeling.reader_model import SHARED_CONFIG_KEYS, init_reader, is_reader_checkpoint, save_reader
from dpr_components.utils.files import atomic_write, refuse_existing, remove_leftovers

SOUP_FILE = "reader_soup.json"


def average_readers(inputs: Sequence[Union[str, Path]], output: Union[str, Path], overwrite: bool = False) -> Path:
    """Write the uniform weight average of the ``inputs`` reader checkpoints to ``output``; return its path."""
    output = Path(output)
    if len(inputs) < 2:
        raise ConfigurationError(f"A soup needs at least two reader checkpoints, got {len(inputs)}.")
    refuse_existing(output, overwrite)
    remove_leftovers(output.parent)  # what soups killed while writing left behind
    for path in inputs:
        if not is_reader_checkpoint(path):
            raise ModelLoadError(f"{path!r} is not a DPRReader checkpoint (config.json with architectures "
                                 "DPRReader, as train-reader writes); a soup averages trained readers only.")
    models, tokenizers = zip(*(init_reader(path) for path in inputs))
    first = models[0]
    for path, model in zip(inputs[1:], models[1:]):
        different = [key for key in SHARED_CONFIG_KEYS
                     if getattr(model.config, key, None) != getattr(first.config, key, None)]
        if different:
            raise ConfigurationError(f"{path!r} differs from {str(inputs[0])!r} in {', '.join(different)}: only "
                                     "readers of one architecture (fine-tuned from the same start) can be averaged.")
    states = [model.state_dict() for model in models]
    with torch.no_grad():
        first.load_state_dict({key: (sum(state[key].float() for state in states) / len(states)).to(tensor.dtype)
                               for key, tensor in states[0].items()})

    def write(directory: Path) -> None:
        save_reader(first, tokenizers[0], directory)
        record = {"method": "uniform weight average", "inputs": [str(Path(path).resolve()) for path in inputs]}
        (directory / SOUP_FILE).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")

    atomic_write(output, write)
    return output
