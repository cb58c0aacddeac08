"""Deterministic simulator of MMR-Bench: an outcome table in the official schema plus rendered images.

THE FIGURES THIS MODULE WRITES ARE SIMULATED, NOT THE PAPER'S MEASUREMENTS. The simulator reproduces the *shape* of
MMR-Bench (paper Sec. 3): its 7 datasets at their real sizes in three scenarios, its 10 models, per-model accuracies
calibrated to the published table and mean costs near the paper's, so that every router, budget sweep and plot runs
end to end without the official download. Every output folder says so in ``SIMULATED.md`` and ``provenance.json``.

The generative model (latent kinds, difficulties and modality cues; correctness logits with a fitted shared effect and
a fitted learnable-signal strength per dataset; token-based costs), its assumptions (gpt-5-nano's per-dataset split)
and how it was calibrated are described in ``docs/simulator.md``.

Modules: :mod:`.calibration` (the paper's targets and every constant), :mod:`.fitting` (the Oracle fit and the
achieved-vs-target table), :mod:`.learnable` (the calibration step for the learnable signal), :mod:`.outcomes` (latents,
P(correct), outcomes and tokens), :mod:`.content` (questions and answers), :mod:`.render` (pictures) and
:mod:`.benchmark` (tables and the output folder). Command line: ``python -m mmr_utils data --out DIR --scale 1.0``.
"""

from mmr_utils.data.simulator.fitting import achieved_vs_target  # noqa: F401 - notebook 01 imports it from here
