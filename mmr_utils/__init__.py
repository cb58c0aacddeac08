"""mmr_utils: a companion library to "MMR-Bench: A Comprehensive Benchmark for Multimodal LLM Routing" (arXiv 2601.17814).

Data flows one way: sources -> outcome table -> splits -> features (encoders, fusion) -> routers -> evaluation ->
studies -> plots -> notebooks. Nothing lower imports anything higher.
"""

__version__ = "0.1.0"

import warnings as _warnings

from .numerics import apply_pins_at_import as _apply_pins_at_import

# The numerical pins (mmr_utils/numerics.py), while numpy, scipy and torch are not loaded yet and can still take them.
_apply_pins_at_import()

# Libraries we import (transformers, huggingface_hub) import ``tqdm.auto``, which in a notebook without ipywidgets
# warns "IProgress not found" on every kernel start. The project's own bars are plain text bars, so the warning
# says nothing about what runs here; only that exact message is silenced.
_warnings.filterwarnings("ignore", message="IProgress not found", module="tqdm")
