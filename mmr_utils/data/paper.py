"""The paper's published numbers that this project compares against (MMR-Bench, arXiv 2601.17814): Table 2, the
ten-model pool, Figure 4's single-model points and router frontiers, and the headline cost fraction. Tags say how each
was obtained: [exact] as printed, [derived] read off a figure. docs/paper.md explains them for readers."""

from __future__ import annotations

import numpy as np

#: The paper's headline cost fraction ("about 33% of the best single model's cost").
PAPER_COST_FRACTION = 0.33


#: The paper's Table 2 as printed [exact]; Random's "-" is NaN; Best Single's nAUC of 1.0 is an artefact of the
#: official code (a single point has no frontier area).
PAPER_TABLE2_DATASETS = ("OCRBench", "SEEDBench2_Plus", "MMStar", "RealWorldQA", "MathVista", "MathVerse",
                         "MathVision", "All")
#: router -> (nAUC, Ps) per dataset, in PAPER_TABLE2_DATASETS order.
PAPER_TABLE2: dict[str, tuple[tuple[float, float], ...]] = {
    "random": ((np.nan, 0.8075), (np.nan, 0.7102), (np.nan, 0.6942), (np.nan, 0.7108),
        (np.nan, 0.6688), (np.nan, 0.4800), (np.nan, 0.3927), (np.nan, 0.6135)),
    "linear_mf": ((0.8789, 0.9088), (0.7376, 0.7458), (0.7496, 0.7683), (0.8036, 0.8252),
        (0.7724, 0.8038), (0.6837, 0.7258), (0.5565, 0.6826), (0.7042, 0.7533)),
    "mlp_mf": ((0.8952, 0.9088), (0.7443, 0.7508), (0.7615, 0.7817), (0.8097, 0.8268),
        (0.7751, 0.8038), (0.6784, 0.7337), (0.5494, 0.6937), (0.6913, 0.7494)),
    "knn": ((0.8913, 0.9150), (0.7375, 0.7425), (0.7560, 0.7767), (0.8009, 0.8252),
        (0.7807, 0.8075), (0.6881, 0.7194), (0.5610, 0.6867), (0.6950, 0.7457)),
    "kmeans": ((0.9126, 0.9138), (0.7382, 0.7475), (0.7564, 0.7733), (0.8072, 0.8235),
        (0.7763, 0.8038), (0.6835, 0.7194), (0.5639, 0.6933), (0.6885, 0.7496)),
    "oracle": ((0.9663, 0.9825), (0.8854, 0.8913), (0.9563, 0.9650), (0.9773, 0.9853),
        (0.9310, 0.9475), (0.8806, 0.8954), (0.8031, 0.8741), (0.8897, 0.9188)),
    "best_single": ((1.0, 0.9050), (1.0, 0.7502), (1.0, 0.7716), (1.0, 0.8235),
        (1.0, 0.8037), (1.0, 0.7194), (1.0, 0.6932), (1.0, 0.7412)),
}
PAPER_LEARNED = ("linear_mf", "mlp_mf", "knn", "kmeans")


#: The paper's ten models, as the pinned official release names its columns (paper Sec. 3, PAPER.md Sec. 3.1).
PAPER_MODELS: tuple[str, ...] = (
    "Qwen2.5-VL-3B-Instruct", "Qwen2.5-VL-72B-Instruct", "InternVL3-78B", "Gemma3-4B", "Qwen2.5-VL-7B-Instruct",
    "Claude3-7V_Sonnet", "gpt-5-nano-2025-08-07", "GeminiPro2-5", "gpt-5-2025-08-07", "GeminiFlash2-5",
)
#: The paper's Figure 4 single-model points (cost, accuracy) on the six datasets without MathVision, read off the
#: figure [derived: cost within about 0.1]; Gemma3-4B lies below the axis floor (0.60).
PAPER_FIG4_MODELS: dict[str, tuple[float, float]] = {
    "GeminiPro2-5": (4.42, 0.775), "gpt-5-2025-08-07": (3.90, 0.773), "Claude3-7V_Sonnet": (3.01, 0.636),
    "GeminiFlash2-5": (2.27, 0.754), "gpt-5-nano-2025-08-07": (0.74, 0.694), "Qwen2.5-VL-72B-Instruct": (0.24, 0.728),
    "Qwen2.5-VL-7B-Instruct": (0.10, 0.681), "InternVL3-78B": (0.0, 0.716), "Qwen2.5-VL-3B-Instruct": (0.0, 0.628),
    "Gemma3-4B": (np.nan, np.nan),
}
#: The paper's Figure 4 router frontiers (cost, accuracy) [exact: taken from the vector drawing of the figure].
PAPER_FIG4_CURVES: dict[str, tuple[tuple[float, float], ...]] = {
    "kmeans": ((0.065, 0.7212), (0.136, 0.7429), (0.254, 0.7432), (0.795, 0.7484), (1.675, 0.7620), (2.321, 0.7673),
               (2.564, 0.7702), (2.846, 0.7714), (3.286, 0.7755), (3.707, 0.7770)),
    "knn": ((0.040, 0.6954), (0.043, 0.7214), (0.052, 0.7318), (0.071, 0.7418), (0.851, 0.7476), (1.062, 0.7532),
            (1.580, 0.7590), (2.917, 0.7648), (3.490, 0.7710), (3.716, 0.7768)),
    "linear": ((0.055, 0.7059), (0.071, 0.7131), (0.113, 0.7212), (0.133, 0.7293), (1.064, 0.7367), (1.438, 0.7431),
               (1.592, 0.7494), (1.982, 0.7558), (2.679, 0.7622), (4.089, 0.7687)),
    "mlp": ((0.090, 0.6263), (0.333, 0.7196), (0.492, 0.7264), (1.043, 0.7334), (2.130, 0.7405), (2.280, 0.7475),
            (2.479, 0.7546), (2.786, 0.7616), (3.708, 0.7687), (4.267, 0.7764)),
}
#: The model whose cost makes :func:`fig4_models_vs_here`'s cost columns unit-free (the paper states no unit).
COST_REFERENCE_MODEL = "gpt-5-2025-08-07"
