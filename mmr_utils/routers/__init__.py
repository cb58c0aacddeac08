"""Routers of the paper's baselines (Sec. 5.1) and, in :mod:`.extra`, beyond it; importing the package registers
them all (:data:`~mmr_utils.routers.base.ROUTERS`). The interface is :mod:`mmr_utils.routers.base`."""

from mmr_utils.routers import neighbours, neural, regression  # noqa: F401 - importing a module registers its routers
from mmr_utils.routers.extra import boosting, carrot, cascade, irt, shrinkage  # noqa: F401
