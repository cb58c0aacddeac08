"""Routers of the paper's baselines (MMR-Bench Sec. 5.1): fit on fused query features and the outcome table,
predict per-model utility ``U`` and cost ``P``. See :mod:`mmr_utils.routers.base` for the interface.

Registry names: ``random``, ``oracle``, ``best_single``, ``knn``, ``kmeans``, ``kmeans_adaptive``, ``linear``,
``linear_mf``, ``mlp``, ``mlp_mf``, ``cmr``; beyond the paper (issue #13, section 1): ``carrot_knn``, ``knn_shrunk``,
``kmeans_shrunk``, ``irt``, ``gbdt``, ``cascade``.
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
from mmr_utils.routers.boosting import BoostingRouter
from mmr_utils.routers.carrot import CarrotKNNRouter
from mmr_utils.routers.cascade import CascadeRouter
from mmr_utils.routers.irt import IRTRouter
from mmr_utils.routers.neighbours import KMeansAdaptiveRouter, KMeansRouter, KNNRouter
from mmr_utils.routers.neural import CMRRouter, LogCostScaler, MLPMFRouter, MLPRouter
from mmr_utils.routers.regression import LinearMFRouter, LinearRouter
from mmr_utils.routers.shrinkage import KMeansShrunkRouter, KNNShrunkRouter

__all__ = [
    "ROUTERS",
    "BestSingleRouter",
    "BoostingRouter",
    "CMRRouter",
    "CarrotKNNRouter",
    "CascadeRouter",
    "IRTRouter",
    "KMeansAdaptiveRouter",
    "KMeansRouter",
    "KMeansShrunkRouter",
    "KNNRouter",
    "KNNShrunkRouter",
    "LinearMFRouter",
    "LinearRouter",
    "LogCostScaler",
    "MLPMFRouter",
    "MLPRouter",
    "NotFittedError",
    "OracleRouter",
    "QueryRouter",
    "RandomRouter",
    "Router",
    "check_outcomes",
    "load_router",
    "make_router",
]
