"""mmr_utils: a companion library to "MMR-Bench: A Comprehensive Benchmark for Multimodal LLM Routing" (arXiv 2601.17814).

Data flows one way: sources -> outcome table -> splits -> features (encoders, fusion) -> routers -> evaluation ->
studies -> plots -> notebooks. Nothing lower imports anything higher.
"""

__version__ = "0.1.0"
