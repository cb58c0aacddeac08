"""Routers of the paper's baselines (MMR-Bench Sec. 5.1): fit on fused query features and the outcome table,
predict per-model utility ``U`` and cost ``P``. See :mod:`mmr_utils.routers.base` for the interface.

Registry names: ``random``, ``oracle``, ``best_single``, ``knn``, ``kmeans``, ``kmeans_adaptive``, ``linear``,
``linear_mf``, ``mlp``, ``mlp_mf``, ``cmr``.
"""

from mmr_utils.routers.base import (
    ROUTERS,
    BestSingleRouter,
    NotFittedError,
    OracleRouter,
    QueryRouter,
    RandomRouter,
    Router,
    check_outcomes,
    load_router,
    make_router,
)
from mmr_utils.routers.neighbours import KMeansAdaptiveRouter, KMeansRouter, KNNRouter
from mmr_utils.routers.regression import LinearMFRouter, LinearRouter
from mmr_utils.routers.neural import CMRRouter, LogCostScaler, MLPMFRouter, MLPRouter

__all__ = [
    "ROUTERS",
    "Router",
    "NotFittedError",
    "QueryRouter",
    "check_outcomes",
    "load_router",
    "make_router",
    "RandomRouter",
    "OracleRouter",
    "BestSingleRouter",
    "KNNRouter",
    "KMeansRouter",
    "KMeansAdaptiveRouter",
    "LinearRouter",
    "LinearMFRouter",
    "MLPRouter",
    "MLPMFRouter",
    "CMRRouter",
    "LogCostScaler",
]
