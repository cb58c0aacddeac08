"""Deterministic simulator of MMR-Bench: an outcome table in the official schema plus rendered images.

THE FIGURES IT WRITES ARE SIMULATED, NOT THE PAPER'S MEASUREMENTS. It reproduces the shape of MMR-Bench (paper Sec. 3:
7 datasets at their real sizes, 3 scenarios, 10 models, accuracies calibrated to the published table, costs near the
paper's) so that everything runs without the official download; every output folder says so. The generative model,
its assumptions and its calibration are described in docs/simulator.md; the modules are listed there."""
