"""mmr_utils: a companion library to "MMR-Bench: A Comprehensive Benchmark for Multimodal LLM Routing" (arXiv 2601.17814).

Data flows one way: sources -> outcome table -> splits -> features (encoders, fusion) -> routers -> evaluation ->
studies -> plots -> notebooks. Nothing lower imports anything higher."""

__version__ = "0.1.0"

import warnings as _warnings

from .numerics import apply_pins_at_import as _apply_pins_at_import

# The numerical pins (mmr_utils/numerics.py), while numpy, scipy and torch are not loaded yet and can still take them.
_apply_pins_at_import()

# ``tqdm.auto`` (the project's progress bars, mmr_utils/_progress.py, and those of transformers and huggingface_hub)
# warns "IProgress not found" in a notebook without ipywidgets, then draws a text bar instead of a widget, which is
# all a bar needs to be; only that exact message is silenced.
_warnings.filterwarnings("ignore", message="IProgress not found", module="tqdm")
