"""Section 4: the DPR reader on 20 passages for one question, ours vs the model card's transformers loop.

The measurement itself lives in ``benchmarks/reader_speed.py`` (written with the reader); this section
runs it and turns its figures into the report's rows.
"""
from benchmarks.harness import SectionResult
from benchmarks.sizes import Sizes


def run(sizes: Sizes) -> SectionResult:
    result = SectionResult(f"4. Reader ({sizes.reader_passages} passages, one question)")
    try:
        from benchmarks import reader_speed  # noqa: F401
    except ImportError as error:
        result.error = f"benchmarks/reader_speed.py is not available yet ({error})"
        return result
    result.error = "reader_speed.py found but not wired yet"
    return result
