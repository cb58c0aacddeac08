"""Deterministic simulator of MMR-Bench: an outcome table in the official schema plus rendered images.

THE FIGURES IT WRITES ARE SIMULATED, NOT THE PAPER'S MEASUREMENTS; every output folder says so. It has MMR-Bench's shape
(paper Sec. 3: 7 datasets at real sizes, 3 scenarios, 10 models, calibrated accuracies, costs near the paper's) so
everything runs without the download. Model, assumptions, calibration and modules: docs/simulator.md."""
