"""Routers of the paper's baselines (Sec. 5.1) and, in :mod:`.extra`, beyond it; importing the package registers
them all (:data:`~mmr_utils.routers.base.ROUTERS`). The interface is :mod:`mmr_utils.routers.base`.
"""

from mmr_utils.routers.base import (
    ROUTERS,
    BestSingleRouter,
    NotFittedError,
    OracleRouter,
    RandomRouter,
    Router,
    check_outcomes,
    load_router,
    make_router,
)
from mmr_utils.routers.extra.boosting import BoostingRouter
from mmr_utils.routers.extra.carrot import CarrotKNNRouter
from mmr_utils.routers.extra.cascade import CascadeRouter
from mmr_utils.routers.extra.irt import IRTRouter
from mmr_utils.routers.extra.shrinkage import KMeansShrunkRouter, KNNShrunkRouter
from mmr_utils.routers.neighbours import KMeansAdaptiveRouter, KMeansRouter, KNNRouter
from mmr_utils.routers.neural import CMRRouter, LogCostScaler, MLPMFRouter, MLPRouter
from mmr_utils.routers.regression import LinearMFRouter, LinearRouter

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
    "RandomRouter",
    "Router",
    "check_outcomes",
    "load_router",
    "make_router",
]
